// Backup and restore (`lapor-node backup` / `restore`) on real processes.
//   - The backup file: taken from a running node, checked with fsck, refused over an existing
//     file, restored only into an empty folder, a file that is no backup refused.
//   - The drill, in a federation where the hub witnesses 32's log: back up 32 while it files
//     cross-region complaints, keep filing, kill -9, restore into a new folder and start it. Every
//     acknowledged complaint comes back from the hub and 33, the log continues at the same seq
//     (no seq signed twice, no tracking id handed out twice), fsck is clean, the hub cosigns the
//     restored log (consistent with all it cosigned) and `lapor-audit verify --state` accepts it.
//   - Events no other node holds (a local complaint filed after the backup) are named: the node
//     signs nothing, refuses new complaints with 503 and says what is missing, until a newer
//     backup is restored.
//   - Events lost for good (no newer backup): `lapor-node log continue` declares them lost and the
//     log goes on under a new origin; no seq or tracking id is used twice, the hub's witness
//     takes the new log, auditors see the loss named.
//   - A restored folder whose hub and witness do not answer signs nothing until they do.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string AuditBinary() {
  const char* bin = std::getenv("LAPOR_AUDIT_BIN");
  return bin != nullptr ? bin : LAPOR_AUDIT_BIN_DEFAULT;
}

HttpResponse FileComplaint(NodeProcess& node, const std::string& region) {
  json body = {{"title", "Jalan berlubang"},
               {"description", "Jalan di depan sekolah berlubang besar sejak dua bulan."},
               {"category", "infrastruktur"},
               {"report_type", "pengaduan"},
               {"region_code", region},
               {"reporter", {{"name", "Siti"}, {"phone", "081234567890"}}}};
  return node.Post("/api/v1/complaints", body);
}

std::string File(NodeProcess& node, const std::string& region) {
  auto r = FileComplaint(node, region);
  return r.status == 201 ? r.Json()["tracking_id"].get<std::string>() : std::string();
}

uint64_t NextSeq(const NodeProcess& node) {
  const json h = node.Get("/healthz").Json();
  return h.is_object() && h.contains("next_seq") ? h["next_seq"].get<uint64_t>() : 0;
}

std::string HealthStatus(const NodeProcess& node) {
  const json h = node.Get("/healthz").Json();
  return h.is_object() ? h.value("status", "") : "";
}

TEST(BackupFileTest, TakenFromARunningNodeCheckedAndRestoredOnlyIntoAnEmptyFolder) {
  const std::string root = MakeTempDir("lapor-backup");
  NodeProcess node(root + "/node");
  node.Init("32");
  const std::string admin = node.AddOperator("Admin", "admin");
  node.Start();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(File(node, "32.04"));
  ASSERT_EQ(std::count(ids.begin(), ids.end(), ""), 0);

  const std::string backup = root + "/node.backup";
  auto made = node.Cli({"backup", "--data-dir", node.data_dir(), "--out", backup});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_NE(made.output.find("5 events, 5 cases"), std::string::npos) << made.output;
  EXPECT_NE(made.output.find("fsck clean"), std::string::npos) << made.output;
  EXPECT_EQ(fs::status(backup).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(backup + ".check"));  // the scratch restore is gone
  // Never over an existing backup, unless asked.
  auto again = node.Cli({"backup", "--data-dir", node.data_dir(), "--out", backup});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("exists"), std::string::npos) << again.output;
  auto over = node.Cli({"backup", "--data-dir", node.data_dir(), "--out", backup, "--overwrite"});
  EXPECT_EQ(over.exit_code, 0) << over.output;

  // Not into a folder that holds anything (a node's folder above all).
  auto into_node = node.Cli({"restore", "--from", backup, "--data-dir", node.data_dir()});
  EXPECT_NE(into_node.exit_code, 0);
  EXPECT_NE(into_node.output.find("not empty"), std::string::npos) << into_node.output;
  // A file that is no backup.
  const std::string junk = root + "/junk";
  std::ofstream(junk) << "not a backup";
  auto from_junk = node.Cli({"restore", "--from", junk, "--data-dir", root + "/from-junk"});
  EXPECT_NE(from_junk.exit_code, 0);
  EXPECT_NE(from_junk.output.find("lapor-node:"), std::string::npos) << from_junk.output;
  auto missing = node.Cli({"restore", "--from", root + "/nothing", "--data-dir", root + "/x"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("no backup file"), std::string::npos) << missing.output;

  const std::string restored = root + "/restored";
  auto r = node.Cli({"restore", "--from", backup, "--data-dir", restored});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("fsck clean"), std::string::npos) << r.output;
  EXPECT_EQ(fs::status(restored).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(restored + "/node.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(restored + "/sealing.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  node.Kill9();
  // A lone node (no federation, no witness) has nobody to ask: it continues where the backup
  // ends, with the reporters' data and the operators' tokens.
  NodeProcess back(restored);
  back.Start();
  EXPECT_EQ(HealthStatus(back), "ok");
  EXPECT_EQ(NextSeq(back), 5u);
  auto c = back.Get("/api/v1/complaints/" + ids[0], admin);
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.Json()["reporter"]["phone"], "081234567890");
  const std::string fresh = File(back, "32.04");
  EXPECT_FALSE(fresh.empty());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), fresh), 0);
  EXPECT_EQ(back.Fsck().exit_code, 0);
}

// A federation (hub, 32, 33) in which the hub witnesses 32's log.
class RestoreDrillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeProcess& n32 = f_.node("32");
    auto log_vkey = n32.Cli({"vkey", "--data-dir", n32.data_dir()});
    auto witness_vkey = f_.hub().Cli({"vkey", "--witness", "--data-dir", f_.hub().data_dir()});
    ASSERT_EQ(log_vkey.exit_code, 0) << log_vkey.output;
    ASSERT_EQ(witness_vkey.exit_code, 0) << witness_vkey.output;
    vkey32_ = log_vkey.output.substr(0, log_vkey.output.find('\n'));
    ASSERT_EQ(f_.hub().Stop(), 0);
    f_.hub().SetConfig("witness_of", json::array({vkey32_}));
    f_.hub().Start();
    ASSERT_EQ(n32.Stop(), 0);
    n32.SetConfig(
        "witnesses",
        json::array({{{"url", f_.url("00")},
                      {"vkey", witness_vkey.output.substr(0, witness_vkey.output.find('\n'))}}}));
    for (const auto& j : f_.jurisdictions()) {
      NodeProcess& n = f_.node(j);
      n.SetConfig("retry_initial_ms", 50);
      n.SetConfig("retry_max_ms", 400);
      n.SetConfig("request_timeout_ms", 1000);
      if (n.running()) {
        ASSERT_EQ(n.Stop(), 0);
      }
      n.Start();
    }
  }

  // The hub and 33 both hold the case (so it can come back from them).
  bool PeersHold(const std::string& id) {
    return !EventHashes(f_.hub(), id, f_.auditor_token("00")).empty() &&
           !EventHashes(f_.node("33"), id, f_.auditor_token("33")).empty();
  }
  // `node` serves a checkpoint of at least `size` that the hub cosigned.
  bool Cosigned(const NodeProcess& node, uint64_t size) {
    const std::string note = node.Get("/log/checkpoint").body;
    const size_t sep = note.find("\n\n");
    if (sep == std::string::npos) return false;
    const size_t l1 = note.find('\n') + 1;
    const uint64_t served = std::strtoull(note.c_str() + l1, nullptr, 10);
    size_t signatures = 0;
    for (size_t at = sep; (at = note.find("\n\u2014 ", at)) != std::string::npos; ++at) {
      ++signatures;
    }
    return served >= size && signatures >= 2;  // the node's own and the hub's
  }
  CommandResult Audit(const NodeProcess& node, const std::string& state,
                      const std::string& vkey = "", const std::string& accept_lost = "") {
    std::vector<std::string> args = {
        AuditBinary(), "verify",
        "--url",       "http://127.0.0.1:" + std::to_string(node.port()),
        "--vkey",      vkey.empty() ? vkey32_ : vkey};
    if (!state.empty()) {
      args.push_back("--state");
      args.push_back(state);
    }
    if (!accept_lost.empty()) {
      args.push_back("--accept-lost");
      args.push_back(accept_lost);
    }
    return RunCommand(args);
  }
  // 32 files a cross-region complaint (held by the hub and 33 too) and a local one, then is backed
  // up into root/32.backup while it runs.
  void BackUpAfterACrossRegionAndALocalComplaint(std::vector<std::string>* filed) {
    NodeProcess& n32 = f_.node("32");
    *filed = {File(n32, "33"), File(n32, "32.04")};
    ASSERT_TRUE(
        Eventually("the hub and 33 hold the first case", [&] { return PeersHold((*filed)[0]); }));
    auto made =
        n32.Cli({"backup", "--data-dir", n32.data_dir(), "--out", f_.root() + "/32.backup"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  // Restores `backup` into a new folder and starts it on 32's port.
  std::unique_ptr<NodeProcess> RestoreAndStart(const std::string& backup, const std::string& name) {
    const std::string dir = f_.root() + "/" + name;
    auto r = f_.node("32").Cli({"restore", "--from", backup, "--data-dir", dir});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto node = std::make_unique<NodeProcess>(dir);
    node->SetPort(f_.port("32"));
    node->Start();
    return node;
  }

  Federation f_{FederationOptions{{"32", "33"}}};
  std::string vkey32_;
};

TEST_F(RestoreDrillTest, BackupUnderLoadRestoredRecoversEveryCaseOthersHoldAndContinues) {
  NodeProcess& n32 = f_.node("32");
  std::vector<std::string> before;
  for (int i = 0; i < 3; ++i) before.push_back(File(n32, "32.04"));  // local: in the backup
  for (int i = 0; i < 3; ++i) before.push_back(File(n32, "33"));
  ASSERT_EQ(std::count(before.begin(), before.end(), ""), 0);

  // Load: cross-region complaints (every one reaches the hub and 33) while the backup is taken.
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::thread load([&] {
    while (!stop.load()) {
      auto r = FileComplaint(n32, "33");
      if (r.status == 201) {
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back(r.Json()["tracking_id"].get<std::string>());
      } else {
        ++refused;
      }
    }
  });
  auto acked_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  ASSERT_TRUE(Eventually("filing under load", [&] { return acked_count() >= 5; }));
  const std::string backup = f_.root() + "/32.backup";
  auto made = n32.Cli({"backup", "--data-dir", n32.data_dir(), "--out", backup});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const size_t at_backup = acked_count();
  ASSERT_TRUE(
      Eventually("filing after the backup", [&] { return acked_count() >= at_backup + 8; }));
  stop = true;
  load.join();
  EXPECT_EQ(refused.load(), 0);

  std::vector<std::string> all = before;
  all.insert(all.end(), acked.begin(), acked.end());
  ASSERT_TRUE(Eventually("the hub and 33 hold every cross-region case", [&] {
    for (size_t i = 3; i < all.size(); ++i) {
      if (!PeersHold(all[i])) return false;
    }
    return true;
  }));
  const uint64_t next_seq = NextSeq(n32);
  ASSERT_TRUE(
      Eventually("the hub cosigned 32's whole log", [&] { return Cosigned(n32, next_seq); }));
  const std::string state = f_.root() + "/audit.state";
  auto audited = Audit(n32, state);
  ASSERT_EQ(audited.exit_code, 0) << audited.output;

  n32.Kill9();
  auto restored = RestoreAndStart(backup, "32-restored");
  ASSERT_TRUE(Eventually("the restored node is whole again", [&] {
    return HealthStatus(*restored) == "ok" && NextSeq(*restored) == next_seq;
  })) << restored->Get("/healthz").body;
  // Every acknowledged complaint is back, each with its own tracking id.
  for (const auto& id : all) {
    auto c = restored->Get("/api/v1/complaints/" + id, f_.admin_token("32"));
    EXPECT_EQ(c.status, 200) << id << ": " << c.body;
  }
  auto fsck = restored->Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  // The log continues exactly: the auditor's remembered checkpoint is consistent with it, and the
  // hub cosigns it (the witness checks consistency with everything it cosigned).
  auto reaudited = Audit(*restored, state);
  EXPECT_EQ(reaudited.exit_code, 0) << reaudited.output;
  const std::string fresh = File(*restored, "33");
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(std::count(all.begin(), all.end(), fresh), 0) << "tracking id handed out twice";
  EXPECT_EQ(NextSeq(*restored), next_seq + 1);
  EXPECT_TRUE(Eventually("the hub cosigns the restored log",
                         [&] { return Cosigned(*restored, next_seq + 1); }));
  EXPECT_TRUE(Eventually("the new case reaches the hub and 33", [&] { return PeersHold(fresh); }));
  // No equivocation anywhere: the hub and 33 hold each case once, alike.
  auto alerts = f_.hub().Get("/federation/v1/alerts", f_.admin_token("00"));
  EXPECT_EQ(alerts.body.find("equivoc"), std::string::npos) << alerts.body;
  restored->Stop();
}

TEST_F(RestoreDrillTest, EventsNoOtherNodeHoldsAreNamedAndNothingIsSignedAgain) {
  NodeProcess& n32 = f_.node("32");
  std::vector<std::string> before;
  ASSERT_NO_FATAL_FAILURE(BackUpAfterACrossRegionAndALocalComplaint(&before));
  const std::string backup = f_.root() + "/32.backup";
  const uint64_t at_backup = NextSeq(n32);
  // After the backup: a local complaint (held by 32 alone) and a cross-region one.
  const std::string lost = File(n32, "32.04");
  const std::string crossed = File(n32, "33");
  ASSERT_FALSE(lost.empty());
  ASSERT_TRUE(Eventually("the hub and 33 hold the later case", [&] { return PeersHold(crossed); }));
  const uint64_t next_seq = NextSeq(n32);
  ASSERT_EQ(next_seq, at_backup + 2);
  ASSERT_TRUE(
      Eventually("the hub cosigned 32's whole log", [&] { return Cosigned(n32, next_seq); }));
  n32.Kill9();
  // Keep the killed node's folder as the operator's newer backup (made offline).
  const std::string newer = f_.root() + "/32-newer.backup";
  auto offline = n32.Cli({"backup", "--data-dir", n32.data_dir(), "--out", newer});
  ASSERT_EQ(offline.exit_code, 0) << offline.output;

  auto restored = RestoreAndStart(backup, "32-old");
  ASSERT_TRUE(Eventually("the restored node says it is behind", [&] {
    return HealthStatus(*restored) == "behind";
  })) << restored->Get("/healthz").body;
  const json health = restored->Get("/healthz").Json();
  const std::string missing =
      "seq " + std::to_string(at_backup) + "-" + std::to_string(next_seq - 1) + " are missing";
  EXPECT_NE(health["error"].get<std::string>().find(missing), std::string::npos) << health.dump();
  // It signs nothing: a new complaint is refused with a reason, the seq does not move.
  auto refused = FileComplaint(*restored, "32.04");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("behind"), std::string::npos) << refused.body;
  EXPECT_EQ(NextSeq(*restored), at_backup);
  auto metrics = restored->Get("/metrics", f_.admin_token("32"));
  EXPECT_NE(metrics.body.find("\nlapor_log_behind 1"), std::string::npos) << metrics.body;
  // Reads go on; the lost complaint is not there, the cases in the backup are.
  EXPECT_EQ(restored->Get("/api/v1/complaints/" + before[1], f_.admin_token("32")).status, 200);
  EXPECT_EQ(restored->Get("/api/v1/complaints/" + lost, f_.admin_token("32")).status, 404);
  // The hub's witness state did not move backwards and saw no second log.
  auto alerts = f_.hub().Get("/federation/v1/alerts", f_.admin_token("00"));
  EXPECT_EQ(alerts.body.find("equivoc"), std::string::npos) << alerts.body;
  restored->Stop();

  // The operator restores the newer backup: whole, it signs again after the last seq.
  auto whole = RestoreAndStart(newer, "32-newer");
  ASSERT_TRUE(Eventually("the newer backup is whole", [&] { return HealthStatus(*whole) == "ok"; }))
      << whole->Get("/healthz").body;
  EXPECT_EQ(NextSeq(*whole), next_seq);
  EXPECT_EQ(whole->Get("/api/v1/complaints/" + lost, f_.admin_token("32")).status, 200);
  const std::string fresh = File(*whole, "32.04");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, lost);
  EXPECT_EQ(NextSeq(*whole), next_seq + 1);
  EXPECT_EQ(whole->Fsck().exit_code, 0);
  EXPECT_TRUE(
      Eventually("the hub cosigns the newer log", [&] { return Cosigned(*whole, next_seq + 1); }));
  whole->Stop();
}

// The events no other node holds are lost for good (no newer backup): the operator declares them
// lost, and the log goes on after them under a new origin, signing no seq and handing out no
// tracking id a second time.
TEST_F(RestoreDrillTest, EventsLostForGoodAreDeclaredAndTheLogGoesOnUnderANewOrigin) {
  NodeProcess& n32 = f_.node("32");
  std::vector<std::string> before;
  ASSERT_NO_FATAL_FAILURE(BackUpAfterACrossRegionAndALocalComplaint(&before));
  const std::string backup = f_.root() + "/32.backup";
  const uint64_t at_backup = NextSeq(n32);
  // An auditor's state within what the backup holds, and one beyond it.
  ASSERT_TRUE(Eventually("the checkpoint covers the backup's events",
                         [&] { return Cosigned(n32, at_backup); }));
  const std::string early_state = f_.root() + "/audit-early.state";
  auto early = Audit(n32, early_state);
  ASSERT_EQ(early.exit_code, 0) << early.output;
  const std::string lost = File(n32, "32.04");
  const std::string crossed = File(n32, "33");
  ASSERT_FALSE(lost.empty());
  ASSERT_TRUE(Eventually("the hub and 33 hold the later case", [&] { return PeersHold(crossed); }));
  const uint64_t next_seq = NextSeq(n32);
  ASSERT_EQ(next_seq, at_backup + 2);
  ASSERT_TRUE(
      Eventually("the hub cosigned 32's whole log", [&] { return Cosigned(n32, next_seq); }));
  const std::string late_state = f_.root() + "/audit-late.state";
  auto late = Audit(n32, late_state);
  ASSERT_EQ(late.exit_code, 0) << late.output;
  n32.Kill9();

  auto restored = RestoreAndStart(backup, "32-lost");
  ASSERT_TRUE(Eventually("the restored node says it is behind", [&] {
    return HealthStatus(*restored) == "behind";
  })) << restored->Get("/healthz").body;
  const std::string dir = restored->data_dir();
  auto running = restored->Cli({"log", "continue", "--data-dir", dir});
  EXPECT_NE(running.exit_code, 0) << "refused while the node runs: " << running.output;
  ASSERT_EQ(restored->Stop(), 0);
  auto declared = restored->Cli({"log", "continue", "--data-dir", dir});
  ASSERT_EQ(declared.exit_code, 0) << declared.output;
  const std::string range =
      "seq " + std::to_string(at_backup) + "-" + std::to_string(next_seq - 1) + " of 32";
  EXPECT_NE(declared.output.find(range), std::string::npos) << declared.output;
  EXPECT_NE(declared.output.find("witness cosign"), std::string::npos) << declared.output;
  auto again = restored->Cli({"log", "continue", "--data-dir", dir});
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("nothing is missing"), std::string::npos) << again.output;
  // Interrupted before node.json named the new origin: the node refuses to start (it would sign
  // under the old one), and `log continue` run again finishes.
  const nlohmann::json config = restored->Config();
  restored->SetConfig("origin", "lapor.go.id/node/32");
  auto refused_start =
      RunCommand({"/usr/bin/timeout", "20", NodeProcess::Binary(), "run", "--data-dir", dir});
  EXPECT_EQ(refused_start.exit_code, 1) << refused_start.output;
  EXPECT_NE(refused_start.output.find("`lapor-node log continue` was interrupted"),
            std::string::npos)
      << refused_start.output;
  auto finished = restored->Cli({"log", "continue", "--data-dir", dir});
  EXPECT_EQ(finished.exit_code, 0) << finished.output;
  EXPECT_EQ(restored->Config()["origin"], config["origin"]);
  auto fsck = restored->Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  EXPECT_NE(fsck.output.find("1 declared range(s) of lost seqs"), std::string::npos) << fsck.output;
  auto vkey = restored->Cli({"vkey", "--data-dir", dir});
  ASSERT_EQ(vkey.exit_code, 0) << vkey.output;
  const std::string new_vkey = vkey.output.substr(0, vkey.output.find('\n'));
  EXPECT_EQ(new_vkey.rfind("lapor.go.id/node/s" + std::to_string(next_seq) + "/32+", 0), 0u)
      << new_vkey;

  // The hub's operator has its witness take the new log; the node starts and signs after the gap.
  ASSERT_EQ(f_.hub().Stop(), 0);
  auto cosign =
      f_.hub().Cli({"witness", "cosign", "--data-dir", f_.hub().data_dir(), "--vkey", new_vkey});
  ASSERT_EQ(cosign.exit_code, 0) << cosign.output;
  f_.hub().Start();
  restored->Start();
  ASSERT_TRUE(Eventually("the node signs again", [&] { return HealthStatus(*restored) == "ok"; }))
      << restored->Get("/healthz").body;
  EXPECT_EQ(NextSeq(*restored), next_seq + 1);  // next_seq is the event declaring the loss
  const std::string fresh = File(*restored, "33");
  const std::string fresh_local = File(*restored, "32.04");
  ASSERT_FALSE(fresh.empty());
  ASSERT_FALSE(fresh_local.empty());
  for (const auto& id : {fresh, fresh_local}) {
    EXPECT_NE(id, lost) << "tracking id handed out twice";
    EXPECT_NE(id, crossed) << "tracking id handed out twice";
  }
  EXPECT_EQ(NextSeq(*restored), next_seq + 3);
  EXPECT_TRUE(Eventually("the new case reaches the hub and 33", [&] { return PeersHold(fresh); }));
  EXPECT_TRUE(Eventually("the hub cosigns the new log", [&] {
    return Cosigned(*restored, next_seq + 3);
  })) << restored->Get("/log/checkpoint").body;
  // The lost local complaint is gone; the cross-region one lives on at its owner.
  EXPECT_EQ(restored->Get("/api/v1/complaints/" + lost, f_.admin_token("32")).status, 404);
  EXPECT_EQ(f_.node("33").Get("/api/v1/complaints/" + crossed, f_.admin_token("33")).status, 200);

  // Auditors: the new log verifies and names the loss; a state within the unchanged entries is
  // continued; a state among the lost entries cannot be, and the failure says why.
  const std::string lost_range = std::to_string(at_backup) + "-" + std::to_string(next_seq - 1);
  auto unaccepted = Audit(*restored, "", new_vkey);
  EXPECT_EQ(unaccepted.exit_code, 1) << unaccepted.output;
  EXPECT_NE(unaccepted.output.find("then pass --accept-lost " + lost_range), std::string::npos)
      << unaccepted.output;
  auto fresh_audit = Audit(*restored, "", new_vkey, lost_range);
  EXPECT_EQ(fresh_audit.exit_code, 0) << fresh_audit.output;
  EXPECT_NE(fresh_audit.output.find("LOST entries " + std::to_string(at_backup) + "-" +
                                    std::to_string(next_seq - 1)),
            std::string::npos)
      << fresh_audit.output;
  const std::string bundle = f_.root() + "/32-lost.bundle";
  auto exported = restored->Cli({"export-audit-bundle", "--data-dir", dir, "--out", bundle});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  auto bundle_unaccepted = RunCommand({AuditBinary(), "verify-bundle", bundle, "--vkey", new_vkey});
  EXPECT_EQ(bundle_unaccepted.exit_code, 1) << bundle_unaccepted.output;
  auto bundle_accepted = RunCommand(
      {AuditBinary(), "verify-bundle", bundle, "--vkey", new_vkey, "--accept-lost", lost_range});
  EXPECT_EQ(bundle_accepted.exit_code, 0) << bundle_accepted.output;
  auto early_audit = Audit(*restored, early_state, new_vkey, lost_range);
  EXPECT_EQ(early_audit.exit_code, 0) << early_audit.output;
  auto late_audit = Audit(*restored, late_state, new_vkey, lost_range);
  EXPECT_NE(late_audit.exit_code, 0) << late_audit.output;
  EXPECT_NE(late_audit.output.find("lies among the entries the node declared lost"),
            std::string::npos)
      << late_audit.output;
  // No equivocation: the new log is another log, not a second version of the old one.
  auto alerts = f_.hub().Get("/federation/v1/alerts", f_.admin_token("00"));
  EXPECT_EQ(alerts.body.find("equivoc"), std::string::npos) << alerts.body;
  // A restart finds nothing missing.
  ASSERT_EQ(restored->Stop(), 0);
  restored->Start();
  ASSERT_TRUE(Eventually("whole after a restart", [&] { return HealthStatus(*restored) == "ok"; }))
      << restored->Get("/healthz").body;
  EXPECT_EQ(restored->Fsck().exit_code, 0);
  restored->Stop();
}

TEST_F(RestoreDrillTest, ARestoredFolderSignsNothingUntilTheHubOrAWitnessAnswers) {
  NodeProcess& n32 = f_.node("32");
  ASSERT_FALSE(File(n32, "32.04").empty());
  const std::string backup = f_.root() + "/32.backup";
  ASSERT_EQ(n32.Cli({"backup", "--data-dir", n32.data_dir(), "--out", backup}).exit_code, 0);
  n32.Kill9();
  ASSERT_EQ(f_.hub().Stop(), 0);  // the hub is also the witness
  auto restored = RestoreAndStart(backup, "32-alone");
  EXPECT_EQ(HealthStatus(*restored), "behind") << restored->Get("/healthz").body;
  EXPECT_EQ(FileComplaint(*restored, "32.04").status, 503);
  f_.hub().Start();
  EXPECT_TRUE(Eventually("the hub answers and the node signs again", [&] {
    return HealthStatus(*restored) == "ok";
  })) << restored->Get("/healthz").body;
  EXPECT_EQ(FileComplaint(*restored, "32.04").status, 201);
  // Confirmed once: a restart does not wait for the hub again.
  ASSERT_EQ(f_.hub().Stop(), 0);
  ASSERT_EQ(restored->Stop(), 0);
  restored->Start();
  EXPECT_EQ(HealthStatus(*restored), "ok") << restored->Get("/healthz").body;
  restored->Stop();
}

}  // namespace
}  // namespace lapor::testing
