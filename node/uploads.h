// Files uploaded for a complaint not filed yet (POST /api/v1/attachments). The file is cleaned
// (node/media.h) before it is kept here under a random upload id, which only its uploader learns;
// the complaint names it by that id (and its SHA-256), and the filing takes it out of here and
// seals it into the store in the same commit as the submission event. Knowing a file's hash
// tells nothing about, and gives nothing of, another citizen's upload.
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
    std::string sha256;  // raw
    std::string bytes;
  };
  // Keeps `file` until now_ms + lifetime; returns its upload id (32 hex digits, random).
  std::string Put(File file, int64_t now_ms);
  // Takes the upload `id` out (one filing gets it), if it is still kept.
  std::optional<File> Take(const std::string& id, int64_t now_ms);
  // Puts back an upload taken for a filing that failed (for a fresh lifetime).
  void PutBack(const std::string& id, File file, int64_t now_ms);

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
  void Keep(const std::string& id, File file, int64_t expires_ms, int64_t now_ms)
      LAPOR_REQUIRES(mu_);

  std::map<std::string, Entry> by_id_ LAPOR_GUARDED_BY(mu_);
  std::deque<std::pair<std::string, int64_t>> order_ LAPOR_GUARDED_BY(mu_);  // id, expiry
  size_t bytes_ LAPOR_GUARDED_BY(mu_) = 0;
};

}  // namespace lapor::node
