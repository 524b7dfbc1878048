#include "node/http_api.h"

// spdlog (fmt) first: cpprestsdk defines a macro U() that breaks fmt's templates. The define
// keeps cpprestsdk from defining it at all.
#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "crypto/encoding.h"
#include "federation/manifest_client.h"
#include "federation/request_auth.h"
#include "node/access_policy.h"
#include "node/api_codec.h"
#include "node/stats.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::node {
namespace {

// Node-to-node batches are larger than citizens' requests.
constexpr size_t kMaxFederationBody = 16 << 20;

using nlohmann::json;
using web::http::http_request;
using web::http::methods;
using web::http::status_code;

// A decimal number without sign, spaces or more than 19 digits (so it fits uint64_t).
bool ParseDecimal(const std::string& v, uint64_t* out) {
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *out = std::stoull(v);
  return true;
}

// A required decimal query parameter; the error names it.
Status QueryDecimal(std::map<std::string, std::string>& q, const char* key, uint64_t* out) {
  return ParseDecimal(q[key], out) ? Status::Ok()
                                   : Status::InvalidArgument("must be an integer", key);
}

// `after` (the last id seen) and `limit` (1-1000, default 100) of a paged listing.
Status QueryPage(std::map<std::string, std::string>& q, uint64_t* after, uint64_t* limit) {
  *after = 0;
  *limit = 100;
  if (!q["after"].empty() &&
      (!ParseDecimal(q["after"], after) || *after > static_cast<uint64_t>(INT64_MAX))) {
    return Status::InvalidArgument("must be an integer", "after");
  }
  if (!q["limit"].empty() && (!ParseDecimal(q["limit"], limit) || *limit < 1 || *limit > 1000)) {
    return Status::InvalidArgument("must be an integer 1-1000", "limit");
  }
  return Status::Ok();
}

}  // namespace

struct HttpApi::Impl {
  CaseService* service;
  NodeConfig config;
  const storage::TreeLog* log;
  std::string vkey;
  federation::Witness* witness = nullptr;  // null unless this node witnesses other logs
  storage::Store* store = nullptr;
  const protocol::Directory* directory = nullptr;  // null: not federated
  federation::Replicator* replicator = nullptr;
  std::unique_ptr<federation::RequestVerifier> verifier;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;

  // Every request is counted from Handle until its one reply, so Stop can wait for replies that
  // come later from commit callbacks.
  std::mutex mu;
  std::condition_variable drained;
  int in_flight = 0;      // guarded by mu
  bool stopping = false;  // guarded by mu

  // Commit callbacks run on the store's committer thread: the replies (JSON, socket writes) move
  // to the HTTP pool so the committer can start the next group commit at once.
  static void OnPool(std::function<void()> fn) {
    crossplat::threadpool::shared_instance().service().post(std::move(fn));
  }

  // Every request ends here exactly once (see in_flight).
  void ReplyRaw(const http_request& req, int code, std::string body, const std::string& type,
                const std::string& cache) {
    // The path holds tracking ids only; the query (access codes) and bodies are never logged.
    spdlog::debug("{} {} {}", req.method(), req.relative_uri().path(), code);
    web::http::http_response resp(static_cast<status_code>(code));
    resp.set_body(std::move(body), type);
    resp.headers().add("Cache-Control", cache);
    req.reply(resp).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {  // the client went away; nothing to do
      }
    });
    std::lock_guard<std::mutex> lock(mu);
    if (--in_flight == 0) drained.notify_all();
  }

  void Reply(const http_request& req, int code, const json& body) {
    // replace: an error message may quote invalid UTF-8 from the request.
    ReplyRaw(req, code, body.dump(-1, ' ', false, json::error_handler_t::replace),
             "application/json", "no-store");
  }

  void ReplyError(const http_request& req, const Status& s) {
    int code = HttpStatusFor(s);
    if (code >= 500) spdlog::error("request failed: {}", s.ToString());
    Reply(req, code, ErrorJson(s));
  }

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

  // Parses a body: 413 above the size limit (chunked bodies declare no length), 400 if it does
  // not parse (including invalid UTF-8, which nlohmann::json rejects).
  Result<json> ParseJson(const std::vector<unsigned char>& bytes) {
    if (bytes.size() > config.max_body_bytes) {
      return Status::TooLarge("body larger than " + std::to_string(config.max_body_bytes) +
                              " bytes");
    }
    return ParseJsonBody(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }

  // Operator from "Authorization: Bearer <token>" (401 if present but unknown), plus the access
  // code from the query string or body.
  Result<Credentials> ReadCredentials(const http_request& req, const std::string& access_code) {
    Credentials who;
    who.access_code = access_code;
    // The access code is best sent in this header (or a POST body): a URL's query can reach logs
    // and Referer headers. The query parameter stays for existing clients.
    if (auto h = req.headers().find("X-Access-Code"); h != req.headers().end()) {
      if (!access_code.empty() && access_code != h->second) {
        return Status::InvalidArgument("two different access codes", "X-Access-Code");
      }
      who.access_code = h->second;
    }
    auto it = req.headers().find("Authorization");
    if (it != req.headers().end()) {
      const std::string& h = it->second;
      if (h.rfind("Bearer ", 0) != 0 || h.size() <= 7) {
        return Status::Unauthenticated("Authorization must be 'Bearer <token>'");
      }
      auto op = service->Authenticate(h.substr(7));
      if (!op.ok()) return op.status();
      if (!op->has_value()) return Status::Unauthenticated("unknown operator token");
      who.op = **op;
    }
    return who;
  }

  // GET /api/v1/access-log (admin, auditor: every record) and
  // GET /api/v1/complaints/{id}/access-log (also the reporter, with the access code): who read
  // which personal data of which case, and when. Paged by `after` (the last id seen).
  int RouteAccessLog(const http_request& req, const std::string& case_id) {
    auto q = Query(req, {"after", "limit", "access_code"});
    if (!q.ok()) return Fail(req, q.status());
    uint64_t after = 0, limit = 0;
    if (Status s = QueryPage(*q, &after, &limit); !s.ok()) return Fail(req, s);
    auto who = ReadCredentials(req, (*q)["access_code"]);
    if (!who.ok()) return Fail(req, who.status());
    auto page =
        service->AccessLog(case_id, *who, static_cast<int64_t>(after), static_cast<int>(limit));
    if (!page.ok()) return Fail(req, page.status());
    const auto& records = page->records;
    json items = json::array();
    for (const auto& r : records) {
      json fields = json::array();
      for (size_t at = 0; at < r.fields.size();) {
        size_t comma = r.fields.find(',', at);
        if (comma == std::string::npos) comma = r.fields.size();
        fields.push_back(r.fields.substr(at, comma - at));
        at = comma + 1;
      }
      json item = {{"id", r.id},
                   {"at", FormatTime(r.time_ms)},
                   {"role", r.role},
                   {"tracking_id", r.case_id},
                   {"fields", fields}};
      if (page->operator_ids) item["operator_id"] = r.operator_id;  // not for the reporter
      items.push_back(std::move(item));
    }
    json next = records.size() == limit ? json(std::to_string(records.back().id)) : json(nullptr);
    Reply(req, 200, {{"items", items}, {"next_after", next}});
    return 200;
  }

  int Fail(const http_request& req, const Status& s) {
    ReplyError(req, s);
    return HttpStatusFor(s);
  }

  // For endpoints any operator (admin, liaison or auditor) may read.
  Status RequireOperator(const http_request& req) {
    auto who = ReadCredentials(req, "");
    if (!who.ok()) return who.status();
    if (!who->op) return Status::Unauthenticated("an operator token is required");
    return Status::Ok();
  }

  static Result<std::map<std::string, std::string>> Query(
      const http_request& req, std::initializer_list<const char*> known) {
    std::map<std::string, std::string> out;
    auto raw = req.relative_uri().query();
    if (raw.empty()) return out;
    std::map<std::string, std::string> q;
    try {
      q = web::uri::split_query(raw);
      for (auto& [k, v] : q) {
        std::string key = web::uri::decode(k);
        bool ok = false;
        for (const char* kn : known) ok = ok || key == kn;
        if (!ok) return Status::InvalidArgument("unknown query parameter", key);
        out[key] = web::uri::decode(v);
      }
    } catch (const std::exception&) {
      return Status::InvalidArgument("malformed query string", "query");
    }
    return out;
  }

  // Handlers never block a pool thread on I/O: bodies are read with a continuation, and writes
  // reply from the store's commit callback, so many requests can share one group commit.
  void Handle(http_request req) {
    bool refuse = false;
    {
      std::lock_guard<std::mutex> lock(mu);
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
      Route(req, body);
    } catch (const std::exception& e) {
      // Anything unforeseen is a 500 for this request, never a crash of the node.
      ReplyError(req, Status::Internal(e.what()));
    }
  }

  // The transparency log: C2SP tlog-tiles under /log/, plus JSON proofs. `rest` is the path
  // after "/log/". Nothing here carries personal data: entries are the signed envelopes.
  int RouteLog(const http_request& req, const std::string& rest) {
    auto fail = [&](const Status& s) {
      ReplyError(req, s);
      return HttpStatusFor(s);
    };
    if (config.log_requires_auditor) {
      auto who = ReadCredentials(req, "");
      if (!who.ok()) return fail(who.status());
      if (!who->op) return fail(Status::Unauthenticated("the log is restricted to auditors"));
      if (who->op->role != "auditor" && who->op->role != "admin") {
        return fail(Status::PermissionDenied("the log is restricted to auditors"));
      }
    }
    if (rest == "checkpoint") {
      ReplyRaw(req, 200, log->checkpoint().note, "text/plain; charset=utf-8", "no-store");
      return 200;
    }
    if (rest == "vkey") {
      ReplyRaw(req, 200, vkey + "\n", "text/plain; charset=utf-8", "public, max-age=3600");
      return 200;
    }
    if (rest.rfind("tile/", 0) == 0) {
      auto ref = crypto::ParseTilePath(rest);
      if (!ref.ok())
        return fail(Status::NotFound("not a tile path: " + ref.status().message(), "path"));
      auto data = log->Tile(*ref);
      if (!data.ok()) return fail(data.status());
      // Full tiles never change; partial ones are replaced by wider ones as the log grows.
      ReplyRaw(req, 200, std::move(*data), "application/octet-stream",
               ref->width == 0 ? "public, max-age=31536000, immutable" : "no-store");
      return 200;
    }
    auto proof_json = [](const std::vector<std::string>& proof) {
      json arr = json::array();
      for (const auto& h : proof) arr.push_back(crypto::Base64Encode(h));
      return arr;
    };
    const uint64_t current = log->checkpoint().size;
    if (rest == "proof/inclusion") {
      auto q = Query(req, {"index", "size"});
      if (!q.ok()) return fail(q.status());
      uint64_t index = 0, size = 0;
      Status s = QueryDecimal(*q, "index", &index);
      if (s.ok()) s = QueryDecimal(*q, "size", &size);
      if (!s.ok()) return fail(s);
      if (size > current) return fail(Status::NotFound("the log is not that large yet", "size"));
      if (index >= size) return fail(Status::InvalidArgument("index must be below size", "index"));
      auto proof = crypto::InclusionProof(log->Reader(), index, size);
      if (!proof.ok()) return fail(proof.status());
      Reply(req, 200, {{"index", index}, {"size", size}, {"proof", proof_json(*proof)}});
      return 200;
    }
    if (rest == "proof/consistency") {
      auto q = Query(req, {"old", "new"});
      if (!q.ok()) return fail(q.status());
      uint64_t old_size = 0, new_size = 0;
      Status s = QueryDecimal(*q, "old", &old_size);
      if (s.ok()) s = QueryDecimal(*q, "new", &new_size);
      if (!s.ok()) return fail(s);
      if (new_size > current) return fail(Status::NotFound("the log is not that large yet", "new"));
      if (old_size > new_size)
        return fail(Status::InvalidArgument("old must not exceed new", "old"));
      auto proof = crypto::ConsistencyProof(log->Reader(), old_size, new_size);
      if (!proof.ok()) return fail(proof.status());
      Reply(req, 200, {{"old", old_size}, {"new", new_size}, {"proof", proof_json(*proof)}});
      return 200;
    }
    return fail(Status::NotFound("no such log resource", "path"));
  }

  // Node-to-node requests (protobuf, signed by the sending member: federation/request_auth.h).
  // Every refusal is logged with the sender and the reason.
  int RouteFederation(const http_request& req, const std::string& path,
                      const std::vector<unsigned char>& raw, int64_t now) {
    auto refuse = [&](const Status& s, const std::string& who) {
      spdlog::warn("federation request {} from '{}' refused: {}", path, who, s.ToString());
      ReplyError(req, s);
      return HttpStatusFor(s);
    };
    auto manifest = directory != nullptr ? directory->Get() : nullptr;
    if (!manifest) return refuse(Status::Unavailable("this node has no federation manifest"), "?");
    auto auth =
        federation::ParseRequestAuth([&](std::string_view name) -> std::optional<std::string> {
          auto it = req.headers().find(std::string(name));
          if (it == req.headers().end()) return std::nullopt;
          return it->second;
        });
    if (!auth.ok()) return refuse(auth.status(), "?");
    if (raw.size() > kMaxFederationBody) return refuse(Status::TooLarge("body too large"), "?");
    const std::string body(raw.begin(), raw.end());
    auto member =
        verifier->Verify(*manifest, *auth, "POST", req.relative_uri().to_string(), body, now);
    if (!member.ok()) return refuse(member.status(), auth->node_id);
    const std::string sender = member->node_id();
    auto reply_proto = [this, req](const google::protobuf::MessageLite& msg) {
      ReplyRaw(req, 200, msg.SerializeAsString(), "application/x-protobuf", "no-store");
    };
    if (path == "/federation/v1/pull") {
      v1::PullRequest pull;
      if (!pull.ParseFromString(body)) {
        return refuse(Status::InvalidArgument("not a PullRequest", "body"), sender);
      }
      const int limit = static_cast<int>(std::clamp<uint32_t>(pull.limit(), 1, 1000));
      v1::PullResponse out;
      if (!pull.case_id().empty()) {
        auto chain = service->CaseChain(pull.case_id());
        if (!chain.ok()) return refuse(chain.status(), sender);
        for (auto& e : *chain) out.add_envelopes(std::move(e));
        reply_proto(out);
        return 200;
      }
      Result<std::vector<std::string>> envelopes =
          pull.author() == service->node_id()
              ? store->Envelopes(pull.from_seq(), static_cast<uint64_t>(limit))
              : store->ForeignEnvelopesBy(pull.author(), pull.from_seq(), limit);
      if (!envelopes.ok()) return refuse(envelopes.status(), sender);
      for (auto& e : *envelopes) out.add_envelopes(std::move(e));
      auto next = pull.author() == service->node_id() ? Result<uint64_t>(service->next_seq())
                                                      : store->ForeignNextSeq(pull.author());
      if (next.ok()) out.set_author_next_seq(*next);
      reply_proto(out);
      return 200;
    }
    if (path == "/federation/v1/stats") {
      if (service->node_id() != protocol::kHubNode) {
        return refuse(Status::NotFound("only the hub collects statistics", "path"), sender);
      }
      Result<v1::StatsReport> report = Status::PermissionDenied("no valid key");
      Status checked = Status::PermissionDenied("the stats report is not signed by the sender");
      for (const auto& key : member->keys()) {
        if (!protocol::KeyValidAt(*member, key.public_key(), now)) continue;
        report = OpenStats(body, key.public_key());
        if (report.ok()) {
          checked = Status::Ok();
          break;
        }
        checked = report.status();
      }
      if (!checked.ok()) return refuse(checked, sender);
      if (report->node_id() != sender) {
        return refuse(Status::PermissionDenied("the report names another node"), sender);
      }
      if (Status s = store->SetMeta(storage::kStatsMetaPrefix + sender, body); !s.ok())
        return refuse(s, sender);
      reply_proto(v1::RewindRequest());
      return 200;
    }
    if (path == "/federation/v1/rewind") {
      v1::RewindRequest rewind;
      if (!rewind.ParseFromString(body)) {
        return refuse(Status::InvalidArgument("not a RewindRequest", "body"), sender);
      }
      if (replicator != nullptr) {
        replicator->Rewind(sender, static_cast<int64_t>(rewind.from_outbox_id()) - 1);
      }
      reply_proto(v1::RewindRequest());
      return 200;
    }
    v1::EventBatch batch;
    if (!batch.ParseFromString(body)) {
      return refuse(Status::InvalidArgument("not an EventBatch", "body"), sender);
    }
    if (batch.sender() != sender) {
      return refuse(Status::PermissionDenied("the batch names another sender"), sender);
    }
    if (!batch.relay_to().empty()) {
      // Store-and-forward: the hub keeps what a sender could not deliver and passes it on.
      if (service->node_id() != protocol::kHubNode) {
        return refuse(Status::PermissionDenied("only the hub relays"), sender);
      }
      if (protocol::FindNode(*manifest, batch.relay_to()) == nullptr) {
        return refuse(Status::InvalidArgument("relay_to is not a member", "relay_to"), sender);
      }
      service->Relay(batch, [this, req](Result<v1::BatchResult> r) {
        OnPool([this, req, r = std::move(r)] {
          if (!r.ok()) return ReplyError(req, r.status());
          ReplyRaw(req, 200, r->SerializeAsString(), "application/x-protobuf", "no-store");
        });
      });
      return 0;
    }
    service->Receive(sender, batch, [this, req, sender](Result<v1::BatchResult> r) {
      OnPool([this, req, sender, r = std::move(r)] {
        if (!r.ok()) return ReplyError(req, r.status());
        for (const auto& item : r->items()) {
          if (item.result() == v1::ITEM_REJECTED) {
            spdlog::warn("federation event {} from '{}' refused: {}",
                         item.event_hash().substr(0, 16), sender, item.reason());
          }
        }
        ReplyRaw(req, 200, r->SerializeAsString(), "application/x-protobuf", "no-store");
      });
    });
    return 0;
  }

  // Returns the status code sent, or 0 when the reply will come from a commit callback.
  int Route(http_request req, const std::vector<unsigned char>* raw_body) {
    const std::string path = req.relative_uri().path();
    const auto& m = req.method();
    auto send = [&](int code, const json& j) {
      Reply(req, code, j);
      return code;
    };
    auto fail = [&](const Status& s) {
      ReplyError(req, s);
      return HttpStatusFor(s);
    };
    auto segments = web::uri::split_path(path);
    for (const auto& seg : segments) {
      if (!crypto::IsValidUtf8(web::uri::decode(seg))) {
        return fail(Status::InvalidArgument("path is not valid UTF-8", "path"));
      }
    }
    const int64_t now = Clock::Real()->NowMs();

    if (segments.size() == 1 && segments[0] == "healthz") {
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
      // A node whose store failed cannot take writes: its supervisor and load balancer must know
      // (the node also stops itself so that it restarts from disk).
      if (Status health = store ? store->Health() : Status::Ok(); !health.ok()) {
        return send(
            503,
            {{"status", "failed"}, {"node_id", service->node_id()}, {"error", health.message()}});
      }
      return send(
          200,
          {{"status", "ok"}, {"node_id", service->node_id()}, {"next_seq", service->next_seq()}});
    }
    if (path == "/witness/add-checkpoint" || path == "/witness/vkey") {
      if (witness == nullptr) return fail(Status::NotFound("this node witnesses no logs", "path"));
      if (path == "/witness/vkey") {
        if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
        ReplyRaw(req, 200, witness->CosignerVkey() + "\n", "text/plain; charset=utf-8",
                 "public, max-age=3600");
        return 200;
      }
      if (m != methods::POST) return fail(Status::MethodNotAllowed("use POST"));
      if (raw_body->size() > config.max_body_bytes) return fail(Status::TooLarge("body too large"));
      auto r = witness->AddCheckpoint(std::string(raw_body->begin(), raw_body->end()));
      ReplyRaw(req, r.http_status, r.body, r.content_type, "no-store");
      return r.http_status;
    }
    if (path == "/federation/v1/manifest") {
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
      auto manifest = store->GetMeta(storage::kManifestMetaKey);
      if (!manifest.ok()) return fail(manifest.status());
      if (!manifest->has_value()) return fail(Status::NotFound("no federation manifest yet"));
      ReplyRaw(req, 200, **manifest, "application/x-protobuf", "no-store");
      return 200;
    }
    if (path == "/federation/v1/events" || path == "/federation/v1/pull" ||
        path == "/federation/v1/rewind" || (path == "/federation/v1/stats" && m == methods::POST)) {
      if (m != methods::POST) return fail(Status::MethodNotAllowed("use POST"));
      return RouteFederation(req, path, *raw_body, now);
    }
    if (path == "/federation/v1/stats") {
      // The national aggregate of the members' latest signed reports (hub).
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET or POST"));
      if (Status s = RequireOperator(req); !s.ok()) return fail(s);
      auto manifest = directory != nullptr ? directory->Get() : nullptr;
      json nodes = json::array();
      std::map<std::string, std::map<std::string, uint64_t>> totals;
      uint64_t cases = 0, breaches = 0;
      for (const auto& member :
           manifest ? manifest->members() : google::protobuf::RepeatedPtrField<v1::Member>()) {
        auto blob = store->GetMeta(storage::kStatsMetaPrefix + member.node_id());
        if (!blob.ok() || !blob->has_value()) continue;
        v1::Envelope env;
        v1::StatsReport r;
        if (!env.ParseFromString(**blob) || !r.ParseFromString(env.payload())) continue;
        nodes.push_back({{"node_id", r.node_id()},
                         {"reported_at", FormatTime(r.time_ms())},
                         {"total_cases", r.total_cases()},
                         {"sla_breaches", r.sla_breaches()}});
        cases += r.total_cases();
        breaches += r.sla_breaches();
        for (const auto& c : r.counts()) totals[c.dimension()][c.value()] += c.count();
      }
      return send(200, {{"nodes", nodes},
                        {"total_cases", cases},
                        {"sla_breaches", breaches},
                        {"counts", totals}});
    }
    if (path == "/federation/v1/status") {
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
      if (Status s = RequireOperator(req); !s.ok()) return fail(s);
      auto deliveries = store->Deliveries();
      if (!deliveries.ok()) return fail(deliveries.status());
      json arr = json::array();
      for (const auto& d : *deliveries) {
        arr.push_back(
            {{"destination", d.destination},
             {"cursor", d.cursor},
             {"backlog", d.backlog},
             {"last_success", TimeOrNull(d.last_success_ms)},
             {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
             {"last_error_at", TimeOrNull(d.last_error_ms)},
             {"failing_since", TimeOrNull(d.failing_since_ms)},
             {"lag_seconds", d.backlog > 0 && d.oldest_pending_ms > 0
                                 ? std::max<int64_t>(0, now - d.oldest_pending_ms) / 1000.0
                                 : 0.0}});
      }
      // The manifest the node works with now (its directory), which can lag behind the one it
      // stores and serves at /federation/v1/manifest by one reload.
      auto in_use = directory ? directory->Get() : nullptr;
      json manifest = in_use ? json{{"version", in_use->version()}} : json(nullptr);
      return send(
          200,
          {{"node_id", service->node_id()}, {"manifest_in_use", manifest}, {"destinations", arr}});
    }
    if (path == "/federation/v1/alerts") {
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
      if (Status s = RequireOperator(req); !s.ok()) return fail(s);
      auto q = Query(req, {"after", "limit"});
      if (!q.ok()) return fail(q.status());
      uint64_t after = 0, limit = 0;
      if (Status s = QueryPage(*q, &after, &limit); !s.ok()) return fail(s);
      auto alerts = store->Alerts(static_cast<int64_t>(after), static_cast<int>(limit));
      if (!alerts.ok()) return fail(alerts.status());
      json arr = json::array();
      for (const auto& a : *alerts) {
        json item = {{"id", a.id},
                     {"origin", a.origin},
                     {"kind", a.kind},
                     {"detail", a.detail},
                     {"at", FormatTime(a.time_ms)}};
        if (a.kind == "event_equivocation") {
          // Two event hashes (32 bytes each): hex, never raw bytes in a JSON string.
          item["event_hashes"] = {crypto::HexEncode(a.note_a), crypto::HexEncode(a.note_b)};
        } else if (crypto::IsValidUtf8(a.note_a) && crypto::IsValidUtf8(a.note_b)) {
          item["checkpoints"] = {a.note_a, a.note_b};  // signed notes are text
        } else {
          item["checkpoints_base64"] = {crypto::Base64Encode(a.note_a),
                                        crypto::Base64Encode(a.note_b)};
        }
        arr.push_back(std::move(item));
      }
      json next = alerts->size() == limit ? json(std::to_string(alerts->back().id)) : json(nullptr);
      return send(200, {{"alerts", arr}, {"next_after", next}});
    }
    if (!segments.empty() && segments[0] == "log") {
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
      return RouteLog(req, path.rfind("/log/", 0) == 0 ? path.substr(5) : std::string());
    }
    if (segments.size() == 3 && segments[0] == "api" && segments[1] == "v1" &&
        segments[2] == "access-log") {
      if (m != methods::GET) return fail(Status::MethodNotAllowed("use GET"));
      return RouteAccessLog(req, "");
    }
    if (segments.size() < 3 || segments[0] != "api" || segments[1] != "v1" ||
        segments[2] != "complaints") {
      return fail(Status::NotFound("no such endpoint", "path"));
    }

    if (segments.size() == 3) {
      if (m == methods::POST) {
        auto q = Query(req, {});
        if (!q.ok()) return fail(q.status());
        auto body = ParseJson(*raw_body);
        if (!body.ok()) return fail(body.status());
        SubmitRequest sr;
        Status s = ParseSubmit(*body, &sr);
        if (!s.ok()) return fail(s);
        service->Submit(sr, [this, req](Result<SubmitResult> r) {
          OnPool([this, req, r = std::move(r)] {
            if (!r.ok()) return ReplyError(req, r.status());
            ReplyRaw(req, 201, SubmittedJson(*r), "application/json", "no-store");
          });
        });
        return 0;
      }
      if (m == methods::GET) {
        auto q = Query(req, {"status", "report_type", "category", "region_code", "agency",
                             "overdue", "limit", "cursor"});
        if (!q.ok()) return fail(q.status());
        storage::CaseFilter filter;
        auto& qs = *q;
        filter.status = qs["status"];
        if (!filter.status.empty() && !protocol::IsValidStatus(filter.status)) {
          return fail(Status::InvalidArgument("unknown status", "status"));
        }
        filter.report_type = qs["report_type"];
        if (!filter.report_type.empty() && !protocol::IsValidReportType(filter.report_type)) {
          return fail(Status::InvalidArgument("unknown report type", "report_type"));
        }
        filter.category = qs["category"];
        filter.region_code = qs["region_code"];
        filter.agency = qs["agency"];
        if (!qs["overdue"].empty()) {
          if (qs["overdue"] != "true" && qs["overdue"] != "false") {
            return fail(Status::InvalidArgument("must be true or false", "overdue"));
          }
          filter.overdue = qs["overdue"] == "true";
        }
        if (!qs["limit"].empty()) {
          uint64_t limit = 0;
          if (!ParseDecimal(qs["limit"], &limit) || limit < 1 || limit > 500) {
            return fail(Status::InvalidArgument("must be an integer 1-500", "limit"));
          }
          filter.limit = static_cast<int>(limit);
        }
        if (!qs["cursor"].empty()) {
          if (!ParseDecimal(qs["cursor"], &filter.before_ref) || filter.before_ref == 0 ||
              filter.before_ref > static_cast<uint64_t>(INT64_MAX)) {
            return fail(Status::InvalidArgument("not a cursor from next_cursor", "cursor"));
          }
        }
        auto who = ReadCredentials(req, "");
        if (!who.ok()) return fail(who.status());
        auto items = service->List(filter, *who);
        if (!items.ok()) return fail(items.status());
        json arr = json::array();
        for (const auto& c : *items) arr.push_back(StateJson(c.state, now, c.access));
        json next = nullptr;
        // The store pages by its key; nothing comes before key 0.
        if (static_cast<int>(items->size()) == filter.limit && !items->empty() &&
            CaseRef(items->back().state) > 0) {
          next = std::to_string(CaseRef(items->back().state));
        }
        return send(200, {{"items", arr}, {"next_cursor", next}});
      }
      return fail(Status::MethodNotAllowed("use GET or POST"));
    }

    const std::string case_id = web::uri::decode(segments[3]);
    if (segments.size() == 4 && m == methods::GET) {
      auto q = Query(req, {"access_code"});
      if (!q.ok()) return fail(q.status());
      auto who = ReadCredentials(req, (*q)["access_code"]);
      if (!who.ok()) return fail(who.status());
      auto view = service->View(case_id, *who);
      if (!view.ok()) return fail(view.status());
      return send(200, ViewJson(*view, now));
    }
    if (segments.size() == 5 && segments[4] == "events" && m == methods::GET) {
      auto q = Query(req, {"access_code"});
      if (!q.ok()) return fail(q.status());
      auto who = ReadCredentials(req, (*q)["access_code"]);
      if (!who.ok()) return fail(who.status());
      auto events = service->Events(case_id, *who);
      if (!events.ok()) return fail(events.status());
      json arr = json::array();
      for (const auto& e : *events) {
        arr.push_back({{"seq", e.seq},
                       {"hash", crypto::HexEncode(e.hash)},
                       {"envelope", crypto::Base64Encode(e.envelope)}});
      }
      return send(200, {{"tracking_id", case_id},
                        {"payload_type", std::string(protocol::kEventPayloadType)},
                        {"events", arr}});
    }
    if (segments.size() == 5 && segments[4] == "access-log" && m == methods::GET) {
      return RouteAccessLog(req, case_id);
    }
    if (segments.size() == 5 && segments[4] == "actions" && m == methods::POST) {
      auto q = Query(req, {"access_code"});
      if (!q.ok()) return fail(q.status());
      auto body = ParseJson(*raw_body);
      if (!body.ok()) return fail(body.status());
      ActionRequest ar;
      std::string access_code = (*q)["access_code"];
      Status s = ParseAction(*body, &ar, &access_code);
      if (!s.ok()) return fail(s);
      auto who = ReadCredentials(req, access_code);
      if (!who.ok()) return fail(who.status());
      service->Act(case_id, ar, *who, [this, req, now, who = *who](Result<v1::CaseState> state) {
        OnPool([this, req, now, who, state = std::move(state)] {
          if (!state.ok()) return ReplyError(req, state.status());
          Reply(req, 200, StateJson(*state, now, service->ActionReplyAccess(*state, who)));
        });
      });
      return 0;
    }
    return fail(Status::NotFound("no such endpoint", "path"));
  }
};

void HttpApi::InitThreadPool(int threads) {
  crossplat::threadpool::initialize_with_threads(threads);
}

HttpApi::HttpApi(CaseService* service, const NodeConfig& config, const storage::TreeLog* log,
                 std::string vkey, federation::Witness* witness, storage::Store* store)
    : impl_(new Impl) {
  impl_->witness = witness;
  impl_->store = store;
  impl_->service = service;
  impl_->log = log;
  impl_->vkey = std::move(vkey);
  impl_->config = config;
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::SetFederation(const protocol::Directory* directory,
                            federation::Replicator* replicator, int64_t start_ms) {
  impl_->directory = directory;
  impl_->replicator = replicator;
  impl_->verifier = std::make_unique<federation::RequestVerifier>(start_ms);
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

void HttpApi::Stop() {
  if (!impl_ || !impl_->listener) return;
  {
    // New requests get 503; wait for every accepted one to get its reply (writes reply once
    // durable, so this is bounded by one group commit).
    std::unique_lock<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->drained.wait_for(lock, std::chrono::seconds(30), [&] { return impl_->in_flight == 0; });
  }
  try {
    impl_->listener->close().wait();
  } catch (const std::exception& e) {
    spdlog::warn("closing the listener: {}", e.what());
  }
  impl_->listener.reset();
}

}  // namespace lapor::node
