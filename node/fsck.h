// fsck: checks a node's stored history without trusting it. Every event's signature, the stored
// hash of every envelope, node sequence numbers 0..n-1 without gaps (lost seqs are placeholders
// followed by the EVENT_LOG_GAP that declares them), every per-case hash chain,
// that each case's stored state equals a replay of its events (protocol/lifecycle.h), and that each
// sealed record still matches the commitment in its signed event (erased records are fine).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/store.h"

namespace lapor::node {

struct FsckReport {
  uint64_t events = 0;
  uint64_t cases = 0;
  uint64_t sealed_checked = 0;
  uint64_t checkpoint_size = 0;       // size of the checkpoint checked (0 if none)
  uint64_t lost_ranges = 0;           // EVENT_LOG_GAP events (`lapor-node log continue`)
  std::vector<std::string> problems;  // each names the seq or case and what is wrong
  bool ok() const { return problems.empty(); }
};

// `public_keys` are the node's keys: its current one and the earlier ones (`key activate`); an
// event or checkpoint signed by any of them is the node's. `origin` names the log's checkpoints
// (empty: the log is not checked). Besides the events, fsck then checks that the latest
// checkpoint is signed by one of the node's keys under `origin`, that its
// root equals the RFC 6962 root recomputed over the stored envelopes, and that every stored tree
// node below it matches the recomputed one.
Result<FsckReport> Fsck(storage::Store* store, const std::string& node_id,
                        const std::vector<std::string>& public_keys, const std::string& sealing_key,
                        const std::string& origin = "");

}  // namespace lapor::node
