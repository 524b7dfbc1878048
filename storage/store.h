// Store: the node's durable state in one SQLite database (WAL, synchronous=FULL).
//
// Guarantees:
// - Commit() returns ok only after the event, the case's new state, its sealed data and its outbox
//   entries are durable together in one transaction (fsynced). If it returns an error, none of
//   that write is stored, and the Store refuses every later write (it is "failed") so that no
//   sequence gap can ever be committed; the process must restart and recover from disk.
// - Concurrent Commit() calls are group committed: one committer thread writes everything queued
//   while the previous transaction was being fsynced, in queue order, in one transaction.
// - Reads see only committed data. All methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "lapor/v1/event.pb.h"

namespace lapor::storage {

// Meta keys (Store::GetMeta/SetMeta): the hub-signed manifest envelope this node holds. (Before
// schema 11 the hub kept each member's latest statistics report under kStatsMetaPrefix + node id;
// the migration moved them into StatsHistory.)
inline constexpr char kManifestMetaKey[] = "manifest";
inline constexpr char kStatsMetaPrefix[] = "stats:";
// Set by `lapor-node restore` (what the backup held, as JSON); cleared ("") by the node once the
// hub or a witness has confirmed that its log is whole. While set, the node signs nothing.
inline constexpr char kRestoredMetaKey[] = "restored_from_backup";
// Written by a node whose log is behind what others have seen of it: "<size> <who saw it>" (the
// highest size known, and the node or witness that showed it). `lapor-node log continue` reads
// it to know how far the lost seqs go.
inline constexpr char kLogSeenMetaKey[] = "log_seen_by_others";
// Written with the lost seqs' placeholders and their EVENT_LOG_GAP, in the same transaction:
// "<first lost> <gap seq> <new origin>". A node whose node.json names another origin than the one
// here refuses to start (`lapor-node log continue` was interrupted: run it again).
inline constexpr char kLogGapMetaKey[] = "log_gap";

// Current schema version; Open() migrates older databases forward in one transaction.
inline constexpr int kSchemaVersion = 11;

// Storage keys of cases that another node opened start here (a node's own cases are keyed by the
// seq of their first event, which is far below).
inline constexpr uint64_t kForeignRefBase = uint64_t{1} << 62;

struct StoredEvent {
  uint64_t seq = 0;
  uint64_t case_ref = 0;  // first_seq of the case
  std::string hash;       // SHA-256 of envelope
  std::string envelope;   // serialized lapor.v1.Envelope, exactly as signed
  std::string leaf_hash;  // RFC 6962 leaf hash of envelope, if the writer computed it
};

// Sealed records of the reporter's own: the reporter record ("reporter") and every file the
// reporter attached ("attachment:<sha256 hex>"). Erasing "reporter" erases them all.
inline constexpr char kAttachmentKindPrefix[] = "attachment:";
inline bool IsReporterData(const std::string& kind) {
  return kind == "reporter" || kind.rfind(kAttachmentKindPrefix, 0) == 0;
}

struct SealedBlob {
  std::string kind;        // "reporter", "content", "note:<seq>" or "attachment:<sha256 hex>"
  std::string ciphertext;  // secretbox(nonce || ciphertext)
};

// An event another node authored (or a citizen message it relayed), as received.
struct ForeignEvent {
  std::string hash;      // SHA-256 of envelope
  std::string envelope;  // exactly as the author signed it
  std::string author;    // node id
  uint64_t author_seq = 0;
  uint64_t case_ref = 0;  // this node's key of the case
  int64_t received_ms = 0;
  // A serialized v1::InclusionEvidence: the author's checkpoint and the event's inclusion proof
  // in it, as the receiver checked them (empty for events stored before schema 9 or fetched by
  // catch-up). The node passes it on with the event, so that every receiver can check it.
  std::string evidence;
};

// What a sender delivers to one destination, in order.
enum class OutboxKind : int { kEnvelope = 0, kSealed = 1 };
struct OutboxItem {
  std::string destination;  // node id
  OutboxKind kind = OutboxKind::kEnvelope;
  std::string payload;  // an envelope, or a serialized lapor.v1.SealedForNode
  // The hub: the member that asked the hub to relay this row (empty for the node's own
  // deliveries). What a member has queued at the hub is capped (RelayBacklogBytes).
  std::string relayed_for = {};
};
struct OutboxRow {
  int64_t id = 0;
  OutboxKind kind = OutboxKind::kEnvelope;
  std::string payload;
  int64_t created_ms = 0;
  bool acked = false;  // settled by the destination although the cursor has not passed it yet
};

// A sender's progress towards one destination.
struct DeliveryRow {
  std::string destination;
  int64_t cursor = 0;  // the last outbox id the destination acknowledged
  int64_t last_success_ms = 0;
  std::string last_error;
  int64_t last_error_ms = 0;
  int64_t failing_since_ms = 0;   // 0 while deliveries succeed
  int64_t backlog = 0;            // rows after the cursor not acked (filled in by Deliveries())
  int64_t oldest_pending_ms = 0;  // creation time of the first of them (0 if none)
  int64_t dead_letters = 0;       // rows moved to the dead-letter list (filled in by Deliveries())
};

// An outbox row the destination kept deferring for longer than the sender's dead-letter age:
// taken out of the outbox (so it no longer holds up the destination's queue) and kept here, with
// the destination's last reason, for an operator to look at (GET /federation/v1/status).
struct DeadLetterRow {
  int64_t id = 0;  // the outbox id it had
  std::string destination;
  OutboxKind kind = OutboxKind::kEnvelope;
  std::string payload;
  int64_t created_ms = 0;
  int64_t dead_ms = 0;
  std::string reason;
};

// Moves outbox row `id` to the dead-letter list (part of a Write).
struct DeadLetterMove {
  int64_t id = 0;
  std::string reason;
  int64_t dead_ms = 0;
};

// One event and everything that commits with it, or bookkeeping that commits alone.
struct Write {
  enum class Kind {
    kOwn,         // `event` is this node's, at seq event.seq
    kForeign,     // `foreign` is another node's event; commits after every own seq < after_seq
    kBookkeeping  // neither: only the other parts (deliveries, received cursors, sealed rows)
  };
  Kind kind = Kind::kOwn;
  StoredEvent event;
  ForeignEvent foreign;
  uint64_t after_seq = 0;  // kForeign/kBookkeeping: own writes with seq < after_seq commit first
  v1::CaseState state;     // the case after the event (not stored if its case_id is empty)
  uint64_t case_ref = 0;   // kForeign/kBookkeeping: key of `state` and `sealed` (kOwn uses
                           // event.case_ref)
  // Whether the node runs this case's SLA clocks (it owns the case): if not, its deadlines are
  // not indexed, so DueCases and the overdue filter skip it.
  bool track_deadlines = true;
  std::vector<SealedBlob> sealed;
  // An erasure (EVENT_ERASED): in the same transaction, the sealed records of the case (`ref`)
  // of these kinds ("reporter"; "content": the content and every note) and the copies of them
  // queued in the outbox for other nodes (of case state.case_id) are deleted (secure_delete
  // zeroes them), and the WAL checkpointer then empties the WAL so no older frame keeps them.
  std::vector<std::string> erase;
  std::vector<OutboxItem> outbox;       // deliveries owed because of this write
  std::vector<DeliveryRow> deliveries;  // sender progress to store (cursor and errors)
  std::vector<std::pair<std::string, int64_t>> received;  // sender -> highest outbox id applied
  std::vector<DeadLetterMove> dead_letters;               // outbox rows to the dead-letter list
  std::vector<int64_t> acked_outbox;  // outbox rows settled ahead of their destination's cursor
  // (destination, id): that destination's rows after id are no longer acked (it asked for them
  // again).
  std::vector<std::pair<std::string, int64_t>> unacked;
  // Deletes at most `prune_outbox_limit` outbox rows that their destination has acknowledged
  // (id <= its cursor, or acked) and that were created before `prune_outbox_before_ms` (0: none).
  int64_t prune_outbox_before_ms = 0;
  int prune_outbox_limit = 5000;
};

// A signed checkpoint of the node's log (see storage/tree_log.h).
struct CheckpointRow {
  uint64_t size = 0;
  std::string root;  // RFC 6962 root hash of the first `size` envelopes
  std::string note;  // the C2SP signed note
  int64_t time_ms = 0;
};

// A stored Merkle tree node: the root of the full subtree of 2^level leaves at `index`.
struct TreeNodeRow {
  uint32_t level = 0;
  uint64_t index = 0;
  std::string hash;
};

// The 256 leaf hashes of a full tile of the log (its level-0 hash tile, 8 KiB), kept so tiles and
// proofs need not read and hash the envelopes again.
struct LeafTileRow {
  uint64_t index = 0;  // tile index: leaves [256 * index, 256 * index + 256)
  std::string hashes;
};

// The latest checkpoint of another node's log that this node cosigned as a witness.
struct WitnessedRow {
  std::string origin;
  uint64_t size = 0;
  std::string root;
  std::string note;
  int64_t time_ms = 0;  // when the witness cosigned it (0: before schema 11)
};

// A member's signed statistics report as the hub keeps it (node/stats.h).
struct StatsReportRow {
  std::string node_id;
  int64_t time_ms = 0;  // the report's own signed time
  int64_t received_ms = 0;
  std::string envelope;  // the DSSE envelope, exactly as the member signed it
};

// Reports dated within the last days the caller keeps whole are all kept; older ones are thinned
// to the last of each day (Western Indonesian Time, UTC+7), which holds every figure the day
// ended with. A member's reports are thinned when its next report is kept.
inline constexpr int64_t kStatsDayOffsetMs = 7 * 3600000;

inline constexpr int kMaxAlertsPerOrigin = 100;

// Evidence that a log equivocated: two validly signed checkpoints that are not consistent, or
// (kind "event_equivocation") the hashes of two events one node signed with one seq.
struct AlertRow {
  int64_t id = 0;
  std::string origin, kind, detail;
  std::string note_a, note_b;
  int64_t time_ms = 0;
};

struct Operator {
  uint64_t id = 0;
  std::string name;
  std::string role;
  std::string agency;      // liaisons only
  int64_t expires_ms = 0;  // 0: no expiry
  int64_t removed_ms = 0;  // 0: active
  int64_t created_ms = 0;
};

// One read of a reporter's identity or of a confidential case's content by an operator.
struct AccessRecord {
  int64_t id = 0;
  int64_t time_ms = 0;
  uint64_t operator_id = 0;
  std::string role, case_id;
  std::string fields;  // comma-separated: reporter_identity, confidential_content
};

// One change to the operators (added, removed, rotated), as the operator record keeps it.
struct OperatorChange {
  int64_t id = 0;
  int64_t time_ms = 0;
  uint64_t operator_id = 0;
  std::string change, detail;
};

// The search index (SQLite FTS5, trigram tokenizer) matches runs of 3 characters or more.
inline constexpr size_t kMinSearchWordChars = 3;

struct CaseFilter {
  std::string status, report_type, category, region_code, agency;
  std::optional<bool> overdue;  // relative to now_ms
  // Full text: every word occurs (case-insensitively, anywhere, even inside a longer word) in the
  // case's title or description, as the search index holds them (public cases only: see
  // ListCases). Each word has at least kMinSearchWordChars characters.
  std::vector<std::string> words;
  int64_t now_ms = 0;
  uint64_t before_ref = 0;  // cursor: only cases with first_seq < before_ref (0 = no cursor)
  int limit = 50;
  // Newest first (by ref, the default), or the nearest deadline first: by DueKey, then ref, after
  // the case (after_due, after_ref) when by_deadline_after is set (the cursor of that order).
  bool by_deadline = false;
  bool by_deadline_after = false;
  int64_t after_due = 0;
  uint64_t after_ref = 0;
};

// A case's place in deadline order: its deadline, or for a case without one (done, archived)
// the largest value, so that such cases come last.
inline int64_t DueKey(int64_t due_ms) { return due_ms > 0 ? due_ms : INT64_MAX; }

// How the store checkpoints its write-ahead log and groups commits (tests use small values).
struct StoreOptions {
  // A background thread copies committed WAL frames into the database this often (PASSIVE: it
  // never waits for the committer); once it has copied every frame it sleeps until the next
  // commit or search-index step (or 25 intervals, for other connections' writes).
  int wal_checkpoint_interval_ms = 200;
  // Under steady load a passive checkpoint never catches up, and SQLite starts the WAL over only
  // once every frame of it is in the database. When the WAL holds this many frames, the
  // checkpointer's last pass holds the committer off so that it does catch up: the next commit
  // then writes from the WAL's start again, over blocks the file already has (a cheaper
  // fdatasync than appending), and the WAL stays near this size instead of growing while the load
  // lasts. The committer waits for at most the frames committed during one pass.
  int wal_restart_frames = 2048;
  // Group commit under concurrency: when the previous commit held more than one write, the
  // committer waits up to commit_gather_us for commit_gather_writes queued writes before it
  // commits (it is woken only once that many are queued). Fewer, larger commits cost less CPU
  // per write (fdatasync, WAL frames, the B-trees' last pages rewritten once per commit). Writes
  // one at a time never wait (only the first write after a multi-write commit may); with fewer
  // concurrent writers than commit_gather_writes, each commit waits the whole commit_gather_us
  // (the store cannot tell that no more are coming). 0 for either: commit at once.
  int commit_gather_writes = 0;
  int commit_gather_us = 0;
  // Background work on the committer thread (the search indexer, storage/case_text.h) starts
  // once no write has been queued for this long after a commit (0: at once), so that a burst of
  // writes is not slowed by it; a search that waits for it runs it at once; and under writes that
  // never pause, one step still runs after a commit at least every background_every_ms, so the
  // index's lag stays bounded. background_work false: none (tools that open the store briefly;
  // a search then sees only what is indexed already).
  int background_idle_ms = 50;
  int background_every_ms = 1000;
  bool background_work = true;
  // Called on the committer thread after each group commit (for metrics); must be quick.
  struct CommitReport {
    size_t writes = 0, own_events = 0, foreign_events = 0;
    double seconds = 0;  // the transaction, its fsync included
    bool ok = false;
  };
  std::function<void(const CommitReport&)> on_commit;
};

// Where events and their case states are written: one group-commit queue. Guarantees: a write is
// durable when its callback runs with Ok (one fsync per batch); writes commit in seq order, so
// the log never has a gap; if the process dies, every write whose callback ran with Ok is there
// after restart, and any other write is entirely there or entirely absent.
class CommitQueue {
 public:
  virtual ~CommitQueue() = default;

  // Queues a write for group commit. Writes commit in sequence order, each transaction taking the
  // unbroken run of queued seqs that follows the last committed one: writers may queue out of
  // order (e.g. sign in parallel after taking a seq), but every seq taken must be queued, or the
  // writes behind it wait (and fail with Unavailable at Close).
  // `on_durable` runs on the committer thread once the write's transaction has committed (ok) or
  // failed (then every later write fails too). It is never called from inside Enqueue, so the
  // caller may hold a lock that the callback takes. It should be quick: the next group commit
  // waits for it.
  using Callback = std::function<void(const Status&)>;
  virtual void Enqueue(Write w, Callback on_durable) = 0;
  // Blocking form of Enqueue, for tools and tests.
  std::future<Status> Enqueue(Write w);
  // Stops the committer after it has committed everything queued.
  virtual void Close() = 0;
  // Ok while writes can commit; once a commit has failed (I/O error, a caller bug) every later
  // write fails and this says why (IOError, Internal): the process should restart from disk, which
  // is what recovery is for. A full disk is the exception: a commit that got ENOSPC stored none
  // of its writes and left what was committed before intact, so the queue turns read-only
  // instead (this is NoSpace; every write fails with NoSpace, reads go on) until ResumeWrites.
  // Thread-safe.
  virtual Status Health() = 0;
  // After NoSpace: own writes start again at `next_seq` (NextSeq(): the seqs taken while the disk
  // was full were never stored). The caller must first have every write it queued called back
  // and take no seq meanwhile (else Unavailable). Ok and no change if the queue is not
  // read-only; the failure if it has failed. Whether the disk has room is the caller's to judge:
  // if it has not, the next commit fails with NoSpace again.
  virtual Status ResumeWrites(uint64_t next_seq) = 0;
};

// This node's own events, in seq order (append-only; only CommitQueue appends). Reads are
// thread-safe and see committed events only.
class EventLog {
 public:
  virtual ~EventLog() = default;

  // Next sequence number: one past the highest committed event (0 for an empty log).
  virtual Result<uint64_t> NextSeq() = 0;
  // Calls `fn` for each event with seq >= from, in order; stops early if `fn` returns false.
  virtual Status ScanEvents(uint64_t from, const std::function<bool(const StoredEvent&)>& fn) = 0;
  // RFC 6962 leaf hashes of the committed envelopes with seq in [from, from + count): from memory
  // for recent writes that carried one, else computed from the stored envelopes.
  virtual Result<std::vector<std::string>> LeafHashes(uint64_t from, uint64_t count) = 0;
  // Envelopes with seq in [from, from + count), in order (fewer if the log is shorter).
  virtual Result<std::vector<std::string>> Envelopes(uint64_t from, uint64_t count) = 0;
  // Appends `events` (seqs NextSeq(), NextSeq() + 1, ... in order; no case state) in one
  // transaction: all of them are durable when it returns Ok, none if it fails or the process
  // dies. Only with no other writer (the node stopped): for `lapor-node log continue`, which
  // writes the lost seqs' placeholders and the event declaring them. Conflict if the
  // first seq is not NextSeq().
  // `meta` (key, value) pairs are set in the same transaction.
  virtual Status AppendOffline(const std::vector<StoredEvent>& events,
                               const std::vector<std::pair<std::string, std::string>>& meta) = 0;
};

// Cases (their latest states, written with their events) and their sealed personal data.
// Writes: each call is one SQLite transaction (synchronous=FULL): when it returns Ok it is durable;
// if the process dies during it, all of it or none of it is there after restart. Reads see
// committed data only. Every method is thread-safe.
class CaseIndex {
 public:
  virtual ~CaseIndex() = default;

  // The case whose first event has seq `ref` (its key; the node derives it from the tracking id).
  virtual Result<std::optional<v1::CaseState>> GetCase(uint64_t ref) = 0;
  // This node's own events of a case, in seq order.
  virtual Result<std::vector<StoredEvent>> CaseEvents(uint64_t case_ref) = 0;
  // In the filter's order (newest first by key, or by deadline), at most filter.limit. With
  // filter.words, only cases whose title and description the search index holds: the
  // submissions of public cases, this node's and those it received (never a confidential case's
  // content, which is kept sealed; see ListSealedContent). The index is written off the commit
  // path; a call with words first waits (up to 500 ms, on the caller's thread) until it holds
  // every case committed before the call, and is Unavailable if it does not by then (a large
  // backlog: after an upgrade, or a burst of writes), NoSpace while the disk is full (new cases
  // cannot be indexed), or the store's failure.
  virtual Result<std::vector<v1::CaseState>> ListCases(const CaseFilter& filter) = 0;
  // The cases whose sealed content (kind "content": a confidential case's submission) this node
  // holds, with that ciphertext, in the filter's order, under the filter's fields other than
  // `words`
  // (the caller opens and matches them). An erasure of the content removes a case from it.
  virtual Result<std::vector<std::pair<v1::CaseState, std::string>>> ListSealedContent(
      const CaseFilter& filter) = 0;
  // Cases whose deadline (due_ms or auto_complete_at_ms) is at or before `now_ms`.
  virtual Result<std::vector<v1::CaseState>> DueCases(int64_t now_ms, int limit) = 0;
  virtual Status ScanCases(const std::function<bool(const v1::CaseState&)>& fn) = 0;

  virtual Result<std::optional<std::string>> GetSealed(uint64_t case_ref,
                                                       const std::string& kind) = 0;
  // Whether a case has a sealed `kind` record (without reading it: a file may be 5 MB).
  virtual Result<bool> HasSealed(uint64_t case_ref, const std::string& kind) = 0;
  // Deletes a case's sealed `kind` record (secure_delete zeroes it); "reporter" also deletes the
  // reporter's attachments (IsReporterData). NotFound if there was none.
  virtual Status EraseSealed(uint64_t case_ref, const std::string& kind) = 0;
  // Copies every committed page into the database file and empties the write-ahead log
  // (SQLite's TRUNCATE checkpoint), so bytes an erasure deleted (secure_delete zeroes them in the
  // file's pages) survive in no WAL frame either. Unavailable if another connection kept it from
  // completing.
  virtual Status TruncateWal() = 0;
  // Deletes the outbox's sealed copies of a case's `kind` record (for other nodes, queued or kept
  // after delivery for a resend; "reporter": with the attachments), so erased data is never sent
  // again. Returns how many.
  virtual Result<int> EraseOutboxSealed(const std::string& case_id, const std::string& kind) = 0;
};

// Operators, their changes and the access record. An operator change and its record row commit
// together.
// Writes: each call is one SQLite transaction (synchronous=FULL): when it returns Ok it is durable;
// if the process dies during it, all of it or none of it is there after restart. Reads see
// committed data only. Every method is thread-safe.
class OperatorStore {
 public:
  virtual ~OperatorStore() = default;

  virtual Result<uint64_t> AddOperator(const Operator& op, const std::string& token_hash) = 0;
  // The active operator holding this token (not removed, not expired at now_ms), or nullopt.
  virtual Result<std::optional<Operator>> FindOperator(const std::string& token_hash,
                                                       int64_t now_ms) = 0;
  virtual Result<std::vector<Operator>> ListOperators() = 0;
  // Marks an operator removed (its row stays: events name operator ids). NotFound if no such
  // active operator.
  virtual Status RemoveOperator(uint64_t id, int64_t now_ms) = 0;
  // Replaces an active operator's token hash (the old token is dead when this returns) and sets
  // its expiry (0: none; negative: keep the one it has). NotFound if no such active operator.
  virtual Status RotateOperator(uint64_t id, const std::string& new_token_hash, int64_t expires_ms,
                                int64_t now_ms) = 0;
  virtual Result<std::vector<OperatorChange>> OperatorChanges() = 0;
  // Appends to the access record in one transaction (append-only: triggers refuse UPDATE and
  // DELETE).
  virtual Status RecordAccess(const std::vector<AccessRecord>& records) = 0;
  // Access records after `after_id` (of one case, or all when case_id is empty), oldest first.
  virtual Result<std::vector<AccessRecord>> AccessRecords(const std::string& case_id,
                                                          int64_t after_id, int limit) = 0;
};

// What the federation exchanges: other nodes' events and cases this node holds, the outbox and
// its delivery cursors. Foreign events are written through CommitQueue; cursors and received
// marks here.
// Writes: each call is one SQLite transaction (synchronous=FULL): when it returns Ok it is durable;
// if the process dies during it, all of it or none of it is there after restart. Reads see
// committed data only. Every method is thread-safe.
class FederationLedger {
 public:
  virtual ~FederationLedger() = default;

  virtual Result<int64_t> CountOutbox() = 0;
  // A case another node opened, by tracking id, with this node's key for it.
  virtual Result<std::optional<std::pair<uint64_t, v1::CaseState>>> FindForeignCase(
      const std::string& case_id) = 0;
  // The highest key given to a foreign case (kForeignRefBase - 1 if none).
  virtual Result<uint64_t> MaxForeignRef() = 0;
  // Events other nodes authored of the case keyed `case_ref` (received order).
  virtual Result<std::vector<ForeignEvent>> ForeignCaseEvents(uint64_t case_ref) = 0;
  // The inclusion evidence stored with a foreign event (nullopt: no such event, or none stored).
  virtual Result<std::optional<std::string>> ForeignEvidence(const std::string& hash) = 0;
  // The hash of the foreign event held for (author, seq), if any: whether an event is held (its
  // hash covers its author and seq), or another was signed with its seq.
  virtual Result<std::optional<std::string>> ForeignHashAt(const std::string& author,
                                                           uint64_t seq) = 0;
  // The signed times of `author`'s foreign events held next to `seq`: the one with the highest
  // seq below it and the one with the lowest seq above it.
  virtual Result<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ForeignTimesAround(
      const std::string& author, uint64_t seq) = 0;
  // Envelopes of `author` with seq >= from held as foreign events, in seq order.
  virtual Result<std::vector<std::string>> ForeignEnvelopesBy(const std::string& author,
                                                              uint64_t from, int limit) = 0;
  // One past the highest seq of `author` held as a foreign event (0 if none).
  virtual Result<uint64_t> ForeignNextSeq(const std::string& author) = 0;
  // Outbox rows for `destination` with id > after_id, in order.
  virtual Result<std::vector<OutboxRow>> OutboxAfter(const std::string& destination,
                                                     int64_t after_id, int limit) = 0;
  // Every destination with outbox rows or a delivery row, with backlog.
  virtual Result<std::vector<DeliveryRow>> Deliveries() = 0;
  virtual Result<int64_t> ReceivedFrom(const std::string& sender) = 0;
  // The destinations of the outbox rows carrying `envelope`, each with whether that destination
  // acknowledged it (its delivery cursor passed the row); a dead-lettered row counts as not
  // acknowledged. A row pruned after its destination acknowledged it is not listed. Reads the
  // outbox's envelopes: for rare questions (an erasure's confirmations), not for hot paths.
  virtual Result<std::vector<std::pair<std::string, bool>>> DeliveryOf(
      const std::string& envelope) = 0;
  // The dead-letter list, newest first (payloads included), at most `limit` rows.
  virtual Result<std::vector<DeadLetterRow>> DeadLetters(int limit) = 0;
  // The bytes of rows relayed for `sender` that their destination has not acknowledged yet.
  virtual Result<int64_t> RelayBacklogBytes(const std::string& sender) = 0;
};

// The transparency log's stored tree: nodes every 8 levels, full leaf tiles and checkpoints.
// Writes: each call is one SQLite transaction (synchronous=FULL): when it returns Ok it is durable;
// if the process dies during it, all of it or none of it is there after restart. Reads see
// committed data only. Every method is thread-safe.
class TreeStore {
 public:
  virtual ~TreeStore() = default;

  // Stored tree nodes of `level` with index in [first, first + count), in order.
  virtual Result<std::vector<std::string>> TreeNodes(uint32_t level, uint64_t first,
                                                     uint64_t count) = 0;
  // The stored leaf hashes of full tile `index`; nullopt if not stored (tiles completed before
  // schema 5, or while the integrator was resuming mid-tile): read the envelopes then.
  virtual Result<std::optional<std::string>> LeafTile(uint64_t index) = 0;
  virtual Result<std::optional<CheckpointRow>> LatestCheckpoint() = 0;
  // Stores tree nodes, full leaf tiles and the checkpoint covering them in one transaction.
  // Conflict if the checkpoint is smaller than the latest stored one (checkpoints never go
  // backwards).
  virtual Status SaveCheckpoint(const std::vector<TreeNodeRow>& nodes,
                                const CheckpointRow& checkpoint,
                                const std::vector<LeafTileRow>& leaf_tiles = {}) = 0;

  // Replaces the note of the stored checkpoint of `size` (to add witnesses' cosignatures).
  virtual Status UpdateCheckpointNote(uint64_t size, const std::string& note) = 0;
};

// Small named values, each replaced whole.
// Writes: each call is one SQLite transaction (synchronous=FULL): when it returns Ok it is durable;
// if the process dies during it, all of it or none of it is there after restart. Reads see
// committed data only. Every method is thread-safe.
class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Small named values (the federation manifest, members' statistics reports), each replaced
  // whole and durably. The keys in use are named below the class.
  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Status SetMeta(const std::string& key, const std::string& value) = 0;
  // SetMeta only if the stored value is still `expected` (a read-modify-write by two processes,
  // such as the hub's re-issue loop and its federation commands); Conflict if it changed.
  virtual Status ReplaceMeta(const std::string& key, const std::string& expected,
                             const std::string& value) = 0;
};

// The witness role: what this node has cosigned of each log it witnesses, and alerts (evidence
// of equivocation).
// Writes: each call is one SQLite transaction (synchronous=FULL): when it returns Ok it is durable;
// if the process dies during it, all of it or none of it is there after restart. Reads see
// committed data only. Every method is thread-safe.
class WitnessState {
 public:
  virtual ~WitnessState() = default;

  virtual Result<std::optional<WitnessedRow>> GetWitnessed(const std::string& origin) = 0;
  // Replaces the witnessed state of `row.origin` only if it is still at `expected_size` (compare
  // and swap: two concurrent add-checkpoint calls cannot both advance it). Conflict otherwise.
  virtual Status AdvanceWitnessed(const WitnessedRow& row, uint64_t expected_size) = 0;
  // Keeps an alert unless its origin already has kMaxAlertsPerOrigin of its kind (then Ok, and
  // nothing is stored: the first ones are the evidence).
  virtual Status AddAlert(const AlertRow& alert) = 0;
  // Alerts with id > after_id, oldest first, at most `limit`.
  virtual Result<std::vector<AlertRow>> Alerts(int64_t after_id, int limit) = 0;
  // Every origin's witnessed state.
  virtual Result<std::vector<WitnessedRow>> ListWitnessed() = 0;
};

// The statistics reports the hub keeps over time (node/stats_service.h). Each write is durable
// when it returns (its own transaction); reads see committed reports. Thread-safe.
class StatsHistory {
 public:
  virtual ~StatsHistory() = default;
  // Keeps `row` (a report whose signature the caller checked). Conflict unless it is newer than
  // every report kept from its node, or the very report kept last (then Ok: it was sent again).
  // Then that node's reports dated before `thin_before_ms` are thinned to the last one of each day
  // (kStatsDayOffsetMs), in the same transaction.
  virtual Status AddStatsReport(const StatsReportRow& row, int64_t thin_before_ms) = 0;
  // The node's latest report dated at or before `at_ms`, if any.
  virtual Result<std::optional<StatsReportRow>> StatsReportAt(const std::string& node_id,
                                                              int64_t at_ms) = 0;
  // The dates of the node's reports kept, oldest first.
  virtual Result<std::vector<int64_t>> StatsReportTimes(const std::string& node_id) = 0;
  // For each of these nodes that has one, the date of its latest report at or before `at_ms`, in
  // the order given (one read; the envelopes are not read).
  virtual Result<std::vector<std::pair<std::string, int64_t>>> StatsReportTimesAt(
      const std::vector<std::string>& node_ids, int64_t at_ms) = 0;
};

// The node's store: every role above over one SQLite database (WAL, synchronous=FULL). Callers
// that need only one role take that interface (the witness takes WitnessState).
class Store : public CommitQueue,
              public EventLog,
              public CaseIndex,
              public OperatorStore,
              public FederationLedger,
              public TreeStore,
              public MetaStore,
              public WitnessState,
              public StatsHistory {
 public:
  // Opens or creates the database at `path` and runs pending migrations.
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const StoreOptions& options = {});
  ~Store() override = default;

  // A number that changes whenever anything was committed to the database since the previous
  // call, by this process or by another one on the same folder (a `lapor-node federation`
  // command): equal values from two calls mean nothing was committed in between. For loops that
  // would otherwise re-read what cannot have changed. Cheap: no disk read.
  virtual Result<uint64_t> DataVersion() = 0;
};

}  // namespace lapor::storage
