#include "node/sessions.h"

#include "crypto/crypto.h"
#include "crypto/encoding.h"

namespace lapor::node {

SessionStore::~SessionStore() {
  MutexLock l(mu_);
  while (!by_id_hash_.empty()) Erase(by_id_hash_.begin());
  opened_.clear();
}

void SessionStore::Erase(std::map<std::string, Entry>::iterator it) {
  crypto::Wipe(&it->second.token);
  by_id_hash_.erase(it);
}

SessionStore::Opened SessionStore::Open(const std::string& token, int64_t now_ms) {
  Opened o;
  o.id = crypto::HexEncode(crypto::RandomBytes(32));
  o.csrf = crypto::HexEncode(crypto::RandomBytes(32));
  o.expires_ms = now_ms + lifetime_ms_;
  MutexLock l(mu_);
  // Expired sessions go first; if still full, those that end soonest (the oldest).
  while (!opened_.empty()) {
    auto it = by_id_hash_.find(opened_.front());
    const bool full = by_id_hash_.size() >= max_sessions_;
    if (it != by_id_hash_.end() && !full && it->second.expires_ms > now_ms) break;
    if (it != by_id_hash_.end()) Erase(it);
    opened_.pop_front();
  }
  std::string key = crypto::Sha256(o.id);
  by_id_hash_[key] = Entry{token, o.csrf, o.expires_ms};
  opened_.push_back(std::move(key));
  return o;
}

std::optional<SessionStore::Found> SessionStore::Find(const std::string& id, int64_t now_ms) {
  MutexLock l(mu_);
  auto it = by_id_hash_.find(crypto::Sha256(id));
  if (it == by_id_hash_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    Erase(it);
    return std::nullopt;
  }
  return Found{it->second.token, it->second.csrf, it->second.expires_ms};
}

void SessionStore::Close(const std::string& id) {
  MutexLock l(mu_);
  auto it = by_id_hash_.find(crypto::Sha256(id));
  if (it != by_id_hash_.end()) Erase(it);
}

size_t SessionStore::size() const {
  MutexLock l(mu_);
  return by_id_hash_.size();
}

std::optional<std::string> CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(pos, end - pos);
    const size_t first = pair.find_first_not_of(' ');
    pair = first == std::string::npos ? std::string() : pair.substr(first);
    const size_t eq = pair.find('=');
    if (eq != std::string::npos && pair.compare(0, eq, name) == 0 && eq == name.size()) {
      std::string value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.pop_back();
      return value;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace lapor::node
