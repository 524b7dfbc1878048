// Browser sessions of operators (the workbench). An operator signs in once with its token
// (POST /api/v1/session); the node answers with a session cookie (HttpOnly, SameSite=Strict,
// Secure behind TLS) and a CSRF token the page sends back in X-CSRF-Token on every change.
//
// Guarantees:
// - A session holds the operator's token and nothing else of it: every request through a session
//   authenticates that token again (CaseService::Authenticate), so an operator removed, rotated
//   or expired is refused from its next request, as with a bearer token.
// - Sessions live in this process only (a restart signs everyone out) and end after
//   `lifetime_ms` whatever happens; at most `max_sessions` exist at once (the oldest go first).
// - Session ids and CSRF tokens are 32 random bytes; the store keeps only the id's SHA-256, so a
//   memory dump of the map does not hand out live cookies. Tokens are wiped when a session ends.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace lapor::node {

inline constexpr char kSessionCookie[] = "lapor_session";
inline constexpr char kCsrfHeader[] = "X-CSRF-Token";

class SessionStore {
 public:
  SessionStore(int64_t lifetime_ms, size_t max_sessions)
      : lifetime_ms_(lifetime_ms), max_sessions_(max_sessions) {}
  ~SessionStore();
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  struct Opened {
    std::string id;    // the cookie's value (64 hex digits)
    std::string csrf;  // for X-CSRF-Token (64 hex digits)
    int64_t expires_ms = 0;
  };
  // A new session for an operator `token` already authenticated by the caller.
  Opened Open(const std::string& token, int64_t now_ms);

  struct Found {
    std::string token;
    std::string csrf;
    int64_t expires_ms = 0;
  };
  // The live session with cookie value `id`, if any (an expired one is removed).
  std::optional<Found> Find(const std::string& id, int64_t now_ms);

  // Ends the session `id` (no-op if there is none).
  void Close(const std::string& id);

  size_t size() const;

 private:
  struct Entry {
    std::string token;
    std::string csrf;
    int64_t expires_ms = 0;
  };
  void Erase(std::map<std::string, Entry>::iterator it) LAPOR_REQUIRES(mu_);

  const int64_t lifetime_ms_;
  const size_t max_sessions_;
  mutable Mutex mu_;
  std::map<std::string, Entry> by_id_hash_ LAPOR_GUARDED_BY(mu_);
  // Id hashes in the order they were opened, which is the order they expire (one lifetime for
  // all): eviction takes from the front. Entries of sessions already closed are skipped there.
  std::deque<std::string> opened_ LAPOR_GUARDED_BY(mu_);
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), if present.
std::optional<std::string> CookieValue(const std::string& header, const std::string& name);

}  // namespace lapor::node
