#include "node/session_router.h"

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "node/api_codec.h"

namespace lapor::node {

using nlohmann::json;

namespace {

json SessionJson(const std::string& node_id, const storage::Operator& op, const std::string& csrf,
                 int64_t expires_ms) {
  return {{"node_id", node_id},
          {"operator",
           {{"id", op.id},
            {"name", op.name},
            {"role", op.role},
            {"agency", op.agency.empty() ? json(nullptr) : json(op.agency)}}},
          {"csrf_token", csrf},
          {"expires_at", FormatTime(expires_ms)}};
}

std::string Cookie(const Request& req, const std::string& value, int64_t max_age_s) {
  return std::string(SessionCookieName(req.tls)) + "=" + value +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s) +
         (req.tls ? "; Secure" : "");
}

// A 401 that also tells the browser to drop the cookie it sent (the session is gone).
bool Ended(const Request& req, const Reply& reply, const std::string& message) {
  Response r = ErrorResponse(Status::Unauthenticated(message));
  r.headers.emplace_back("Set-Cookie", Cookie(req, "", 0));
  reply(std::move(r));
  return true;
}

}  // namespace

bool SessionRouter::Handle(const Request& req, const Reply& reply) {
  if (req.path != "/api/v1/session") return false;
  auto q = Query(req, {});
  if (!q.ok()) return Fail(reply, q.status());
  const std::optional<std::string> id = SessionId(req);

  if (req.method == "POST") {
    auto body = ParseJson(req, 4096);
    if (!body.ok()) return Fail(reply, body.status());
    if (!body->is_object() || body->size() != 1 || !body->contains("token") ||
        !(*body)["token"].is_string()) {
      return Fail(
          reply, Status::InvalidArgument("the body is {\"token\": \"<operator token>\"}", "token"));
    }
    std::string& token = (*body)["token"].get_ref<std::string&>();
    const std::string token_hash = CaseService::HashToken(token);
    crypto::Wipe(&token);
    auto op = service_->AuthenticateHash(token_hash);
    if (!op.ok()) return Fail(reply, op.status());
    if (!op->has_value()) return Fail(reply, Status::Unauthenticated("unknown operator token"));
    if (id) sessions_->Close(*id);  // signing in again replaces the session this browser had
    const SessionStore::Opened opened = sessions_->Open(token_hash, (*op)->id, req.now_ms);
    Response r =
        JsonResponse(200, SessionJson(service_->node_id(), **op, opened.csrf, opened.expires_ms));
    r.headers.emplace_back("Set-Cookie",
                           Cookie(req, opened.id, (opened.expires_ms - req.now_ms) / 1000));
    reply(std::move(r));
    return true;
  }
  if (req.method == "GET" || req.method == "DELETE") {
    if (!id) return Fail(reply, Status::Unauthenticated("no session: sign in with your token"));
    auto found = sessions_->Find(*id, req.now_ms);
    if (!found) return Ended(req, reply, "the session has ended: sign in again");
    if (req.method == "DELETE") {
      auto csrf = req.Header(kCsrfHeader);
      if (!csrf || !crypto::ConstantTimeEquals(*csrf, found->csrf)) {
        return Fail(reply, Status::PermissionDenied(
                               "a change through a session needs its X-CSRF-Token header"));
      }
      sessions_->Close(*id);
      Response r = RawResponse(204, "", "application/json", "no-store");
      r.headers.emplace_back("Set-Cookie", Cookie(req, "", 0));
      reply(std::move(r));
      return true;
    }
    auto op = service_->AuthenticateHash(found->token_hash);
    if (!op.ok()) return Fail(reply, op.status());
    if (!op->has_value()) {
      sessions_->Close(*id);
      return Ended(req, reply, "the operator's token was removed or rotated: sign in again");
    }
    return Send(reply, 200, SessionJson(service_->node_id(), **op, found->csrf, found->expires_ms));
  }
  return Fail(reply, Status::MethodNotAllowed("GET, POST or DELETE"));
}

}  // namespace lapor::node
