// The federation manifest between a real hub and a province: published by hub commands, fetched
// and verified against the pinned hub key, never rolled back, kept while the hub is down.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"
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

  auto other = crypto::SigningKey::Generate();
  ASSERT_EQ(hub.Cli({"federation", "rotate-key", "--data-dir", hub.data_dir(), "--jurisdiction",
                     "32", "--key", crypto::HexEncode(other.public_key()), "--overlap-hours", "1"})
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

}  // namespace
}  // namespace lapor::testing
