// The auditor's verification of one node's log, independent of how the bytes were fetched:
// the checkpoint's signature, the RFC 6962 root over the entries, every event's Ed25519
// signature, node sequence numbers, every per-case hash chain and lifecycle replay, and
// (with a saved state) that the log only grew since the last audit. Entries that stand for
// events the node lost for good (protocol::LostEntry) pass only as the run that the node's signed
// EVENT_LOG_GAP right after them declares; they are listed in the report.
//
// Federated cases: a node's log holds only the events it signed, but a case's chain runs across
// the nodes that authored its links (origin, owner, forward targets). A case whose chain in this
// log continues in links that are not in it (a link follows one another node signed, or the last
// link here hands the case to another node) is not a broken chain: it is listed among the cases
// continuing in other nodes' logs. Its links are judged only if `case_events` is given: then the
// whole chain (every node's events the audited node holds of the case) is checked.
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
  // Set when the failure is about an event of a cross-node chain: its author node, and `index` is
  // then that node's seq of the event (printed "author/seq").
  std::string author;
};

struct AuditState {  // what an auditor remembers between runs
  uint64_t size = 0;
  std::string root;  // 32 bytes
};

// Entries [first, declared_at) of the log stand for events the node lost for good; its
// EVENT_LOG_GAP at entry declared_at says so (`lapor-node log continue`).
struct LostRange {
  uint64_t first = 0;
  uint64_t declared_at = 0;
  std::string previous_origin;  // the log's origin before
  std::string origin;           // and after
  int64_t time_ms = 0;          // when it was declared
};

struct AuditReport {
  std::string origin;
  std::vector<LostRange> lost;
  uint64_t size = 0;
  std::string root;
  uint64_t signatures_checked = 0;
  uint64_t cases = 0;
  // Cases whose chain continues in other nodes' logs (sorted), and how many of them had their
  // whole cross-node chain checked without a failure (only with AuditInput::case_events).
  std::vector<std::string> continuing_cases;
  uint64_t chains_verified = 0;
  uint64_t foreign_signatures_checked = 0;  // other nodes' events of those chains
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
  // Without a manifest: the node's log keys before a `key activate` (obtained out of band; only
  // their keys count, whatever origin they name). Entries signed by their keys pass too; the
  // checkpoint must be signed by `vkey`.
  std::vector<std::string> earlier_vkeys;
  // Ranges of entries [first, last] the auditor accepts as lost (`--accept-lost`, after confirming
  // the loss with the node's operators). A declared loss not accepted is a failure, unless the
  // saved state already covers its declaration (an earlier audit accepted it).
  std::vector<std::pair<uint64_t, uint64_t>> accept_lost;
  // If set (needs `manifest`), called for each case continuing in other nodes' logs: every event
  // envelope the node holds of that case, its own and other nodes' (GET
  // /api/v1/complaints/{id}/events, or an audit bundle's entries and case_events). Each other
  // node's event must be signed by a key its author held then; the chain is ordered by prev_hash
  // from the submission; the log's own events of the case must be in it with the same hashes; and
  // ApplyEvent is replayed over the whole chain (the one-owner rule included). Citizen messages
  // are not chain links: their signatures are checked, they are not replayed.
  std::function<Result<std::vector<std::string>>(const std::string& case_id)> case_events;
  int threads = 0;  // 0 = all cores
};

// Verifies everything it can and lists every failure; a Status error means the audit could not
// run (bad key, unparseable checkpoint, entries unavailable).
Result<AuditReport> VerifyLog(const AuditInput& input);

}  // namespace lapor::audit
