#include "node/http_api.h"

// spdlog (fmt) first: cpprestsdk defines a macro U() that breaks fmt's templates. The define
// keeps cpprestsdk from defining it at all.
#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "node/citizen_router.h"
#include "node/federation_router.h"
#include "node/http_router.h"
#include "node/log_router.h"
#include "node/operator_router.h"
#include "node/ops_router.h"
#include "node/witness_router.h"

namespace lapor::node {
namespace {

using web::http::http_request;
using web::http::methods;
using web::http::status_code;

// The request as the routers see it. Path segments that do not percent-decode throw (a 500, as
// any unforeseen failure); query parameters that do not are kept as such for Query() to refuse.
Request ToRequest(const http_request& req, const std::vector<unsigned char>* body, int64_t now) {
  Request r;
  r.method = req.method();
  const auto& uri = req.relative_uri();
  r.path = uri.path();
  r.target = uri.to_string();
  r.segments = web::uri::split_path(r.path);
  r.decoded_segments.reserve(r.segments.size());
  for (const auto& seg : r.segments) r.decoded_segments.push_back(web::uri::decode(seg));
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
  for (const auto& [name, value] : req.headers()) r.headers.emplace(name, value);
  if (body != nullptr) r.body.assign(body->begin(), body->end());
  r.now_ms = now;
  return r;
}

}  // namespace

struct HttpApi::Impl {
  CaseService* service;
  NodeConfig config;
  storage::Store* store = nullptr;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;

  // The surfaces, tried in this order (their paths do not overlap).
  std::unique_ptr<OpsRouter> ops;
  std::unique_ptr<WitnessRouter> witness;
  std::unique_ptr<FederationRouter> federation;
  std::unique_ptr<LogRouter> log;
  std::unique_ptr<OperatorRouter> operators;
  std::unique_ptr<CitizenRouter> citizens;
  std::vector<Router*> routers;

  // Every request is counted from Handle until its one reply, so Stop can wait for replies that
  // come later from commit callbacks.
  Mutex mu;
  CondVar drained;
  int in_flight LAPOR_GUARDED_BY(mu) = 0;
  bool stopping LAPOR_GUARDED_BY(mu) = false;

  // Commit callbacks run on the store's committer thread: the replies (JSON, socket writes) move
  // to the HTTP pool so the committer can start the next group commit at once.
  static void OnPool(std::function<void()> fn) {
    crossplat::threadpool::shared_instance().service().post(std::move(fn));
  }

  void SetRouters() {
    routers = {ops.get(), witness.get(),  federation.get(),
               log.get(), citizens.get(), operators.get()};
  }

  // Every request ends here exactly once (see in_flight).
  void ReplyRaw(const http_request& req, Response r) {
    // The path holds tracking ids only; the query (access codes) and bodies are never logged.
    spdlog::debug("{} {} {}", req.method(), req.relative_uri().path(), r.status);
    web::http::http_response resp(static_cast<status_code>(r.status));
    resp.set_body(std::move(r.body), r.content_type);
    resp.headers().add("Cache-Control", r.cache_control);
    for (const auto& [name, value] : r.headers) resp.headers().add(name, value);
    req.reply(resp).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {  // the client went away; nothing to do
      }
    });
    MutexLock lock(mu);
    if (--in_flight == 0) drained.NotifyAll();
  }

  void ReplyError(const http_request& req, const Status& s) { ReplyRaw(req, ErrorResponse(s)); }

  // Checks a request's headers before its body is read: 415 unless application/json, 413 when
  // the declared length is above the limit.
  Status CheckBodyHeaders(const http_request& req) {
    const std::string path = req.relative_uri().path();
    const bool federation = path.rfind("/federation/v1/", 0) == 0;
    const size_t limit = federation ? kMaxFederationBody : config.max_body_bytes;
    if (req.headers().content_length() > limit) {
      return Status::TooLarge("body larger than " + std::to_string(limit) + " bytes");
    }
    if (path == "/witness/add-checkpoint") return Status::Ok();  // text
    if (federation) {
      auto ct = req.headers().content_type();
      if (ct.substr(0, ct.find(';')) != "application/x-protobuf") {
        return Status::UnsupportedMedia("Content-Type must be application/x-protobuf");
      }
      return Status::Ok();
    }
    auto ct = req.headers().content_type();
    std::string media = ct.substr(0, ct.find(';'));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (media != "application/json") {
      return Status::UnsupportedMedia("Content-Type must be application/json");
    }
    return Status::Ok();
  }

  // Handlers never block a pool thread on I/O: bodies are read with a continuation, and writes
  // reply from the store's commit callback, so many requests can share one group commit.
  void Handle(http_request req) {
    bool refuse = false;
    {
      MutexLock lock(mu);
      ++in_flight;
      refuse = stopping;
    }
    if (refuse) return ReplyError(req, Status::Unavailable("the node is shutting down"));
    if (req.method() != methods::POST) return Guarded(req, nullptr);
    Status s = CheckBodyHeaders(req);
    if (!s.ok()) return ReplyError(req, s);
    req.extract_vector().then([this, req](pplx::task<std::vector<unsigned char>> t) {
      std::vector<unsigned char> bytes;
      try {
        bytes = t.get();
      } catch (const std::exception& e) {
        return ReplyError(
            req, Status::InvalidArgument(std::string("cannot read body: ") + e.what(), "body"));
      }
      Guarded(req, &bytes);
    });
  }

  void Guarded(http_request req, const std::vector<unsigned char>* body) {
    try {
      Dispatch(routers, ToRequest(req, body, Clock::Real()->NowMs()),
               [this, req](Response r) { ReplyRaw(req, std::move(r)); });
    } catch (const std::exception& e) {
      // Anything unforeseen is a 500 for this request, never a crash of the node.
      ReplyError(req, Status::Internal(e.what()));
    }
  }
};

void HttpApi::InitThreadPool(int threads) {
  crossplat::threadpool::initialize_with_threads(threads);
}

HttpApi::HttpApi(CaseService* service, const NodeConfig& config, const storage::TreeLog* log,
                 std::string vkey, federation::Witness* witness, storage::Store* store)
    : impl_(new Impl) {
  impl_->store = store;
  impl_->service = service;
  impl_->config = config;
  impl_->ops = std::make_unique<OpsRouter>(service, store);
  impl_->witness = std::make_unique<WitnessRouter>(witness, config.max_body_bytes);
  impl_->federation =
      std::make_unique<FederationRouter>(service, store, nullptr, nullptr, 0, &Impl::OnPool);
  impl_->log =
      std::make_unique<LogRouter>(service, log, std::move(vkey), config.log_requires_auditor);
  impl_->citizens = std::make_unique<CitizenRouter>(service, config.max_body_bytes, &Impl::OnPool);
  impl_->operators =
      std::make_unique<OperatorRouter>(service, config.max_body_bytes, &Impl::OnPool);
  impl_->SetRouters();
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::SetFederation(const protocol::Directory* directory,
                            federation::Replicator* replicator, int64_t start_ms) {
  impl_->federation = std::make_unique<FederationRouter>(impl_->service, impl_->store, directory,
                                                         replicator, start_ms, &Impl::OnPool);
  impl_->SetRouters();
}

Status HttpApi::Start(const std::string& host, int port) {
  std::string url = "http://" + host + ":" + std::to_string(port) + "/";
  try {
    impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(url);
    impl_->listener->support([this](http_request req) { impl_->Handle(std::move(req)); });
    impl_->listener->open().wait();
  } catch (const std::exception& e) {
    impl_->listener.reset();
    return Status::IOError("cannot listen on " + url + ": " + e.what());
  }
  return Status::Ok();
}

void HttpApi::Drain() {
  if (!impl_ || !impl_->listener) return;
  // New requests get 503; wait for every accepted one to get its reply (writes reply once
  // durable, so this is bounded by one group commit).
  MutexLock lock(impl_->mu);
  impl_->stopping = true;
  impl_->drained.WaitFor(lock, std::chrono::seconds(30),
                         [&]() LAPOR_REQUIRES(impl_->mu) { return impl_->in_flight == 0; });
}

void HttpApi::Stop() {
  if (!impl_ || !impl_->listener) return;
  Drain();
  try {
    impl_->listener->close().wait();
  } catch (const std::exception& e) {
    spdlog::warn("closing the listener: {}", e.what());
  }
  impl_->listener.reset();
}

}  // namespace lapor::node
