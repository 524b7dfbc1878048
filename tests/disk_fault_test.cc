// Disk faults injected at the storage seam (storage/wal_vfs.h DiskFault, through the real node's
// LAPOR_TEST_DISK_FAULT): a sweep over which write or sync fails, with EIO or ENOSPC, across a
// workload of submissions and actions (with the log's checkpoints integrating behind them). (The
// store truncates no file during such a run, so truncate faults are not swept.) After each fault
// the node refuses writes (503) or stops; restarted without the fault, fsck is clean and every
// acknowledged complaint and action is there.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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
  int failed_status = 0;  // the first refused request's status (0: the node had gone)
  int after_failure = 0;  // a write tried after the failure: its status
  int exit_code = 0;      // of the faulty run (after SIGTERM if it still ran)
};

class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NodeProcess>(MakeTempDir("lapor-disk") + "/node");
    node_->Init("32");
    admin_ = node_->AddOperator("Admin Jabar", "admin");
  }

  // One run with `spec` set: files and verifies until a request is refused.
  Outcome FaultyRun(const std::string& spec) {
    Outcome o;
    node_->SetEnv("LAPOR_TEST_DISK_FAULT", spec);
    try {
      node_->Start();
    } catch (const std::exception&) {
      o.failed_at_start = true;  // the fault hit the store while it opened: the node stopped
      return o;
    }
    for (int i = 0; i < 60; ++i) {
      HttpResponse r;
      std::string verified;
      if (i % 3 == 2 && !unverified_.empty()) {
        verified = unverified_.back();
        r = node_->Post("/api/v1/complaints/" + verified + "/actions",
                        {{"action", "verify"}, {"agency", "dinas-sda"}}, admin_);
      } else {
        r = node_->Post("/api/v1/complaints", Complaint(i));
      }
      if (r.status == 200 || r.status == 201) {
        if (!verified.empty()) {
          unverified_.pop_back();
          verified_.push_back(verified);
        } else {
          unverified_.push_back(r.Json()["tracking_id"].get<std::string>());
          ++acked_;
        }
        continue;
      }
      o.failed_status = r.status;
      o.after_failure = node_->Post("/api/v1/complaints", Complaint(1000)).status;
      break;
    }
    o.exit_code = node_->Stop();
    return o;
  }

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

  void Sweep(const std::vector<std::string>& specs) {
    int hit = 0;
    for (const auto& spec : specs) {
      Outcome o = FaultyRun(spec);
      std::printf("%-24s %s, first refusal %d, next write %d, exit %d; acknowledged so far %d\n",
                  spec.c_str(), o.failed_at_start ? "stopped at start" : "ran", o.failed_status,
                  o.after_failure, o.exit_code, acked_);
      if (o.failed_at_start || o.failed_status != 0 || o.exit_code != 0) ++hit;
      if (!o.failed_at_start && o.failed_status != 0) {
        EXPECT_EQ(o.failed_status, 503) << spec << ": a failed write is a 503";
        EXPECT_NE(o.after_failure, 201) << spec << ": a write was taken after the store failed";
      }
      EXPECT_GT(o.exit_code, -100)
          << spec << ": the node crashed (signal " << -100 - o.exit_code << ") instead of stopping";
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
  Sweep(specs);
}

TEST_F(DiskFaultTest, AFullDiskLosesNothingAcknowledged) {
  std::vector<std::string> specs;
  for (int n : {1, 4, 9, 16, 30, 50})
    specs.push_back("write:" + std::to_string(n) + ":enospc:sticky");
  for (int n : {2, 6}) specs.push_back("sync:" + std::to_string(n) + ":enospc");
  Sweep(specs);
}

TEST_F(DiskFaultTest, AFailedSyncLosesNothingAcknowledged) {
  std::vector<std::string> specs;
  for (int n : {1, 2, 3, 4, 6, 9, 13, 20}) specs.push_back("sync:" + std::to_string(n) + ":eio");
  Sweep(specs);
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
