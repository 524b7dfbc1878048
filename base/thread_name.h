// Names the calling thread (at most 15 characters are kept) so that `top -H`, `ps -L`, perf and
// the benchmark scripts can tell the node's threads apart. Best effort: failure is ignored.
#pragma once

#include <pthread.h>

#include <string>

namespace lapor {

inline void SetThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace lapor
