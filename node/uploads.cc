#include "node/uploads.h"

#include "crypto/crypto.h"
#include "crypto/encoding.h"

namespace lapor::node {

UploadStore::~UploadStore() {
  MutexLock l(mu_);
  while (!by_id_.empty()) Drop(by_id_.begin());
}

void UploadStore::Drop(std::map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.file.bytes.size();
  crypto::Wipe(&it->second.file.bytes);
  by_id_.erase(it);
}

void UploadStore::Sweep(int64_t now_ms, size_t room) {
  // order_ holds each upload in time order; an entry whose expiry no longer matches the map's
  // (taken, or taken and put back) is skipped.
  while (!order_.empty()) {
    auto it = by_id_.find(order_.front().first);
    const bool current = it != by_id_.end() && it->second.expires_ms == order_.front().second;
    if (current && it->second.expires_ms > now_ms && bytes_ + room <= max_bytes_) break;
    if (current) Drop(it);
    order_.pop_front();
  }
}

void UploadStore::Keep(const std::string& id, File file, int64_t expires_ms, int64_t now_ms) {
  Sweep(now_ms, file.bytes.size());
  bytes_ += file.bytes.size();
  by_id_[id] = Entry{std::move(file), expires_ms};
  order_.emplace_back(id, expires_ms);  // one lifetime for all: expiry order is arrival order
}

std::string UploadStore::Put(File file, int64_t now_ms) {
  const std::string id = crypto::HexEncode(crypto::RandomBytes(16));
  MutexLock l(mu_);
  Keep(id, std::move(file), now_ms + lifetime_ms_, now_ms);
  return id;
}

std::optional<UploadStore::File> UploadStore::Take(const std::string& id, int64_t now_ms) {
  MutexLock l(mu_);
  Sweep(now_ms, 0);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  File file = std::move(it->second.file);
  bytes_ -= file.bytes.size();
  by_id_.erase(it);
  return file;
}

void UploadStore::PutBack(const std::string& id, File file, int64_t now_ms) {
  MutexLock l(mu_);
  Keep(id, std::move(file), now_ms + lifetime_ms_, now_ms);
}

size_t UploadStore::bytes() const {
  MutexLock l(mu_);
  return bytes_;
}

}  // namespace lapor::node
