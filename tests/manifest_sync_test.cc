// The federation manifest between a real hub and its members: published by hub commands, fetched
// and verified against the pinned hub key, never rolled back, kept while the hub is down; a
// member's key changed only with its consent; re-issued before it expires, and an expired one
// alerted on while the member serves on.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"
#include "protocol/envelope.h"
#include "protocol/manifest.h"

namespace lapor::testing {
namespace {

// The manifest version a node serves (0 if none or not signed by `hub_key`).
uint64_t ServedVersion(const NodeProcess& node, const std::string& hub_key) {
  auto r = node.Get("/federation/v1/manifest");
  if (r.status != 200) return 0;
  auto m = protocol::OpenManifest(r.body, hub_key);
  return m.ok() ? m->version() : 0;
}

::testing::AssertionResult WaitForVersion(const NodeProcess& node, const std::string& hub_key,
                                          uint64_t version) {
  return Eventually(
      "the node serves manifest version " + std::to_string(version),
      [&] { return ServedVersion(node, hub_key) == version; }, std::chrono::milliseconds(5000));
}

// How many lines of the node's log contain `text`.
int LogLines(const NodeProcess& node, const std::string& text) {
  std::ifstream log(node.data_dir() + "/node.log");
  std::string line;
  int n = 0;
  while (std::getline(log, line)) n += line.find(text) != std::string::npos;
  return n;
}

// How many times the node's log says it refused a manifest it fetched.
int Refusals(const NodeProcess& node) { return LogLines(node, "manifest refused"); }

// How many times the node's log says it could not reach the hub for the manifest.
int FailedFetches(const NodeProcess& node) {
  return LogLines(node, "manifest fetch: hub unreachable");
}

TEST(ManifestSyncTest, PublishedFetchedVerifiedAndNeverRolledBack) {
  const std::string root = MakeTempDir("lapor-manifest");
  NodeProcess hub(root + "/hub");
  hub.Init("00");
  hub.Start();
  const std::string hub_key_hex = hub.PublicKeyHex();
  const std::string hub_key = *crypto::HexDecode(hub_key_hex);

  NodeProcess province(root + "/province");
  auto init =
      province.Cli({"init", "--data-dir", province.data_dir(), "--jurisdiction", "32", "--hub-key",
                    hub_key_hex, "--hub-url", "http://127.0.0.1:" + std::to_string(hub.port())});
  ASSERT_EQ(init.exit_code, 0) << init.output;
  province.SetConfig("manifest_interval_ms", 100);
  auto add = hub.Cli({"federation", "add-member", "--data-dir", hub.data_dir(), "--jurisdiction",
                      "32", "--url", "http://127.0.0.1:1", "--key", province.PublicKeyHex()});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_NE(add.output.find("version 2"), std::string::npos) << add.output;
  EXPECT_NE(hub.Cli({"federation", "add-member", "--data-dir", hub.data_dir(), "--jurisdiction",
                     "32", "--url", "http://x", "--key", province.PublicKeyHex()})
                .exit_code,
            0);  // already a member
  province.Start();
  ASSERT_TRUE(WaitForVersion(province, hub_key, 2));
  const std::string v2 = province.Get("/federation/v1/manifest").body;
  auto m2 = protocol::OpenManifest(v2, hub_key);
  ASSERT_TRUE(m2.ok());
  ASSERT_NE(protocol::FindMember(*m2, "32"), nullptr);
  EXPECT_TRUE(protocol::KeyValidAt(*protocol::FindMember(*m2, "32"),
                                   *crypto::HexDecode(province.PublicKeyHex()), 4102444800000LL));
  // A member asks with the version it holds: 304 without a body while the hub works with that
  // version; the manifest, tagged with its version, when the member holds another.
  auto ask = [&](uint64_t held) {
    return Http(hub.port(), "GET", "/federation/v1/manifest", "",
                {{"If-None-Match", protocol::ManifestETag(held)}});
  };
  ASSERT_TRUE(Eventually("the hub answers 304 to a member holding version 2",
                         [&] { return ask(2).status == 304; }));
  auto same = ask(2);
  EXPECT_EQ(same.body, "");
  EXPECT_EQ(same.headers["etag"], "\"v2\"");
  auto older = ask(1);
  EXPECT_EQ(older.status, 200);
  EXPECT_EQ(older.body, v2);
  EXPECT_EQ(older.headers["etag"], "\"v2\"");
  auto plain = hub.Get("/federation/v1/manifest");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, v2);

  auto other = crypto::SigningKey::Generate();
  ASSERT_EQ(hub.Cli({"federation", "rotate-key", "--data-dir", hub.data_dir(), "--jurisdiction",
                     "32", "--key", crypto::HexEncode(other.public_key()), "--overlap-hours", "1",
                     "--confirmed-out-of-band", "test: no statement"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitForVersion(province, hub_key, 3));

  // Rollback: the hub serves version 2 again; the province keeps 3.
  auto rollback = RunCommand(
      {"/usr/bin/sqlite3", hub.data_dir() + "/lapor.db",
       "UPDATE meta SET value = X'" + crypto::HexEncode(v2) + "' WHERE key = 'manifest'"});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output;
  EXPECT_EQ(ServedVersion(hub, hub_key), 2u);
  // The province fetched version 2 and refused it (not merely: did not fetch yet).
  const int refused_before = Refusals(province);
  ASSERT_TRUE(Eventually(
      "the province logs that it refused the rolled-back manifest",
      [&] { return Refusals(province) > refused_before; }, std::chrono::milliseconds(5000)));
  EXPECT_EQ(ServedVersion(province, hub_key), 3u);

  // The hub down: the province tries to fetch, fails, and works on with its last good manifest.
  const int failed_before = FailedFetches(province);
  EXPECT_EQ(hub.Stop(), 0);
  ASSERT_TRUE(Eventually(
      "the province logs that it could not reach the stopped hub",
      [&] { return FailedFetches(province) > failed_before; }, std::chrono::milliseconds(5000)));
  EXPECT_EQ(ServedVersion(province, hub_key), 3u);
  EXPECT_EQ(province.Get("/healthz").status, 200);
  province.Stop();
  std::ifstream log(province.data_dir() + "/node.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("manifest refused"), std::string::npos);

  // Only the hub edits the manifest; a bad pinned key is refused at init.
  EXPECT_NE(province
                .Cli({"federation", "remove-member", "--data-dir", province.data_dir(),
                      "--jurisdiction", "32"})
                .exit_code,
            0);
  EXPECT_NE(
      province
          .Cli({"init", "--data-dir", root + "/bad", "--jurisdiction", "33", "--hub-key", "abcd"})
          .exit_code,
      0);
}

TEST(ManifestSyncTest, ManifestSignedByAnotherKeyIsNeverAccepted) {
  const std::string root = MakeTempDir("lapor-manifest-key");
  NodeProcess hub(root + "/hub");
  hub.Init("00");
  hub.Start();
  ASSERT_EQ(hub.Cli({"federation", "add-member", "--data-dir", hub.data_dir(), "--jurisdiction",
                     "32", "--url", "http://127.0.0.1:1", "--key",
                     crypto::HexEncode(crypto::SigningKey::Generate().public_key())})
                .exit_code,
            0);
  NodeProcess province(root + "/province");
  auto pinned = crypto::SigningKey::Generate();  // not the hub's key
  ASSERT_EQ(province
                .Cli({"init", "--data-dir", province.data_dir(), "--jurisdiction", "32",
                      "--hub-key", crypto::HexEncode(pinned.public_key()), "--hub-url",
                      "http://127.0.0.1:" + std::to_string(hub.port())})
                .exit_code,
            0);
  province.SetConfig("manifest_interval_ms", 100);
  province.Start();
  // It fetched the hub's manifest and refused it, and so serves none.
  ASSERT_TRUE(Eventually(
      "the province logs that it refused the manifest signed by another key",
      [&] { return Refusals(province) > 0; }, std::chrono::milliseconds(5000)));
  EXPECT_EQ(province.Get("/federation/v1/manifest").status, 404);
}

// One series' value in `node`'s /metrics (scraped with an operator's token); -1 if absent.
double Metric(const NodeProcess& node, const std::string& token, const std::string& series) {
  const std::string body = node.Get("/metrics", token).body;
  const std::string line = "\n" + series + " ";
  const size_t at = body.find(line);
  return at == std::string::npos ? -1.0 : std::stod(body.substr(at + line.size()));
}

// GET /federation/v1/status as JSON (null if it failed).
nlohmann::json FederationStatus(const NodeProcess& node, const std::string& token) {
  auto r = node.Get("/federation/v1/status", token);
  return r.status == 200 ? r.Json() : nlohmann::json(nullptr);
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The hub's signing key, read from its data folder (what an attacker holding the hub has).
crypto::SigningKey HubKey(const NodeProcess& hub) {
  std::string hex = ReadText(hub.data_dir() + "/node.key");
  while (!hex.empty() && hex.back() == '\n') hex.pop_back();
  return *crypto::SigningKey::FromSecretKey(*crypto::HexDecode(hex));
}

// Replaces the manifest the running hub serves (meta "manifest") with `envelope`.
void PutHubManifest(const NodeProcess& hub, const std::string& envelope) {
  auto put = RunCommand(
      {"/usr/bin/sqlite3", hub.data_dir() + "/lapor.db",
       "UPDATE meta SET value = X'" + crypto::HexEncode(envelope) + "' WHERE key = 'manifest'"});
  ASSERT_EQ(put.exit_code, 0) << put.output;
}

// The line after "statement: " in `key new`'s output.
std::string StatementOf(const std::string& output) {
  const std::string tag = "statement: ";
  const size_t at = output.find(tag);
  if (at == std::string::npos) return "";
  return output.substr(at + tag.size(), output.find('\n', at) - at - tag.size());
}

// A hub that lists a new key for member 32 on its own (what a stolen hub key, or a hub operator
// alone, could do before) is refused by every member, which keeps its manifest and alerts; the
// same change signed by 32's current key (`key new` on 32, `rotate-key --statement` on the hub)
// is taken by all, and so is one the hub's operator records as confirmed out of band.
TEST(ManifestSyncTest, KeyChangeNeedsTheMembersConsent) {
  Federation f(FederationOptions{.jurisdictions = {"32", "33"}});
  const std::string hub_key = *crypto::HexDecode(f.hub_key_hex());
  const uint64_t held = f.manifest_version();
  const std::string good = f.hub().Get("/federation/v1/manifest").body;
  auto manifest = protocol::OpenManifest(good, hub_key);
  ASSERT_TRUE(manifest.ok());

  // The hub alone: 32 gets a key the attacker holds, no statement, no record.
  auto attacker = crypto::SigningKey::Generate();
  v1::Manifest forged = *manifest;
  for (auto& member : *forged.mutable_members()) {
    if (member.jurisdiction() != "32") continue;
    auto* k = member.add_keys();
    k->set_public_key(attacker.public_key());
    k->set_valid_from_ms(forged.issued_ms());
  }
  forged.set_version(held + 1);
  PutHubManifest(f.hub(), protocol::SignManifest(forged, HubKey(f.hub())));
  ASSERT_EQ(f.ServedManifestVersion("00"), held + 1);
  for (const std::string j : {"32", "33"}) {
    const std::string& token = f.admin_token(j);
    ASSERT_TRUE(Eventually(j + " says it refused the manifest that changes 32's key", [&] {
      nlohmann::json st = FederationStatus(f.node(j), token);
      return st.is_object() && st["manifest_refused"].is_string() &&
             st["manifest_refused"].get<std::string>().find("member 32's new key") !=
                 std::string::npos;
    }));
    EXPECT_EQ(Metric(f.node(j), token, "lapor_manifest_refused"), 1) << j;
    EXPECT_EQ(f.ServedManifestVersion(j), held) << j;
    EXPECT_NE(ReadText(f.node(j).data_dir() + "/node.log").find("manifest refused"),
              std::string::npos)
        << j;
  }

  // The hub's own command refuses the change without a vouch.
  PutHubManifest(f.hub(), good);
  auto unvouched =
      f.hub().Cli({"federation", "rotate-key", "--data-dir", f.hub().data_dir(), "--jurisdiction",
                   "32", "--key", crypto::HexEncode(attacker.public_key())});
  EXPECT_NE(unvouched.exit_code, 0) << unvouched.output;
  // A statement signed by the new key only (not 32's) is refused by the hub too.
  const std::string self_signed = crypto::Base64Encode(
      protocol::SignKeyChange("32", attacker, attacker.public_key(), forged.issued_ms()));
  auto refused = f.hub().Cli({"federation", "rotate-key", "--data-dir", f.hub().data_dir(),
                              "--jurisdiction", "32", "--statement", self_signed});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_EQ(f.ServedManifestVersion("00"), held);

  // 32 makes its next key and signs the change with its current one; the hub publishes it.
  auto made = f.node("32").Cli({"key", "new", "--data-dir", f.node("32").data_dir()});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string statement = StatementOf(made.output);
  ASSERT_FALSE(statement.empty()) << made.output;
  auto change = protocol::OpenKeyChange(*crypto::Base64Decode(statement));
  ASSERT_TRUE(change.ok()) << change.status().ToString();
  EXPECT_EQ(crypto::HexEncode(change->old_key()), f.node("32").PublicKeyHex());
  struct stat st {};
  ASSERT_EQ(::stat((f.node("32").data_dir() + "/node.key.next").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto rotate = f.hub().Cli({"federation", "rotate-key", "--data-dir", f.hub().data_dir(),
                             "--jurisdiction", "32", "--statement", statement});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  for (const std::string j : {"00", "32", "33"}) {
    ASSERT_TRUE(Eventually(j + " serves the manifest with 32's vouched-for key",
                           [&] { return f.ServedManifestVersion(j) == held + 1; }));
    auto served = protocol::OpenManifest(f.node(j).Get("/federation/v1/manifest").body, hub_key);
    ASSERT_TRUE(served.ok());
    const v1::Member* m32 = protocol::FindMember(*served, "32");
    ASSERT_NE(m32, nullptr);
    ASSERT_EQ(m32->keys_size(), 2);
    EXPECT_EQ(m32->keys(1).public_key(), change->new_key());
    EXPECT_FALSE(m32->keys(1).change_statement().empty());
    if (j == "00") continue;
    ASSERT_TRUE(Eventually(j + " no longer reports a refused manifest", [&] {
      return Metric(f.node(j), f.admin_token(j), "lapor_manifest_refused") == 0;
    }));
    EXPECT_TRUE(FederationStatus(f.node(j), f.admin_token(j))["manifest_refused"].is_null());
  }

  // 33 lost its key: the hub's operator confirms by phone and records it; the members take it.
  auto replacement = crypto::SigningKey::Generate();
  auto oob =
      f.hub().Cli({"federation", "rotate-key", "--data-dir", f.hub().data_dir(), "--jurisdiction",
                   "33", "--key", crypto::HexEncode(replacement.public_key()),
                   "--confirmed-out-of-band", "call to the 33 duty officer, ticket OPS-77"});
  ASSERT_EQ(oob.exit_code, 0) << oob.output;
  ASSERT_TRUE(Eventually("32 serves the manifest with 33's confirmed key",
                         [&] { return f.ServedManifestVersion("32") == held + 2; }));
  auto served = protocol::OpenManifest(f.node("32").Get("/federation/v1/manifest").body, hub_key);
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(protocol::FindMember(*served, "33")->keys(1).confirmed_out_of_band(),
            "call to the 33 duty officer, ticket OPS-77");

  // In two steps: the hub removes 33, then adds it again with a key of its own. 32 saw the
  // removal, remembers 33's keys, and refuses the addition as an unvouched key change.
  auto removed = f.hub().Cli(
      {"federation", "remove-member", "--data-dir", f.hub().data_dir(), "--jurisdiction", "33"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  ASSERT_TRUE(Eventually("32 takes the manifest without 33",
                         [&] { return f.ServedManifestVersion("32") == held + 3; }));
  const std::string without33 = f.hub().Get("/federation/v1/manifest").body;
  auto readded =
      f.hub().Cli({"federation", "add-member", "--data-dir", f.hub().data_dir(), "--jurisdiction",
                   "33", "--url", f.url("33"), "--key", crypto::HexEncode(attacker.public_key())});
  ASSERT_EQ(readded.exit_code, 0) << readded.output;
  ASSERT_TRUE(Eventually("32 refuses 33 added again with a key it never vouched for", [&] {
    nlohmann::json st = FederationStatus(f.node("32"), f.admin_token("32"));
    return st.is_object() && st["manifest_refused"].is_string() &&
           st["manifest_refused"].get<std::string>().find("member 33's new key") !=
               std::string::npos;
  }));
  EXPECT_EQ(f.ServedManifestVersion("32"), held + 3);
  // Added again with the operator's record: taken.
  PutHubManifest(f.hub(), without33);
  auto vouched = f.hub().Cli({"federation", "add-member", "--data-dir", f.hub().data_dir(),
                              "--jurisdiction", "33", "--url", f.url("33"), "--key",
                              crypto::HexEncode(attacker.public_key()), "--confirmed-out-of-band",
                              "33 re-installed, confirmed in person, ticket OPS-78"});
  ASSERT_EQ(vouched.exit_code, 0) << vouched.output;
  ASSERT_TRUE(Eventually("32 takes 33 added again with a recorded confirmation",
                         [&] { return f.ServedManifestVersion("32") == held + 4; }));
}

// The hub re-issues its manifest before it expires; with the hub gone, a member's manifest goes
// stale: it alerts (metric, status, log) and serves on; with the hub back, it is fresh again.
TEST(ManifestSyncTest, ExpiredManifestAlertsAndTheMemberServesOn) {
  const std::string root = MakeTempDir("lapor-manifest-expiry");
  NodeProcess hub(root + "/hub");
  hub.Init("00");
  hub.SetConfig("manifest_validity_ms", 4000);  // re-issued with under 1.3 s left
  hub.Start();
  hub.SetPort(hub.port());  // the member's hub URL holds across the hub's restart
  NodeProcess member(root + "/member");
  auto init = member.Cli({"init", "--data-dir", member.data_dir(), "--jurisdiction", "32",
                          "--hub-key", hub.PublicKeyHex(), "--hub-url",
                          "http://127.0.0.1:" + std::to_string(hub.port())});
  ASSERT_EQ(init.exit_code, 0) << init.output;
  member.SetConfig("manifest_interval_ms", 100);
  auto add = hub.Cli({"federation", "add-member", "--data-dir", hub.data_dir(), "--jurisdiction",
                      "32", "--url", "http://127.0.0.1:1", "--key", member.PublicKeyHex()});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  const std::string token = member.AddOperator("admin", "admin");
  member.Start();
  const std::string hub_key = *crypto::HexDecode(hub.PublicKeyHex());

  // Re-issued: the member sees versions beyond the one add-member published.
  ASSERT_TRUE(Eventually("the member holds a re-issued version",
                         [&] { return ServedVersion(member, hub_key) > 2; }));
  auto fresh = protocol::OpenManifest(member.Get("/federation/v1/manifest").body, hub_key);
  ASSERT_TRUE(fresh.ok());
  EXPECT_GT(fresh->expires_ms(), fresh->issued_ms());
  EXPECT_LE(fresh->expires_ms() - fresh->issued_ms(), 4000);

  // The hub goes away: the member's manifest expires.
  ASSERT_EQ(hub.Stop(), 0);
  ASSERT_TRUE(Eventually("the member reports its manifest expired",
                         [&] { return Metric(member, token, "lapor_manifest_expired") == 1; }));
  // Past its expiry (the figures are refreshed together: at the very moment of expiry it is 0).
  EXPECT_TRUE(Eventually("the member reports how long ago it expired", [&] {
    return Metric(member, token, "lapor_manifest_expires_in_seconds") < 0;
  }));
  nlohmann::json st = FederationStatus(member, token);
  ASSERT_TRUE(st["manifest_in_use"].is_object()) << st.dump();
  EXPECT_EQ(st["manifest_in_use"]["expired"], true) << st.dump();
  EXPECT_TRUE(st["manifest_in_use"]["warning"].is_string()) << st.dump();
  ASSERT_TRUE(Eventually("the member's log says the manifest is past its expiry", [&] {
    return ReadText(member.data_dir() + "/node.log").find("past its expiry") != std::string::npos;
  }));
  // It serves on: health, and a citizen's complaint.
  EXPECT_EQ(member.Get("/healthz").status, 200);
  auto filed = member.Post("/api/v1/complaints",
                           {{"title", "Jalan rusak"},
                            {"description", "Jalan berlubang di depan sekolah sejak tiga bulan."},
                            {"category", "infrastruktur"},
                            {"report_type", "pengaduan"},
                            {"region_code", "32.04"},
                            {"reporter", {{"name", "Siti Rahma"}, {"phone", "+6281234567"}}}});
  EXPECT_EQ(filed.status, 201) << filed.body;

  // The hub is back: it re-issues its stale manifest at once; the member is fresh again.
  hub.Start();
  ASSERT_TRUE(Eventually("the member's manifest is fresh again",
                         [&] { return Metric(member, token, "lapor_manifest_expired") == 0; }));
  EXPECT_GT(Metric(member, token, "lapor_manifest_expires_in_seconds"), 0);
  EXPECT_EQ(FederationStatus(member, token)["manifest_in_use"]["expired"], false);
}

}  // namespace
}  // namespace lapor::testing
