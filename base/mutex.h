// A mutex, its scoped lock and a condition variable that clang's thread-safety analysis
// understands (base/thread_annotations.h). Same cost as std::mutex, std::unique_lock and
// std::condition_variable, which they wrap.
//
//   Mutex mu_;
//   int count_ LAPOR_GUARDED_BY(mu_);
//   void Add() { MutexLock lock(mu_); ++count_; }          // fine
//   void Peek() { return count_; }                          // clang: requires holding mu_
//
// A condition variable's predicate runs with the lock held; since the analysis sees a lambda as a
// function of its own, give a predicate that reads guarded fields LAPOR_REQUIRES(mu_):
//   cv_.Wait(lock, [&]() LAPOR_REQUIRES(mu_) { return stopping_; });
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "base/thread_annotations.h"

namespace lapor {

class LAPOR_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() LAPOR_ACQUIRE() { mu_.lock(); }
  void Unlock() LAPOR_RELEASE() { mu_.unlock(); }
  // Tells the analysis the caller holds this mutex (where it cannot see the lock being taken).
  void AssertHeld() const LAPOR_ASSERT_CAPABILITY(this) {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction; may be released and taken again in between.
class LAPOR_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) LAPOR_ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() LAPOR_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() LAPOR_RELEASE() { lock_.unlock(); }
  void Lock() LAPOR_ACQUIRE() { lock_.lock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

// Waits release the lock while blocked and hold it again when they return, as
// std::condition_variable's do. The analysis does not look inside (the predicate is checked
// where it is written).
class CondVar {
 public:
  void NotifyOne() noexcept { cv_.notify_one(); }
  void NotifyAll() noexcept { cv_.notify_all(); }

  void Wait(MutexLock& lock) LAPOR_NO_THREAD_SAFETY_ANALYSIS { cv_.wait(lock.lock_); }
  template <class Pred>
  void Wait(MutexLock& lock, Pred pred) LAPOR_NO_THREAD_SAFETY_ANALYSIS {
    cv_.wait(lock.lock_, std::move(pred));
  }
  // Whether it was woken (rather than the time having passed).
  template <class Rep, class Period>
  bool WaitFor(MutexLock& lock,
               const std::chrono::duration<Rep, Period>& d) LAPOR_NO_THREAD_SAFETY_ANALYSIS {
    return cv_.wait_for(lock.lock_, d) == std::cv_status::no_timeout;
  }
  // pred() at the end (true: it held before the time passed).
  template <class Rep, class Period, class Pred>
  bool WaitFor(MutexLock& lock, const std::chrono::duration<Rep, Period>& d,
               Pred pred) LAPOR_NO_THREAD_SAFETY_ANALYSIS {
    return cv_.wait_for(lock.lock_, d, std::move(pred));
  }
  // Whether it was woken before `t` (rather than the time having passed).
  template <class Clock, class Duration>
  bool WaitUntil(MutexLock& lock, const std::chrono::time_point<Clock, Duration>& t)
      LAPOR_NO_THREAD_SAFETY_ANALYSIS {
    return cv_.wait_until(lock.lock_, t) == std::cv_status::no_timeout;
  }
  template <class Clock, class Duration, class Pred>
  bool WaitUntil(MutexLock& lock, const std::chrono::time_point<Clock, Duration>& t,
                 Pred pred) LAPOR_NO_THREAD_SAFETY_ANALYSIS {
    return cv_.wait_until(lock.lock_, t, std::move(pred));
  }

 private:
  std::condition_variable cv_;
};

}  // namespace lapor
