// The HTTP edge's common ground: a request and a response as the routers see them (plain
// structs: http_api.cc converts the server's, so no router includes the listener and a test can
// call a router without sockets), the Router interface each surface implements, and the request
// helpers they share (query parameters, paging, JSON bodies, credentials).
//
// One router per surface (citizen_router.h, operator_router.h, log_router.h,
// federation_router.h, witness_router.h, ops_router.h): HttpApi tries them in order. A new
// surface is one new router added to that list.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "node/access_policy.h"

namespace lapor::node {

class CaseService;
class SessionStore;

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

// One query parameter, percent-decoded; nullopt where the key or value does not decode.
struct QueryParam {
  std::optional<std::string> key;
  std::optional<std::string> value;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // as sent (percent-encoded), e.g. "/api/v1/complaints/X"
  std::string target;  // path and query as sent (what a federation request signs)
  // The path split at '/' without empty segments, as sent and percent-decoded.
  std::vector<std::string> segments;
  std::vector<std::string> decoded_segments;
  // The query split at '&' and '=', one entry per distinct key as sent (the last wins), ordered by
  // the key as sent. Checked against the parameters a route knows by Query().
  std::vector<QueryParam> query;
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;  // POST only
  int64_t now_ms = 0;
  // The client's address: the peer's, or the one a trusted proxy names in X-Forwarded-For.
  std::string client;
  // For the logs and the X-Request-Id reply header (node/log_context.h RequestIdFor).
  std::string request_id;
  // The operators' browser sessions (node/sessions.h), which ReadCredentials consults for a
  // request carrying the session cookie; null where there are none.
  SessionStore* sessions = nullptr;
  // The client reached the node over TLS: a trusted proxy says so (X-Forwarded-Proto: https).
  bool tls = false;

  std::optional<std::string> Header(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string cache_control = "no-store";
  std::vector<std::pair<std::string, std::string>> headers;  // any others
};

// A JSON body (invalid UTF-8 from the request, e.g. quoted in an error, is replaced).
Response JsonResponse(int status, const nlohmann::json& body);
// The error body of `s` with its HTTP status; 5xx other than Unavailable are logged.
Response ErrorResponse(const Status& s);
Response RawResponse(int status, std::string body, std::string content_type,
                     std::string cache_control);

// Sends the one reply of a request. Thread-safe; may be called after Handle returned.
using Reply = std::function<void(Response)>;
// Runs a function on the HTTP worker pool. Commit callbacks run on the store's committer thread:
// their replies (JSON, socket writes) move to the pool so the committer can go on at once.
using Executor = std::function<void(std::function<void()>)>;

class Router {
 public:
  virtual ~Router() = default;
  // A request on this router's surface: calls `reply` exactly once (before returning, or later
  // from a commit callback) and returns true. Any other request: returns false without replying.
  virtual bool Handle(const Request& req, const Reply& reply) = 0;
};

// Refuses a path that is not valid UTF-8, then tries `routers` in order; a request none serves
// is 404 "no such endpoint".
void Dispatch(const std::vector<Router*>& routers, const Request& req, const Reply& reply);

// Shorthands for a router's Handle: reply, and say the request was served.
inline bool Send(const Reply& reply, int status, const nlohmann::json& body) {
  reply(JsonResponse(status, body));
  return true;
}
inline bool Fail(const Reply& reply, const Status& s) {
  reply(ErrorResponse(s));
  return true;
}

using QueryMap = std::map<std::string, std::string>;

// The query parameters, refusing any not in `known` ("unknown query parameter") and any that does
// not percent-decode ("malformed query string").
Result<QueryMap> Query(const Request& req, std::initializer_list<const char*> known);
// A decimal number without sign, spaces or more than 19 digits (so it fits uint64_t).
bool ParseDecimal(const std::string& v, uint64_t* out);
// A required decimal query parameter; the error names it.
Status QueryDecimal(QueryMap& q, const char* key, uint64_t* out);
// `after` (the last id seen) and `limit` (1-1000, default 100) of a paged listing.
Status QueryPage(QueryMap& q, uint64_t* after, uint64_t* limit);
// The JSON body: 413 above `max_bytes` (chunked bodies declare no length), 400 if it does not
// parse (including invalid UTF-8, which nlohmann::json rejects).
Result<nlohmann::json> ParseJson(const Request& req, size_t max_bytes);
// The operator of "Authorization: Bearer <token>" (401 if present but unknown), or else of the
// session the lapor_session cookie names (401 if it has ended; 403 for a change without the
// session's X-CSRF-Token), plus the access code from the query string or body, or the
// X-Access-Code header (400 if both, and different).
// ReadCredentials for a GET whose only query parameter may be access_code (400 for any other).
Result<Credentials> CallerOf(CaseService* service, const Request& req);
// Whether the request claims an operator: an Authorization header or the session cookie.
// ReadCredentials refuses the claim (401) before it looks at any access code if it is false, so
// such a request may skip the per-client limits that slow the guessing of access codes.
bool ClaimsOperator(const Request& req);
// A Content-Type header's media type: parameters dropped, lower case ("Image/JPEG; q=1" ->
// "image/jpeg").
std::string HeaderMediaType(std::string_view content_type);
// The session cookie's value (lapor_session, or __Host-lapor_session behind TLS), if sent.
std::optional<std::string> SessionId(const Request& req);
Result<Credentials> ReadCredentials(CaseService* service, const Request& req,
                                    const std::string& access_code);
// For endpoints any operator (admin, liaison or auditor) may read: 401 without a token.
Status RequireOperator(CaseService* service, const Request& req);

}  // namespace lapor::node
