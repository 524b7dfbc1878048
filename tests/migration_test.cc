// Upgrades: a data folder written by an earlier release (tests/fixtures/schema-<N>-*/, each with a
// README saying how it was made) is opened by today's lapor-node, which migrates it forward and
// keeps everything: fsck clean, the cases with their history and reporter data, the operators'
// tokens, and new complaints continue the log.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
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
  // The statistics figures of the migrated cases, filled in from their events at the first open
  // (schema 11): the case verified and responded.
  const json figures = node.Get("/api/v1/stats", admin).Json();
  EXPECT_EQ(figures["totals"]["cases"], 3) << figures.dump();
  EXPECT_GE(figures["totals"]["responded"], 1) << figures.dump();
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

// The folders written by the releases of schemas 1 to 4 and 6 to 8 were all made by
// tests/fixtures/make_fixture.sh: the same operators, four complaints and six actions.
struct OldFolder {
  std::string name;
  std::string admin, liaison, auditor;  // operators 1, 2 and 3
  std::string named, named_code;        // case 1: named reporter, verified, responded, replied
  std::string secret, secret_code;      // case 2: confidential whistle-blowing, verified, responded
  std::string aspirasi, aspirasi_code;  // case 3: anonymous, submitted
  std::string elsewhere;                // case 4: region 33, verified
  bool v1_outbox = false;  // the release queued case 4's events for 00 and 33 (schemas 1 to 3)
  // Sealed records: the reporters of cases 1 and 4, case 2's content and its response's note;
  // from schema 6 on a confidential case's verify seals the agency it names too.
  int sealed = 4;
};

std::string Sql(const std::string& dir, const std::string& sql) {
  return RunCommand({"/usr/bin/sqlite3", dir + "/lapor.db", sql}).output;
}

void OpensKeepsEverythingAndContinues(const OldFolder& f) {
  const std::string dir = CopyFixture(f.name);
  NodeProcess node(dir);
  // fsck opens the store, which migrates it, then checks every signature, chain and the log.
  auto fsck = node.Fsck();
  ASSERT_EQ(fsck.exit_code, 0) << fsck.output;
  EXPECT_NE(fsck.output.find("10 events, 4 cases, " + std::to_string(f.sealed) + " sealed records"),
            std::string::npos)
      << fsck.output;
  EXPECT_EQ(Sql(dir, "PRAGMA user_version"), std::to_string(storage::kSchemaVersion) + "\n");

  node.Start();
  EXPECT_EQ(node.Get("/healthz").Json()["next_seq"], 10);
  // The named reporter's case: history, notes and personal data for the admin and the reporter,
  // none for the public.
  auto c1 = node.Get("/api/v1/complaints/" + f.named, f.admin);
  ASSERT_EQ(c1.status, 200) << c1.body;
  const json v1 = c1.Json();
  EXPECT_EQ(v1["status"], "diproses");
  EXPECT_EQ(v1["responded"], false);  // the reporter replied after the response
  EXPECT_EQ(v1["agency"], "dinas-pu");
  EXPECT_EQ(v1["owner_node"], "32");
  EXPECT_EQ(v1["reporter"]["name"], "Siti Aminah");
  EXPECT_EQ(v1["reporter"]["nik"], "3204123456789012");
  EXPECT_EQ(v1["reporter"]["email"], "siti@example.id");
  EXPECT_EQ(v1["location"]["address"], "Jl. Merdeka 1, Bandung");
  ASSERT_EQ(v1["history"].size(), 4u) << v1.dump();
  EXPECT_EQ(v1["history"][1]["type"], "verified");
  EXPECT_EQ(v1["history"][1]["agency"], "dinas-pu");
  EXPECT_EQ(v1["history"][2]["note"], "Dijadwalkan pekan depan.");
  EXPECT_EQ(v1["history"][3]["type"], "replied");
  EXPECT_EQ(v1["history"][3]["note"], "Lubangnya makin besar.");
  const json public_view = node.Get("/api/v1/complaints/" + f.named).Json();
  EXPECT_EQ(public_view["title"], "Jalan berlubang");
  EXPECT_FALSE(public_view.contains("reporter")) << public_view.dump();
  auto own = Http(node.port(), "GET", "/api/v1/complaints/" + f.named, "",
                  {{"X-Access-Code", f.named_code}});
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.Json()["reporter"]["phone"], "081234567890");
  // The confidential case: content and the sealed note for its reporter, nothing for the auditor.
  auto c2 = Http(node.port(), "GET", "/api/v1/complaints/" + f.secret, "",
                 {{"X-Access-Code", f.secret_code}});
  ASSERT_EQ(c2.status, 200) << c2.body;
  const json v2 = c2.Json();
  EXPECT_EQ(v2["title"], "Pungutan liar");
  EXPECT_EQ(v2["description"], "Di loket perizinan.");
  ASSERT_EQ(v2["history"].size(), 3u) << v2.dump();
  EXPECT_EQ(v2["history"][2]["note"], "Petugas loket diperiksa.");
  const json audited = node.Get("/api/v1/complaints/" + f.secret, f.auditor).Json();
  EXPECT_EQ(audited["status"], "diproses");
  EXPECT_TRUE(audited["title"].is_null()) << audited.dump();
  // The anonymous aspirasi, read with its access code; the case about region 33, still the node's.
  auto c3 = Http(node.port(), "GET", "/api/v1/complaints/" + f.aspirasi, "",
                 {{"X-Access-Code", f.aspirasi_code}});
  ASSERT_EQ(c3.status, 200) << c3.body;
  EXPECT_EQ(c3.Json()["status"], "belum_terverifikasi");
  EXPECT_EQ(c3.Json()["title"], "Lampu jalan mati");
  const json v4 = node.Get("/api/v1/complaints/" + f.elsewhere, f.admin).Json();
  EXPECT_EQ(v4["status"], "terdisposisi");
  EXPECT_EQ(v4["region_code"], "33");
  EXPECT_EQ(v4["owner_node"], "32");
  EXPECT_EQ(v4["reporter"]["name"], "Budi Santoso");
  // Every operator's token still works, and each one's addition is in the operators' record.
  EXPECT_EQ(node.Get("/api/v1/complaints", f.liaison).status, 200);
  const json listed = node.Get("/api/v1/complaints", f.auditor).Json();
  EXPECT_EQ(listed["items"].size(), 4u) << listed.dump();
  // The statistics figures of the migrated cases, filled in from their events at the first open
  // (schema 11): cases 1, 2 and 4 verified, 1 and 2 responded, 2 confidential.
  const json figures = node.Get("/api/v1/stats", f.admin).Json();
  EXPECT_EQ(figures["totals"]["cases"], 4) << figures.dump();
  EXPECT_EQ(figures["totals"]["verified"], 3) << figures.dump();
  EXPECT_EQ(figures["totals"]["responded"], 2) << figures.dump();
  EXPECT_EQ(figures["by_category"]["rahasia"], 1) << figures.dump();
  auto ops = node.Cli({"operator", "list", "--data-dir", dir});
  ASSERT_EQ(ops.exit_code, 0) << ops.output;
  EXPECT_NE(ops.output.find("dinas-pu"), std::string::npos) << ops.output;
  EXPECT_EQ(Sql(dir, "SELECT count(*) FROM operator_changes WHERE change = 'added'"), "3\n");
  // Search (schema 10) finds the migrated cases: a word inside a word through the index
  // the indexer filled after the migration, the confidential case by its sealed content for its
  // admin only.
  auto search = [&](const std::string& q, const std::string& token) {
    auto r = node.Get("/api/v1/search?q=" + q, token);
    EXPECT_EQ(r.status, 200) << r.body;
    const json page = r.Json();
    std::set<std::string> ids;
    for (const auto& item : page["items"]) ids.insert(item["tracking_id"].get<std::string>());
    return ids;
  };
  EXPECT_EQ(search("lubang", f.admin), std::set<std::string>{f.named});
  EXPECT_EQ(search("jembatan", f.auditor), std::set<std::string>{f.elsewhere});
  EXPECT_EQ(search("lampu", f.liaison), std::set<std::string>{});  // not dinas-pu's case
  EXPECT_EQ(search("lampu", f.auditor), std::set<std::string>{f.aspirasi});
  EXPECT_EQ(search("loket", f.admin), std::set<std::string>{f.secret});
  EXPECT_TRUE(search("loket", f.auditor).empty());
  EXPECT_TRUE(search("pungutan", f.auditor).empty());
  // What the release queued for other nodes is still queued, as the envelopes of those events.
  const json deliveries = node.Get("/federation/v1/status", f.admin).Json()["destinations"];
  if (f.v1_outbox) {
    ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump();
    // Dated when the release queued them, so their wait shows (storage/schema.cc,
    // DateMovedOutboxRows): the status' lag and /metrics' age read 0 for a wait with no date.
    for (const auto& d : deliveries) {
      EXPECT_EQ(d["backlog"], 2) << d.dump();
      EXPECT_GT(d["lag_seconds"].get<double>(), 0.0) << d.dump();
    }
    EXPECT_EQ(Sql(dir, "SELECT count(*) FROM outbox WHERE created_ms = 0"), "0\n");
    const std::string metrics = node.Get("/metrics", f.admin).body;
    EXPECT_EQ(metrics.find("lapor_outbox_oldest_undelivered_age_seconds{destination=\"00\"} 0\n"),
              std::string::npos)
        << metrics;
    EXPECT_EQ(Sql(dir,
                  "SELECT o.destination, e.seq FROM outbox o JOIN events e ON "
                  "e.envelope = o.payload ORDER BY o.id"),
              "00|3\n33|3\n00|9\n33|9\n");
  } else {
    EXPECT_TRUE(deliveries.empty()) << deliveries.dump();
  }

  // New work continues the log after the migrated events, on new and migrated cases.
  auto filed = node.Post("/api/v1/complaints", json{{"title", "Sampah menumpuk"},
                                                    {"description", "Di pasar."},
                                                    {"category", "kebersihan"},
                                                    {"report_type", "pengaduan"},
                                                    {"region_code", "32"}});
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string new_id = filed.Json()["tracking_id"];
  EXPECT_EQ(search("sampah", f.admin), std::set<std::string>{new_id});
  const json mine = node.Get("/api/v1/complaints/" + new_id, f.admin).Json();
  EXPECT_EQ(mine["history"][0]["seq"], 10) << mine.dump();
  auto verified = node.Post("/api/v1/complaints/" + f.aspirasi + "/actions",
                            json{{"action", "verify"}, {"agency", "dinas-pu"}}, f.admin);
  EXPECT_EQ(verified.status, 200) << verified.body;
  auto replied = node.Post(
      "/api/v1/complaints/" + f.secret + "/actions",
      json{{"action", "reply"}, {"note", "Masih terjadi."}, {"access_code", f.secret_code}});
  EXPECT_EQ(replied.status, 200) << replied.body;
  ASSERT_EQ(node.Stop(), 0);
  fsck = node.Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  EXPECT_NE(fsck.output.find("13 events, 5 cases"), std::string::npos) << fsck.output;
  EXPECT_NE(fsck.output.find("checkpoint 13 checked"), std::string::npos) << fsck.output;
}

TEST(MigrationTest, Schema1FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-1-node-32", "lpt_ICHQO7G23E722XBF2JBFM33XSIDF6MKM",
       "lpt_ZMPAPM3PTUDYQXPGYPD6EHT7JM4C5SAL", "lpt_AUXKUV423VRQ3IJPPAQKIZFARBLXHUZW",
       "32-IQUQXON464", "CENDXYUPQ5QHE3TNAG7QU3XZ2Y", "32-7BRVOZV7FU", "2NTRJVIKG2R3AP4SN4ORARCWME",
       "32-RIHSHDYVPP", "5RMBZCPIMKC6AX2L33IP3BR5OA", "32-FNXOOBKMHL",
       /*v1_outbox=*/true});
}

TEST(MigrationTest, Schema2FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-2-node-32", "lpt_RRRDCM6BDHWLHYKUCKIHYC5PZE2X2TNA",
       "lpt_OMNLZURXSDPHAF3MJJTMYQ5NJBWPGM3E", "lpt_57OLHFOZIWAGW2S6PPXGQH7QJNE74BUD",
       "32-NEBI6QCKRE", "BR3OOCABSI37UYXNWWUO7XSBEY", "32-DQ442K2WFI", "YLADH7EYSJAWZYXIKHQGDTL5JA",
       "32-5VZXAFWPYN", "TSFA6H54QIYUEEZETTALTGZILE", "32-7XD5LPJ4LI",
       /*v1_outbox=*/true});
}

TEST(MigrationTest, Schema3FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-3-node-32", "lpt_BNCGNVYU7GLDUBKKYTWETDQI4WU2EZAW",
       "lpt_HKHAM5LXDF4RUYWUTY5JSWUDJTY2OYKT", "lpt_M2A6L65MEJ2BVOMWN6LVOHPWAUATE5YX",
       "32-6YLBG3CDVA", "5DZEFRKF7H5N35YHJI5H6UZHQ4", "32-UMGLENUVDJ", "5OOSKK4TUOLEHD7FJDSAUCUEGI",
       "32-X2D3EBQXGP", "X3DNOUI5ZEUVHQ2NESR4ENNRT4", "32-N5QTEJUMPZ",
       /*v1_outbox=*/true});
}

TEST(MigrationTest, Schema4FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-4-node-32", "lpt_3GQQBBMUZ54GFO2ORF5AWXQ4NF42XOY4",
       "lpt_FIOZOYFCJI6Z7DOCHPFOM2IBFP2ZDL5Y", "lpt_66UO5HZMKWZYAX4KMOCIFJX764LSVAYP",
       "32-YMMU5HJEYN", "3HRGUEF5BXLV534RDKVIFTUAOA", "32-K7IXWKRKBE", "RVOL2UTSYLIIAHQSLDSDZVZOPQ",
       "32-VU6WVCGY5O", "PS2ZA7OJPCZ4ELZL2F3NQTWRGI", "32-222SSFIQIU",
       /*v1_outbox=*/false});
}

TEST(MigrationTest, Schema6FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-6-node-32", "lpt_5FUNOMSRUDR74NULLDVUQG3JX5KFUSX5",
       "lpt_DXTSVLWNOY2OUXBZABF2UI5AW5FGQ3LV", "lpt_L4IHVHF7U4ZHTXNX6WYZAU4JYNB53XEW",
       "32-PKFC3PEOG6", "RZ2M7XI3CZWXD25TY2INC5Z7CI", "32-EGHMYCAIMS", "ANI2BBOFMKT46U7IKAOZEDUERI",
       "32-PCQJ7OYXJQ", "2FBIQYUNYEOQTHHGCJDJUNGURY", "32-M6IEARNJON",
       /*v1_outbox=*/false, /*sealed=*/5});
}

TEST(MigrationTest, Schema7FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-7-node-32", "lpt_57BPE33ZYUTA2L7CPWSGC76A4YKI7ZTC",
       "lpt_JAK6HDLE4UXAZIGBNMPM4M663YMZQGG5", "lpt_QTGPKWEJM4SZAFPR5MQ2OMHERH5LTU53",
       "32-3YX7NNOYPE", "7LKCFWYGBTGPBCNWSRJWSMHTH4", "32-7ZZWJ3H6Y2", "3YJJ3SVOESAINFEZLIISTKJ4NI",
       "32-LBRDDPM7MM", "RAO5FZPOQD4NH2BANERO6A47C4", "32-3NMVUM5J3H",
       /*v1_outbox=*/false, /*sealed=*/5});
}

TEST(MigrationTest, Schema9FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-9-node-32", "lpt_Q2GOS6WS4TZHRYBMXGA5RZ377GV4XPXA",
       "lpt_ZJSBQ34PKPMB5ADZHBQPR4LGN7SMY7A6", "lpt_3GVJDJ4UDJN4BQQ2NVT5CSFTTFKGHRT5",
       "32-ZCWR2IZNRG", "HU7INOFU3UBUVBG6MKKJ43YS6Y", "32-BJOTUQY4WH", "G2O77IOIOQOQDETHBQZFVA2C2I",
       "32-T5D4VSHL5V", "LR566JDEKLFROPU2VPRX3VTN7Y", "32-4SQHRR3PXY",
       /*v1_outbox=*/false, /*sealed=*/5});
}

TEST(MigrationTest, Schema10FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-10-node-32", "lpt_TYCB7R6LZ6ITHCD4TDGYMVQQQWTQ7PYC",
       "lpt_GH3IV5NH5KUU3PRZ7TN2XU4DI6SDAM3I", "lpt_4E3NXIJWL6UDUZG7XBRDO7SDF7TFDUOU",
       "32-W2LULF6VKV", "JTNTMUFE2XHZ6LP7NWHLIK5Q5Q", "32-P2OAXOYOCE", "ZDP5AEIE2KXL3F7HFNPMOUZNFQ",
       "32-C6F474L3N5", "QLN2V6K7YKXK4DB2DFIJKUJHEU", "32-AW6LNPI4X4",
       /*v1_outbox=*/false, /*sealed=*/5});
}

TEST(MigrationTest, Schema8FolderOpensKeepsEverythingAndContinues) {
  OpensKeepsEverythingAndContinues(
      {"schema-8-node-32", "lpt_SVDSJZF62MBHJI264JUWKMYWA4GTOFHF",
       "lpt_IB53YG3TQOSALCJQTTVB5VG4SPSLC4O2", "lpt_XDJ4S6PZACUU3W5AMYHXESFWFTFEWVDA",
       "32-VPWWWF66W4", "2WF5HUA5HR54U3VAAFG6AZ2B4Y", "32-F5YO75HWU4", "IR2YQ7KFQR47N3QMLHHOFFCHT4",
       "32-JJK67NOTEC", "HJSOGH2ORYT4L42RN6Y535EOZY", "32-MHV66W5TMF",
       /*v1_outbox=*/false, /*sealed=*/5});
}

}  // namespace
}  // namespace lapor::testing
