#include "audit/tile_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

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
      timeout_(timeout) {}

TileClient::~TileClient() {
  if (conn_) {
    beast::error_code ignored;
    conn_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
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
  std::lock_guard<std::mutex> lock(mu_);
  const std::string target = prefix_ + path;
  // Runs one asynchronous operation to its end here; the stream closes itself at the deadline.
  auto run = [&](Conn& c, const auto& start) {
    beast::error_code result;
    c.stream.expires_after(timeout_);
    start([&result](beast::error_code e, auto&&...) { result = e; });
    c.io.restart();
    c.io.run();
    return result;
  };
  beast::error_code ec;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = conn_ != nullptr;
    if (!reused) {
      auto conn = std::make_unique<Conn>();
      tcp::resolver resolver(conn->io);
      auto endpoints = resolver.resolve(host_, port_, ec);
      if (!ec) {
        ec = run(*conn, [&](auto handler) { conn->stream.async_connect(endpoints, handler); });
      }
      if (ec) return Status::Unavailable("GET " + target + ": " + ec.message());
      conn_ = std::move(conn);
    }
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host_header_);
    req.keep_alive(true);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);  // a full entry bundle is at most 256 x 64 KiB
    ec = run(*conn_, [&](auto handler) { http::async_write(conn_->stream, req, handler); });
    if (!ec) {
      ec = run(*conn_, [&](auto handler) {
        http::async_read(conn_->stream, conn_->buffer, parser, handler);
      });
    }
    if (ec) {
      conn_.reset();
      // A kept-alive connection the server has closed meanwhile: open a new one, once. A timeout
      // is not retried.
      if (reused && ec != beast::error::timeout) continue;
      return Status::Unavailable("GET " + target + ": " + ec.message());
    }
    auto res = parser.release();
    if (!res.keep_alive()) conn_.reset();
    if (res.result_int() != 200) {
      return Status::Unavailable("GET " + target + ": HTTP " + std::to_string(res.result_int()));
    }
    return std::move(res.body());
  }
  return Status::Unavailable("GET " + target + ": " + ec.message());
}

}  // namespace lapor::audit
