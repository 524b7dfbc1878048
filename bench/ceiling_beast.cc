// lapor-bench-ceiling-beast: the HTTP ceiling of this machine for the server library the node's
// edge uses (Boost.Beast on Boost.Asio), beside lapor-bench-ceiling (cpprestsdk).
//
// A minimal Beast server that does what the node's edge must do for a POST and nothing else:
// reads the headers, then the whole body, answers 201 with a small JSON body and the same headers
// the node sends, keeps the connection alive. THREADS threads run one io_context, as in the node.
// Whatever the node reaches below this figure is the cost of its own work (and of its bounds:
// header and body limits, deadlines, rate limits).
//
//   lapor-bench-ceiling-beast [PORT] [THREADS]
//     PORT     default 8090, on 127.0.0.1
//     THREADS  default 4 (node.json's http_threads default)
//   Serves until SIGINT/SIGTERM.
#include <signal.h>

// clang-format off
// Before Boost.Asio: 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::atomic<unsigned long long> served{0};

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket s) : stream_(std::move(s)) {}
  void Read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       self->Reply();
                     });
  }

 private:
  void Reply() {
    unsigned long long n = served.fetch_add(1, std::memory_order_relaxed);
    auto res = std::make_shared<http::response<http::string_body>>(
        req_.method() == http::verb::post ? http::status::created
                                          : http::status::method_not_allowed,
        req_.version());
    res->set(http::field::content_type, "application/json");
    res->set(http::field::cache_control, "no-store");
    res->body() =
        "{\"tracking_id\":\"32-BENCH\",\"received\":" + std::to_string(req_.body().size()) +
        ",\"n\":" + std::to_string(n) + "}";
    res->keep_alive(req_.keep_alive());
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
};

void Accept(tcp::acceptor& acceptor, asio::io_context& ioc) {
  acceptor.async_accept(asio::make_strand(ioc), [&](beast::error_code ec, tcp::socket s) {
    if (!ec) std::make_shared<Session>(std::move(s))->Read();
    Accept(acceptor, ioc);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? std::atoi(argv[1]) : 8090;
  int threads = argc > 2 ? std::atoi(argv[2]) : 4;
  if (port < 1 || port > 65535 || threads < 1 || threads > 256) {
    std::fprintf(stderr, "usage: %s [PORT] [THREADS 1-256]\n", argv[0]);
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  asio::io_context ioc;
  tcp::acceptor acceptor(ioc);
  try {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%d: %s\n", port, e.what());
    return 1;
  }
  Accept(acceptor, ioc);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  std::fprintf(stderr, "lapor-bench-ceiling-beast: listening on 127.0.0.1:%d, %d threads\n", port,
               threads);
  int sig = 0;
  sigwait(&stop, &sig);
  ioc.stop();
  for (auto& t : pool) t.join();
  std::fprintf(stderr, "served %llu requests\n", served.load());
  return 0;
}
