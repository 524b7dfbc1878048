// Files uploaded for a complaint not filed yet (POST /api/v1/attachments). The file is cleaned
// (node/media.h) before it is kept here; the complaint then names it by its SHA-256, and the
// filing seals it into the store in the same commit as the submission event.
//
// Guarantees:
// - In this process's memory only: a file is durable once the complaint that names it is
//   acknowledged, never before (a restart drops uploads; the page uploads again).
// - An upload is kept for `lifetime_ms` at most, and all of them together hold at most
//   `max_bytes`; beyond it the oldest go first (so a flood of uploads cannot exhaust memory, and
//   a citizen's fresh upload is the last to go).
// - Bytes are wiped when an upload goes.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace lapor::node {

class UploadStore {
 public:
  UploadStore(int64_t lifetime_ms, size_t max_bytes)
      : lifetime_ms_(lifetime_ms), max_bytes_(max_bytes) {}
  ~UploadStore();
  UploadStore(const UploadStore&) = delete;
  UploadStore& operator=(const UploadStore&) = delete;

  struct File {
    std::string media_type;
    std::string bytes;
  };
  // Keeps `file` under its SHA-256 `sha256` (raw bytes) until now_ms + lifetime.
  void Put(const std::string& sha256, File file, int64_t now_ms);
  // A copy of the upload `sha256`, if it is still kept.
  std::optional<File> Get(const std::string& sha256, int64_t now_ms);
  // Drops the upload (its complaint was filed).
  void Remove(const std::string& sha256);

  size_t bytes() const;

 private:
  struct Entry {
    File file;
    int64_t expires_ms = 0;
  };
  void Drop(std::map<std::string, Entry>::iterator it) LAPOR_REQUIRES(mu_);
  void Sweep(int64_t now_ms, size_t room) LAPOR_REQUIRES(mu_);

  const int64_t lifetime_ms_;
  const size_t max_bytes_;
  mutable Mutex mu_;
  std::map<std::string, Entry> by_hash_ LAPOR_GUARDED_BY(mu_);
  std::deque<std::pair<std::string, int64_t>> order_ LAPOR_GUARDED_BY(mu_);  // hash, expiry
  size_t bytes_ LAPOR_GUARDED_BY(mu_) = 0;
};

}  // namespace lapor::node
