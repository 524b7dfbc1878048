#include "node/uploads.h"

#include "crypto/crypto.h"

namespace lapor::node {

UploadStore::~UploadStore() {
  MutexLock l(mu_);
  while (!by_hash_.empty()) Drop(by_hash_.begin());
}

void UploadStore::Drop(std::map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.file.bytes.size();
  crypto::Wipe(&it->second.file.bytes);
  by_hash_.erase(it);
}

void UploadStore::Sweep(int64_t now_ms, size_t room) {
  // order_ holds each Put in time order; an entry whose expiry no longer matches the map's was
  // replaced by a later Put of the same file (or removed) and is skipped.
  while (!order_.empty()) {
    auto it = by_hash_.find(order_.front().first);
    const bool current = it != by_hash_.end() && it->second.expires_ms == order_.front().second;
    if (current && it->second.expires_ms > now_ms && bytes_ + room <= max_bytes_) break;
    if (current) Drop(it);
    order_.pop_front();
  }
}

void UploadStore::Put(const std::string& sha256, File file, int64_t now_ms) {
  MutexLock l(mu_);
  if (auto it = by_hash_.find(sha256); it != by_hash_.end()) Drop(it);
  Sweep(now_ms, file.bytes.size());
  const int64_t expires = now_ms + lifetime_ms_;
  bytes_ += file.bytes.size();
  by_hash_[sha256] = Entry{std::move(file), expires};
  order_.emplace_back(sha256, expires);
}

std::optional<UploadStore::File> UploadStore::Get(const std::string& sha256, int64_t now_ms) {
  MutexLock l(mu_);
  Sweep(now_ms, 0);
  auto it = by_hash_.find(sha256);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second.file;
}

void UploadStore::Remove(const std::string& sha256) {
  MutexLock l(mu_);
  if (auto it = by_hash_.find(sha256); it != by_hash_.end()) Drop(it);
}

size_t UploadStore::bytes() const {
  MutexLock l(mu_);
  return bytes_;
}

}  // namespace lapor::node
