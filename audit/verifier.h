// The auditor's verification of one node's log, independent of how the bytes were fetched:
// the checkpoint's signature, the RFC 6962 root over the entries, every event's Ed25519
// signature, node sequence numbers, every per-case hash chain and lifecycle replay, and
// (with a saved state) that the log only grew since the last audit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "lapor/v1/event.pb.h"

namespace lapor::audit {

struct Failure {
  std::string node;     // the node id or origin
  int64_t index = -1;   // leaf index / event seq, -1 if not about one entry
  std::string case_id;  // empty if not about one case
  std::string reason;
};

struct AuditState {  // what an auditor remembers between runs
  uint64_t size = 0;
  std::string root;  // 32 bytes
};

struct AuditReport {
  std::string origin;
  uint64_t size = 0;
  std::string root;
  uint64_t signatures_checked = 0;
  uint64_t cases = 0;
  int threads = 1;
  std::vector<Failure> failures;
  bool ok() const { return failures.empty(); }
};

struct AuditInput {
  std::string vkey;             // the node's note verifier key (name+id+key)
  std::string checkpoint_note;  // as served at /log/checkpoint
  // Entry i of the log for i in [from, from+count): fetched lazily (tiles of 256).
  std::function<Result<std::vector<std::string>>(uint64_t from, uint64_t count)> entries;
  // If set, every hash tile the checkpoint covers (C2SP tlog-tiles, height 8; width 0 = full) is
  // fetched and compared with the tree recomputed from the entries: the tiles clients use for
  // proofs must not lie either.
  std::function<Result<std::string>(uint32_t level, uint64_t index, uint32_t width)> tiles;
  std::optional<AuditState> previous;
  // With a federation manifest (already verified against the hub key), every event must be signed
  // by a key its author node held at the event's time; without one, by the checkpoint's key.
  std::optional<v1::Manifest> manifest;
  int threads = 0;  // 0 = all cores
};

// Verifies everything it can and lists every failure; a Status error means the audit could not
// run (bad key, unparseable checkpoint, entries unavailable).
Result<AuditReport> VerifyLog(const AuditInput& input);

}  // namespace lapor::audit
