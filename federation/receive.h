// The receive rules: what a node does with one event another node delivered, decided as a function
// of the item, what the node holds and the manifest, with no side effects. The node (CaseService)
// gathers what it holds through ReceiverState, asks DecideEvent, and carries the verdict out
// (stores the event, keeps a reporter's message, adopts one, raises an equivocation alert).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "lapor/v1/event.pb.h"
#include "protocol/envelope.h"

namespace lapor::federation {

// The most items one EventBatch may carry (a sender sends ReplicatorOptions::batch_items, 256 by
// default): a larger batch is refused whole.
inline constexpr int kMaxBatchItems = 1024;

// An author's checkpoint as a receiver may rely on it.
struct AuthorCheckpoint {
  Status status;  // why the checkpoint is not usable, if it is not (the rest is then unset)
  uint64_t size = 0;
  std::string root;
  // The end of validity of the key that signed it, if that has passed at the receiver's time
  // (0: a key in force).
  int64_t key_retired_ms = 0;
  // When the hub (the federation's witness) cosigned it, in ms (0: no hub cosignature).
  int64_t witnessed_ms = 0;
};

// Reads `note` as a checkpoint of `author`'s log: signed by one of the author's keys in the
// manifest, with the hub's cosignature (c2sp.org/tlog-cosignature, by any key the manifest lists
// for the hub) if it carries one. `now_ms` is the receiver's time (0: no key counts as retired).
AuthorCheckpoint ReadAuthorCheckpoint(const v1::Manifest* manifest, const std::string& author,
                                      const std::string& note, int64_t now_ms);

// Whether a checkpoint may vouch for an event of its author signed by a key whose validity
// ended at `event_key_retired_ms` (0: a key in force): a checkpoint signed by a key in force
// vouches for any event of its author (the author's own statement, which a thief of a retired
// key cannot make); one signed by a retired key only if the hub witnessed it before that key,
// and the event's key, retired. So a retired key cannot add events to the history others accept.
Status CheckpointVouches(const AuthorCheckpoint& cp, const std::string& author,
                         int64_t event_key_retired_ms);

// The sender's log as its batch presents it: a checkpoint verified against the sender's keys and
// the inclusion proofs of the events it authored, by seq.
struct SenderLog : AuthorCheckpoint {
  // false: no proof is asked for. Only the rules' table tests use it, to test the other rules
  // alone; every delivery, and every chain a node fetches, is proven.
  bool required = true;
  bool present = false;           // the batch carries a checkpoint
  uint64_t manifest_version = 0;  // the sender's
  int64_t now_ms = 0;             // the receiver's time, for key retirement
  std::string checkpoint;         // the signed note, as the batch carried it
  std::map<uint64_t, std::vector<std::string>> proofs;
};

// Reads the batch's checkpoint (ReadAuthorCheckpoint for `sender`) and proofs.
SenderLog ReadSenderLog(const v1::Manifest* manifest, const std::string& sender,
                        const v1::EventBatch& batch, int64_t now_ms);

// How much earlier than the author's event before it (by seq) an event may be dated: the slack
// for events signed by releases that read the clock after taking the seq (concurrent requests
// could date seq n+1 a few milliseconds before seq n). Today's nodes date their events in seq
// order.
inline constexpr int64_t kAuthorClockSkewMs = 5000;

// The dates of an author's events next to a seq, as far as the receiver holds them.
struct AuthorTimes {
  std::optional<int64_t> before;  // the event with the highest seq below
  std::optional<int64_t> after;   // the event with the lowest seq above
};

// What the receiving node holds, durable or queued, as the decision needs it.
class ReceiverState {
 public:
  virtual ~ReceiverState() = default;
  // This node's own event `seq`, if it holds it.
  virtual std::optional<std::string> OwnEnvelope(uint64_t seq) = 0;
  // The hash of the event held or queued for (author, seq), if any (an error defers the item).
  // An event's hash covers its author and seq, so this also says whether the event is held.
  virtual Result<std::optional<std::string>> HashAt(const std::string& author, uint64_t seq) = 0;
  // The dates of `author`'s events held or queued next to `seq`.
  virtual Result<AuthorTimes> TimesAround(const std::string& author, uint64_t seq) = 0;
  // The case's latest state (held or queued); NotFound if the node does not know the case.
  virtual Result<v1::CaseState> Latest(const std::string& case_id) = 0;
  // The envelopes of the case's chain (held and queued), in order.
  virtual Result<std::vector<std::string>> Chain(const v1::CaseState& latest) = 0;
};

enum class Verdict {
  kApply,        // a link of its case's chain, or a new case: store it; `state` is the state after
  kKeepMessage,  // a reporter's message relayed by the case's origin; the node keeps it as a
                 // record (it does not own the case); `state` is the case's latest
  kAdopt,        // the same, and this node owns the case: it answers with an event of its own
  kDuplicate,    // held already
  kDeferred,     // cannot be decided yet (an earlier event, the case or a manifest is missing)
  kRejected,     // never acceptable
};

struct Decision {
  Verdict verdict = Verdict::kRejected;
  std::string reason;             // for kDeferred and kRejected
  protocol::EventEnvelope event;  // the item taken apart (when it parsed)
  v1::CaseState state;
  bool new_case = false;  // kApply of a submission: `state` has no local_ref yet
  // kRejected because the author signed another event with the same seq: that event's hash.
  std::optional<std::string> equivocating_with;
  // The proof the event is in its author's log, as checked (a serialized v1::InclusionEvidence;
  // empty when none was required): kept with the event and passed on with it.
  std::string evidence;
};

// The rules, in order: the envelope parses; it is signed by its author with a key valid at its
// time (deferred if the sender holds a newer manifest); every event is proven to be in its
// author's log: one the sender authored by the batch's checkpoint and proof, any other by the
// item's `evidence` (the author's checkpoint and proof, as the sender received them; deferred
// without it, so that the author's own delivery brings it), each checkpoint one that may vouch
// for the event (CheckpointVouches: a retired key's event needs a checkpoint signed by a key in
// force or witnessed before it retired); this node's own events are only ever duplicates;
// an event held is a duplicate; an author signing two events with one seq is refused; an
// author's events are dated in seq order (so a retired key cannot sign a backdated event between
// events the receiver holds: kAuthorClockSkewMs of slack); a
// submission opens a case that does not exist, with an id its author issues and a member as
// owner; a reporter's message comes from the case's origin and waits out a handover; any other
// event follows the case's last event (one following an earlier one is a fork) and passes the
// lifecycle (protocol::ApplyEvent).
Decision DecideEvent(const std::string& self, const std::string& sender, const SenderLog& log,
                     const v1::Manifest& manifest, const std::string& envelope,
                     const std::string& hash, ReceiverState* held,
                     const v1::InclusionEvidence* evidence = nullptr);

// DecideEvent in two steps. CheckEnvelope applies the rules that need nothing the node holds (the
// envelope parses, its signature, the sender's log): the expensive part, safe to run for a whole
// batch before taking any lock. Its verdict is kRejected or kDeferred, or kApply meaning "passed
// so far"; DecideChecked applies the rest to such a decision (and returns any other unchanged).
Decision CheckEnvelope(const std::string& sender, const SenderLog& log,
                       const v1::Manifest& manifest, const std::string& envelope,
                       const v1::InclusionEvidence* evidence = nullptr);
Decision DecideChecked(Decision checked, const std::string& self, const v1::Manifest& manifest,
                       const std::string& envelope, const std::string& hash, ReceiverState* held);

}  // namespace lapor::federation
