#include "node/http_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "node/api_codec.h"
#include "node/case_service.h"
#include "node/sessions.h"

namespace lapor::node {

using nlohmann::json;

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) <
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::optional<std::string> Request::Header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Response JsonResponse(int status, const json& body) {
  // replace: an error message may quote invalid UTF-8 from the request.
  return RawResponse(status, body.dump(-1, ' ', false, json::error_handler_t::replace),
                     "application/json", "no-store");
}

Response ErrorResponse(const Status& s) {
  int code = HttpStatusFor(s);
  // Unavailable is the node refusing by design (stopping, over its connection cap), NoSpace while
  // the disk is full (said once by the health loop): only other failures (a disk error included)
  // are worth a log line each.
  if (code >= 500 && s.code() != Status::Code::kUnavailable && s.code() != Status::Code::kNoSpace) {
    spdlog::error("request failed: {}", s.ToString());
  }
  return JsonResponse(code, ErrorJson(s));
}

Response RawResponse(int status, std::string body, std::string content_type,
                     std::string cache_control) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  r.cache_control = std::move(cache_control);
  return r;
}

void Dispatch(const std::vector<Router*>& routers, const Request& req, const Reply& reply) {
  for (const auto& seg : req.decoded_segments) {
    if (!crypto::IsValidUtf8(seg)) {
      reply(ErrorResponse(Status::InvalidArgument("path is not valid UTF-8", "path")));
      return;
    }
  }
  for (Router* r : routers) {
    if (r->Handle(req, reply)) return;
  }
  reply(ErrorResponse(Status::NotFound("no such endpoint", "path")));
}

Result<QueryMap> Query(const Request& req, std::initializer_list<const char*> known) {
  QueryMap out;
  for (const auto& p : req.query) {
    if (!p.key) return Status::InvalidArgument("malformed query string", "query");
    bool ok = false;
    for (const char* kn : known) ok = ok || *p.key == kn;
    if (!ok) return Status::InvalidArgument("unknown query parameter", *p.key);
    if (!p.value) return Status::InvalidArgument("malformed query string", "query");
    out[*p.key] = *p.value;
  }
  return out;
}

bool ParseDecimal(const std::string& v, uint64_t* out) {
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *out = std::stoull(v);
  return true;
}

Status QueryDecimal(QueryMap& q, const char* key, uint64_t* out) {
  return ParseDecimal(q[key], out) ? Status::Ok()
                                   : Status::InvalidArgument("must be an integer", key);
}

Status QueryPage(QueryMap& q, uint64_t* after, uint64_t* limit) {
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

Result<json> ParseJson(const Request& req, size_t max_bytes) {
  if (req.body.size() > max_bytes) {
    return Status::TooLarge("body larger than " + std::to_string(max_bytes) + " bytes");
  }
  return ParseJsonBody(req.body);
}

Result<Credentials> CallerOf(CaseService* service, const Request& req) {
  auto q = Query(req, {"access_code"});
  if (!q.ok()) return q.status();
  return ReadCredentials(service, req, (*q)["access_code"]);
}

Result<Credentials> ReadCredentials(CaseService* service, const Request& req,
                                    const std::string& access_code) {
  Credentials who;
  who.access_code = access_code;
  // The access code is best sent in this header (or a POST body): a URL's query can reach logs
  // and Referer headers. The query parameter stays for existing clients.
  if (auto h = req.Header("X-Access-Code")) {
    if (!access_code.empty() && access_code != *h) {
      return Status::InvalidArgument("two different access codes", "X-Access-Code");
    }
    who.access_code = *h;
  }
  if (auto h = req.Header("Authorization")) {
    if (h->rfind("Bearer ", 0) != 0 || h->size() <= 7) {
      return Status::Unauthenticated("Authorization must be 'Bearer <token>'");
    }
    auto op = service->Authenticate(h->substr(7));
    if (!op.ok()) return op.status();
    if (!op->has_value()) return Status::Unauthenticated("unknown operator token");
    who.op = **op;
    return who;
  }
  if (req.sessions == nullptr) return who;
  const std::optional<std::string> id = SessionId(req);
  if (!id) return who;
  auto session = req.sessions->Find(*id, req.now_ms);
  if (!session) return Status::Unauthenticated("the session has ended: sign in again");
  if (req.method != "GET" && req.method != "HEAD") {
    // The cookie is SameSite=Strict; the token a page can only read from the sign-in reply
    // makes sure the change comes from the workbench itself.
    auto csrf = req.Header(kCsrfHeader);
    if (!csrf || !crypto::ConstantTimeEquals(*csrf, session->csrf)) {
      return Status::PermissionDenied("a change through a session needs its X-CSRF-Token header");
    }
  }
  auto op = service->AuthenticateHash(session->token_hash);
  if (!op.ok()) return op.status();
  if (!op->has_value()) {
    req.sessions->Close(*id);
    return Status::Unauthenticated("the operator's token was removed or rotated: sign in again");
  }
  who.op = **op;
  return who;
}

bool ClaimsOperator(const Request& req) {
  if (req.Header("Authorization")) return true;
  return req.sessions != nullptr && SessionId(req).has_value();
}

std::string HeaderMediaType(std::string_view content_type) {
  std::string media(content_type.substr(0, content_type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media;
}

std::optional<std::string> SessionId(const Request& req) {
  const auto cookies = req.Header("Cookie");
  if (!cookies) return std::nullopt;
  return CookieValue(*cookies, SessionCookieName(req.tls));
}

Status RequireOperator(CaseService* service, const Request& req) {
  auto who = ReadCredentials(service, req, "");
  if (!who.ok()) return who.status();
  if (!who->op) return Status::Unauthenticated("an operator token is required");
  return Status::Ok();
}

}  // namespace lapor::node
