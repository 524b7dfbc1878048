// Replicator: delivers the outbox. One sender per destination, run in turns on a pool of
// sender_threads threads, pushes the rows after the destination's cursor, in outbox order, in
// batches (lapor.v1.EventBatch, protobuf over HTTP POST to /federation/v1/events, every request
// signed: federation/request_auth.h). The receiver answers per item and defers an item only with
// the later items of its own case, so one case that cannot go on does not hold up the others: the
// sender remembers which rows past the cursor are settled (applied, already held, refused for good)
// and the cursor advances over every settled row up to the first unsettled one. A row the
// destination keeps deferring for longer than dead_letter_after_ms moves to the dead-letter list
// (GET /federation/v1/status), so the queue goes on. Rows the destination has acknowledged are
// pruned after outbox_retention_ms (a restored destination asks to be sent again what came after
// its backup: that window). Failures retry with capped exponential backoff and jitter, never giving
// up. When a destination has failed for longer than relay_after_ms, the sender also hands its rows
// to the hub, which relays them (store-and-forward; the signatures are end to end). Cursors and
// errors are stored (table delivery) for /federation/v1/status.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "crypto/crypto.h"
#include "protocol/directory.h"
#include "storage/store.h"
#include "storage/tree_log.h"

namespace lapor::federation {

struct ReplicatorOptions {
  std::string node_id;
  std::shared_ptr<const crypto::SigningKey> key;
  const protocol::Directory* directory = nullptr;
  storage::Store* store = nullptr;
  // The node's log: every event this node authored travels with its latest checkpoint and an
  // inclusion proof in it (an event waits until a checkpoint covers it: checkpoint_interval_ms).
  const storage::TreeLog* log = nullptr;
  std::map<std::string, std::string> peer_urls;  // overrides of manifest URLs, by node id
  int batch_items = 256;
  // A batch stops before the row that would take it over this many payload bytes (it always
  // carries at least one row): a few sealed files (5 MB each at most) fill one, far below the
  // receiver's 16 MiB body limit.
  size_t batch_bytes = 8u << 20;
  int64_t retry_initial_ms = 200;
  int64_t retry_max_ms = 30000;
  int64_t relay_after_ms = 60000;                         // 0: never relay through the hub
  int64_t dead_letter_after_ms = 24LL * 3600 * 1000;      // deferred rows older than this
  int64_t outbox_retention_ms = 30LL * 24 * 3600 * 1000;  // delivered rows older than this
  int64_t prune_interval_ms = 10000;                      // each pass deletes at most 5,000 rows
  // How often outbox rows are looked for that no commit woke a sender for (rows queued by
  // another connection, an idle sender's backlog).
  int64_t discovery_interval_ms = 2000;
  int request_timeout_ms = 10000;
  // Deliveries in flight at once, each to a different destination: a pool of this many threads
  // runs every destination's sender in turn (the one waiting longest first).
  int sender_threads = 8;
  Clock* clock = Clock::Real();
};

class Replicator {
 public:
  explicit Replicator(ReplicatorOptions options);
  ~Replicator();  // stops the senders

  // Sets options.log (before Start).
  void SetLog(const storage::TreeLog* log);
  // Starts the pool of senders, each destination with outbox rows due at once, and looks for
  // new destinations every discovery_interval_ms.
  void Start();
  void Stop();
  // New rows for `destinations` were committed: their senders look at once (unless backing off
  // after a failure).
  void Wake(const std::vector<std::string>& destinations);
  // The log's checkpoint now covers `size` entries: senders whose own events waited for it go.
  void CheckpointAdvanced(uint64_t size);
  // A destination asks to be sent everything after `after_id` again (it was restored from a
  // backup): its cursor goes back there if it is ahead.
  void Rewind(const std::string& destination, int64_t after_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What catch-up needs of the node's own log (the node's case service implements it).
class OwnLog {
 public:
  virtual ~OwnLog() = default;
  // The seq the node signs next: events from here on are asked for.
  virtual uint64_t next_seq() = 0;
  // Re-appends this node's own events (envelopes it signed, in seq order from next_seq()).
  // Returns how many were appended; PermissionDenied for an envelope that is not this node's,
  // another error if a case's earlier events are missing (see ApplyFetchedChain).
  virtual Result<int> RecoverOwnEvents(const std::vector<std::string>& envelopes) = 0;
  // Applies a case's chain this node fetched itself from `peer`, checked like any delivery
  // (signatures, and each event's evidence that it is in its author's log). Returns once the
  // batch has been applied or refused.
  virtual void ApplyFetchedChain(const std::string& peer, const v1::EventBatch& batch) = 0;
};

// Catch-up at start. A node restored from a backup has lost the tail of its own log, which other
// nodes hold for its cross-jurisdiction cases: it asks for its events after its last seq (POST
// /federation/v1/pull, by origin and seq) and re-appends them, so its log continues exactly where
// it was and no seq is ever signed twice. It asks the hub (which holds every cross-jurisdiction
// event) and the peers it has delivered to; every peer when `every_peer` (the folder was
// restored) or when the hub does not answer. So 552 members starting together send a few
// requests each, not ~300,000 in all. Runs before the node serves. Returns how many own events
// were recovered.
// `report` (if given) learns how far other nodes have seen this log and who answered: a node
// whose next_seq() is still below `highest_seen` after catch-up has lost events no peer holds.
struct CatchUpReport {
  int recovered = 0;
  uint64_t highest_seen = 0;  // 1 + the highest seq of this node's events any peer holds
  std::string highest_from;   // the peer that holds it
  int answered = 0;           // peers that answered the pull
  bool hub_answered = false;
};
Result<int> CatchUpAtStart(const ReplicatorOptions& options, OwnLog* own_log,
                           CatchUpReport* report = nullptr, bool every_peer = false);

// Once the node serves: asks peers to deliver again everything after what this node last
// received from each (POST /federation/v1/rewind), so events that arrived after a backup come
// again, and senders backing off from this node's downtime resume at once. `restored` (the data
// folder came from a backup): every peer, since any may have delivered what the backup lacks.
// Otherwise only the peers this node has received something from: what it acknowledged is
// durable, so a peer it never heard from has nothing to send again, and the requests grow with a
// node's partners, not with the federation (552 members starting together would otherwise send
// ~300,000). Peers that do not answer are skipped (they deliver anyway once their backoff ends).
// Returns how many peers were asked.
int AskPeersToResend(const ReplicatorOptions& options, bool restored);

// The base URL of member `node`: the options' override, else the manifest's; empty if unknown.
std::string PeerUrl(const ReplicatorOptions& options, const std::string& node);

// The largest reply a node reads from another (a pull's reply stays well below it).
inline constexpr size_t kMaxReplyBytes = 16 << 20;

// One signed federation request from this node to member `to` (at PeerUrl): POSTs `body`
// (protobuf) to `path`, signed for `to`. Returns the reply body on HTTP 200 once `to`'s signature
// over it, for this request, verifies under a current key of `to` in the manifest
// (federation/request_auth.h); otherwise an error naming the HTTP status and the receiver's
// message. A reply over kMaxReplyBytes is refused without reading the rest.
Result<std::string> PostSigned(const ReplicatorOptions& options, const std::string& to,
                               const std::string& path, const std::string& body, int timeout_ms);

}  // namespace lapor::federation
