// A blocking HTTP/1.1 GET client on one keep-alive connection (Boost.Beast), for the auditor's
// bulk download of a log's tiles and entry bundles over plain http. One thread fetches tile after
// tile: cpprestsdk's asynchronous client hands every response between pool threads, which cost a
// few percent of an audit's CPU (see docs/BENCHMARKS.md). https URLs keep using cpprestsdk.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace lapor::audit {

class TileClient {
 public:
  // `base_url` is http://HOST[:PORT][/PREFIX]. InvalidArgument for any other form (https, no
  // host, a bad port). Connects lazily.
  static Result<std::unique_ptr<TileClient>> Create(const std::string& base_url);
  ~TileClient();

  // GET PREFIX + `path`: the body of a 200, else Unavailable naming the path and the HTTP status
  // or the network error. A connection the server closed is reopened once per request.
  Result<std::string> Get(const std::string& path);

 private:
  struct Conn;
  TileClient(std::string host, std::string port, std::string prefix);
  const std::string host_, port_, prefix_;
  std::mutex mu_;  // one request at a time
  std::unique_ptr<Conn> conn_;
};

}  // namespace lapor::audit
