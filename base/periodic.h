// A thread that runs a task every interval until stopped (the node's SLA, log, manifest and
// witness loops). Stop() wakes it at once and waits for a running task to finish. A loop that
// has a signal for its work (the log loop: new events committed) takes a long interval and is
// woken by Wake(), so that an idle node does not spin through empty turns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "base/thread_name.h"

namespace lapor {

class Periodic {
 public:
  // `name` names the thread (SetThreadName). `run_first` runs the task once right away before
  // the first wait.
  // `min_spacing`: a woken task runs no sooner than this after its previous run (wakes meanwhile
  // are folded into that one run), so that a busy signal does not run it more often.
  Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
           bool run_first = false,
           std::chrono::milliseconds min_spacing = std::chrono::milliseconds(0))
      : name_(std::move(name)),
        interval_(interval),
        task_(std::move(task)),
        run_first_(run_first),
        min_spacing_(min_spacing) {}
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      if (run_first_) task_();
      MutexLock lock(mu_);
      auto last = std::chrono::steady_clock::now();
      while (true) {
        cv_.WaitFor(lock, interval_, [&]() LAPOR_REQUIRES(mu_) { return stopping_ || woken_; });
        if (woken_ && !stopping_) {
          cv_.WaitUntil(lock, last + min_spacing_, [&]() LAPOR_REQUIRES(mu_) { return stopping_; });
        }
        if (stopping_) break;
        woken_ = false;
        lock.Unlock();
        task_();
        lock.Lock();
        last = std::chrono::steady_clock::now();
      }
    });
    SetThreadName(thread_, name_);
  }

  // Runs the task soon (see min_spacing) instead of at the end of the interval. Cheap and
  // non-blocking: callable from any thread, e.g. the store's commit thread.
  void Wake() {
    {
      MutexLock lock(mu_);
      woken_ = true;
    }
    cv_.NotifyOne();
  }

  void Stop() {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    cv_.NotifyAll();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const std::string name_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> task_;
  const bool run_first_;
  const std::chrono::milliseconds min_spacing_;
  Mutex mu_;
  CondVar cv_;
  bool stopping_ LAPOR_GUARDED_BY(mu_) = false;
  bool woken_ LAPOR_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lapor
