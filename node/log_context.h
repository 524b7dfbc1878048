// What a log line says about where it comes from, beyond its message: the request being handled
// on this thread (its id, also sent back as X-Request-Id) and the subsystem (the thread's name:
// "http", "commit", "sla", "to-33", ...). node/logging.cc puts both in every line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lapor::node {

// While it lives, log lines from this thread carry `request_id`. Nests (the inner one wins).
class RequestLogScope {
 public:
  explicit RequestLogScope(std::string_view request_id);
  ~RequestLogScope();
  RequestLogScope(const RequestLogScope&) = delete;
  RequestLogScope& operator=(const RequestLogScope&) = delete;

 private:
  std::string previous_;
};

// The request id of the scope this thread is in ("" outside any).
std::string_view CurrentRequestId();

// A request's id: the client's X-Request-Id if it is 1-64 characters of [A-Za-z0-9._-] (so a
// proxy's id follows the request through), else a new one (16 hex digits, unique in the process).
std::string RequestIdFor(std::string_view client_id);

// The calling thread's subsystem: its name without the "lapor-" prefix ("" if unnamed).
std::string_view CurrentSubsystem();

}  // namespace lapor::node
