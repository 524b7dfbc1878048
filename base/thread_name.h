// Names the calling thread (at most 15 characters are kept) so that `top -H`, `ps -L`, perf and
// the benchmark scripts can tell the node's threads apart. Best effort: failure is ignored.
#pragma once

#include <pthread.h>

#include <string>
#include <thread>

namespace lapor {

inline void SetThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Names `t` from the thread that started it: the name is in place as soon as this returns.
inline void SetThreadName(std::thread& t, const std::string& name) {
  pthread_setname_np(t.native_handle(), name.substr(0, 15).c_str());
}

}  // namespace lapor
