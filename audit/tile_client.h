// An HTTP/1.1 GET client on one keep-alive connection (Boost.Beast), for the auditor's bulk
// download of a log's tiles and entry bundles over plain http. Get() sends and reads with
// blocking calls on the calling thread: cpprestsdk's client hands every response between pool
// threads, which cost a few percent of an audit's CPU (see docs/BENCHMARKS.md). A watchdog thread
// shuts the connection down when a request outlives its deadline. https URLs keep using
// cpprestsdk.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "base/status.h"

namespace lapor::audit {

class TileClient {
 public:
  // `base_url` is http://HOST[:PORT][/PREFIX]. InvalidArgument for any other form (https, no
  // host, a bad port). Connects lazily. Connecting, sending a request and reading its response
  // each give up after `timeout` (cpprestsdk's default, 30 s).
  static Result<std::unique_ptr<TileClient>> Create(
      const std::string& base_url, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~TileClient();

  // GET PREFIX + `path`: the body of a 200, else Unavailable naming the path and the HTTP status
  // or the network error. A connection the server closed is reopened once per request.
  Result<std::string> Get(const std::string& path);

 private:
  struct Conn;
  TileClient(std::string host, std::string port, std::string prefix, std::string host_header,
             std::chrono::milliseconds timeout);
  void Watch();
  const std::string host_, port_, prefix_, host_header_;
  const std::chrono::milliseconds timeout_;
  Mutex mu_;  // one request at a time
  std::unique_ptr<Conn> conn_ LAPOR_GUARDED_BY(mu_);

  // The request in progress, for the watchdog.
  Mutex watch_mu_;
  CondVar watch_cv_;
  bool stopping_ LAPOR_GUARDED_BY(watch_mu_) = false;
  int busy_fd_ LAPOR_GUARDED_BY(watch_mu_) = -1;  // the socket of a request in progress, or -1
  std::chrono::steady_clock::time_point busy_since_ LAPOR_GUARDED_BY(watch_mu_);
  bool timed_out_ = false;  // the watchdog shut busy_fd_ down
  std::thread watchdog_;
};

}  // namespace lapor::audit
