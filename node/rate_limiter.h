// Per-client rate limits at the HTTP edge: a token bucket per client and kind of request (filing a
// complaint, presenting an access code). A client is an address: IPv4 whole, IPv6 by its /64 (one
// subscriber usually holds a whole /64). Memory is bounded: at most `max_clients` buckets; full
// ones are dropped first, and if every tracked client is still limited the oldest half go (their
// clients start afresh: availability over strictness when the table is flooded).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "node/http_router.h"

namespace lapor::node {

class RateLimiter {
 public:
  // `per_minute` requests a minute per client, in bursts of up to that many; 0 = no limit.
  explicit RateLimiter(int per_minute, size_t max_clients = 100000)
      : per_minute_(per_minute), max_clients_(max_clients) {}

  // 0 if `client` may go ahead now (one token is taken), else the whole seconds until it may.
  int64_t Take(const std::string& client, int64_t now_ms);
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens;
    int64_t at_ms;  // when `tokens` was last brought up to date
  };
  double Refilled(const Bucket& b, int64_t now_ms) const;
  void Evict(int64_t now_ms) LAPOR_REQUIRES(mu_);

  const int per_minute_;
  const size_t max_clients_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ LAPOR_GUARDED_BY(mu_);
};

// The key rate limits count a client by: an IPv4 address as it is, an IPv6 address by its /64
// (an IPv4-mapped one as IPv4). Anything else is kept as given.
std::string ClientKey(const std::string& address);

// Which limit a request counts against. Requests with an Authorization header count against
// none: the routers refuse an unknown token (401) before they look at anything else, so a made-up
// header buys nothing. Filing: POST /api/v1/complaints. AccessCode: any other request under
// /api/v1/complaints/ (reading or answering a case as its reporter, with or without a code: the
// count does not depend on how, or whether, the code is sent).
enum class RateClass { kNone, kFiling, kAccessCode };
RateClass RateClassOf(const Request& req);

}  // namespace lapor::node
