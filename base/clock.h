// The clock seam: everything that reads the time takes a Clock, so tests can move time forward
// (SLA deadlines, auto-completion) without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lapor {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch, UTC. Thread-safe.
  virtual int64_t NowMs() const = 0;
  // The process-wide real clock.
  static Clock* Real();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// RFC 3339 in UTC with milliseconds ("2026-12-05T06:40:00.000Z"); "" for ms <= 0.
std::string FormatUtc(int64_t ms);
// Parses "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDThh:mm:ss[.sss]Z" into ms since the epoch;
// nullopt for anything else (another zone, a date that does not exist, before 1970).
std::optional<int64_t> ParseUtc(std::string_view text);

}  // namespace lapor
