#include "node/log_router.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"

namespace lapor::node {

using nlohmann::json;

bool LogRouter::Handle(const Request& req, const Reply& reply) {
  if (req.segments.empty() || req.segments[0] != "log") return false;
  if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
  return Serve(req, req.path.rfind("/log/", 0) == 0 ? req.path.substr(5) : std::string(), reply);
}

bool LogRouter::Serve(const Request& req, const std::string& rest, const Reply& reply) {
  if (requires_auditor_) {
    auto who = ReadCredentials(service_, req, "");
    if (!who.ok()) return Fail(reply, who.status());
    if (!who->op) return Fail(reply, Status::Unauthenticated("the log is restricted to auditors"));
    if (who->op->role != "auditor" && who->op->role != "admin") {
      return Fail(reply, Status::PermissionDenied("the log is restricted to auditors"));
    }
  }
  if (rest == "checkpoint") {
    reply(RawResponse(200, log_->checkpoint().note, "text/plain; charset=utf-8", "no-store"));
    return true;
  }
  if (rest == "vkey") {
    reply(RawResponse(200, vkey_ + "\n", "text/plain; charset=utf-8", "public, max-age=3600"));
    return true;
  }
  if (rest.rfind("tile/", 0) == 0) {
    auto ref = crypto::ParseTilePath(rest);
    if (!ref.ok()) {
      return Fail(reply, Status::NotFound("not a tile path: " + ref.status().message(), "path"));
    }
    auto data = log_->Tile(*ref);
    if (!data.ok()) return Fail(reply, data.status());
    // Full tiles never change; partial ones are replaced by wider ones as the log grows.
    reply(RawResponse(200, std::move(*data), "application/octet-stream",
                      ref->width == 0 ? "public, max-age=31536000, immutable" : "no-store"));
    return true;
  }
  auto proof_json = [](const std::vector<std::string>& proof) {
    json arr = json::array();
    for (const auto& h : proof) arr.push_back(crypto::Base64Encode(h));
    return arr;
  };
  const uint64_t current = log_->checkpoint().size;
  if (rest == "proof/inclusion") {
    auto q = Query(req, {"index", "size"});
    if (!q.ok()) return Fail(reply, q.status());
    uint64_t index = 0, size = 0;
    Status s = QueryDecimal(*q, "index", &index);
    if (s.ok()) s = QueryDecimal(*q, "size", &size);
    if (!s.ok()) return Fail(reply, s);
    if (size > current) {
      return Fail(reply, Status::NotFound("the log is not that large yet", "size"));
    }
    if (index >= size) {
      return Fail(reply, Status::InvalidArgument("index must be below size", "index"));
    }
    auto proof = crypto::InclusionProof(log_->Reader(), index, size);
    if (!proof.ok()) return Fail(reply, proof.status());
    return Send(reply, 200, {{"index", index}, {"size", size}, {"proof", proof_json(*proof)}});
  }
  if (rest == "proof/consistency") {
    auto q = Query(req, {"old", "new"});
    if (!q.ok()) return Fail(reply, q.status());
    uint64_t old_size = 0, new_size = 0;
    Status s = QueryDecimal(*q, "old", &old_size);
    if (s.ok()) s = QueryDecimal(*q, "new", &new_size);
    if (!s.ok()) return Fail(reply, s);
    if (new_size > current) {
      return Fail(reply, Status::NotFound("the log is not that large yet", "new"));
    }
    if (old_size > new_size) {
      return Fail(reply, Status::InvalidArgument("old must not exceed new", "old"));
    }
    auto proof = crypto::ConsistencyProof(log_->Reader(), old_size, new_size);
    if (!proof.ok()) return Fail(reply, proof.status());
    return Send(reply, 200, {{"old", old_size}, {"new", new_size}, {"proof", proof_json(*proof)}});
  }
  return Fail(reply, Status::NotFound("no such log resource", "path"));
}

}  // namespace lapor::node
