#include "node/federation_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "federation/manifest_client.h"
#include "federation/receive.h"
#include "node/api_codec.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::node {

using nlohmann::json;

FederationRouter::FederationRouter(CaseService* service, storage::Store* store,
                                   const storage::TreeLog* log,
                                   const protocol::Directory* directory,
                                   federation::Replicator* replicator, int64_t start_ms,
                                   Executor on_pool, StatsService* stats, int64_t request_window_ms)
    : service_(service),
      store_(store),
      directory_(directory),
      replicator_(replicator),
      verifier_(service->node_id(), start_ms, store, request_window_ms),
      on_pool_(std::move(on_pool)),
      stats_(stats),
      pulls_(service, store, log) {}

bool FederationRouter::Handle(const Request& req, const Reply& reply) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  if (path == "/federation/v1/manifest") {
    if (m != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    // Members ask every manifest_interval_ms: one that holds the version this node works with
    // gets 304 without the manifest being read. (The stored one can be a reload newer: the
    // member gets it on its next turn.)
    const auto in_use = directory_ != nullptr ? directory_->Get() : nullptr;
    if (auto held = req.headers.find("If-None-Match");
        in_use && held != req.headers.end() &&
        held->second == protocol::ManifestETag(in_use->version())) {
      Response r = RawResponse(304, "", "application/x-protobuf", "no-store");
      r.headers.emplace_back("ETag", held->second);
      reply(std::move(r));
      return true;
    }
    auto manifest = store_->GetMeta(storage::kManifestMetaKey);
    if (!manifest.ok()) return Fail(reply, manifest.status());
    if (!manifest->has_value()) return Fail(reply, Status::NotFound("no federation manifest yet"));
    auto stored = protocol::ParseStoredManifest(**manifest);
    Response r = RawResponse(200, std::move(**manifest), "application/x-protobuf", "no-store");
    if (stored) r.headers.emplace_back("ETag", protocol::ManifestETag(stored->version()));
    reply(std::move(r));
    return true;
  }
  if (path == "/federation/v1/events" || path == "/federation/v1/pull" ||
      path == "/federation/v1/rewind" || (path == "/federation/v1/stats" && m == "POST")) {
    if (m != "POST") return Fail(reply, Status::MethodNotAllowed("use POST"));
    return FromMember(req, reply);
  }
  if (path == "/federation/v1/stats") {
    if (m != "GET") return Fail(reply, Status::MethodNotAllowed("use GET or POST"));
    return National(req, reply);
  }
  if (path == "/federation/v1/status") {
    if (m != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    return DeliveryStatus(req, reply);
  }
  if (path == "/federation/v1/alerts") {
    if (m != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    return EquivocationAlerts(req, reply);
  }
  return false;
}

bool FederationRouter::FromMember(const Request& req, const Reply& reply) {
  const std::string& path = req.path;
  auto refuse = [&](const Status& s, const std::string& who) {
    spdlog::warn("federation request {} from '{}' refused: {}", path, who, s.ToString());
    return Fail(reply, s);
  };
  auto manifest = directory_ != nullptr ? directory_->Get() : nullptr;
  if (!manifest) return refuse(Status::Unavailable("this node has no federation manifest"), "?");
  auto auth =
      federation::ParseRequestAuth([&](std::string_view name) -> std::optional<std::string> {
        return req.Header(std::string(name));
      });
  if (!auth.ok()) return refuse(auth.status(), "?");
  if (req.body.size() > kMaxFederationBody) return refuse(Status::TooLarge("body too large"), "?");
  const std::string& body = req.body;
  auto member = verifier_.Verify(*manifest, *auth, "POST", req.target, body, req.now_ms);
  if (!member.ok()) return refuse(member.status(), auth->node_id);
  const std::string sender = member->node_id();
  // Every 200 reply is signed for this request (federation/request_auth.h): a reply that does not
  // verify, or answers another request, is refused by the sender.
  auto signed_reply = [service = service_, sender, nonce = auth->nonce](std::string body) {
    Response r = RawResponse(200, std::move(body), "application/x-protobuf", "no-store");
    const std::string& self = service->node_id();
    r.headers.emplace_back(federation::kHeaderNode, self);
    r.headers.emplace_back(federation::kHeaderSignature,
                           crypto::Base64Encode(service->signing_key().Sign(
                               federation::ResponseSigningString(self, sender, nonce, r.body))));
    return r;
  };
  auto reply_proto = [&](const google::protobuf::MessageLite& msg) {
    reply(signed_reply(msg.SerializeAsString()));
    return true;
  };
  if (path == "/federation/v1/pull") {
    v1::PullRequest pull;
    if (!pull.ParseFromString(body)) {
      return refuse(Status::InvalidArgument("not a PullRequest", "body"), sender);
    }
    auto out = pulls_.Pull(pull);
    if (!out.ok()) return refuse(out.status(), sender);
    return reply_proto(*out);
  }
  if (path == "/federation/v1/stats") {
    if (Status s = stats_->Accept(*member, body, req.now_ms); !s.ok()) return refuse(s, sender);
    return reply_proto(v1::RewindRequest());
  }
  if (path == "/federation/v1/rewind") {
    v1::RewindRequest rewind;
    if (!rewind.ParseFromString(body)) {
      return refuse(Status::InvalidArgument("not a RewindRequest", "body"), sender);
    }
    if (replicator_ != nullptr) {
      replicator_->Rewind(sender, static_cast<int64_t>(rewind.from_outbox_id()) - 1);
    }
    return reply_proto(v1::RewindRequest());
  }
  v1::EventBatch batch;
  if (!batch.ParseFromString(body)) {
    return refuse(Status::InvalidArgument("not an EventBatch", "body"), sender);
  }
  if (batch.items_size() > federation::kMaxBatchItems) {
    return refuse(Status::InvalidArgument("a batch carries at most " +
                                              std::to_string(federation::kMaxBatchItems) + " items",
                                          "items"),
                  sender);
  }
  if (batch.sender() != sender) {
    return refuse(Status::PermissionDenied("the batch names another sender"), sender);
  }
  if (!batch.relay_to().empty()) {
    // Store-and-forward: the hub keeps what a sender could not deliver and passes it on.
    if (service_->node_id() != protocol::kHubNode) {
      return refuse(Status::PermissionDenied("only the hub relays"), sender);
    }
    if (protocol::FindNode(*manifest, batch.relay_to()) == nullptr) {
      return refuse(Status::InvalidArgument("relay_to is not a member", "relay_to"), sender);
    }
    service_->Relay(batch, [on_pool = on_pool_, reply, signed_reply](Result<v1::BatchResult> r) {
      on_pool([reply, signed_reply, r = std::move(r)] {
        if (!r.ok()) return reply(ErrorResponse(r.status()));
        reply(signed_reply(r->SerializeAsString()));
      });
    });
    return true;
  }
  service_->Receive(sender, batch,
                    [on_pool = on_pool_, reply, sender, signed_reply](Result<v1::BatchResult> r) {
                      on_pool([reply, sender, signed_reply, r = std::move(r)] {
                        if (!r.ok()) return reply(ErrorResponse(r.status()));
                        for (const auto& item : r->items()) {
                          if (item.result() == v1::ITEM_REJECTED) {
                            spdlog::warn("federation event {} from '{}' refused: {}",
                                         item.event_hash().substr(0, 16), sender, item.reason());
                          }
                        }
                        reply(signed_reply(r->SerializeAsString()));
                      });
                    });
  return true;
}

// The national aggregate of the members' latest signed reports (hub).
bool FederationRouter::National(const Request& req, const Reply& reply) {
  if (Status s = RequireOperator(service_, req); !s.ok()) return Fail(reply, s);
  NationalStats stats = stats_->National();
  json nodes = json::array();
  for (const auto& n : stats.nodes) {
    nodes.push_back({{"node_id", n.node_id},
                     {"reported_at", FormatTime(n.reported_at_ms)},
                     {"total_cases", n.total_cases},
                     {"sla_breaches", n.sla_breaches}});
  }
  return Send(reply, 200,
              {{"nodes", nodes},
               {"total_cases", stats.total_cases},
               {"sla_breaches", stats.sla_breaches},
               {"counts", stats.counts}});
}

bool FederationRouter::DeliveryStatus(const Request& req, const Reply& reply) {
  if (Status s = RequireOperator(service_, req); !s.ok()) return Fail(reply, s);
  auto deliveries = store_->Deliveries();
  if (!deliveries.ok()) return Fail(reply, deliveries.status());
  const int64_t now = req.now_ms;
  json arr = json::array();
  for (const auto& d : *deliveries) {
    arr.push_back({{"destination", d.destination},
                   {"cursor", d.cursor},
                   {"backlog", d.backlog},
                   {"last_success", TimeOrNull(d.last_success_ms)},
                   {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
                   {"last_error_at", TimeOrNull(d.last_error_ms)},
                   {"failing_since", TimeOrNull(d.failing_since_ms)},
                   {"lag_seconds", d.backlog > 0 && d.oldest_pending_ms > 0
                                       ? std::max<int64_t>(0, now - d.oldest_pending_ms) / 1000.0
                                       : 0.0},
                   {"dead_letters", d.dead_letters}});
  }
  // The latest rows moved out of the queue because their destination kept deferring them: what
  // each was (an event by hash, or sealed data by kind) and the destination's last reason.
  auto dead = store_->DeadLetters(100);
  if (!dead.ok()) return Fail(reply, dead.status());
  json dead_letters = json::array();
  for (const auto& d : *dead) {
    json item = {{"outbox_id", d.id},
                 {"destination", d.destination},
                 {"queued", TimeOrNull(d.created_ms)},
                 {"dead_lettered", TimeOrNull(d.dead_ms)},
                 {"reason", d.reason}};
    if (d.kind == storage::OutboxKind::kSealed) {
      v1::SealedForNode sealed;
      sealed.ParseFromString(d.payload);
      item["case_id"] = sealed.case_id();
      item["sealed_kind"] = sealed.kind();
    } else {
      protocol::EventEnvelope p;
      if (protocol::ParseEventEnvelope(d.payload, &p).ok()) item["case_id"] = p.event.case_id();
      item["event_hash"] = crypto::HexEncode(crypto::Sha256(d.payload));
    }
    dead_letters.push_back(std::move(item));
  }
  // The manifest the node works with now (its directory), which can lag behind the one it
  // stores and serves at /federation/v1/manifest by one reload.
  // Past its expiry the node works on with it (availability) and says so here, in its log and
  // in lapor_manifest_expired.
  auto in_use = directory_ ? directory_->Get() : nullptr;
  json manifest = nullptr;
  if (in_use) {
    const bool expired = protocol::Expired(*in_use, now);
    manifest = {{"version", in_use->version()},
                {"issued", TimeOrNull(in_use->issued_ms())},
                {"expires", TimeOrNull(protocol::ExpiresMs(*in_use))},
                {"expired", expired}};
    if (expired) {
      manifest["warning"] =
          "the manifest is past its expiry: the hub has not re-issued it, or this node cannot "
          "reach the hub (or is kept from it); key changes are still only accepted when vouched "
          "for by the member";
    }
  }
  // Why the last manifest the hub served was refused (the node keeps the one it holds).
  auto refused = store_->GetMeta(federation::kManifestRefusedMetaKey);
  const std::string why = refused.ok() ? refused->value_or("") : "";
  return Send(reply, 200,
              {{"node_id", service_->node_id()},
               {"manifest_in_use", manifest},
               {"manifest_refused", why.empty() ? json(nullptr) : json(why)},
               {"destinations", arr},
               {"dead_letters", dead_letters}});
}

bool FederationRouter::EquivocationAlerts(const Request& req, const Reply& reply) {
  if (Status s = RequireOperator(service_, req); !s.ok()) return Fail(reply, s);
  auto q = Query(req, {"after", "limit"});
  if (!q.ok()) return Fail(reply, q.status());
  uint64_t after = 0, limit = 0;
  if (Status s = QueryPage(*q, &after, &limit); !s.ok()) return Fail(reply, s);
  auto alerts = store_->Alerts(static_cast<int64_t>(after), static_cast<int>(limit));
  if (!alerts.ok()) return Fail(reply, alerts.status());
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
      item["checkpoints_base64"] = {crypto::Base64Encode(a.note_a), crypto::Base64Encode(a.note_b)};
    }
    arr.push_back(std::move(item));
  }
  json next = alerts->size() == limit ? json(std::to_string(alerts->back().id)) : json(nullptr);
  return Send(reply, 200, {{"alerts", arr}, {"next_after", next}});
}

}  // namespace lapor::node
