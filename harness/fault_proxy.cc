#include "harness/fault_proxy.h"

#include <array>
#include <atomic>

#include "base/mutex.h"
// Single Asio headers: <boost/asio.hpp> pulls in awaitable.hpp, which in Boost 1.74 fails to
// compile as C++20 with GCC 12 (it uses std::exchange without including <utility>).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

namespace lapor::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kChunk = 16384;

tcp::endpoint Loopback(int port) {
  return tcp::endpoint(asio::ip::address_v4::loopback(), static_cast<unsigned short>(port));
}

// Error codes are ignored on purpose: the peer may already be gone, and a close must always
// complete.
void CloseSocket(tcp::socket& s) {
  error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

// Anything the proxy must be able to close when it is destroyed.
class Link {
 public:
  virtual ~Link() = default;
  virtual void Abort() = 0;
};

}  // namespace

class FaultProxy::Impl {
 public:
  Impl(int upstream_port, int listen_port);
  ~Impl();

  int port() const { return port_; }
  FaultConfig config() const {
    MutexLock lock(mu_);
    return cfg_;
  }
  void Set(FaultConfig cfg) {
    MutexLock lock(mu_);
    cfg_ = cfg;
  }
  void SetUpstream(int port) {
    MutexLock lock(mu_);
    upstream_port_ = port;
  }

  // The io thread only (or the destructor once the io thread has stopped).
  asio::io_context& io() { return io_; }
  bool stopping() const { return stopping_; }
  void Add(std::shared_ptr<Link> link) {
    Link* key = link.get();
    links_.emplace(key, std::move(link));
  }
  void Remove(Link* link) { links_.erase(link); }

  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> bytes_up{0};
  std::atomic<uint64_t> bytes_down{0};

 private:
  void Accept();
  void OnAccept(tcp::socket client);

  // Declared first so it is destroyed last: every socket and timer below refers to it.
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  int port_ = 0;

  mutable Mutex mu_;
  FaultConfig cfg_ LAPOR_GUARDED_BY(mu_);
  int upstream_port_ LAPOR_GUARDED_BY(mu_) = 0;

  // io thread only.
  std::unordered_map<Link*, std::shared_ptr<Link>> links_;
  bool stopping_ = false;

  std::thread thread_;  // last: started once everything above exists
};

namespace {

// The second upstream connection of a kDuplicate connection: a lagging copy of everything the
// client sent; upstream's answers are read and discarded.
class Replay : public Link, public std::enable_shared_from_this<Replay> {
 public:
  Replay(FaultProxy::Impl* proxy, int upstream_port)
      : proxy_(proxy), socket_(proxy->io()), upstream_port_(upstream_port) {}

  void Start() {
    socket_.async_connect(Loopback(upstream_port_), [self = shared_from_this()](error_code ec) {
      if (self->closed_) return;
      if (ec) return self->Close();
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->connected_ = true;
      self->Read();
      self->Flush();
    });
  }

  void Feed(std::string bytes) {
    if (closed_ || client_done_ || bytes.empty()) return;
    pending_.push_back(std::move(bytes));
    Flush();
  }

  // The client's side has ended: once everything is written, half-close the replay.
  void ClientDone() {
    if (closed_) return;
    client_done_ = true;
    Flush();
  }

  void Abort() override { Close(); }

 private:
  void Flush() {
    if (!connected_ || writing_ || closed_) return;
    if (pending_.empty()) {
      if (client_done_ && !half_closed_) {
        half_closed_ = true;
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
      }
      return;
    }
    writing_ = true;
    // pending_.front() stays put until the write completes: push_back on a deque keeps references.
    asio::async_write(socket_, asio::buffer(pending_.front()),
                      [self = shared_from_this()](error_code ec, size_t n) {
                        self->writing_ = false;
                        if (self->closed_) return;
                        if (ec) return self->Close();
                        self->proxy_->bytes_up += n;
                        self->pending_.pop_front();
                        self->Flush();
                      });
  }

  void Read() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](error_code ec, size_t) {
      if (self->closed_) return;
      if (ec) return self->Close();  // EOF included: upstream has answered and closed
      self->Read();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    pending_.clear();
    CloseSocket(socket_);
    proxy_->Remove(this);  // the caller's handler still holds a reference
  }

  FaultProxy::Impl* const proxy_;
  tcp::socket socket_;
  const int upstream_port_;
  std::deque<std::string> pending_;
  std::array<char, kChunk> buf_;
  bool connected_ = false;
  bool writing_ = false;
  bool client_done_ = false;
  bool half_closed_ = false;
  bool closed_ = false;
};

// One accepted client connection and its upstream connection. All state is touched on the io
// thread only. Each direction is a read -> (hold) -> write -> read loop, so chunks keep their order
// and a slow reader slows the writer (TCP back-pressure passes through).
class Session : public Link, public std::enable_shared_from_this<Session> {
 public:
  Session(FaultProxy::Impl* proxy, tcp::socket client, FaultConfig cfg, int upstream_port)
      : proxy_(proxy),
        mode_(cfg.fault),
        cut_after_(cfg.cut_after_bytes),
        upstream_port_(upstream_port),
        forwarding_(cfg.fault == Fault::kNone || cfg.fault == Fault::kDelay),
        client_(std::move(client)),
        upstream_(proxy->io()),
        up_(proxy->io(), &client_, &upstream_, /*up=*/true),
        down_(proxy->io(), &upstream_, &client_, /*up=*/false) {}

  void Start() {
    if (mode_ == Fault::kDrop) {
      blackholed_ = true;
      Read(up_);  // discards until the client goes away
      return;
    }
    upstream_.async_connect(Loopback(upstream_port_), [self = shared_from_this()](error_code ec) {
      if (self->closed_) return;
      if (ec) return self->Close();  // upstream down: the client sees its connection closed
      error_code ignored;
      self->upstream_.set_option(tcp::no_delay(true), ignored);
      if (self->mode_ == Fault::kCutRequest && self->cut_after_ == 0) return self->Close();
      self->Read(self->up_);
      self->Read(self->down_);
    });
  }

  void Abort() override { Close(); }

 private:
  struct Pipe {
    Pipe(asio::io_context& io, tcp::socket* from, tcp::socket* to, bool up)
        : from(from), to(to), up(up), timer(io) {}
    tcp::socket* const from;
    tcp::socket* const to;
    const bool up;  // client -> upstream
    asio::steady_timer timer;
    std::array<char, kChunk> buf;
    size_t forwarded = 0;
    bool eof = false;
  };

  void Read(Pipe& p) {
    p.from->async_read_some(
        asio::buffer(p.buf),
        [self = shared_from_this(), &p](error_code ec, size_t n) { self->OnRead(p, ec, n); });
  }

  void OnRead(Pipe& p, error_code ec, size_t n) {
    if (closed_) return;
    if (ec == asio::error::eof) return OnEof(p);
    if (ec) return Close();
    if (mode_ == Fault::kDuplicate && p.up) Record(p.buf.data(), n);

    int delay_ms = 0;
    if (forwarding_) {
      FaultConfig live = proxy_->config();
      if (live.fault == Fault::kDrop) blackholed_ = true;
      if (live.fault == Fault::kDelay) delay_ms = live.delay_ms;
    }
    if (blackholed_) return Read(p);  // discard

    size_t len = n;
    bool cut = false;
    if ((mode_ == Fault::kCutRequest && p.up) || (mode_ == Fault::kCutResponse && !p.up)) {
      size_t room = cut_after_ > p.forwarded ? cut_after_ - p.forwarded : 0;
      if (len >= room) {
        len = room;
        cut = true;
      }
    }
    if (len == 0) return Close();

    if (delay_ms <= 0) return Write(p, len, cut);
    p.timer.expires_after(std::chrono::milliseconds(delay_ms));
    p.timer.async_wait([self = shared_from_this(), &p, len, cut](error_code ec) {
      if (self->closed_) return;
      if (ec) return self->Close();
      self->Write(p, len, cut);
    });
  }

  void Write(Pipe& p, size_t len, bool cut) {
    asio::async_write(*p.to, asio::buffer(p.buf.data(), len),
                      [self = shared_from_this(), &p, cut](error_code ec, size_t n) {
                        if (self->closed_) return;
                        if (ec) return self->Close();
                        (p.up ? self->proxy_->bytes_up : self->proxy_->bytes_down) += n;
                        p.forwarded += n;
                        if (cut) return self->Close();
                        // The first response has reached the client: time to duplicate.
                        if (!p.up && self->mode_ == Fault::kDuplicate) self->StartReplay(false);
                        self->Read(p);
                      });
  }

  void OnEof(Pipe& p) {
    p.eof = true;
    if (p.up && mode_ == Fault::kDuplicate) ClientEnded();
    if (blackholed_) {
      // A black hole never answers, not even with a FIN; it ends when the client goes.
      if (p.up) Close();
      return;
    }
    error_code ignored;
    p.to->shutdown(tcp::socket::shutdown_send, ignored);
    if (up_.eof && down_.eof) Close();
  }

  void Record(const char* data, size_t n) {
    if (replay_) {
      replay_->Feed(std::string(data, n));
    } else if (!replay_started_) {
      recorded_.append(data, n);
    }
  }

  void ClientEnded() {
    if (replay_) {
      replay_->ClientDone();
    } else {
      StartReplay(true);
    }
  }

  void StartReplay(bool client_done) {
    if (replay_started_ || proxy_->stopping()) return;
    if (recorded_.empty() && !client_done) return;  // nothing to duplicate yet
    replay_started_ = true;
    if (recorded_.empty()) return;
    replay_ = std::make_shared<Replay>(proxy_, upstream_port_);
    proxy_->Add(replay_);
    replay_->Feed(std::move(recorded_));
    recorded_.clear();
    if (client_done) replay_->ClientDone();
    replay_->Start();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (mode_ == Fault::kDuplicate) ClientEnded();
    up_.timer.cancel();
    down_.timer.cancel();
    CloseSocket(client_);
    CloseSocket(upstream_);
    proxy_->Remove(this);  // the caller's handler still holds a reference
  }

  FaultProxy::Impl* const proxy_;
  const Fault mode_;
  const size_t cut_after_;
  const int upstream_port_;
  const bool forwarding_;  // kNone/kDelay: obeys the live config per chunk
  tcp::socket client_;
  tcp::socket upstream_;
  Pipe up_;
  Pipe down_;
  bool blackholed_ = false;
  bool closed_ = false;
  // kDuplicate only.
  std::string recorded_;
  bool replay_started_ = false;
  std::shared_ptr<Replay> replay_;
};

}  // namespace

FaultProxy::Impl::Impl(int upstream_port, int listen_port)
    : work_(asio::make_work_guard(io_)),
      acceptor_(io_),
      accept_retry_(io_),
      upstream_port_(upstream_port) {
  error_code ec;
  acceptor_.open(tcp::v4(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(Loopback(listen_port), ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  tcp::endpoint local;
  if (!ec) local = acceptor_.local_endpoint(ec);
  if (ec) {
    throw std::runtime_error("FaultProxy: cannot listen on 127.0.0.1:" +
                             std::to_string(listen_port) + ": " + ec.message());
  }
  port_ = local.port();
  Accept();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // A handler must never throw; if one does, log it and keep the proxy running.
        std::fprintf(stderr, "FaultProxy: handler threw: %s\n", e.what());
      }
    }
  });
}

FaultProxy::Impl::~Impl() {
  io_.stop();
  thread_.join();
  // The io thread is gone, so this thread now owns every socket.
  stopping_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  auto links = std::move(links_);
  links_.clear();
  for (auto& [ptr, link] : links) link->Abort();
  // Handlers still queued in io_ hold the last references; ~io_context destroys them unrun.
}

void FaultProxy::Impl::Accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket client) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      OnAccept(std::move(client));
      return Accept();
    }
    // Out of descriptors or similar: try again shortly rather than spinning.
    accept_retry_.expires_after(std::chrono::milliseconds(10));
    accept_retry_.async_wait([this](error_code wait_ec) {
      if (!wait_ec) Accept();
    });
  });
}

void FaultProxy::Impl::OnAccept(tcp::socket client) {
  ++connections;
  FaultConfig cfg;
  int upstream_port;
  {
    MutexLock lock(mu_);
    cfg = cfg_;
    upstream_port = upstream_port_;
  }
  error_code ignored;
  if (cfg.fault == Fault::kRefuse) {
    // Linger 0 makes close() send a reset, the closest a listening socket gets to "refused".
    client.set_option(asio::socket_base::linger(true, 0), ignored);
    client.close(ignored);
    return;
  }
  client.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<Session>(this, std::move(client), cfg, upstream_port);
  Add(session);
  session->Start();
}

FaultProxy::FaultProxy(int upstream_port, int listen_port)
    : impl_(std::make_unique<Impl>(upstream_port, listen_port)) {}
FaultProxy::~FaultProxy() = default;

int FaultProxy::port() const { return impl_->port(); }
void FaultProxy::Set(FaultConfig cfg) { impl_->Set(cfg); }
FaultConfig FaultProxy::config() const { return impl_->config(); }
void FaultProxy::SetUpstream(int upstream_port) { impl_->SetUpstream(upstream_port); }
uint64_t FaultProxy::connections() const { return impl_->connections.load(); }
uint64_t FaultProxy::bytes_up() const { return impl_->bytes_up.load(); }
uint64_t FaultProxy::bytes_down() const { return impl_->bytes_down.load(); }

}  // namespace lapor::testing
