// Disk faults injected at the storage seam (storage/wal_vfs.h DiskFault, through the real node's
// LAPOR_TEST_DISK_FAULT): sweeps over which write or sync fails (EIO, ENOSPC) or loses power,
// across a workload of submissions and actions (with the log's checkpoints integrating behind
// them). (The store truncates no file during such a run, so truncate faults are not swept.)
// - EIO: the node refuses writes (503) and stops, for its supervisor to restart it from disk.
// - ENOSPC on a write: the node refuses writes (503 no_space), keeps serving reads, and takes
//   writes again by itself once the disk has room, without a restart.
// - Power loss: every byte not yet synced is dropped and the node is killed at once.
// After each run the node is restarted without the fault: fsck is clean and every acknowledged
// complaint and action is there. (tests/disk_full_test.cc fills a real file system instead.)
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/eventually.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

json Complaint(int i) {
  return json{{"title", "Saluran air tersumbat " + std::to_string(i)},
              {"description", "Saluran air di depan pasar tersumbat sejak hujan deras."},
              {"category", "drainase"},
              {"report_type", "pengaduan"},
              {"region_code", "32.04"},
              {"reporter", {{"name", "Rina"}, {"phone", "+628123450000"}}}};
}

struct Outcome {
  bool failed_at_start = false;
  int failed_status = 0;        // the first refused request's status (0: the node had gone)
  std::string failed_code;      // and its error code
  int after_failure = 0;        // a write tried after the failure: its status
  int read_after_failure = -1;  // a public read of an acknowledged complaint after the failure
                                // (-1: none was acknowledged yet)
  bool resumed = false;         // a write was taken again after the refusal, without a restart
  int exit_code = 0;            // of the faulty run (after SIGTERM if it still ran)
};

constexpr int kKilled = -100 - 9;  // NodeProcess::Stop of a node SIGKILL ended

class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NodeProcess>(MakeTempDir("lapor-disk") + "/node");
    node_->Init("32");
    admin_ = node_->AddOperator("Admin Jabar", "admin");
  }

  // One run with `spec` set: files and verifies until a request is refused; then reads, and
  // waits up to `resume_within` for writes to be taken again.
  Outcome FaultyRun(const std::string& spec,
                    std::chrono::milliseconds resume_within = std::chrono::milliseconds(0)) {
    Outcome o;
    node_->SetEnv("LAPOR_TEST_DISK_FAULT", spec);
    try {
      node_->Start();
    } catch (const std::exception&) {
      o.failed_at_start = true;  // the fault hit the store while it opened: the node stopped
      o.exit_code = node_->Stop();
      return o;
    }
    for (int i = 0; i < 60; ++i) {
      HttpResponse r = Step(i);
      if (r.status == 200 || r.status == 201) continue;
      o.failed_status = r.status;
      o.failed_code = r.Json().is_object()
                          ? r.Json().value("error", json::object()).value("code", std::string())
                          : "";
      o.after_failure = node_->Post("/api/v1/complaints", Complaint(1000)).status;
      if (!unverified_.empty()) {
        o.read_after_failure = node_->Get("/api/v1/complaints/" + unverified_.front()).status;
      }
      break;
    }
    if (o.failed_status != 0 && resume_within.count() > 0) {
      o.resumed = static_cast<bool>(Eventually(
          "the node takes writes again", [&] { return Taken(Step(1)); }, resume_within));
    }
    o.exit_code = node_->Stop();
    return o;
  }

  // The i-th request of the workload: a verification of the latest unverified case every third
  // request, else a new complaint. Remembers what was acknowledged.
  HttpResponse Step(int i) {
    HttpResponse r;
    std::string verified;
    if (i % 3 == 2 && !unverified_.empty()) {
      verified = unverified_.back();
      r = node_->Post("/api/v1/complaints/" + verified + "/actions",
                      {{"action", "verify"}, {"agency", "dinas-sda"}}, admin_);
    } else {
      r = node_->Post("/api/v1/complaints", Complaint(i));
    }
    if (!Taken(r)) return r;
    if (!verified.empty()) {
      unverified_.pop_back();
      verified_.push_back(verified);
    } else {
      unverified_.push_back(r.Json()["tracking_id"].get<std::string>());
      ++acked_;
    }
    return r;
  }
  static bool Taken(const HttpResponse& r) { return r.status == 200 || r.status == 201; }

  // Restarted without a fault: every acknowledged write is there, fsck is clean.
  void CheckRecovered(const std::string& spec) {
    SCOPED_TRACE(spec);
    node_->SetEnv("LAPOR_TEST_DISK_FAULT", "");
    ASSERT_NO_THROW(node_->Start());
    for (const auto& id : unverified_) {
      auto r = node_->Get("/api/v1/complaints/" + id, admin_);
      ASSERT_EQ(r.status, 200) << id << " was acknowledged: " << r.body;
    }
    for (const auto& id : verified_) {
      auto r = node_->Get("/api/v1/complaints/" + id, admin_);
      ASSERT_EQ(r.status, 200) << id << ": " << r.body;
      EXPECT_EQ(r.Json()["status"], "terdisposisi") << id << "'s verification was acknowledged";
    }
    EXPECT_EQ(node_->Stop(), 0);
    auto fsck = node_->Fsck();
    EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  }

  enum class Expect { kStops, kReadOnlyThenResumes, kStaysReadOnly, kPowerLoss };

  void Sweep(const std::vector<std::string>& specs, Expect expect) {
    int hit = 0;
    for (const auto& spec : specs) {
      const auto resume_within = expect == Expect::kReadOnlyThenResumes ? kPatience
                                 : expect == Expect::kStaysReadOnly
                                     ? std::chrono::milliseconds(3000)
                                     : std::chrono::milliseconds(0);
      Outcome o = FaultyRun(spec, resume_within);
      std::printf(
          "%-24s %s, first refusal %d %s, next write %d, read %d, %s, exit %d; "
          "acknowledged so far %d\n",
          spec.c_str(), o.failed_at_start ? "stopped at start" : "ran", o.failed_status,
          o.failed_code.c_str(), o.after_failure, o.read_after_failure,
          o.resumed ? "resumed" : "not resumed", o.exit_code, acked_);
      const bool faulted = o.failed_at_start || o.failed_status != 0 || o.exit_code != 0;
      if (faulted) ++hit;
      if (!o.failed_at_start && o.failed_status != 0 && expect != Expect::kPowerLoss) {
        EXPECT_EQ(o.failed_status, 503) << spec << ": a failed write is a 503";
      }
      switch (expect) {
        case Expect::kStops:
          if (o.failed_status != 0) {
            EXPECT_NE(o.after_failure, 201) << spec << ": a write was taken after the store failed";
          }
          EXPECT_GT(o.exit_code, -100) << spec << ": the node crashed (signal "
                                       << -100 - o.exit_code << ") instead of stopping";
          break;
        case Expect::kReadOnlyThenResumes:
        case Expect::kStaysReadOnly:
          if (o.failed_status == 0) break;  // the fault fell after the workload
          EXPECT_EQ(o.failed_code, "no_space") << spec;
          if (o.read_after_failure != -1) {
            EXPECT_EQ(o.read_after_failure, 200) << spec << ": reads go on while the disk is full";
          }
          EXPECT_EQ(o.resumed, expect == Expect::kReadOnlyThenResumes)
              << spec
              << (o.resumed ? ": a write was taken while the disk stayed full"
                            : ": writes did not resume once the disk had room");
          EXPECT_EQ(o.exit_code, 0) << spec << ": a full disk is no reason to stop";
          break;
        case Expect::kPowerLoss:
          EXPECT_TRUE(o.failed_at_start || o.exit_code == kKilled ||
                      (o.exit_code == 0 && o.failed_status == 0))
              << spec << ": exit " << o.exit_code;
          break;
      }
      CheckRecovered(spec);
      if (HasFatalFailure()) return;
    }
    // The sweep is not vacuous: most of its faults hit the store.
    EXPECT_GE(hit * 2, static_cast<int>(specs.size())) << hit << " of " << specs.size();
    EXPECT_GT(acked_, 0);
  }

  std::unique_ptr<NodeProcess> node_;
  std::string admin_;
  std::vector<std::string> unverified_, verified_;
  int acked_ = 0;
};

TEST_F(DiskFaultTest, AFailedWriteLosesNothingAcknowledged) {
  std::vector<std::string> specs;
  for (int n : {1, 2, 3, 5, 8, 12, 17, 23, 30, 40, 55, 75}) {
    specs.push_back("write:" + std::to_string(n) + ":eio");
  }
  Sweep(specs, Expect::kStops);
}

TEST_F(DiskFaultTest, AFailedSyncLosesNothingAcknowledged) {
  std::vector<std::string> specs;
  for (int n : {1, 2, 3, 4, 6, 9, 13, 20}) specs.push_back("sync:" + std::to_string(n) + ":eio");
  // A failed fsync is an I/O error whatever its errno: the node stops just the same.
  for (int n : {2, 6}) specs.push_back("sync:" + std::to_string(n) + ":enospc");
  Sweep(specs, Expect::kStops);
}

// One write gets ENOSPC, and the disk has room again at once: the node refuses that write and
// those behind it, serves reads, and takes writes again by itself.
TEST_F(DiskFaultTest, AFullDiskRefusesWritesServesReadsAndResumes) {
  std::vector<std::string> specs;
  // WAL writes only: a database-file write the checkpointer retries would never be seen.
  for (int n : {1, 4, 9, 16, 30, 50}) specs.push_back("write:" + std::to_string(n) + ":enospc:wal");
  Sweep(specs, Expect::kReadOnlyThenResumes);
}

// Every write from the n-th on gets ENOSPC: writes stay refused, reads go on, and the node stops
// cleanly when asked. (Here the file system itself has room, so the node keeps trying to resume
// and each try is refused again; tests/disk_full_test.cc has a disk that is really full.)
TEST_F(DiskFaultTest, ADiskThatStaysFullKeepsServingReads) {
  std::vector<std::string> specs;
  for (int n : {4, 30}) specs.push_back("write:" + std::to_string(n) + ":enospc:sticky:wal");
  Sweep(specs, Expect::kStaysReadOnly);
}

// The power goes at the n-th sync or write: what was not synced is lost, and with it nothing
// that was acknowledged (a write is acknowledged only after the sync of its commit).
TEST_F(DiskFaultTest, PowerLossLosesNothingAcknowledged) {
  std::vector<std::string> specs;
  for (int n : {1, 2, 3, 5, 8, 13, 21, 34, 55})
    specs.push_back("sync:" + std::to_string(n) + ":powerloss");
  for (int n : {2, 7, 20, 45, 90}) specs.push_back("write:" + std::to_string(n) + ":powerloss");
  Sweep(specs, Expect::kPowerLoss);
}

TEST(DiskFaultSpecTest, AMalformedFaultStopsTheNodeNamingIt) {
  NodeProcess node(MakeTempDir("lapor-disk") + "/node");
  node.Init("32");
  node.SetEnv("LAPOR_TEST_DISK_FAULT", "write:zero:eio");
  EXPECT_ANY_THROW(node.Start());
  std::ifstream in(node.data_dir() + "/node.log");
  std::stringstream log;
  log << in.rdbuf();
  EXPECT_NE(log.str().find("LAPOR_TEST_DISK_FAULT"), std::string::npos) << log.str();
}

}  // namespace
}  // namespace lapor::testing
