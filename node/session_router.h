// /api/v1/session: an operator's browser session (node/sessions.h).
//   POST   {"token": "lpt_..."}  -> 200 {operator, csrf_token, expires_at} + Set-Cookie
//   GET                          -> the same, for the session the cookie names (401 without one)
//   DELETE (X-CSRF-Token)        -> 204, the session ends and the cookie is cleared
// The cookie is HttpOnly, SameSite=Strict, Path=/, and behind TLS (through a trusted proxy:
// Request::tls) Secure and named __Host-lapor_session. A 401 for a session that has ended also
// clears the cookie.
#pragma once

#include "node/case_service.h"
#include "node/http_router.h"
#include "node/sessions.h"

namespace lapor::node {

// Sessions a node keeps at once; beyond it the oldest end (each is ~300 bytes). One operator has
// at most kMaxSessionsPerOperator (its browsers and devices); beyond it its own oldest end.
inline constexpr size_t kMaxSessions = 10000;
inline constexpr size_t kMaxSessionsPerOperator = 16;

class SessionRouter : public Router {
 public:
  SessionRouter(CaseService* service, SessionStore* sessions)
      : service_(service), sessions_(sessions) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  CaseService* service_;
  SessionStore* sessions_;
};

}  // namespace lapor::node
