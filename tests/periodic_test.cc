// base::Periodic: a loop that runs on its interval, or soon after Wake() but never twice within
// its minimum spacing, and stops at once.
#include "base/periodic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "harness/eventually.h"

namespace lapor {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class Runs {
 public:
  void Add() {
    MutexLock lock(mu_);
    at_.push_back(steady_clock::now());
  }
  size_t Count() {
    MutexLock lock(mu_);
    return at_.size();
  }
  steady_clock::duration Gap(size_t i) {
    MutexLock lock(mu_);
    return at_[i] - at_[i - 1];
  }

 private:
  Mutex mu_;
  std::vector<steady_clock::time_point> at_ LAPOR_GUARDED_BY(mu_);
};

TEST(PeriodicTest, RunsOnItsInterval) {
  Runs runs;
  Periodic p("test-interval", milliseconds(20), [&] { runs.Add(); });
  p.Start();
  ASSERT_TRUE(testing::Eventually("three runs", [&] { return runs.Count() >= 3; }));
  p.Stop();
}

TEST(PeriodicTest, WakeRunsItSoonAndWakesWithinTheSpacingRunItOnce) {
  Runs runs;
  constexpr milliseconds kSpacing(300);
  Periodic p(
      "test-wake", std::chrono::hours(1), [&] { runs.Add(); }, /*run_first=*/false, kSpacing);
  p.Start();
  p.Wake();
  ASSERT_TRUE(testing::Eventually("the woken run", [&] { return runs.Count() == 1; }));
  for (int i = 0; i < 10; ++i) p.Wake();
  ASSERT_TRUE(testing::Eventually("the second run", [&] { return runs.Count() == 2; }));
  EXPECT_GE(runs.Gap(1), kSpacing);
  // Time passes on purpose: the ten wakes were one run, and nothing else wakes it for an hour.
  std::this_thread::sleep_for(2 * kSpacing);
  EXPECT_EQ(runs.Count(), 2u);
  p.Stop();
}

TEST(PeriodicTest, StopDoesNotWaitOutTheSpacing) {
  std::atomic<int> runs{0};
  Periodic p(
      "test-stop", std::chrono::hours(1), [&] { ++runs; }, /*run_first=*/true,
      std::chrono::hours(1));
  p.Start();
  ASSERT_TRUE(testing::Eventually("the first run", [&] { return runs.load() == 1; }));
  p.Wake();  // due an hour after the first run
  const auto start = steady_clock::now();
  p.Stop();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(runs.load(), 1);
}

}  // namespace
}  // namespace lapor
