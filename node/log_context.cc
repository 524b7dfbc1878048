#include "node/log_context.h"

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <random>

namespace lapor::node {
namespace {

thread_local std::string request_id;
thread_local std::string subsystem;

}  // namespace

RequestLogScope::RequestLogScope(std::string_view id) : previous_(std::move(request_id)) {
  request_id.assign(id);
}

RequestLogScope::~RequestLogScope() { request_id = std::move(previous_); }

std::string_view CurrentRequestId() { return request_id; }

std::string RequestIdFor(std::string_view client_id) {
  bool usable = !client_id.empty() && client_id.size() <= 64;
  for (char c : client_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    usable = usable && ok;
  }
  if (usable) return std::string(client_id);
  // A random start per process, then a counter: unique here, unlikely to repeat across restarts.
  static std::atomic<uint64_t> next{std::random_device{}() * 0x9E3779B97F4A7C15ull};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(next.fetch_add(1)));
  return buf;
}

std::string_view CurrentSubsystem() {
  // Read on every line (one prctl): a thread may be named after it first logs.
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  std::string_view n(name);
  if (n.rfind("lapor-", 0) == 0) n.remove_prefix(6);
  subsystem.assign(n);
  return subsystem;
}

}  // namespace lapor::node
