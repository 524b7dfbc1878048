// CaseService: the node's core. Turns validated requests into signed events, sequences them
// (node-wide seq, per-case hash chain), and commits each event with the case's new state, its
// sealed personal data and its outbox entries through the Store's group commit.
//
// Thread-safe. Every method that changes a case returns only once the change is durable.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "federation/receive.h"
#include "federation/replicator.h"
#include "lapor/v1/event.pb.h"
#include "node/access_policy.h"
#include "protocol/calendar.h"
#include "protocol/directory.h"
#include "protocol/envelope.h"
#include "protocol/tracking_id.h"
#include "storage/store.h"

namespace lapor::node {

inline constexpr size_t kMaxDescriptionChars = 10000;
inline constexpr size_t kMaxTitleChars = 200;
inline constexpr size_t kMaxNoteChars = 5000;
// An entry bundle frames each envelope with a 16-bit length (C2SP tlog-tiles): an envelope this
// node signs must never be longer, or its log tile could never be served. Checked before a seq
// is taken for anything whose size another node decides (an adopted reporter message).
inline constexpr size_t kMaxEnvelopeBytes = 65535;
// What an envelope adds around its payload (type, key id, signature, framing), rounded up.
inline constexpr size_t kEnvelopeOverheadBytes = 512;

// Domain separation of commitments to sealed data: SHA-256(tag || serialized record), so a
// reporter record can never be passed off as a note.
inline constexpr std::string_view kReporterCommitmentTag = "lapor.reporter.v1\n";
inline constexpr std::string_view kContentCommitmentTag = "lapor.content.v1\n";
inline constexpr std::string_view kNoteCommitmentTag = "lapor.note.v1\n";
std::string Commitment(std::string_view tag, std::string_view record_bytes);

struct ReporterInput {
  std::string name, nik, phone, email;
};

struct AttachmentInput {
  std::string sha256;  // 32 raw bytes
  std::string media_type;
  uint64_t size = 0;
  std::string upload;  // the upload id POST /api/v1/attachments gave the file (empty: none)
};

struct SubmitRequest {
  std::string title, description, category, report_type, region_code, target_agency;
  std::optional<std::pair<double, double>> location;  // lat, lon
  std::string address;
  std::string channel = "web";
  ReporterInput reporter;
  bool anonymous = false;
  bool confidential = false;
  std::vector<AttachmentInput> attachments;
  // The files this node received for the attachments (POST /api/v1/attachments, cleaned by
  // node/media.h), by raw SHA-256: each is sealed into the store with the submission. An
  // attachment without a file here is recorded by its hash, media type and size only.
  std::map<std::string, std::string> files;
};

struct SubmitResult {
  std::string tracking_id;
  std::string access_code;  // shown once; only its hash is stored
  v1::CaseState state;
};

struct ActionRequest {
  std::string action, note, agency, reason, duplicate_of;
  std::string to;  // forward: the node (jurisdiction code) asked to take the case
  // erase: "reporter" and/or "content" (a confidential case's); empty = all that is left.
  std::vector<std::string> erase;
  int rating = 0;  // rate: 1 to 5 (0: none given)
};

struct HistoryItem {
  uint64_t seq = 0;  // the author's seq
  v1::Event event;
  std::string note;  // unsealed note, if the viewer may see it
};

// An erasure this node signed (EVENT_ERASED) and where it stands: each party it was sent to,
// and whether that party acknowledged it (applied it, or the hub took it to relay).
struct Erasure {
  int64_t time_ms = 0;
  std::vector<std::string> kinds;
  std::vector<std::pair<std::string, bool>> parties;
};

struct CaseView {
  v1::CaseState state;
  v1::Submission submission;                   // empty unless access.content
  std::string title, description;              // unsealed for confidential cases; access.content
  std::optional<v1::ReporterRecord> reporter;  // access.reporter_identity only; nullopt if none
  bool reporter_erased = false;                // (only told to who may see the identity)
  CaseAccess access;                           // what the caller may see (DecideAccess)
  std::vector<HistoryItem> history;            // every event; notes only with access.content
  std::vector<Erasure> erasures;               // access.reporter_identity only
  std::set<std::string> held_attachments;      // raw SHA-256s of the files held (access.files)
};

// One attachment's file, for who may read the case's content.
struct AttachmentFile {
  std::string media_type;
  std::string bytes;
};

struct ListedCase {
  v1::CaseState state;
  CaseAccess access;  // what the caller may see of it
};

struct AccessLogPage {
  std::vector<storage::AccessRecord> records;
  bool operator_ids = false;  // whether the caller may see which operator made each read
};

struct CaseServiceOptions {
  std::string node_id;
  std::string jurisdiction;
  std::shared_ptr<const crypto::SigningKey> key;
  // The node's earlier keys (node.key.retired-*, newest first) and then its next key
  // (node.key.next): a box sealed to any of them is opened (peers seal to the key the manifest
  // lists, which can run ahead of or behind `key`), and an own event signed by an earlier one is
  // recovered. Never signs.
  std::vector<std::shared_ptr<const crypto::SigningKey>> other_keys;
  // Reads those keys again from the data folder: `key new` makes node.key.next while the node
  // runs, and peers seal to it once the hub lists it. Called when a box opens with none of the
  // keys held (at most once a second); empty: never. On failure the keys held are kept.
  std::function<Result<std::vector<std::shared_ptr<const crypto::SigningKey>>>()> reload_other_keys;
  // Earlier keys (public) -> the first seq they did not sign (RetiredKeyMetaKey): an own event
  // recovered from a peer and signed by one is taken only below it. The next key signs nothing.
  std::map<std::string, uint64_t> retired_before_seq;
  std::string sealing_key;  // secretbox key for personal data at rest
  Clock* clock = Clock::Real();
  // The federation manifest holder; nullptr: not federated (the node owns every case).
  const protocol::Directory* directory = nullptr;
  // Called (on the committer thread) after a write that owes deliveries became durable, with the
  // destinations it owes them to.
  std::function<void(const std::vector<std::string>& destinations)> on_outbox;
  // Called (on the SLA loop's thread) after a missed deadline was escalated, with the case's
  // agency ("" if none yet) and the deadline ("verification" or "response").
  std::function<void(const std::string& agency, const std::string& deadline)> on_escalated;
  // Called once an erasure an admin asked for through Act is durable.
  std::function<void()> on_admin_erasure;
  // The hub: the most bytes one member may have waiting in the hub's outbox for relay.
  int64_t relay_backlog_max_bytes = 64LL << 20;
  // While this node serves local requests (one within the last 250 ms), a federation batch larger
  // than receive_pace_above_bytes works at most this share of the time: after each chunk it
  // pauses for its work time times (1 / share - 1), so a large batch cannot take the CPU and the
  // disk from citizens and operators. Smaller batches, the everyday flow of cross-jurisdiction
  // events, are not paced (each of their chunks is short). 1 turns pacing off.
  double receive_busy_share = 0.1;
  int64_t receive_pace_above_bytes = 1 << 20;
  // How long one batch may take: past it, the rest of the batch is answered "deferred" and comes
  // again in the sender's next delivery (keep it below the senders' request_timeout_ms).
  int64_t receive_batch_max_ms = 5000;
};

// A search query's words (separated by white space or '+'): InvalidArgument naming `q` if it is not
// UTF-8, longer than kMaxSearchChars, has more than kMaxSearchWords words, none, or a word
// shorter than storage::kMinSearchWordChars characters (the index cannot match it).
inline constexpr size_t kMaxSearchChars = 200;
inline constexpr size_t kMaxSearchWords = 10;
Result<std::vector<std::string>> SearchWords(const std::string& query);

// An agency name as the API accepts it (a-z, 0-9, '.', '_', '-', at most 64); empty is allowed.
Status CheckAgencyName(const std::string& agency, const char* field);

// The storage key of a case at this node.
inline uint64_t CaseRef(const v1::CaseState& s) {
  return s.local_ref() != 0 ? s.local_ref() : s.first_seq();
}

// How many items of a federation batch Receive decides per hold of the sequencing lock.
inline constexpr int kReceiveItemsPerLock = 16;

class CaseService : public federation::OwnLog {
 public:
  // `store` must outlive the service. Reads the next sequence number from the store.
  static Result<std::unique_ptr<CaseService>> Open(
      CaseServiceOptions options, storage::Store* store,
      std::shared_ptr<const protocol::WorkingCalendar> calendar);

  template <typename T>
  using Done = std::function<void(Result<T>)>;

  // Files a complaint from a citizen. InvalidArgument names the offending field. `done` runs once
  // the case is durable (on the store's committer thread) or refused (on the caller's thread);
  // no thread waits for the fsync, so concurrent requests share one group commit.
  void Submit(const SubmitRequest& req, Done<SubmitResult> done);
  Result<SubmitResult> Submit(const SubmitRequest& req);  // blocking form
  // Applies an action: 401/403/404/409-style Status on refusal; else the new, durable state.
  void Act(const std::string& case_id, const ActionRequest& req, const Credentials& who,
           Done<v1::CaseState> done);
  Result<v1::CaseState> Act(const std::string& case_id, const ActionRequest& req,
                            const Credentials& who);  // blocking form
  // The case as `who` may see it (DecideAccess in node/access_policy.h). A wrong access code is
  // Unauthenticated. An operator's read of reporter identity or confidential content is added to
  // the access record before the view is returned (and the read fails if it cannot be).
  Result<CaseView> View(const std::string& case_id, const Credentials& who);
  // The submission of a case filed at this node (its signed envelope and seq in this node's
  // log), for the filing receipt: PermissionDenied unless `who` may have it (access.receipt);
  // Conflict for a case filed at another node (whose log holds its submission).
  Result<storage::StoredEvent> Submission(const std::string& case_id, const Credentials& who);
  // The file of attachment `sha256` (raw) of a case: PermissionDenied (Unauthenticated without
  // credentials) unless `who` may read the case's content; NotFound if the case has no such
  // attachment or this node holds no file for it (never uploaded here, or erased). An operator's
  // read of a confidential case's file is added to the access record first.
  Result<AttachmentFile> Attachment(const std::string& case_id, const std::string& sha256,
                                    const Credentials& who);
  // The signed envelopes of a case: PermissionDenied unless `who` may see them
  // (access.signed_events).
  Result<std::vector<storage::StoredEvent>> Events(const std::string& case_id,
                                                   const Credentials& who);
  // Operators only. Liaisons get their agency's cases. A filter on content (agency, category,
  // region, report type) never returns a confidential case to a caller who may not see its
  // content; a page is filled from further rows instead. Each case comes with what the caller
  // may see of it; listing a confidential case with its content is recorded as a read.
  Result<std::vector<ListedCase>> List(storage::CaseFilter filter, const Credentials& who);
  // The list's cases (same filters, caller rules, order and cursor) whose title and description
  // hold every word of `query` (SearchWords), each case-insensitively and anywhere, even inside a
  // longer word. Public cases are found through the search index (storage/case_text.h); a
  // confidential case's content is never indexed (it stays sealed): for a caller who may read a
  // confidential case's content (DecideAccess), this node opens the sealed content it holds and
  // matches it here. Every row passes DecideAccess; finding a confidential case is recorded as a
  // read of its content.
  Result<std::vector<ListedCase>> Search(const std::string& query, storage::CaseFilter filter,
                                         const Credentials& who);
  // What the caller of a successful Act may see of the state it returns: a confidential case's
  // content is left out for operators (they read it through View, where the read is recorded).
  CaseAccess ActionReplyAccess(const v1::CaseState& s, const Credentials& who) const;
  // The access record of one case (`access.access_record`: admins, auditors, the reporter with
  // the access code), or of the whole node when `case_id` is empty (MayReadWholeAccessRecord).
  Result<AccessLogPage> AccessLog(const std::string& case_id, const Credentials& who,
                                  int64_t after_id, int limit);

  // Records escalations for missed deadlines and auto-completes cases whose 10 working days
  // without a reply have passed. Returns how many events it wrote.
  Result<int> RunSla();

  // Applies what another node delivered (POST /federation/v1/events, already authenticated as
  // `sender`): verifies each envelope's signature against the manifest, checks it against the
  // case's chain and the one-owner rule, and stores it with the case's new state; adopts citizen
  // messages for cases this node owns; stores personal data sealed to this node. Items are
  // handled in order, each independently (one bad item does not stop the others). `done` gets one
  // result per item once everything applied is durable. Signatures are checked before the
  // sequencing lock, and the items are decided kReceiveItemsPerLock at a time, releasing the lock
  // in between, so a large batch does not hold local requests up for its whole length.
  // Every event must come with the proof that it is in its author's log: the sender's own with
  // the batch's checkpoint and proofs (or the item's evidence), any other author's with the
  // item's evidence (federation/receive.h), also in a chain a restoring node fetches itself.
  void Receive(const std::string& sender, const v1::EventBatch& batch, Done<v1::BatchResult> done);
  // The hub's store-and-forward: keeps what `batch.sender` could not deliver to
  // `batch.relay_to` in its own outbox for that node. Only an item of a case the hub holds, with
  // relay_to a party of it, sent by the event's author or a party (sealed personal data: to the
  // case's owner, or a note to its origin), whose envelope's signature verifies; an item of a case
  // the hub does not hold yet is deferred, others refused. What one sender has waiting at the hub
  // is capped (relay_backlog_max_bytes): beyond it, items are deferred. Sealed data passes on
  // unopened. `done` gets ITEM_RELAYED per kept item once durable.
  void Relay(const v1::EventBatch& batch, Done<v1::BatchResult> done);
  // The envelopes of the chain of a case this node holds, in order (NotFound if none).
  Result<std::vector<std::string>> CaseChain(const std::string& case_id);
  // Signs an erasure (EVENT_ERASED) of a case this node owns, as the node itself (the console's
  // `pii erase`, the retention rule): `kinds` ("reporter", "content"), or all that is left if
  // empty. This node's sealed copies go with the event's write; each party erases its own when
  // it applies the event. Conflict if another node owns the case or nothing is left.
  Result<v1::CaseState> EraseBySystem(const std::string& case_id, std::vector<std::string> kinds);
  // The retention rule: every closed (selesai) or archived case this node owns whose last event
  // is at least `retain_ms` old, and which still has personal data, gets an EraseBySystem.
  // Returns how many were erased and how many reach the age within `warn_ms` (their operators'
  // warning), with the earliest of those.
  struct RetentionReport {
    int erased = 0;
    int due_soon = 0;
    std::string first_due_case;
    int64_t first_due_ms = 0;
  };
  Result<RetentionReport> RunRetention(int64_t retain_ms, int64_t warn_ms);
  // Re-appends this node's own events recovered from other nodes after a restore from backup
  // (they must continue the log exactly: seq next_seq(), next_seq()+1, ...). Returns how many.
  Result<int> RecoverOwnEvents(const std::vector<std::string>& envelopes) override;
  // Receive without inclusion proofs, waiting until the batch is applied (catch-up).
  void ApplyFetchedChain(const std::string& peer, const v1::EventBatch& batch) override;

  // After the store turned read-only on a full disk (storage::CommitQueue::Health is NoSpace):
  // once every write this service queued has been answered, sequencing starts again from what is
  // stored (the seqs taken meanwhile were never stored, nor seen outside). Unavailable while
  // writes are still being answered (try again); Ok and no change if the store was not read-only.
  Status ResumeWrites();

  // While this node's log is behind what other nodes have seen of it (restored from a backup that
  // lacks events its peers hold or its witnesses cosigned), it signs nothing: any seq from
  // next_seq() on may already carry an event of this node out there, and signing one again would
  // fork the log and hand out a tracking id twice. New complaints and actions are refused with
  // Unavailable naming what is missing; received events a party must adopt are deferred; reads
  // and receiving go on. `reason` says why (held and known sizes, where the size was learned);
  // an empty reason clears the state.
  void SetLogBehind(std::string reason);
  // Why the log is behind, or empty if it is not.
  std::string log_behind() const;

  // Replaces the holiday calendar (the SLA loop reloads the operator's file).
  void SetCalendar(std::shared_ptr<const protocol::WorkingCalendar> calendar);
  // The active operator holding a bearer token (a removed, rotated or expired one is nullopt).
  Result<std::optional<storage::Operator>> Authenticate(const std::string& token);
  // The same, for a token known by its HashToken (a browser session keeps only that).
  Result<std::optional<storage::Operator>> AuthenticateHash(const std::string& token_hash);

  const std::string& node_id() const { return opt_.node_id; }
  const crypto::SigningKey& signing_key() const { return *opt_.key; }
  const protocol::TrackingIdCodec& tracking_ids() const { return ids_; }
  uint64_t next_seq() override;

  static std::string HashToken(const std::string& token);
  // A case's place in the list's deadline order (storage::DueKey of the deadline this node
  // tracks: its own cases' only; a case another node owns has none here).
  int64_t DeadlineKey(const v1::CaseState& s) const {
    return storage::DueKey(s.owner_node() == opt_.node_id ? s.due_ms() : 0);
  }
  // Moves `filter`'s cursor past `last`, in either order (a next batch, or the next page):
  // false if nothing can come after it.
  bool ContinueAfter(const v1::CaseState& last, storage::CaseFilter* filter) const;

 private:
  CaseService(CaseServiceOptions opt, storage::Store* store,
              std::shared_ptr<const protocol::WorkingCalendar> calendar, uint64_t next_seq);

  struct Draft {
    v1::Event event;  // node_id, seq, case_id, time and prev_hash are filled in by Sequence
    std::vector<storage::SealedBlob> sealed;
    // Personal data (kind, plaintext) the case's owner must receive sealed to its key when it
    // is another node.
    std::vector<std::pair<std::string, std::string>> for_owner;
    // The case's chain before this event, loaded before the seq is taken when the event adds a
    // party (who must first receive it); nullopt when no party is new.
    std::optional<std::vector<std::string>> history;
  };
  // Called under the sequencing lock with the case's latest state (including writes not yet
  // durable) and the seq the event will get: refuses, or completes the draft.
  using Prepare = std::function<Status(const v1::CaseState&, uint64_t seq, Draft*)>;
  // Assigns the next seq, chains, applies, signs and queues the event of `case_id` (a new case
  // when empty: an unused tracking id is drawn); `done` gets the new state once it is durable.
  void Sequence(std::string case_id, Draft draft, const Prepare& prepare, Done<v1::CaseState> done);
  Result<v1::CaseState> SequenceAndWait(std::string case_id, Draft draft, const Prepare& prepare);
  void SequenceNew(Draft draft, Done<v1::CaseState> done);
  // A signed event's store write and the case state after it.
  struct Sealed {
    storage::Write write;
    v1::CaseState state;
  };
  // Signs the draft's event (its seq, id, time and prev_hash set), applies it to `current` and
  // adds the deliveries it owes. Requires seq_mu_ unless the event opens a new case.
  Sealed Seal(Draft draft, v1::CaseState current);
  // Outbox rows the event `envelope` of the case (`before` -> `after`) owes: every other party
  // gets it; a party new with this event first gets the case's earlier chain; a citizen message
  // goes to the owner only. Requires seq_mu_ unless `before` is empty.
  std::vector<storage::OutboxItem> Deliveries(const v1::CaseState& before,
                                              const v1::CaseState& after, const v1::Event& ev,
                                              const std::string& envelope,
                                              const std::vector<std::string>* history = nullptr);
  // Whether `after` lists a party `before` does not (for a case that already existed).
  static bool AddsParty(const v1::CaseState& before, const v1::CaseState& after);
  // The committed events of a case, whoever authored them, in chain order (relayed reporter
  // messages placed by time); seq is each event's author's seq.
  Result<std::vector<storage::StoredEvent>> History(const v1::CaseState& s);
  // The envelopes of the case's chain in order (stored and in flight). Requires seq_mu_.
  Result<std::vector<std::string>> ChainEnvelopes(const v1::CaseState& s) LAPOR_REQUIRES(seq_mu_);
  // The attachments submission `sub` of case `s` names: its own, or a confidential case's from
  // its sealed content (Unavailable while this node does not hold it, Corruption if it does not
  // open).
  Result<std::vector<v1::Attachment>> NamedAttachments(const v1::CaseState& s,
                                                       const v1::Submission& sub);
  // The raw SHA-256s of the files a case's submission names (none if they cannot be known here).
  std::vector<std::string> AttachmentsOf(const v1::CaseState& s) LAPOR_REQUIRES(seq_mu_);
  // `kind` of personal data (plaintext) sealed to `node`'s current key for delivery.
  std::optional<storage::OutboxItem> SealForNode(const std::string& node,
                                                 const std::string& case_id,
                                                 const std::string& kind,
                                                 const std::string& plaintext) const;
  std::shared_ptr<const v1::Manifest> manifest() const;
  // The sender's log as its batch presents it (federation/receive.h).
  using SenderLog = federation::SenderLog;
  class HeldState;  // what this node holds, for federation::DecideEvent
  SenderLog CheckSenderLog(const std::string& sender, const v1::EventBatch& batch) const;
  static std::string ItemCaseId(const v1::DeliveryItem& item,
                                const std::optional<federation::Decision>& checked);
  // The cases a batch opens at this node that would not have it as a party (Receive defers
  // them: a node holds only cases it is a party to).
  std::set<std::string> NewCasesNotOurs(
      const v1::EventBatch& batch, const std::vector<std::optional<federation::Decision>>& checked)
      LAPOR_REQUIRES(seq_mu_);
  // One item of Receive: federation::DecideChecked on what CheckEnvelope found before the lock
  // (`checked`, for an envelope; checked here when nullopt), carried out. Appends to `writes`
  // what must commit.
  v1::BatchResult::Item ReceiveItem(const std::string& sender, const SenderLog& log,
                                    const v1::DeliveryItem& item,
                                    std::optional<federation::Decision> checked,
                                    std::vector<Sealed>* writes) LAPOR_REQUIRES(seq_mu_);
  // The list's rules for `who` on `filter`: operators only; a liaison's cases are its agency's.
  Status ScopeToCaller(storage::CaseFilter* filter, const Credentials& who) const;
  // Up to filter->limit cases of store_->ListCases(filter) that `who` may be shown, newest first
  // (a page filled from further rows, see List).
  Result<std::vector<ListedCase>> CollectListed(storage::CaseFilter filter, const Credentials& who);
  // Up to filter.limit confidential cases whose sealed content `who` may read and that holds
  // every word of filter.words, newest first.
  Result<std::vector<ListedCase>> CollectSealedMatches(storage::CaseFilter filter,
                                                       const Credentials& who);
  // Records the rows that showed a confidential case's content as reads.
  Status RecordListed(const std::vector<ListedCase>& rows, const Credentials& who);
  // Queues for group commit; `done` runs once durable. Never calls `done` inline.
  void Queue(Sealed sealed, bool in_flight, Done<v1::CaseState> done);
  Result<v1::CaseState> LatestState(const std::string& case_id) LAPOR_REQUIRES(seq_mu_);
  // The committed state of a case of this node (NotFound for ids it did not issue).
  Result<v1::CaseState> StoredCase(const std::string& case_id);
  // StoredCase, if `who` passes Authorize and the access decision grants `grant`; otherwise the
  // refusal (PermissionDenied with `refusal`).
  Result<v1::CaseState> StoredCaseGranting(const std::string& case_id, const Credentials& who,
                                           bool CaseAccess::*grant, const char* refusal);
  std::shared_ptr<const protocol::WorkingCalendar> calendar() const;
  std::string Seal(const google::protobuf::MessageLite& msg) const;
  bool HoldsAccessCode(const v1::CaseState& s, const std::string& code) const;
  // The single decision (DecideAccess) for `who` on `s`: Unauthenticated if `who` brings an
  // access code that is not this case's. An operator token wins over an access code.
  Result<CaseAccess> Authorize(const v1::CaseState& s, const Credentials& who) const;
  // What `who` may see of `s` when an access code, if any, is already known to be the case's.
  CaseAccess AccessOf(const v1::CaseState& s, const Credentials& who, bool code_checked) const;
  // An access-record row: operator `who` read `fields` of case `case_id` now.
  // Fills an erasure's kinds (`kinds`, or all that is left) after checking this node owns `s`.
  Status PrepareErase(const v1::CaseState& s, std::vector<std::string> kinds, v1::Event* ev) const;
  storage::AccessRecord ReadBy(const Credentials& who, const std::string& case_id,
                               std::string fields) const;

  const CaseServiceOptions opt_;
  storage::Store* const store_;
  const protocol::TrackingIdCodec ids_;

  mutable Mutex calendar_mu_;
  std::shared_ptr<const protocol::WorkingCalendar> calendar_ LAPOR_GUARDED_BY(calendar_mu_);

  // The node's other keys (CaseServiceOptions::other_keys), reloaded by OpenSealedBox.
  mutable Mutex keys_mu_;
  std::vector<std::shared_ptr<const crypto::SigningKey>> other_keys_ LAPOR_GUARDED_BY(keys_mu_);
  int64_t keys_reloaded_ms_ LAPOR_GUARDED_BY(keys_mu_) = 0;
  std::vector<std::shared_ptr<const crypto::SigningKey>> OtherKeys() const;
  // Opens a box sealed to any of the node's keys (reloading the other keys once if none opens it).
  // Unavailable if none opens it and the keys could not be read again just now (the item is
  // deferred, not refused: it may be sealed to a key the folder holds).
  Result<std::string> OpenSealedBox(std::string_view box);

  // Sequencing: the seq counter and the states of cases with writes queued but not yet durable.
  mutable Mutex seq_mu_;
  uint64_t next_seq_ LAPOR_GUARDED_BY(seq_mu_);
  struct InFlight {
    v1::CaseState state;
    int writes = 0;
    std::vector<std::pair<std::string, std::string>> events;  // (hash, envelope) not yet durable
  };
  uint64_t next_foreign_ref_ LAPOR_GUARDED_BY(seq_mu_) = 0;
  // Foreign events queued, not yet durable: hash -> (author, seq).
  std::unordered_map<std::string, std::pair<std::string, uint64_t>> pending_hashes_
      LAPOR_GUARDED_BY(seq_mu_);
  // (author, seq) -> (hash, signed time) of the foreign events queued, so that two different
  // events one author signed with one seq, or dated out of seq order, are caught before either is
  // durable.
  std::map<std::pair<std::string, uint64_t>, std::pair<std::string, int64_t>> pending_by_author_
      LAPOR_GUARDED_BY(seq_mu_);
  // The time this node signed its latest event with: the next is dated no earlier, so the node's
  // events are dated in seq order whatever its clock does (receivers check it).
  int64_t last_signed_ms_ LAPOR_GUARDED_BY(seq_mu_) = 0;
  int64_t SigningTime() LAPOR_REQUIRES(seq_mu_);
  std::unordered_map<std::string, InFlight> in_flight_ LAPOR_GUARDED_BY(seq_mu_);
  std::string behind_ LAPOR_GUARDED_BY(seq_mu_);  // see SetLogBehind
  // Writes queued and seqs taken whose callback has not finished (ResumeWrites waits for none).
  std::atomic<int64_t> unsettled_{0};
  // When a local request last asked for the sequencing lock (steady clock, ns): a batch paces
  // itself while local requests come (CaseServiceOptions::receive_busy_share).
  std::atomic<int64_t> last_local_ns_{0};
  class ReceivePacer;
};

}  // namespace lapor::node
