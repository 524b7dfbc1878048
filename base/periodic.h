// A thread that runs a task every interval until stopped (the node's SLA, log, manifest and
// witness loops). Stop() wakes it at once and waits for a running task to finish.
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
  Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> task,
           bool run_first = false)
      : name_(std::move(name)),
        interval_(interval),
        task_(std::move(task)),
        run_first_(run_first) {}
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      if (run_first_) task_();
      MutexLock lock(mu_);
      while (!cv_.WaitFor(lock, interval_, [&]() LAPOR_REQUIRES(mu_) { return stopping_; })) {
        lock.Unlock();
        task_();
        lock.Lock();
      }
    });
    SetThreadName(thread_, name_);
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
  Mutex mu_;
  CondVar cv_;
  bool stopping_ LAPOR_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lapor
