#include "harness/fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness/eventually.h"

namespace lapor::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

sockaddr_in LoopbackAddr(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void SetRecvTimeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string Request(const std::string& body, bool keep_alive = false) {
  return "POST /api/v1/echo HTTP/1.1\r\nHost: upstream\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + (keep_alive ? "" : "Connection: close\r\n") +
         "\r\n" + body;
}

// A minimal HTTP/1.1 server on its own threads: reads requests framed by Content-Length, answers
// 200 with a fixed body, and counts what it saw. One thread per connection, so a connection the
// proxy holds open never blocks another.
class HttpUpstream {
 public:
  explicit HttpUpstream(std::string body) : body_(std::move(body)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = LoopbackAddr(0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("upstream: cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~HttpUpstream() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  int connections() const { return connections_; }
  int complete_requests() const { return complete_; }
  size_t bytes_received() const { return bytes_received_; }

  // The exact bytes of one answer.
  std::string Response(bool keep_alive = false) const {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body_.size()) + "\r\n" + (keep_alive ? "" : "Connection: close\r\n") +
           "\r\n" + body_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    SetRecvTimeout(fd, 20);  // wake up to notice stop_
    std::string in;
    char buf[4096];
    while (!stop_) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (n <= 0) break;  // EOF or reset
      bytes_received_ += static_cast<size_t>(n);
      in.append(buf, static_cast<size_t>(n));
      size_t head_end = in.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      std::string head = in.substr(0, head_end);
      std::transform(head.begin(), head.end(), head.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      size_t body_len = 0;
      if (auto cl = head.find("content-length:"); cl != std::string::npos) {
        body_len = std::stoul(head.substr(cl + 15));
      }
      size_t total = head_end + 4 + body_len;
      if (in.size() < total) continue;
      in.erase(0, total);
      bool keep_alive = head.find("connection: close") == std::string::npos;
      ++complete_;  // before answering: a client that got any answer byte implies this count
      if (!SendAll(fd, Response(keep_alive)) || !keep_alive) break;
    }
    ::close(fd);
  }

  const std::string body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> complete_{0};
  std::atomic<size_t> bytes_received_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // acceptor thread only, until it is joined
};

enum class End { kEof, kReset, kTimeout, kConnectFailed };

bool Closed(End e) { return e == End::kEof || e == End::kReset; }

struct Exchange {
  std::string received;
  End end = End::kConnectFailed;
  milliseconds elapsed{0};
};

// One request on a fresh connection, then reads until EOF, reset or `timeout_ms` of silence.
Exchange RoundTrip(int port, const std::string& request, int timeout_ms = 2000) {
  Exchange ex;
  auto start = Clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = LoopbackAddr(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return ex;
  }
  SetRecvTimeout(fd, timeout_ms);
  if (!SendAll(fd, request)) {
    ex.end = End::kReset;
  } else {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        ex.received.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        ex.end = End::kEof;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ex.end = End::kTimeout;
      } else {
        ex.end = End::kReset;
      }
      break;
    }
  }
  ex.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  ::close(fd);
  return ex;
}

// A keep-alive client connection: one response at a time, framed by Content-Length.
class Conn {
 public:
  explicit Conn(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr = LoopbackAddr(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) { return SendAll(fd_, data); }

  // The whole response, or nullopt on EOF, error or `timeout_ms` of silence.
  std::optional<std::string> ReadResponse(int timeout_ms) {
    SetRecvTimeout(fd_, timeout_ms);
    std::string in;
    char buf[4096];
    for (;;) {
      size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) {
          size_t total = head_end + 4 + std::stoul(in.substr(cl + 16));
          if (in.size() >= total) return in.substr(0, total);
        }
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// A port nothing listens on (bound, read, released).
int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = LoopbackAddr(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

const std::string kBody(300, 'q');

TEST(FaultProxyTest, PassesBytesThroughUnchanged) {
  HttpUpstream upstream(std::string(5000, 'a'));
  FaultProxy proxy(upstream.port());
  ASSERT_NE(proxy.port(), 0);
  ASSERT_NE(proxy.port(), upstream.port());
  std::string request = Request(kBody);

  Exchange ex = RoundTrip(proxy.port(), request);
  EXPECT_EQ(ex.end, End::kEof);
  EXPECT_EQ(ex.received, upstream.Response());
  EXPECT_EQ(upstream.complete_requests(), 1);
  EXPECT_EQ(upstream.connections(), 1);
  EXPECT_EQ(proxy.connections(), 1u);
  EXPECT_TRUE(Eventually("the proxy wrote the whole request upstream", [&] {
    return proxy.bytes_up() == request.size();
  })) << proxy.bytes_up();
  EXPECT_EQ(proxy.bytes_down(), upstream.Response().size());

  // A second connection works the same way.
  ex = RoundTrip(proxy.port(), request);
  EXPECT_EQ(ex.received, upstream.Response());
  EXPECT_EQ(upstream.complete_requests(), 2);
  EXPECT_EQ(proxy.connections(), 2u);
}

TEST(FaultProxyTest, DelayHoldsEachChunk) {
  HttpUpstream upstream("delayed");
  FaultProxy proxy(upstream.port());
  constexpr int kDelayMs = 150;
  proxy.Set({.fault = Fault::kDelay, .delay_ms = kDelayMs});

  Exchange ex = RoundTrip(proxy.port(), Request(kBody));
  EXPECT_EQ(ex.end, End::kEof);
  EXPECT_EQ(ex.received, upstream.Response());
  EXPECT_EQ(upstream.complete_requests(), 1);
  // At least one chunk each way, and the answer cannot leave before the request arrived.
  EXPECT_GE(ex.elapsed.count(), 2 * kDelayMs);
}

TEST(FaultProxyTest, DropNeverAnswersAndNeverConnectsUpstream) {
  HttpUpstream upstream("never");
  FaultProxy proxy(upstream.port());
  proxy.Set({.fault = Fault::kDrop});

  Exchange ex = RoundTrip(proxy.port(), Request(kBody), /*timeout_ms=*/300);
  EXPECT_EQ(ex.end, End::kTimeout);
  EXPECT_TRUE(ex.received.empty());
  EXPECT_EQ(proxy.connections(), 1u);
  EXPECT_EQ(proxy.bytes_up(), 0u);
  EXPECT_EQ(upstream.connections(), 0);
  EXPECT_EQ(upstream.complete_requests(), 0);
}

TEST(FaultProxyTest, RefuseClosesAtOnce) {
  HttpUpstream upstream("never");
  FaultProxy proxy(upstream.port());
  proxy.Set({.fault = Fault::kRefuse});

  Exchange ex = RoundTrip(proxy.port(), Request(kBody), /*timeout_ms=*/2000);
  EXPECT_TRUE(Closed(ex.end)) << static_cast<int>(ex.end);
  EXPECT_TRUE(ex.received.empty());
  EXPECT_EQ(proxy.connections(), 1u);
  EXPECT_EQ(upstream.connections(), 0);

  // Back to normal: the next connection goes through.
  proxy.Set({});
  ex = RoundTrip(proxy.port(), Request(kBody));
  EXPECT_EQ(ex.received, upstream.Response());
}

TEST(FaultProxyTest, CutRequestForwardsOnlyAPrefix) {
  HttpUpstream upstream("never");
  FaultProxy proxy(upstream.port());
  constexpr size_t kCut = 20;  // inside the request line and headers
  proxy.Set({.fault = Fault::kCutRequest, .cut_after_bytes = kCut});

  Exchange ex = RoundTrip(proxy.port(), Request(kBody));
  EXPECT_TRUE(Closed(ex.end)) << static_cast<int>(ex.end);
  EXPECT_TRUE(ex.received.empty());
  EXPECT_TRUE(Eventually("upstream received the request's first bytes up to the cut", [&] {
    return upstream.bytes_received() == kCut;
  })) << upstream.bytes_received();
  EXPECT_EQ(proxy.bytes_up(), kCut);
  EXPECT_EQ(upstream.complete_requests(), 0);
  EXPECT_EQ(upstream.connections(), 1);

  // A cut inside the body: the headers arrive whole, the request still never completes.
  std::string request = Request(kBody);
  proxy.Set({.fault = Fault::kCutRequest, .cut_after_bytes = request.size() - 1});
  ex = RoundTrip(proxy.port(), request);
  EXPECT_TRUE(Closed(ex.end)) << static_cast<int>(ex.end);
  EXPECT_TRUE(ex.received.empty());
  EXPECT_TRUE(Eventually("upstream received both cut requests up to their cuts", [&] {
    return upstream.bytes_received() == kCut + request.size() - 1;
  })) << upstream.bytes_received();
  EXPECT_EQ(upstream.complete_requests(), 0);
}

TEST(FaultProxyTest, CutResponseTruncatesTheAnswerAfterTheRequestCompleted) {
  HttpUpstream upstream(std::string(2000, 'r'));
  FaultProxy proxy(upstream.port());
  constexpr size_t kCut = 40;
  proxy.Set({.fault = Fault::kCutResponse, .cut_after_bytes = kCut});

  Exchange ex = RoundTrip(proxy.port(), Request(kBody));
  EXPECT_TRUE(Closed(ex.end)) << static_cast<int>(ex.end);
  EXPECT_EQ(ex.received, upstream.Response().substr(0, kCut));
  EXPECT_EQ(upstream.complete_requests(), 1);
  EXPECT_EQ(proxy.bytes_down(), kCut);
}

TEST(FaultProxyTest, DuplicateDeliversTheRequestTwice) {
  HttpUpstream upstream("dup");
  FaultProxy proxy(upstream.port());
  proxy.Set({.fault = Fault::kDuplicate});
  std::string request = Request(kBody);

  Exchange ex = RoundTrip(proxy.port(), request);
  EXPECT_EQ(ex.end, End::kEof);
  EXPECT_EQ(ex.received, upstream.Response());  // the client sees one answer only
  EXPECT_TRUE(Eventually("upstream received the request twice", [&] {
    return upstream.complete_requests() == 2;
  })) << upstream.complete_requests();
  std::this_thread::sleep_for(milliseconds(50));  // and not a third
  EXPECT_EQ(upstream.complete_requests(), 2);
  EXPECT_EQ(upstream.connections(), 2);
  EXPECT_EQ(proxy.connections(), 1u);
  EXPECT_TRUE(Eventually("the proxy wrote the request upstream twice", [&] {
    return proxy.bytes_up() == 2 * request.size();
  })) << proxy.bytes_up();
  EXPECT_EQ(proxy.bytes_down(), upstream.Response().size());
}

TEST(FaultProxyTest, SetUpstreamSwitchesNewConnections) {
  HttpUpstream a("from-a");
  HttpUpstream b("from-b");
  FaultProxy proxy(a.port());

  EXPECT_EQ(RoundTrip(proxy.port(), Request(kBody)).received, a.Response());
  proxy.SetUpstream(b.port());
  EXPECT_EQ(RoundTrip(proxy.port(), Request(kBody)).received, b.Response());
  EXPECT_EQ(a.complete_requests(), 1);
  EXPECT_EQ(b.complete_requests(), 1);
}

TEST(FaultProxyTest, DelayAndDropApplyToLiveConnections) {
  HttpUpstream upstream("live");
  FaultProxy proxy(upstream.port());
  Conn conn(proxy.port());
  ASSERT_TRUE(conn.connected());

  ASSERT_TRUE(conn.Send(Request(kBody, /*keep_alive=*/true)));
  EXPECT_EQ(conn.ReadResponse(2000), upstream.Response(true));

  constexpr int kDelayMs = 100;
  proxy.Set({.fault = Fault::kDelay, .delay_ms = kDelayMs});
  auto start = Clock::now();
  ASSERT_TRUE(conn.Send(Request(kBody, /*keep_alive=*/true)));
  EXPECT_EQ(conn.ReadResponse(2000), upstream.Response(true));
  EXPECT_GE(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count(), 2 * kDelayMs);

  proxy.Set({.fault = Fault::kDrop});
  ASSERT_TRUE(conn.Send(Request(kBody, /*keep_alive=*/true)));
  EXPECT_EQ(conn.ReadResponse(300), std::nullopt);
  EXPECT_EQ(upstream.complete_requests(), 2);
  EXPECT_EQ(proxy.connections(), 1u);
}

TEST(FaultProxyTest, UpstreamDownClosesTheClient) {
  FaultProxy proxy(UnusedPort());
  Exchange ex = RoundTrip(proxy.port(), Request(kBody));
  EXPECT_TRUE(Closed(ex.end)) << static_cast<int>(ex.end);
  EXPECT_TRUE(ex.received.empty());
  EXPECT_EQ(proxy.bytes_up(), 0u);
}

TEST(FaultProxyTest, SurvivesClientResets) {
  HttpUpstream upstream("ok");
  FaultProxy proxy(upstream.port());
  uint64_t accepted = 0;
  for (Fault f :
       {Fault::kNone, Fault::kDelay, Fault::kDrop, Fault::kCutResponse, Fault::kDuplicate}) {
    proxy.Set({.fault = f, .delay_ms = 20, .cut_after_bytes = 10});
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = LoopbackAddr(proxy.port());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ++accepted;
    ASSERT_TRUE(Eventually("the proxy accepted connection " + std::to_string(accepted),
                           [&] { return proxy.connections() == accepted; }));
    std::string request = Request(kBody);
    SendAll(fd, request.substr(0, request.size() / 2));
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);  // reset mid-request
  }
  proxy.Set({});
  Exchange ex = RoundTrip(proxy.port(), Request(kBody));
  EXPECT_EQ(ex.received, upstream.Response());
  EXPECT_EQ(proxy.connections(), 6u);
}

TEST(FaultProxyTest, DestructorClosesLiveConnections) {
  HttpUpstream upstream("ok");
  auto proxy = std::make_unique<FaultProxy>(upstream.port());
  Conn idle(proxy->port());  // forwarding, keep-alive, idle
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.Send(Request(kBody, /*keep_alive=*/true)));
  ASSERT_EQ(idle.ReadResponse(2000), upstream.Response(true));
  proxy->Set({.fault = Fault::kDrop});
  Conn dropped(proxy->port());
  ASSERT_TRUE(dropped.connected());
  ASSERT_TRUE(dropped.Send(Request(kBody)));
  ASSERT_TRUE(Eventually("the proxy accepted the connection it drops",
                         [&] { return proxy->connections() == 2; }));

  auto start = Clock::now();
  proxy.reset();
  EXPECT_EQ(idle.ReadResponse(2000), std::nullopt);
  EXPECT_EQ(dropped.ReadResponse(2000), std::nullopt);
  EXPECT_LT(Clock::now() - start, milliseconds(1500));  // closed, not timed out
}

}  // namespace
}  // namespace lapor::testing
