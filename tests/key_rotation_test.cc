// A member changes its key on real lapor-node processes: `key new` on the member, `federation
// rotate-key` on the hub, `key activate` on the stopped member. Its log, its cases, the data sealed
// to its earlier or next key, its witness's cosignatures and an auditor's state carry over.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

struct Filed {
  std::string id, access_code;
};

Filed File(NodeProcess& node, const std::string& region, const std::string& name) {
  json body = {{"title", "Jalan rusak"},
               {"description", "Jalan berlubang di depan sekolah sejak tiga bulan."},
               {"category", "infrastruktur"},
               {"report_type", "pengaduan"},
               {"region_code", region},
               {"reporter", {{"name", name}, {"phone", "+6281234567"}}}};
  auto r = node.Post("/api/v1/complaints", body);
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = r.Json();
  return {j.value("tracking_id", ""), j.value("access_code", "")};
}

// The text after `tag` on its line in `output` ("" if absent).
std::string LineAfter(const std::string& output, const std::string& tag) {
  const size_t at = output.find(tag);
  if (at == std::string::npos) return "";
  return output.substr(at + tag.size(), output.find('\n', at) - at - tag.size());
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The node.key.retired-* files of a data folder.
std::vector<std::string> RetiredKeys(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("node.key.retired-", 0) == 0) out.push_back(name);
  }
  return out;
}

// `node`'s checkpoint: its size if it is signed by `log_vkey` (and, if `cosigner_vkey` is not
// empty, cosigned by it), else 0.
uint64_t CheckpointSignedBy(const NodeProcess& node, const std::string& log_vkey,
                            const std::string& cosigner_vkey = "") {
  auto note = crypto::SignedNote::Parse(node.Get("/log/checkpoint").body);
  auto log = crypto::NoteVerifier::Parse(log_vkey);
  if (!note.ok() || !log.ok() || !crypto::VerifyNote(*note, *log).ok()) return 0;
  if (!cosigner_vkey.empty()) {
    auto cosigner = crypto::NoteVerifier::Parse(cosigner_vkey);
    uint64_t ts = 0;
    if (!cosigner.ok() || !crypto::VerifyCosignature(*note, *cosigner, &ts).ok()) return 0;
  }
  auto cp = crypto::Checkpoint::ParseBody(note->text);
  return cp.ok() ? cp->size : 0;
}

TEST(KeyRotationTest, AMemberChangesItsKeyAndKeepsItsLogCasesSealedDataAndWitness) {
  Federation f(FederationOptions{.jurisdictions = {"32", "33", "33.01"}});
  NodeProcess& hub = f.hub();
  NodeProcess& n32 = f.node("32");
  const std::string dir32 = n32.data_dir();
  auto view = [&](const std::string& j, const std::string& id) {
    return f.node(j).Get("/api/v1/complaints/" + id, f.admin_token(j)).Json();
  };
  auto holds_reporter = [&](const std::string& id, const std::string& name) {
    json v = view("32", id);
    return v["reporter"].is_object() && v["reporter"].value("name", "") == name;
  };

  // The hub witnesses 32's log.
  const std::string old_vkey = Trimmed(n32.Cli({"vkey", "--data-dir", dir32}).output);
  const std::string cosigner =
      Trimmed(hub.Cli({"vkey", "--witness", "--data-dir", hub.data_dir()}).output);
  ASSERT_EQ(hub.Stop(), 0);
  ASSERT_EQ(
      hub.Cli({"witness", "cosign", "--data-dir", hub.data_dir(), "--vkey", old_vkey}).exit_code,
      0);
  hub.Start();
  ASSERT_EQ(n32.Stop(), 0);
  auto added =
      n32.Cli({"witness", "add", "--data-dir", dir32, "--url", f.url("00"), "--vkey", cosigner});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  n32.Start();
  Filed before = File(n32, "32", "Budi Santoso");
  ASSERT_TRUE(Eventually("the hub cosigns 32's checkpoint under its first key",
                         [&] { return CheckpointSignedBy(n32, old_vkey, cosigner) >= 1; }));
  // An auditor's state, under the first key. The auditor checks each entry against the keys the
  // federation manifest lists for 32 at the entry's time (the checkpoint against --vkey).
  const std::string state = f.root() + "/audit-state";
  const std::string manifest = f.root() + "/manifest.pb";
  auto audit = [&](const std::string& vkey) {
    std::ofstream(manifest, std::ios::binary) << hub.Get("/federation/v1/manifest").body;
    return RunCommand({LAPOR_AUDIT_BIN_DEFAULT, "verify", "--url", f.url("32"), "--vkey", vkey,
                       "--state", state, "--manifest", manifest, "--hub-key", f.hub_key_hex()});
  };
  auto first_audit = audit(old_vkey);
  ASSERT_EQ(first_audit.exit_code, 0) << first_audit.output;

  // While 32 is down, 33 files a case 32 owns: its reporter's data is sealed to 32's first key
  // and waits in 33's outbox (33 stops too, and keeps it).
  const std::string old_key_hex = n32.PublicKeyHex();
  ASSERT_EQ(n32.Stop(), 0);
  Filed sealed_to_old = File(f.node("33"), "32", "Rina Wati");
  ASSERT_EQ(f.node("33").Stop(), 0);
  n32.Start();

  // Not before the manifest the node holds lists the new key (33, stopped, tries).
  const std::string dir33 = f.node("33").data_dir();
  const std::string key33 = f.node("33").PublicKeyHex();
  ASSERT_EQ(f.node("33").Cli({"key", "new", "--data-dir", dir33}).exit_code, 0);
  auto early = f.node("33").Cli({"key", "activate", "--data-dir", dir33});
  EXPECT_NE(early.exit_code, 0);
  EXPECT_NE(early.output.find("does not list the new key"), std::string::npos) << early.output;
  EXPECT_EQ(f.node("33").PublicKeyHex(), key33);
  EXPECT_TRUE(RetiredKeys(dir33).empty());
  EXPECT_TRUE(Exists(dir33 + "/node.key.next"));

  // 32, running, makes its next key: the statement for the hub and the log key it will sign with.
  auto made = n32.Cli({"key", "new", "--data-dir", dir32});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string statement = LineAfter(made.output, "statement: ");
  const std::string new_vkey = LineAfter(made.output, "log key after `key activate`: ");
  ASSERT_FALSE(statement.empty()) << made.output;
  ASSERT_TRUE(crypto::NoteVerifier::Parse(new_vkey).ok()) << made.output;
  ASSERT_NE(new_vkey, old_vkey);
  // Not while it runs.
  auto running = n32.Cli({"key", "activate", "--data-dir", dir32});
  EXPECT_NE(running.exit_code, 0);
  EXPECT_NE(running.output.find("stop the node first"), std::string::npos) << running.output;

  // The hub lists the new key (vouched for by the statement) and witnesses the new log key too.
  auto rotate = hub.Cli({"federation", "rotate-key", "--data-dir", hub.data_dir(), "--jurisdiction",
                         "32", "--statement", statement});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  ASSERT_EQ(hub.Stop(), 0);
  ASSERT_EQ(
      hub.Cli({"witness", "cosign", "--data-dir", hub.data_dir(), "--vkey", new_vkey}).exit_code,
      0);
  hub.Start();
  const uint64_t rotated = f.manifest_version() + 1;
  for (const std::string j : {"00", "32", "33.01"}) {
    ASSERT_TRUE(Eventually(j + " serves the manifest with 32's new key",
                           [&] { return f.ServedManifestVersion(j) == rotated; }));
  }
  // 33.01 already seals to the new key: 32, running since before `key new`, opens it with
  // node.key.next, read when the box did not open with the keys it had.
  Filed sealed_to_next = File(f.node("33.01"), "32", "Agus Salim");
  EXPECT_TRUE(Eventually("32 opens data sealed to its next key",
                         [&] { return holds_reporter(sealed_to_next.id, "Agus Salim"); }));

  // Activated: the earlier key is kept, node.json names the new one.
  ASSERT_EQ(n32.Stop(), 0);
  auto activated = n32.Cli({"key", "activate", "--data-dir", dir32});
  ASSERT_EQ(activated.exit_code, 0) << activated.output;
  EXPECT_NE(activated.output.find(new_vkey), std::string::npos) << activated.output;
  EXPECT_FALSE(Exists(dir32 + "/node.key.next"));
  ASSERT_EQ(RetiredKeys(dir32).size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((dir32 + "/" + RetiredKeys(dir32)[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(n32.PublicKeyHex(), old_key_hex);
  EXPECT_EQ(Trimmed(n32.Cli({"vkey", "--data-dir", dir32}).output), new_vkey);
  // fsck takes the events the earlier key signed.
  auto offline = n32.Fsck();
  EXPECT_EQ(offline.exit_code, 0) << offline.output;
  auto again = n32.Cli({"key", "activate", "--data-dir", dir32});
  EXPECT_NE(again.exit_code, 0);  // nothing left to activate
  // Run again after a crash between the key's move and node.json's update: it finishes that.
  const std::string new_key_hex = n32.PublicKeyHex();
  {
    std::ifstream in(dir32 + "/node.json");
    json config = json::parse(in);
    config["public_key"] = old_key_hex;
    std::ofstream(dir32 + "/node.json") << config.dump(2);
  }
  auto finished = n32.Cli({"key", "activate", "--data-dir", dir32});
  EXPECT_EQ(finished.exit_code, 0) << finished.output;
  EXPECT_EQ(n32.PublicKeyHex(), new_key_hex);

  // Started: it serves the new log key and its checkpoint signed again with it.
  n32.Start();
  EXPECT_EQ(Trimmed(n32.Get("/log/vkey").body), new_vkey);
  const uint64_t resigned = CheckpointSignedBy(n32, new_vkey);
  EXPECT_GE(resigned, 1u);
  // The receipt of a complaint filed under the first key: its submission verifies with the earlier
  // log key given beside the new one (and not with the new one alone).
  const std::string receipt = f.root() + "/receipt.json";
  auto receipt_reply = Http(n32.port(), "GET", "/api/v1/complaints/" + before.id + "/receipt", "",
                            {{"X-Access-Code", before.access_code}});
  ASSERT_EQ(receipt_reply.status, 200) << receipt_reply.body;
  std::ofstream(receipt) << receipt_reply.body;
  auto receipt_new_only =
      RunCommand({LAPOR_AUDIT_BIN_DEFAULT, "verify-receipt", receipt, "--vkey", new_vkey});
  EXPECT_NE(receipt_new_only.exit_code, 0) << receipt_new_only.output;
  auto receipt_ok = RunCommand({LAPOR_AUDIT_BIN_DEFAULT, "verify-receipt", receipt, "--vkey",
                                new_vkey, "--earlier-vkey", old_vkey});
  EXPECT_EQ(receipt_ok.exit_code, 0) << receipt_ok.output;
  // The data sealed to the first key, delivered only now, opens with the kept key.
  f.node("33").Start();
  EXPECT_TRUE(Eventually("32 opens data sealed to its earlier key",
                         [&] { return holds_reporter(sealed_to_old.id, "Rina Wati"); }));

  // What 32 signs with the new key reaches its parties, which take it.
  Filed after = File(n32, "33", "Dewi Lestari");
  ASSERT_TRUE(Eventually("33 and the hub hold 32's case signed with its new key", [&] {
    auto at32 = EventHashes(n32, after.id, f.auditor_token("32"));
    return !at32.empty() && EventHashes(f.node("33"), after.id, f.auditor_token("33")) == at32 &&
           EventHashes(hub, after.id, f.auditor_token("00")) == at32;
  }));
  EXPECT_TRUE(Eventually("33 holds the reporter's data of 32's new case", [&] {
    json v = view("33", after.id);
    return v["reporter"].is_object() && v["reporter"].value("name", "") == "Dewi Lestari";
  }));
  // The witness cosigns the log under the new key, continuing from what it cosigned before.
  ASSERT_TRUE(Eventually("the hub cosigns 32's checkpoint under its new key",
                         [&] { return CheckpointSignedBy(n32, new_vkey, cosigner) > resigned; }));
  // The auditor's state from before the change: the log grew append-only under the new key.
  auto second_audit = audit(new_vkey);
  EXPECT_EQ(second_audit.exit_code, 0) << second_audit.output;
  // Without the manifest the auditor needs the earlier log key for the entries it signed.
  auto no_manifest = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {
        LAPOR_AUDIT_BIN_DEFAULT, "verify", "--url", f.url("32"), "--vkey", new_vkey};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCommand(args);
  };
  auto one_key = no_manifest({});
  EXPECT_EQ(one_key.exit_code, 1) << one_key.output;
  EXPECT_NE(one_key.output.find("no valid signature by the node's key"), std::string::npos)
      << one_key.output;
  auto both_keys = no_manifest({"--earlier-vkey", old_vkey});
  EXPECT_EQ(both_keys.exit_code, 0) << both_keys.output;
  EXPECT_EQ(view("32", before.id)["reporter"].value("name", ""), "Budi Santoso");

  // A backup carries the kept key; the restored copy passes fsck with it.
  const std::string backup = f.root() + "/32.backup";
  auto backed = n32.Cli({"backup", "--data-dir", dir32, "--out", backup});
  ASSERT_EQ(backed.exit_code, 0) << backed.output;
  ASSERT_EQ(n32.Stop(), 0);
  EXPECT_EQ(n32.Fsck().exit_code, 0);
  const std::string restored = f.root() + "/32-restored";
  auto back = n32.Cli({"restore", "--from", backup, "--data-dir", restored});
  ASSERT_EQ(back.exit_code, 0) << back.output;
  EXPECT_EQ(RetiredKeys(restored), RetiredKeys(dir32));
}

}  // namespace
}  // namespace lapor::testing
