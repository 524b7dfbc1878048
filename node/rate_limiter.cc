#include "node/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "node/citizen_router.h"

namespace lapor::node {

double RateLimiter::Refilled(const Bucket& b, int64_t now_ms) const {
  double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - b.at_ms));
  return std::min(static_cast<double>(per_minute_), b.tokens + elapsed * per_minute_ / 60000.0);
}

void RateLimiter::Evict(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (Refilled(it->second, now_ms) >= per_minute_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  if (buckets_.size() < max_clients_) return;
  std::vector<int64_t> times;
  times.reserve(buckets_.size());
  for (const auto& [key, b] : buckets_) times.push_back(b.at_ms);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  const int64_t cut = *mid;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = it->second.at_ms <= cut ? buckets_.erase(it) : std::next(it);
  }
}

int64_t RateLimiter::Take(const std::string& client, int64_t now_ms) {
  if (per_minute_ <= 0) return 0;
  MutexLock lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) Evict(now_ms);
    it = buckets_.emplace(client, Bucket{static_cast<double>(per_minute_), now_ms}).first;
  }
  Bucket& b = it->second;
  b.tokens = Refilled(b, now_ms);
  b.at_ms = std::max(b.at_ms, now_ms);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  double wait_ms = (1.0 - b.tokens) * 60000.0 / per_minute_;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000.0)));
}

size_t RateLimiter::tracked() const {
  MutexLock lock(mu_);
  return buckets_.size();
}

std::string ClientKey(const std::string& address) {
  unsigned char v6[16];
  if (::inet_pton(AF_INET6, address.c_str(), v6) != 1) return address;
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN];
  if (std::memcmp(v6, kMapped, sizeof kMapped) == 0) {
    return ::inet_ntop(AF_INET, v6 + 12, out, sizeof out) != nullptr ? out : address;
  }
  std::memset(v6 + 8, 0, 8);
  if (::inet_ntop(AF_INET6, v6, out, sizeof out) == nullptr) return address;
  return std::string(out) + "/64";
}

RateClass RateClassOf(const Request& req) {
  // An upload counts as a filing: a complaint with two photos takes three.
  if (IsUploadPath(req) && !ClaimsOperator(req)) {
    return req.method == "POST" ? RateClass::kFiling : RateClass::kNone;
  }
  if (!IsComplaintsPath(req) || ClaimsOperator(req)) return RateClass::kNone;
  if (req.segments.size() == 3) return req.method == "POST" ? RateClass::kFiling : RateClass::kNone;
  return RateClass::kAccessCode;
}

}  // namespace lapor::node
