#include "node/sessions.h"

#include <algorithm>

#include "crypto/crypto.h"
#include "crypto/encoding.h"

namespace lapor::node {

SessionStore::~SessionStore() {
  MutexLock l(mu_);
  while (!by_id_hash_.empty()) Erase(by_id_hash_.begin());
  opened_.clear();
}

void SessionStore::Erase(Map::iterator it) {
  auto mine = by_operator_.find(it->second.operator_id);
  if (mine != by_operator_.end()) {
    auto& ids = mine->second;
    ids.erase(std::remove(ids.begin(), ids.end(), it->first), ids.end());
    if (ids.empty()) by_operator_.erase(mine);
  }
  crypto::Wipe(&it->second.csrf);
  by_id_hash_.erase(it);
}

void SessionStore::Sweep(int64_t now_ms, size_t room) {
  while (!opened_.empty()) {
    auto it = by_id_hash_.find(opened_.front());
    const bool full = by_id_hash_.size() + room > max_sessions_;
    if (it != by_id_hash_.end() && !full && it->second.expires_ms > now_ms) break;
    if (it != by_id_hash_.end()) Erase(it);
    opened_.pop_front();
  }
  // Sessions closed early leave their place in opened_ until it reaches the front: drop those
  // places at once when they outnumber the live sessions.
  if (opened_.size() > 2 * by_id_hash_.size() + 64) {
    std::deque<std::string> live;
    for (auto& h : opened_) {
      if (by_id_hash_.count(h) > 0) live.push_back(std::move(h));
    }
    opened_.swap(live);
  }
}

SessionStore::Opened SessionStore::Open(const std::string& token_hash, uint64_t operator_id,
                                        int64_t now_ms) {
  Opened o;
  o.id = crypto::HexEncode(crypto::RandomBytes(32));
  o.csrf = crypto::HexEncode(crypto::RandomBytes(32));
  o.expires_ms = now_ms + lifetime_ms_;
  std::string key = crypto::Sha256(o.id);
  MutexLock l(mu_);
  Sweep(now_ms, 1);
  // The operator's own oldest sessions go first when it has too many.
  for (auto mine = by_operator_.find(operator_id);
       mine != by_operator_.end() && mine->second.size() >= max_per_operator_;
       mine = by_operator_.find(operator_id)) {
    auto it = by_id_hash_.find(mine->second.front());
    if (it != by_id_hash_.end()) {
      Erase(it);
    } else {
      mine->second.pop_front();
    }
  }
  by_id_hash_[key] = Entry{token_hash, operator_id, o.csrf, o.expires_ms};
  by_operator_[operator_id].push_back(key);
  opened_.push_back(std::move(key));
  return o;
}

std::optional<SessionStore::Found> SessionStore::Find(const std::string& id, int64_t now_ms) {
  const std::string key = crypto::Sha256(id);
  MutexLock l(mu_);
  Sweep(now_ms, 0);
  auto it = by_id_hash_.find(key);
  if (it == by_id_hash_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    Erase(it);
    return std::nullopt;
  }
  return Found{it->second.token_hash, it->second.csrf, it->second.expires_ms};
}

void SessionStore::Close(const std::string& id) {
  const std::string key = crypto::Sha256(id);
  MutexLock l(mu_);
  auto it = by_id_hash_.find(key);
  if (it != by_id_hash_.end()) Erase(it);
}

size_t SessionStore::size() const {
  MutexLock l(mu_);
  return by_id_hash_.size();
}

std::optional<std::string> CookieValue(const std::string& header, const std::string& name) {
  constexpr char kBlank[] = " \t";
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(pos, end - pos);
    const size_t first = pair.find_first_not_of(kBlank);
    pair = first == std::string::npos ? std::string() : pair.substr(first);
    const size_t eq = pair.find('=');
    if (eq != std::string::npos && pair.compare(0, eq, name) == 0 && eq == name.size()) {
      std::string value = pair.substr(eq + 1);
      const size_t last = value.find_last_not_of(kBlank);
      value.resize(last == std::string::npos ? 0 : last + 1);
      return value;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace lapor::node
