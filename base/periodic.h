// A thread that runs a task every interval until stopped (the node's SLA, log, manifest and
// witness loops). Stop() wakes it at once and waits for a running task to finish.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

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
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
        lock.unlock();
        task_();
        lock.lock();
      }
    });
    SetThreadName(thread_, name_);
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const std::string name_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> task_;
  const bool run_first_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace lapor
