// fsck: checks a node's stored history without trusting it. Every event's signature, the stored
// hash of every envelope, node sequence numbers 0..n-1 without gaps, every per-case hash chain,
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
  std::vector<std::string> problems;  // each names the seq or case and what is wrong
  bool ok() const { return problems.empty(); }
};

// `origin` names the log's checkpoints (empty: the log is not checked). Besides the events, fsck
// then checks that the latest checkpoint is signed by the node's key under `origin`, that its
// root equals the RFC 6962 root recomputed over the stored envelopes, and that every stored tree
// node below it matches the recomputed one.
Result<FsckReport> Fsck(storage::Store* store, const std::string& node_id,
                        const std::string& public_key, const std::string& sealing_key,
                        const std::string& origin = "");

}  // namespace lapor::node
