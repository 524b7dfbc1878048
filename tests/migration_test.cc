// Upgrades: a data folder written by an earlier release (tests/fixtures/schema-<N>-*/, each with a
// README saying how it was made) is opened by today's lapor-node, which migrates it forward and
// keeps everything: fsck clean, the cases with their history and reporter data, the operators'
// tokens, and new complaints continue the log.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/node_process.h"
#include "storage/store.h"

namespace lapor::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A copy of a fixture folder (keys back to 0600, the database gunzipped) in a fresh temp dir.
std::string CopyFixture(const std::string& name) {
  const fs::path from = fs::path(LAPOR_SOURCE_DIR) / "tests" / "fixtures" / name;
  const std::string to = MakeTempDir("lapor-migrate") + "/node";
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string file = entry.path().filename();
    if (file == "README.md" || file == "lapor.db.gz") continue;
    fs::copy_file(entry.path(), to + "/" + file);
    ::chmod((to + "/" + file).c_str(), 0600);
  }
  auto gunzip =
      RunCommand({"/bin/sh", "-c",
                  "gzip -dc '" + (from / "lapor.db.gz").string() + "' > '" + to + "/lapor.db'"});
  EXPECT_EQ(gunzip.exit_code, 0) << gunzip.output;
  ::chmod(to.c_str(), 0700);
  return to;
}

TEST(MigrationTest, Schema5FolderOpensKeepsEverythingAndContinues) {
  const std::string dir = CopyFixture("schema-5-node-32");
  NodeProcess node(dir);
  const std::string admin = "lpt_KFS524NB3GEL36M3DC2KOSOBTRZUA5Q3";
  const std::string liaison = "lpt_R4HNFWC5DQY3MWQF563BAPHITAWH5FLK";
  const std::string auditor = "lpt_WMGAIMJEXNDOPWMALH3YIVD6ISNPXWWC";
  // fsck opens the store, which migrates it, then checks every signature, chain and the log.
  auto fsck = node.Fsck();
  ASSERT_EQ(fsck.exit_code, 0) << fsck.output;
  EXPECT_NE(fsck.output.find("6 events, 3 cases"), std::string::npos) << fsck.output;
  auto version = RunCommand({"/usr/bin/sqlite3", dir + "/lapor.db", "PRAGMA user_version"});
  EXPECT_EQ(version.output, std::to_string(storage::kSchemaVersion) + "\n");

  node.Start();
  EXPECT_EQ(node.Get("/healthz").Json()["next_seq"], 6);
  // The named reporter's case: history, response and personal data for the admin.
  auto c1 = node.Get("/api/v1/complaints/32-YVZHGYR34Y", admin);
  ASSERT_EQ(c1.status, 200) << c1.body;
  const json v1 = c1.Json();
  EXPECT_EQ(v1["status"], "diproses");
  EXPECT_EQ(v1["responded"], true);
  EXPECT_EQ(v1["reporter"]["nik"], "3204123456789012");
  ASSERT_EQ(v1["history"].size(), 3u);
  EXPECT_EQ(v1["history"][2]["note"], "Dijadwalkan pekan depan.");
  // The confidential case: its reporter with the access code, nothing for the auditor.
  auto c2 = Http(node.port(), "GET", "/api/v1/complaints/32-5RXIBW2A2G", "",
                 {{"X-Access-Code", "FTXQLQP7DWFITIDCEGO2KB7PKI"}});
  ASSERT_EQ(c2.status, 200) << c2.body;
  EXPECT_EQ(c2.Json()["title"], "Pungutan liar");
  const json audited = node.Get("/api/v1/complaints/32-5RXIBW2A2G", auditor).Json();
  EXPECT_TRUE(audited["title"].is_null()) << audited.dump();
  // Every operator's token still works, and each one's addition is in the operators' record.
  EXPECT_EQ(node.Get("/api/v1/complaints", liaison).status, 200);
  EXPECT_EQ(node.Get("/api/v1/complaints", auditor).status, 200);
  auto ops = node.Cli({"operator", "list", "--data-dir", dir});
  ASSERT_EQ(ops.exit_code, 0) << ops.output;
  EXPECT_NE(ops.output.find("dinas-pu"), std::string::npos) << ops.output;
  auto changes = RunCommand({"/usr/bin/sqlite3", dir + "/lapor.db",
                             "SELECT count(*) FROM operator_changes WHERE change = 'added'"});
  EXPECT_EQ(changes.output, "3\n");
  // New work continues the log after the migrated events.
  auto filed = node.Post("/api/v1/complaints", json{{"title", "Sampah menumpuk"},
                                                    {"description", "Di pasar."},
                                                    {"category", "kebersihan"},
                                                    {"report_type", "pengaduan"},
                                                    {"region_code", "32"}});
  ASSERT_EQ(filed.status, 201) << filed.body;
  auto acted = node.Post("/api/v1/complaints/32-5RXIBW2A2G/actions",
                         json{{"action", "respond"}, {"note", "Sedang diperiksa."}}, liaison);
  EXPECT_EQ(acted.status, 200) << acted.body;
  ASSERT_EQ(node.Stop(), 0);
  fsck = node.Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  EXPECT_NE(fsck.output.find("8 events, 4 cases"), std::string::npos) << fsck.output;
}

}  // namespace
}  // namespace lapor::testing
