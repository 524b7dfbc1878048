// Browser sessions of operators (the workbench). An operator signs in once with its token
// (POST /api/v1/session); the node answers with a session cookie (HttpOnly, SameSite=Strict;
// behind TLS Secure and named __Host-lapor_session, so no sibling host can plant one) and a CSRF
// token the page sends back in X-CSRF-Token on every change.
//
// Guarantees:
// - A session holds the SHA-256 of the operator's token (CaseService::HashToken), never the
//   token: every request through a session looks that hash up again
//   (CaseService::AuthenticateHash), so an operator removed, rotated or expired is refused from
//   its next request, as with a bearer token, and a memory dump of the store hands out no token.
// - Session ids and CSRF tokens are 32 random bytes; the store keys sessions by the id's SHA-256,
//   so a dump does not hand out live cookies either.
// - Sessions live in this process only (a restart signs everyone out) and end after
//   `lifetime_ms` whatever happens. Expired sessions are dropped at the next sign-in or lookup.
// - At most `max_sessions` exist at once (the oldest go first), and at most `max_per_operator`
//   per operator (its own oldest go first), so one operator signing in again and again cannot
//   push the others out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace lapor::node {

// The cookie's name over plain HTTP, and behind TLS (the __Host- prefix: the browser keeps it
// only if it was set Secure, with Path=/ and no Domain, by this very host).
inline constexpr char kSessionCookie[] = "lapor_session";
inline constexpr char kSessionCookieTls[] = "__Host-lapor_session";
inline const char* SessionCookieName(bool tls) { return tls ? kSessionCookieTls : kSessionCookie; }
inline constexpr char kCsrfHeader[] = "X-CSRF-Token";

class SessionStore {
 public:
  SessionStore(int64_t lifetime_ms, size_t max_sessions, size_t max_per_operator)
      : lifetime_ms_(lifetime_ms),
        max_sessions_(max_sessions),
        max_per_operator_(max_per_operator) {}
  ~SessionStore();
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  struct Opened {
    std::string id;    // the cookie's value (64 hex digits)
    std::string csrf;  // for X-CSRF-Token (64 hex digits)
    int64_t expires_ms = 0;
  };
  // A new session for the operator `operator_id` whose token hashes to `token_hash`, already
  // authenticated by the caller.
  Opened Open(const std::string& token_hash, uint64_t operator_id, int64_t now_ms);

  struct Found {
    std::string token_hash;
    std::string csrf;
    int64_t expires_ms = 0;
  };
  // The live session with cookie value `id`, if any.
  std::optional<Found> Find(const std::string& id, int64_t now_ms);

  // Ends the session `id` (no-op if there is none).
  void Close(const std::string& id);

  size_t size() const;

 private:
  struct Entry {
    std::string token_hash;
    uint64_t operator_id = 0;
    std::string csrf;
    int64_t expires_ms = 0;
  };
  using Map = std::map<std::string, Entry>;
  void Erase(Map::iterator it) LAPOR_REQUIRES(mu_);
  // Drops expired sessions, and the oldest while more than `max_sessions_ - room` are open.
  void Sweep(int64_t now_ms, size_t room) LAPOR_REQUIRES(mu_);

  const int64_t lifetime_ms_;
  const size_t max_sessions_;
  const size_t max_per_operator_;
  mutable Mutex mu_;
  Map by_id_hash_ LAPOR_GUARDED_BY(mu_);
  // Id hashes in the order they were opened, which is the order they expire (one lifetime for
  // all): the sweep takes from the front. Entries of sessions already closed are skipped there,
  // and dropped all at once when they outnumber the live ones.
  std::deque<std::string> opened_ LAPOR_GUARDED_BY(mu_);
  // Each operator's session id hashes, oldest first (at most max_per_operator_).
  std::map<uint64_t, std::deque<std::string>> by_operator_ LAPOR_GUARDED_BY(mu_);
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"; spaces and tabs around pairs are
// ignored), if present.
std::optional<std::string> CookieValue(const std::string& header, const std::string& name);

}  // namespace lapor::node
