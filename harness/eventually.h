// The one way a test waits for something to happen: Eventually(what, pred) polls pred() until it
// holds or the deadline passes, and says what it waited for if it never held.
//
//   ASSERT_TRUE(Eventually("33 serves manifest version 3", [&] { return Served("33") == 3; }));
//
// - pred() returns bool, or a ::testing::AssertionResult whose failure message says why the
//   condition does not hold yet; the last such message is part of Eventually's failure message.
// - pred() is tried at once, then after 5, 10, 20, 40 ms, then every 50 ms, and once more at the
//   deadline (so a timeout of 0 tries it exactly once).
// - On failure the message reads: "timed out after <timeout> ms waiting until <what> (last: ...)".
//
// A test that lets time pass on purpose (a fault held for a while, load running before a kill, a
// deadline left to expire, "and nothing more arrives") sleeps instead, and says so beside the
// sleep. A sleep never stands for "something happened": that is a wait on that something, here.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace lapor::testing {

// How long a test waits by default: far beyond what any condition needs on an idle machine, so
// that a loaded one (a parallel build, a sanitizer) does not make tests flaky.
inline constexpr std::chrono::milliseconds kPatience{20000};

template <typename Pred>
::testing::AssertionResult Eventually(const std::string& what, Pred&& pred,
                                      std::chrono::milliseconds timeout = kPatience) {
  using Clock = std::chrono::steady_clock;
  using Returned = std::decay_t<decltype(pred())>;
  static_assert(
      std::is_same_v<Returned, bool> || std::is_same_v<Returned, ::testing::AssertionResult>,
      "Eventually: the predicate returns bool or ::testing::AssertionResult");
  const auto deadline = Clock::now() + timeout;
  std::string last;  // why the predicate did not hold, the last time it said
  auto holds = [&] {
    if constexpr (std::is_same_v<Returned, bool>) {
      return pred();
    } else {
      const ::testing::AssertionResult r = pred();
      const bool ok = static_cast<bool>(r);
      if (!ok) last = r.message();
      return ok;
    }
  };
  auto pause = std::chrono::milliseconds(5);
  while (Clock::now() < deadline) {
    if (holds()) return ::testing::AssertionSuccess();
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::this_thread::sleep_for(std::max(std::min(pause, left), std::chrono::milliseconds(0)));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  if (holds()) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "timed out after " << timeout.count() << " ms waiting until " << what;
  if (!last.empty()) failure << " (last: " << last << ")";
  return failure;
}

}  // namespace lapor::testing
