#include "base/clock.h"

#include <chrono>
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

}  // namespace lapor
