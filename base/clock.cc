#include "base/clock.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "base/mutex.h"

namespace lapor {
namespace {

int64_t SystemMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RealClock : public Clock {
 public:
  int64_t NowMs() const override { return SystemMs(); }
};

// The test seam for whole processes: when LAPOR_CLOCK_OFFSET_FILE names a file, the node's time
// is the system time plus the milliseconds written in that file (re-read at most every 100 ms).
// Integration tests point every node of a federation at one file to move all their clocks
// together (SLA escalations days later). Production never sets the variable.
class OffsetClock : public Clock {
 public:
  explicit OffsetClock(std::string path) : path_(std::move(path)) {}
  int64_t NowMs() const override {
    const int64_t now = SystemMs();
    MutexLock lock(mu_);
    if (now - read_at_ >= 100) {
      std::ifstream in(path_);
      int64_t offset = 0;
      if (in >> offset) offset_ = offset;
      read_at_ = now;
    }
    return now + offset_;
  }

 private:
  const std::string path_;
  mutable Mutex mu_;
  mutable int64_t read_at_ LAPOR_GUARDED_BY(mu_) = -1000;
  mutable int64_t offset_ LAPOR_GUARDED_BY(mu_) = 0;
};

}  // namespace

Clock* Clock::Real() {
  static Clock* clock = []() -> Clock* {
    const char* path = std::getenv("LAPOR_CLOCK_OFFSET_FILE");
    if (path != nullptr && *path != '\0') return new OffsetClock(path);
    return new RealClock();
  }();
  return clock;
}

std::string FormatUtc(int64_t ms) {
  if (ms <= 0) return "";
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::optional<int64_t> ParseUtc(std::string_view text) {
  auto digits = [&](size_t at, size_t n, int* out) {
    if (at + n > text.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  struct tm tm {};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(0, 4, &year) || text.size() < 10 || text[4] != '-' || !digits(5, 2, &month) ||
      text[7] != '-' || !digits(8, 2, &day)) {
    return std::nullopt;
  }
  if (text.size() > 10) {
    if (text.size() < 20 || text[10] != 'T' || !digits(11, 2, &hour) || text[13] != ':' ||
        !digits(14, 2, &minute) || text[16] != ':' || !digits(17, 2, &second)) {
      return std::nullopt;
    }
    size_t at = 19;
    if (text[at] == '.') {
      if (!digits(at + 1, 3, &millis)) return std::nullopt;
      at += 4;
    }
    if (at + 1 != text.size() || text[at] != 'Z') return std::nullopt;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 59) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t secs = timegm(&tm);
  // timegm normalizes 31 April to 1 May: such a date does not exist.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  return static_cast<int64_t>(secs) * 1000 + millis;
}

}  // namespace lapor
