#include "node/session_router.h"

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "node/api_codec.h"

namespace lapor::node {

using nlohmann::json;

namespace {

json SessionJson(const storage::Operator& op, const std::string& csrf, int64_t expires_ms) {
  return {{"operator",
           {{"id", op.id},
            {"name", op.name},
            {"role", op.role},
            {"agency", op.agency.empty() ? json(nullptr) : json(op.agency)}}},
          {"csrf_token", csrf},
          {"expires_at", FormatTime(expires_ms)}};
}

std::string Cookie(const Request& req, const std::string& value, int64_t max_age_s) {
  return std::string(kSessionCookie) + "=" + value +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s) +
         (req.tls ? "; Secure" : "");
}

}  // namespace

bool SessionRouter::Handle(const Request& req, const Reply& reply) {
  if (req.path != "/api/v1/session") return false;
  auto q = Query(req, {});
  if (!q.ok()) return Fail(reply, q.status());
  const auto cookie_header = req.Header("Cookie");
  const std::optional<std::string> id =
      cookie_header ? CookieValue(*cookie_header, kSessionCookie) : std::nullopt;

  if (req.method == "POST") {
    auto body = ParseJson(req, 4096);
    if (!body.ok()) return Fail(reply, body.status());
    if (!body->is_object() || body->size() != 1 || !body->contains("token") ||
        !(*body)["token"].is_string()) {
      return Fail(
          reply, Status::InvalidArgument("the body is {\"token\": \"<operator token>\"}", "token"));
    }
    std::string token = (*body)["token"].get<std::string>();
    auto op = service_->Authenticate(token);
    if (!op.ok()) return Fail(reply, op.status());
    if (!op->has_value()) {
      crypto::Wipe(&token);
      return Fail(reply, Status::Unauthenticated("unknown operator token"));
    }
    if (id) sessions_->Close(*id);  // signing in again replaces the session this browser had
    const SessionStore::Opened opened = sessions_->Open(token, req.now_ms);
    crypto::Wipe(&token);
    Response r = JsonResponse(200, SessionJson(**op, opened.csrf, opened.expires_ms));
    r.headers.emplace_back("Set-Cookie",
                           Cookie(req, opened.id, (opened.expires_ms - req.now_ms) / 1000));
    reply(std::move(r));
    return true;
  }
  if (req.method == "GET" || req.method == "DELETE") {
    if (!id) return Fail(reply, Status::Unauthenticated("no session: sign in with your token"));
    auto found = sessions_->Find(*id, req.now_ms);
    if (!found) return Fail(reply, Status::Unauthenticated("the session has ended: sign in again"));
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
    auto op = service_->Authenticate(found->token);
    crypto::Wipe(&found->token);
    if (!op.ok()) return Fail(reply, op.status());
    if (!op->has_value()) {
      sessions_->Close(*id);
      return Fail(reply, Status::Unauthenticated("the operator's token was removed or rotated"));
    }
    return Send(reply, 200, SessionJson(**op, found->csrf, found->expires_ms));
  }
  return Fail(reply, Status::MethodNotAllowed("GET, POST or DELETE"));
}

}  // namespace lapor::node
