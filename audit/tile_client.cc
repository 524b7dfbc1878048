#include "audit/tile_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/mutex.h"

namespace lapor::audit {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct TileClient::Conn {
  boost::asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

TileClient::TileClient(std::string host, std::string port, std::string prefix,
                       std::string host_header, std::chrono::milliseconds timeout)
    : host_(std::move(host)),
      port_(std::move(port)),
      prefix_(std::move(prefix)),
      host_header_(std::move(host_header)),
      timeout_(timeout),
      watchdog_([this] { Watch(); }) {}

TileClient::~TileClient() {
  {
    MutexLock lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.NotifyAll();
  watchdog_.join();
  if (conn_) {
    beast::error_code ignored;
    conn_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
}

void TileClient::Watch() {
  const auto tick =
      std::clamp(timeout_ / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  MutexLock lock(watch_mu_);
  while (!stopping_) {
    watch_cv_.WaitFor(lock, tick);
    if (busy_fd_ >= 0 && !timed_out_ &&
        std::chrono::steady_clock::now() - busy_since_ >= timeout_) {
      timed_out_ = true;
      ::shutdown(busy_fd_, SHUT_RDWR);  // the blocked write or read returns with an error
    }
  }
}

Result<std::unique_ptr<TileClient>> TileClient::Create(const std::string& base_url,
                                                       std::chrono::milliseconds timeout) {
  const std::string scheme = "http://";
  if (base_url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument("not an http:// URL: " + base_url, "url");
  }
  std::string rest = base_url.substr(scheme.size());
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::string host = authority, port = "80";
  const bool ipv6 = !authority.empty() && authority.front() == '[';
  if (ipv6) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos)
      return Status::InvalidArgument("bad host in " + base_url, "url");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return Status::InvalidArgument("bad host in " + base_url, "url");
      }
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  const bool port_ok = !port.empty() && port.size() <= 5 &&
                       port.find_first_not_of("0123456789") == std::string::npos &&
                       std::stoi(port) > 0 && std::stoi(port) < 65536;
  if (host.empty() || !port_ok) {
    return Status::InvalidArgument("bad host or port in " + base_url, "url");
  }
  // RFC 9110 Host: the authority as written, the port only when it is not the default.
  std::string host_header = (ipv6 ? "[" + host + "]" : host) + (port == "80" ? "" : ":" + port);
  return std::unique_ptr<TileClient>(new TileClient(
      std::move(host), std::move(port), std::move(prefix), std::move(host_header), timeout));
}

Result<std::string> TileClient::Get(const std::string& path) {
  MutexLock lock(mu_);
  const std::string target = prefix_ + path;
  auto failed = [&](const beast::error_code& e, bool timed_out) {
    return Status::Unavailable(
        "GET " + target + ": " +
        (timed_out ? "no answer within " + std::to_string(timeout_.count()) + " ms" : e.message()));
  };
  beast::error_code ec;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = conn_ != nullptr;
    if (!reused) {
      // Connecting is asynchronous, for its deadline; the socket is then made blocking again.
      auto conn = std::make_unique<Conn>();
      tcp::resolver resolver(conn->io);
      auto endpoints = resolver.resolve(host_, port_, ec);
      if (!ec) {
        conn->stream.expires_after(timeout_);
        conn->stream.async_connect(endpoints,
                                   [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
        conn->io.run();
        conn->stream.expires_never();
      }
      if (!ec) conn->stream.socket().native_non_blocking(false, ec);
      if (ec) return failed(ec, ec == beast::error::timeout);
      conn_ = std::move(conn);
    }
    {
      MutexLock watch(watch_mu_);
      busy_fd_ = conn_->stream.socket().native_handle();
      busy_since_ = std::chrono::steady_clock::now();
      timed_out_ = false;
    }
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host_header_);
    req.keep_alive(true);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);  // a full entry bundle is at most 256 x 64 KiB
    http::write(conn_->stream, req, ec);
    if (!ec) http::read(conn_->stream, conn_->buffer, parser, ec);
    bool timed_out;
    {
      MutexLock watch(watch_mu_);
      busy_fd_ = -1;
      timed_out = timed_out_;
    }
    if (ec || timed_out) {
      conn_.reset();
      // A kept-alive connection the server has closed meanwhile: open a new one, once. A
      // request that timed out is not sent again.
      if (reused && !timed_out) continue;
      return failed(ec, timed_out);
    }
    auto res = parser.release();
    if (!res.keep_alive()) conn_.reset();
    if (res.result_int() != 200) {
      return Status::Unavailable("GET " + target + ": HTTP " + std::to_string(res.result_int()));
    }
    return std::move(res.body());
  }
  return failed(ec, false);
}

}  // namespace lapor::audit
