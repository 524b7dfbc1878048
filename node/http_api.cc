#include "node/http_api.h"

// spdlog (fmt) first: cpprestsdk defines a macro U() that breaks fmt's templates. The define
// keeps cpprestsdk from defining it at all.
#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/base_uri.h>
#include <pplx/threadpool.h>
#include <sys/resource.h>

// clang-format off
// Before Boost.Asio: 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/thread_name.h"
#include "federation/request_auth.h"
#include "node/citizen_router.h"
#include "node/federation_router.h"
#include "node/http_router.h"
#include "node/log_context.h"
#include "node/log_router.h"
#include "node/media.h"
#include "node/national_router.h"
#include "node/operator_router.h"
#include "node/ops_router.h"
#include "node/page_router.h"
#include "node/rate_limiter.h"
#include "node/receipt_router.h"
#include "node/session_router.h"
#include "node/sessions.h"
#include "node/uploads.h"
#include "node/witness_router.h"

namespace lapor::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;
using BeastRequest = http::request<http::string_body>;

// After a reply that leaves part of a request unread (413, 431, a malformed request), the
// connection is closed gracefully: send side shut, then up to this much of what the client is
// still sending is read and dropped for up to kLingerMs, so the client reads the reply instead of
// a reset.
constexpr size_t kLingerBytes = 1 << 20;
constexpr int kLingerMs = 2000;
const beast::error_category& kHttpErrors =
    http::make_error_code(http::error::bad_method).category();

// The peer's address as text (an IPv4-mapped IPv6 address as IPv4); "" if the socket has none.
std::string PeerOf(const tcp::socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "";
  auto a = ep.address();
  return a.is_v6() && a.to_v6().is_v4_mapped()
             ? asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string()
             : a.to_string();
}

// A reply the client does not take within this long is dropped with its connection.
constexpr int kWriteTimeoutMs = 60000;

// The body limit of a request, by its path: federation batches are larger than citizens' JSON.
std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

bool IsUploadTarget(std::string_view target) {
  return target.substr(0, target.find('?')) == "/api/v1/attachments";
}

size_t BodyLimit(std::string_view target, size_t max_body_bytes) {
  if (IsUploadTarget(target)) return kMaxAttachmentBytes;
  return target.rfind("/federation/v1/", 0) == 0 ? kMaxFederationBody : max_body_bytes;
}

// Checks a POST's headers before its body is read: 415 unless the surface's media type.
Status CheckContentType(const BeastRequest& req) {
  const std::string_view target = View(req.target());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/witness/add-checkpoint") return Status::Ok();  // text
  const std::string media = HeaderMediaType(View(req[http::field::content_type]));
  if (IsUploadTarget(path)) {
    if (!IsAcceptedMediaType(media)) {
      return Status::UnsupportedMedia(
          "Content-Type must be image/jpeg, image/png or application/pdf (the file's type)");
    }
    return Status::Ok();
  }
  if (path.rfind("/federation/v1/", 0) == 0) {
    if (media != "application/x-protobuf") {
      return Status::UnsupportedMedia("Content-Type must be application/x-protobuf");
    }
    return Status::Ok();
  }
  if (media != "application/json") {
    return Status::UnsupportedMedia("Content-Type must be application/json");
  }
  return Status::Ok();
}

// The request as the routers see it. A target that is not a valid URI is refused (400); query
// parameters that do not percent-decode are kept as such for Query() to refuse.
Result<Request> ToRequest(BeastRequest&& req, std::string client, int64_t now) {
  Request r;
  r.method = std::string(req.method_string());
  web::uri uri;
  try {
    uri = web::uri(std::string(req.target()));
    r.path = uri.path();
    r.target = uri.resource().to_string();
    r.segments = web::uri::split_path(r.path);
    r.decoded_segments.reserve(r.segments.size());
    for (const auto& seg : r.segments) r.decoded_segments.push_back(web::uri::decode(seg));
  } catch (const std::exception&) {
    return Status::InvalidArgument("the request target is not a valid URI path", "target");
  }
  auto raw = uri.query();
  if (!raw.empty()) {
    for (const auto& [k, v] : web::uri::split_query(raw)) {
      QueryParam p;
      try {
        p.key = web::uri::decode(k);
        p.value = web::uri::decode(v);
      } catch (const std::exception&) {  // the one that failed stays nullopt
      }
      r.query.push_back(std::move(p));
    }
  }
  for (const auto& field : req) {
    std::string name(field.name_string());
    auto [it, fresh] = r.headers.emplace(name, std::string(field.value()));
    // Repeated: one list (cookies, which HTTP/2 may split over several fields, with "; ").
    if (!fresh) {
      it->second +=
          (field.name() == http::field::cookie ? "; " : ", ") + std::string(field.value());
    }
  }
  r.body = std::move(req.body());
  r.client = std::move(client);
  r.now_ms = now;
  return r;
}

// The bytes of a whole reply for a connection refused before any request was read: the same
// error body as any other 503.
const std::string& OverCapacityReply() {
  static const std::string reply = [] {
    std::string body = ErrorResponse(Status::Unavailable("too many open connections")).body;
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Cache-Control: no-store\r\nRetry-After: 5\r\nConnection: close\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return reply;
}

}  // namespace

// One client connection: reads one request at a time (headers with a deadline and a size limit,
// then the body within its limit), hands it to Impl::Handle and writes the one reply before it
// reads the next. Every handler runs on the connection's strand.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `reserve_only`: over the reserve line or over its peer's share (see MayUseReserve).
  HttpSession(HttpApi::Impl* api, tcp::socket socket, std::string peer, bool peer_counted,
              bool reserve_only);
  ~HttpSession();
  void Start() { ReadHeader(); }

 private:
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void Dispatch();
  void Write(Response r, bool close);
  // Replies and closes: for any request the connection cannot go on after.
  void Refuse(const Status& s, std::vector<std::pair<std::string, std::string>> headers = {});
  void Linger();
  void DiscardMore();
  void Close();
  // Whether a connection on the reserve may serve this request: /healthz, operators (any request
  // with an Authorization header or a session cookie) and members (a /federation/v1/ request naming
  // its node); the routers check the token or the signature as for any other request.
  bool MayUseReserve(const BeastRequest& req) const;

  HttpApi::Impl* api_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const bool reserve_only_;
  const std::string peer_;
  const bool peer_counted_;  // counted in Impl::per_peer
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;       // a HEAD request: the reply's headers only
  std::string request_id_;  // of the request being read (node/log_context.h)
  size_t linger_left_ = 0;
  std::vector<char> discard_;
};

struct HttpApi::Impl {
  CaseService* service;
  NodeConfig config;
  EdgeLimits limits;
  storage::Store* store = nullptr;
  int max_connections = 0;  // limits.max_connections, lowered to fit the open-file limit

  // The surfaces, tried in this order (their paths do not overlap).
  std::unique_ptr<OpsRouter> ops;
  std::unique_ptr<WitnessRouter> witness;
  // The hub's statistics reports: accepted through `federation`, served through `national` (one
  // service, so that the totals it keeps are cleared by the reports it accepts). Replaced with
  // both routers by SetFederation, before Start.
  std::unique_ptr<StatsService> stats;
  std::unique_ptr<FederationRouter> federation;
  std::unique_ptr<NationalRouter> national;  // the hub's national view (once federated)
  std::unique_ptr<LogRouter> log;
  std::unique_ptr<ReceiptRouter> receipts;
  const storage::TreeLog* tree_log = nullptr;  // this node's log (proofs of its events in pulls)
  std::unique_ptr<OperatorRouter> operators;
  std::unique_ptr<CitizenRouter> citizens;
  std::unique_ptr<PageRouter> pages;
  std::unique_ptr<SessionStore> sessions;  // operators' browser sessions (the workbench)
  std::unique_ptr<UploadStore> uploads;    // files uploaded for complaints not filed yet
  std::unique_ptr<SessionRouter> session_router;
  std::vector<Router*> routers;

  NodeMetrics* metrics = nullptr;

  std::unique_ptr<RateLimiter> filings;
  std::unique_ptr<RateLimiter> access;

  std::atomic<int> open_connections{0};
  // Open connections by peer address (trusted proxies are not counted: they carry everyone's).
  Mutex peers_mu;
  std::unordered_map<std::string, int> per_peer LAPOR_GUARDED_BY(peers_mu);

  // Whether the client reached a trusted proxy over TLS (its X-Forwarded-Proto).
  bool ViaTls(const std::string& peer, const Request& r) const {
    auto proto = r.Header("X-Forwarded-Proto");
    return Trusted(peer) && proto && *proto == "https";
  }
  bool Trusted(const std::string& peer) const {
    for (const auto& p : limits.trusted_proxies) {
      if (p == peer) return true;
    }
    return false;
  }
  // Counts a new connection from `peer`: how many it holds now, or 0 if it is not counted.
  int AddPeer(const std::string& peer) {
    if (peer.empty() || Trusted(peer)) return 0;
    MutexLock lock(peers_mu);
    return ++per_peer[ClientKey(peer)];
  }
  void RemovePeer(const std::string& peer) {
    MutexLock lock(peers_mu);
    auto it = per_peer.find(ClientKey(peer));
    if (it != per_peer.end() && --it->second <= 0) per_peer.erase(it);
  }
  std::atomic<int64_t> last_accept_warning_ms{0};

  // Every request is counted from Handle until its one reply, so Drain can wait for replies that
  // come later from commit callbacks.
  Mutex mu;
  CondVar drained;
  int in_flight LAPOR_GUARDED_BY(mu) = 0;
  bool stopping LAPOR_GUARDED_BY(mu) = false;

  std::vector<std::thread> threads;
  // After everything a session uses: destroying it destroys the pending handlers, and with them
  // the sessions, while the rest of Impl still lives.
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;

  // Replies from commit callbacks (which run on the store's committer thread) move to the HTTP
  // threads so the committer can start the next group commit at once.
  Executor OnPool() {
    return [this](std::function<void()> fn) { asio::post(ioc, std::move(fn)); };
  }

  void SetRouters() {
    routers = {ops.get(),      witness.get(),   federation.get(),     log.get(),  receipts.get(),
               citizens.get(), operators.get(), session_router.get(), pages.get()};
    if (national) routers.insert(routers.begin() + 3, national.get());
  }

  // The client the rate limits count: the peer, or for a trusted proxy the last address of its
  // X-Forwarded-For (the one the proxy appended).
  std::string ClientOf(const std::string& peer, const Request& r) const {
    if (Trusted(peer)) {
      if (auto xff = r.Header("X-Forwarded-For")) {
        std::string last = xff->substr(xff->rfind(',') + 1);
        while (!last.empty() && last.front() == ' ') last.erase(0, 1);
        while (!last.empty() && last.back() == ' ') last.pop_back();
        if (IsIpAddress(last)) return ClientKey(last);
      }
    }
    return ClientKey(peer);
  }

  // One parsed request: the rate limits, then the routers. `reply` is called exactly once.
  void Handle(Request r, const Reply& reply) {
    RequestLogScope log_scope(r.request_id);
    {
      MutexLock lock(mu);
      if (stopping) {
        reply(ErrorResponse(Status::Unavailable("the node is shutting down")));
        return;
      }
      ++in_flight;
    }
    Reply counted = [this, reply, route = metrics ? RouteOf(r.segments) : std::string(),
                     start = std::chrono::steady_clock::now(), id = r.request_id](Response resp) {
      // The path holds tracking ids only; the query (access codes) and bodies are never logged.
      const int status = resp.status;
      resp.headers.emplace_back("X-Request-Id", id);
      reply(std::move(resp));
      if (metrics) {
        metrics->ObserveRequest(
            route, status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      MutexLock lock(mu);
      if (--in_flight == 0) drained.NotifyAll();
    };
    RateClass rc = RateClassOf(r);
    if (rc != RateClass::kNone) {
      RateLimiter* limiter = rc == RateClass::kFiling ? filings.get() : access.get();
      int64_t wait_s = limiter->Take(r.client, r.now_ms);
      if (wait_s > 0) {
        Response resp = ErrorResponse(Status::TooManyRequests(
            rc == RateClass::kFiling
                ? "too many complaints filed from this address; try again later"
                : "too many case look-ups from this address; try again later"));
        resp.headers.emplace_back("Retry-After", std::to_string(wait_s));
        return counted(std::move(resp));
      }
    }
    try {
      node::Dispatch(routers, r, counted);
    } catch (const std::exception& e) {
      // Anything unforeseen is a 500 for this request, never a crash of the node.
      counted(ErrorResponse(Status::Internal(e.what())));
    }
  }

  void Accept() {
    acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Out of file descriptors (or another transient failure): wait a little instead of
        // spinning; log at most once a second.
        int64_t now = Clock::Real()->NowMs();
        if (now - last_accept_warning_ms.exchange(now) > 1000) {
          spdlog::warn("accepting a connection failed: {}", ec.message());
        }
        accept_retry->expires_after(Millis(50));
        accept_retry->async_wait([this](beast::error_code) { Accept(); });
        return;
      }
      std::string peer = PeerOf(s);
      int open = open_connections.fetch_add(1) + 1;
      if (open > max_connections) {
        // Over the cap: the reply fits the socket buffer of a fresh connection.
        beast::error_code ignored;
        s.non_blocking(true, ignored);
        s.write_some(asio::buffer(OverCapacityReply()), ignored);
        s.shutdown(tcp::socket::shutdown_both, ignored);
        s.close(ignored);
        open_connections.fetch_sub(1);
      } else {
        const int mine = AddPeer(peer);
        const bool reserve_only = open > max_connections - limits.connection_reserve ||
                                  mine > limits.max_connections_per_client;
        std::make_shared<HttpSession>(this, std::move(s), std::move(peer), mine > 0, reserve_only)
            ->Start();
      }
      Accept();
    });
  }
};

HttpSession::HttpSession(HttpApi::Impl* api, tcp::socket socket, std::string peer,
                         bool peer_counted, bool reserve_only)
    : api_(api),
      stream_(std::move(socket)),
      reserve_only_(reserve_only),
      peer_(std::move(peer)),
      peer_counted_(peer_counted) {}

HttpSession::~HttpSession() {
  if (peer_counted_) api_->RemovePeer(peer_);
  api_->open_connections.fetch_sub(1);
}

bool HttpSession::MayUseReserve(const BeastRequest& req) const {
  std::string_view target = View(req.target());
  if (target == "/healthz" || req.count(http::field::authorization) > 0) return true;
  // An operator's browser session (as for a bearer token, the router checks it as always).
  const auto cookies = req.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    if (View(it->value()).find(kSessionCookie) != std::string_view::npos) return true;
  }
  // Members' requests (a federation on one host, or behind one NAT, shares an address); the
  // router checks their signature as always.
  const std::string_view node_header = federation::kHeaderNode;
  return target.rfind("/federation/v1/", 0) == 0 &&
         req.count(beast::string_view(node_header.data(), node_header.size())) > 0;
}

void HttpSession::ReadHeader() {
  parser_.emplace();
  request_id_.clear();
  parser_->header_limit(static_cast<std::uint32_t>(api_->limits.max_header_bytes));
  // No limit while the headers are read (the parser would refuse a declared length as malformed
  // before OnHeader knows the path); OnHeader sets the request's own limit.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  // A connection on the reserve gets a short deadline: whoever holds it without sending a request
  // gives it back within a second.
  stream_.expires_after(Millis(reserve_only_ ? std::min(api_->limits.header_timeout_ms,
                                                        api_->limits.reserve_header_timeout_ms)
                                             : api_->limits.header_timeout_ms));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (ec == http::error::header_limit) {
    return Refuse(Status::HeadersTooLarge("the request's headers are larger than " +
                                          std::to_string(api_->limits.max_header_bytes) +
                                          " bytes"));
  }
  if (ec && ec != http::error::end_of_stream && ec.category() == kHttpErrors) {
    return Refuse(Status::InvalidArgument("malformed HTTP request: " + ec.message()));
  }
  // The client closed, went quiet past the header timeout, or the socket failed: nothing to reply
  // to (a slow client gets no reply, only a closed connection).
  if (ec) return Close();
  const BeastRequest& req = parser_->get();
  request_id_ = RequestIdFor(View(req["X-Request-Id"]));
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  head_ = req.method() == http::verb::head;
  if (reserve_only_ && !MayUseReserve(req)) {
    return Refuse(Status::Unavailable("too many open connections; try again later"),
                  {{"Retry-After", "5"}});
  }
  const size_t limit = BodyLimit(View(req.target()), api_->config.max_body_bytes);
  if (req.method() == http::verb::post) {
    if (Status s = CheckContentType(req); !s.ok()) return Refuse(s);
  }
  if (auto length = parser_->content_length(); length && *length > limit) {
    return Refuse(Status::TooLarge("body larger than " + std::to_string(limit) + " bytes"));
  }
  parser_->body_limit(limit);
  if (parser_->is_done()) return Dispatch();
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    auto cont =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
    stream_.expires_after(Millis(kWriteTimeoutMs));
    return http::async_write(stream_, *cont,
                             [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                               if (ec) return self->Close();
                               self->ReadBody();
                             });
  }
  ReadBody();
}

void HttpSession::ReadBody() {
  stream_.expires_after(Millis(api_->limits.body_timeout_ms));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void HttpSession::OnBody(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    // A chunked body (no length declared) that went past the limit while it streamed.
    const size_t limit = BodyLimit(View(parser_->get().target()), api_->config.max_body_bytes);
    return Refuse(Status::TooLarge("body larger than " + std::to_string(limit) + " bytes"));
  }
  if (ec && ec != http::error::end_of_stream && ec.category() == kHttpErrors) {
    return Refuse(Status::InvalidArgument("malformed HTTP request: " + ec.message(), "body"));
  }
  if (ec) return Close();
  Dispatch();
}

void HttpSession::Dispatch() {
  stream_.expires_never();
  BeastRequest req = parser_->release();
  auto reply = [self = shared_from_this()](Response r) {
    // Replies can come from any thread (commit callbacks): the write runs on the strand.
    asio::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
      self->Write(std::move(r), !self->keep_alive_);
    });
  };
  auto r = ToRequest(std::move(req), "", Clock::Real()->NowMs());
  if (!r.ok()) return Refuse(r.status());
  r->client = api_->ClientOf(peer_, *r);
  r->tls = api_->ViaTls(peer_, *r);
  r->sessions = api_->sessions.get();
  r->request_id = request_id_;
  spdlog::debug("{} {}", r->method, r->path);
  api_->Handle(std::move(*r), reply);
}

void HttpSession::Write(Response r, bool close) {
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), version_);
  res->set(http::field::content_type, r.content_type);
  res->set(http::field::cache_control, r.cache_control);
  for (const auto& [name, value] : r.headers) res->insert(name, value);
  res->keep_alive(!close);
  if (head_) {
    res->content_length(r.body.size());
  } else {
    res->body() = std::move(r.body);
    res->prepare_payload();
  }
  stream_.expires_after(Millis(kWriteTimeoutMs));
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                      if (ec) return self->Close();
                      if (close) return self->Linger();
                      self->ReadHeader();
                    });
}

void HttpSession::Refuse(const Status& s,
                         std::vector<std::pair<std::string, std::string>> headers) {
  Response r = ErrorResponse(s);
  for (auto& h : headers) r.headers.push_back(std::move(h));
  // Refused before the request was whole: its id, if its headers were read, else a new one.
  r.headers.emplace_back("X-Request-Id", request_id_.empty() ? RequestIdFor("") : request_id_);
  Write(std::move(r), /*close=*/true);
}

void HttpSession::Linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  linger_left_ = kLingerBytes;
  discard_.resize(16 * 1024);
  stream_.expires_after(Millis(kLingerMs));
  DiscardMore();
}

// Drops what the client still sends after a refusal, until it stops, the budget is spent or the
// linger deadline passes.
void HttpSession::DiscardMore() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (ec || n >= self->linger_left_) return self->Close();
                            self->linger_left_ -= n;
                            self->DiscardMore();
                          });
}

void HttpSession::Close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void HttpApi::InitThreadPool(int threads) {
  crossplat::threadpool::initialize_with_threads(threads);
}

HttpApi::HttpApi(CaseService* service, const NodeConfig& config, const storage::TreeLog* log,
                 std::string vkey, federation::Witness* witness, storage::Store* store)
    : impl_(new Impl) {
  impl_->store = store;
  impl_->tree_log = log;
  impl_->service = service;
  impl_->config = config;
  impl_->limits = config.edge;
  impl_->max_connections = config.edge.max_connections;
  impl_->filings = std::make_unique<RateLimiter>(config.edge.filings_per_minute);
  impl_->access = std::make_unique<RateLimiter>(config.edge.access_per_minute);
  impl_->ops = std::make_unique<OpsRouter>(service, store);
  impl_->witness = std::make_unique<WitnessRouter>(witness, config.max_body_bytes);
  impl_->stats = std::make_unique<StatsService>(store, service->node_id(), nullptr);
  impl_->federation = std::make_unique<FederationRouter>(service, store, log, nullptr, nullptr, 0,
                                                         impl_->OnPool(), impl_->stats.get());
  impl_->receipts = std::make_unique<ReceiptRouter>(service, log, vkey);
  impl_->log =
      std::make_unique<LogRouter>(service, log, std::move(vkey), config.log_requires_auditor);
  // An upload waits up to an hour for its complaint; all of them hold at most 64 MiB.
  impl_->uploads = std::make_unique<UploadStore>(3600 * 1000LL, 64u << 20);
  impl_->citizens = std::make_unique<CitizenRouter>(service, config.max_body_bytes,
                                                    impl_->uploads.get(), impl_->OnPool());
  impl_->operators =
      std::make_unique<OperatorRouter>(service, config.max_body_bytes, impl_->OnPool());
  impl_->pages = std::make_unique<PageRouter>();
  // The node's own figures (/api/v1/stats); the national view once federated (SetFederation).
  impl_->national = std::make_unique<NationalRouter>(service, store, nullptr, impl_->stats.get());
  impl_->sessions = std::make_unique<SessionStore>(config.edge.session_hours * 3600 * 1000LL,
                                                   kMaxSessions, kMaxSessionsPerOperator);
  impl_->session_router = std::make_unique<SessionRouter>(service, impl_->sessions.get());
  impl_->SetRouters();
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::SetMetrics(NodeMetrics* metrics) {
  impl_->metrics = metrics;
  impl_->ops->SetMetrics(metrics);
}

void HttpApi::SetFederation(const protocol::Directory* directory,
                            federation::Replicator* replicator, int64_t start_ms) {
  auto stats = std::make_unique<StatsService>(impl_->store, impl_->service->node_id(), directory);
  impl_->federation = std::make_unique<FederationRouter>(
      impl_->service, impl_->store, impl_->tree_log, directory, replicator, start_ms,
      impl_->OnPool(), stats.get(), impl_->config.request_window_ms);
  impl_->national =
      std::make_unique<NationalRouter>(impl_->service, impl_->store, directory, stats.get());
  impl_->stats = std::move(stats);  // after the routers that used the old one are gone
  impl_->SetRouters();
}

int HttpApi::FitConnectionsToFileLimit(int wanted) {
  // Raise the soft open-file limit to the hard one, then keep room for the store, the log and
  // outgoing federation connections (kSpareFiles) beside the clients.
  constexpr int kSpareFiles = 128;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return wanted;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return wanted;
  const auto room = static_cast<int64_t>(rl.rlim_cur) - kSpareFiles;
  if (room >= wanted) return wanted;
  return static_cast<int>(std::max<int64_t>(room, 16));
}

Status HttpApi::Start(const std::string& host, int port) {
  Impl& im = *impl_;
  im.max_connections = FitConnectionsToFileLimit(im.limits.max_connections);
  if (im.max_connections < im.limits.max_connections) {
    spdlog::warn(
        "the open-file limit allows {} client connections, not the {} of edge.max_connections "
        "(raise LimitNOFILE / ulimit -n)",
        im.max_connections, im.limits.max_connections);
  }
  im.limits.connection_reserve =
      std::min(im.limits.connection_reserve, std::max(1, im.max_connections / 4));
  try {
    auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host);
    tcp::endpoint ep(address, static_cast<unsigned short>(port));
    im.acceptor.emplace(im.ioc);
    im.acceptor->open(ep.protocol());
    im.acceptor->set_option(asio::socket_base::reuse_address(true));
    im.acceptor->bind(ep);
    im.acceptor->listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    im.acceptor.reset();
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                           e.what());
  }
  im.accept_retry.emplace(im.ioc);
  im.Accept();
  for (int i = 0; i < std::max(1, im.config.http_threads); ++i) {
    im.threads.emplace_back([&im] {
      SetThreadName("lapor-http");
      for (;;) {
        try {
          im.ioc.run();
          return;
        } catch (const std::exception& e) {  // a handler threw: log it and keep serving
          spdlog::error("HTTP thread: {}", e.what());
        }
      }
    });
  }
  return Status::Ok();
}

void HttpApi::Drain() {
  if (!impl_ || !impl_->acceptor) return;
  // New requests get 503; wait for every accepted one to get its reply (writes reply once
  // durable, so this is bounded by one group commit).
  MutexLock lock(impl_->mu);
  impl_->stopping = true;
  impl_->drained.WaitFor(lock, std::chrono::seconds(30),
                         [&]() LAPOR_REQUIRES(impl_->mu) { return impl_->in_flight == 0; });
}

void HttpApi::Stop() {
  if (!impl_ || !impl_->acceptor) return;
  Drain();
  asio::post(impl_->ioc, [im = impl_.get()] {
    beast::error_code ignored;
    im->acceptor->close(ignored);
    im->accept_retry->cancel();
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->acceptor.reset();
}

int HttpApi::port() const {
  if (!impl_ || !impl_->acceptor) return 0;
  beast::error_code ec;
  auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace lapor::node
