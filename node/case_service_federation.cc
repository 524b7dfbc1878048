// CaseService, federation side: what other nodes deliver (Receive), the chain of a case across
// authors (ChainEnvelopes), and recovery of this node's own events after a restore.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "base/mutex.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "federation/receive.h"
#include "node/case_service.h"
#include "node/media.h"
#include "protocol/directory.h"
#include "protocol/lifecycle.h"

namespace lapor::node {
namespace {

// Orders the chain events of one case: the submission, then each event whose prev_hash is the
// hash of the one before. `by_prev` maps prev_hash -> (hash, envelope).
std::vector<std::string> WalkChain(
    const std::multimap<std::string, std::pair<std::string, std::string>>& by_prev) {
  std::vector<std::string> out;
  std::string at;  // the submission has an empty prev_hash
  for (;;) {
    auto it = by_prev.find(at);
    if (it == by_prev.end()) break;
    out.push_back(it->second.second);
    at = it->second.first;
    if (out.size() > by_prev.size()) break;  // a cycle cannot happen with SHA-256; be safe
  }
  return out;
}

}  // namespace

// Paces one batch's work while local requests come, and bounds its length. Step() closes a
// stretch of work and, if a local request asked for the sequencing lock within the last 250 ms,
// pauses for that stretch's length times (1 / share - 1), never past the batch's deadline;
// Expired() says the deadline has passed (the rest of the batch waits for the sender's next
// try). Called with no lock held.
class CaseService::ReceivePacer {
 public:
  ReceivePacer(const std::atomic<int64_t>* last_local_ns, double share, int64_t max_ms)
      : last_local_ns_(last_local_ns),
        factor_(share >= 1 || share <= 0 ? 0 : 1 / share - 1),
        since_(Clock::now()),
        deadline_(since_ + std::chrono::milliseconds(max_ms)) {}

  void Step() {
    const auto now = Clock::now();
    const auto busy_since =
        Clock::time_point(Clock::duration(last_local_ns_->load(std::memory_order_relaxed)));
    if (factor_ > 0 && now - busy_since < std::chrono::milliseconds(250) && now < deadline_) {
      const auto pause = std::chrono::duration_cast<Clock::duration>((now - since_) * factor_);
      std::this_thread::sleep_for(std::min(pause, deadline_ - now));
    }
    since_ = Clock::now();
  }
  bool Expired() const { return Clock::now() >= deadline_; }

 private:
  using Clock = std::chrono::steady_clock;
  const std::atomic<int64_t>* last_local_ns_;
  const double factor_;
  Clock::time_point since_;
  const Clock::time_point deadline_;
};

Result<std::vector<storage::StoredEvent>> CaseService::History(const v1::CaseState& s) {
  const uint64_t ref = CaseRef(s);
  auto own = store_->CaseEvents(ref);
  if (!own.ok()) return own.status();
  auto foreign = store_->ForeignCaseEvents(ref);
  if (!foreign.ok()) return foreign.status();
  std::vector<storage::StoredEvent> all = std::move(*own);
  for (auto& f : *foreign) {
    all.push_back(
        storage::StoredEvent{f.author_seq, ref, std::move(f.hash), std::move(f.envelope), {}});
  }
  // Chain order (the case's own order, whoever authored each link), with the reporter's relayed
  // messages placed by time.
  std::map<std::string, size_t> by_prev;
  std::vector<int64_t> time(all.size());
  std::vector<size_t> messages;
  for (size_t i = 0; i < all.size(); ++i) {
    protocol::EventEnvelope p;
    if (!protocol::ParseEventEnvelope(all[i].envelope, &p).ok()) {
      return Status::Corruption("stored event of case " + s.case_id() + " does not parse");
    }
    time[i] = p.event.time_ms();
    if (protocol::IsChainEvent(p.event.type())) {
      by_prev.emplace(p.event.prev_hash(), i);
    } else {
      messages.push_back(i);
    }
  }
  std::vector<size_t> order;  // indexes into `all`
  std::string at;
  for (auto it = by_prev.find(at); it != by_prev.end() && order.size() < all.size();
       it = by_prev.find(at)) {
    at = all[it->second].hash;
    order.push_back(it->second);
  }
  for (size_t m : messages) {
    auto pos =
        std::find_if(order.begin(), order.end(), [&](size_t k) { return time[k] > time[m]; });
    order.insert(pos, m);
  }
  std::vector<storage::StoredEvent> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(std::move(all[i]));
  return out;
}

Result<std::vector<std::string>> CaseService::ChainEnvelopes(const v1::CaseState& s) {
  std::multimap<std::string, std::pair<std::string, std::string>> by_prev;
  auto add = [&](const std::string& hash, const std::string& envelope) {
    protocol::EventEnvelope p;
    if (!protocol::ParseEventEnvelope(envelope, &p).ok() || !protocol::IsChainEvent(p.event.type()))
      return;
    by_prev.emplace(p.event.prev_hash(), std::make_pair(hash, envelope));
  };
  const uint64_t ref = CaseRef(s);
  auto own = store_->CaseEvents(ref);
  if (!own.ok()) return own.status();
  for (const auto& e : *own) add(e.hash, e.envelope);
  auto foreign = store_->ForeignCaseEvents(ref);
  if (!foreign.ok()) return foreign.status();
  for (const auto& e : *foreign) add(e.hash, e.envelope);
  auto it = in_flight_.find(s.case_id());
  if (it != in_flight_.end()) {
    for (const auto& [hash, envelope] : it->second.events) add(hash, envelope);
  }
  return WalkChain(by_prev);
}

Result<std::vector<std::string>> CaseService::CaseChain(const std::string& case_id) {
  MutexLock lock(seq_mu_);
  auto latest = LatestState(case_id);
  if (!latest.ok()) return latest.status();
  return ChainEnvelopes(*latest);
}

// What this node holds, durable or queued, for federation::DecideEvent. Used only from
// ReceiveItem, under seq_mu_.
class CaseService::HeldState : public federation::ReceiverState {
 public:
  explicit HeldState(CaseService* service) : s_(service) {}
  std::optional<std::string> OwnEnvelope(uint64_t seq) override {
    auto held = s_->store_->Envelopes(seq, 1);
    if (!held.ok() || held->size() != 1) return std::nullopt;
    return std::move((*held)[0]);
  }
  Result<std::optional<std::string>> HashAt(const std::string& author, uint64_t seq) override {
    s_->seq_mu_.AssertHeld();
    auto queued = s_->pending_by_author_.find({author, seq});
    if (queued != s_->pending_by_author_.end()) {
      return std::optional<std::string>(queued->second.first);  // not durable yet
    }
    return s_->store_->ForeignHashAt(author, seq);
  }
  Result<federation::AuthorTimes> TimesAround(const std::string& author, uint64_t seq) override {
    s_->seq_mu_.AssertHeld();
    auto stored = s_->store_->ForeignTimesAround(author, seq);
    if (!stored.ok()) return stored.status();
    federation::AuthorTimes t{stored->first, stored->second};
    // And the queued ones next to it. An author's events are dated in seq order, so every event
    // below must be dated no later than this one: the later of the two nearest below bounds it
    // (and the earlier of the two nearest above).
    auto above = s_->pending_by_author_.upper_bound({author, seq});
    if (above != s_->pending_by_author_.end() && above->first.first == author &&
        (!t.after || above->second.second < *t.after)) {
      t.after = above->second.second;
    }
    auto below = s_->pending_by_author_.lower_bound({author, seq});
    if (below != s_->pending_by_author_.begin()) {
      --below;
      if (below->first.first == author && (!t.before || below->second.second > *t.before)) {
        t.before = below->second.second;
      }
    }
    return t;
  }
  Result<v1::CaseState> Latest(const std::string& case_id) override {
    s_->seq_mu_.AssertHeld();
    return s_->LatestState(case_id);
  }
  Result<std::vector<std::string>> Chain(const v1::CaseState& latest) override {
    s_->seq_mu_.AssertHeld();
    return s_->ChainEnvelopes(latest);
  }

 private:
  CaseService* const s_;
};

// The case an item belongs to ("" if it does not parse: such an item is refused, not deferred).
std::string CaseService::ItemCaseId(const v1::DeliveryItem& item,
                                    const std::optional<federation::Decision>& checked) {
  if (item.has_sealed()) return item.sealed().case_id();
  if (checked && !checked->event.event.case_id().empty()) return checked->event.event.case_id();
  protocol::EventEnvelope p;
  if (!item.has_envelope() || !protocol::ParseEventEnvelope(item.envelope(), &p).ok()) return {};
  return p.event.case_id();
}

std::set<std::string> CaseService::NewCasesNotOurs(
    const v1::EventBatch& batch, const std::vector<std::optional<federation::Decision>>& checked) {
  // A case this node does not hold arrives as its chain so far: it is this node's to hold only if
  // that chain (as far as this batch carries it) makes the node a party: the origin, the owner,
  // the hub of a cross-jurisdiction case, or a node a forward or escalation brings in (the event
  // that does so comes right after the history it sends with it).
  std::map<std::string, v1::CaseState> fresh;  // new cases of this batch, folded
  std::set<std::string> held;
  for (int i = 0; i < batch.items_size(); ++i) {
    if (!checked[i] || checked[i]->verdict != federation::Verdict::kApply) continue;
    const v1::Event& ev = checked[i]->event.event;
    if (!protocol::IsChainEvent(ev.type()) || held.count(ev.case_id()) != 0) continue;
    auto it = fresh.find(ev.case_id());
    if (it == fresh.end()) {
      if (ev.type() != v1::EVENT_SUBMITTED || LatestState(ev.case_id()).ok()) {
        held.insert(ev.case_id());  // held already (or not new: the chain rules decide)
        continue;
      }
      it = fresh.emplace(ev.case_id(), v1::CaseState()).first;
    }
    // Errors are the chain rules' to report, item by item; the fold only looks for parties.
    (void)protocol::ApplyEvent(ev, crypto::Sha256(batch.items(i).envelope()), &it->second);
  }
  std::set<std::string> out;
  for (const auto& [case_id, state] : fresh) {
    const auto& parties = state.parties();
    if (std::find(parties.begin(), parties.end(), opt_.node_id) == parties.end()) {
      out.insert(case_id);
    }
  }
  return out;
}

CaseService::SenderLog CaseService::CheckSenderLog(const std::string& sender,
                                                   const v1::EventBatch& batch) const {
  auto m = manifest();
  return federation::ReadSenderLog(m.get(), sender, batch, opt_.clock->NowMs());
}

void CaseService::Receive(const std::string& sender, const v1::EventBatch& batch,
                          Done<v1::BatchResult> done) {
  if (batch.items_size() > federation::kMaxBatchItems) {
    return done(Status::InvalidArgument(
        "a batch carries at most " + std::to_string(federation::kMaxBatchItems) + " items",
        "items"));
  }
  SenderLog log = CheckSenderLog(sender, batch);  // signature checks outside the lock
  // Every envelope's own checks (parsing, its one signature, the sender's inclusion proof) run
  // here, before the sequencing lock: local submissions wait only for what needs the case state.
  // The first chunk is always decided, so a sender always makes progress; past the deadline the
  // rest of the batch is deferred, checked or not.
  const bool large = static_cast<int64_t>(batch.ByteSizeLong()) > opt_.receive_pace_above_bytes;
  ReceivePacer pacer(&last_local_ns_, large ? opt_.receive_busy_share : 1.0,
                     opt_.receive_batch_max_ms);
  std::vector<std::optional<federation::Decision>> checked(batch.items_size());
  int until = batch.items_size();  // items past this one are deferred: the batch ran out of time
  if (auto m = manifest()) {
    for (int i = 0; i < batch.items_size(); ++i) {
      if (i > 0 && i % kReceiveItemsPerLock == 0) {
        pacer.Step();
        if (pacer.Expired()) {
          until = i;
          break;
        }
      }
      if (batch.items(i).has_envelope()) {
        const auto& it = batch.items(i);
        checked[i] = federation::CheckEnvelope(sender, log, *m, it.envelope(),
                                               it.has_evidence() ? &it.evidence() : nullptr);
      }
    }
  }
  // What the batch's writes report to: `left` counts the writes queued and not yet durable, plus
  // one for this function until every item is decided, so `done` runs once, after the last.
  struct Join {
    Mutex mu;
    size_t left LAPOR_GUARDED_BY(mu) = 1;
    Status failed LAPOR_GUARDED_BY(mu);
    v1::BatchResult result LAPOR_GUARDED_BY(mu);
    CondVar durable;  // signalled as writes become durable
    Done<v1::BatchResult> done;
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  auto settle = [join](Status s) {
    bool last;
    {
      MutexLock l(join->mu);
      if (!s.ok() && join->failed.ok()) join->failed = s;
      last = --join->left == 0;
    }
    join->durable.NotifyAll();
    if (!last) return;
    Status failed;
    v1::BatchResult result;
    {
      MutexLock l(join->mu);
      failed = join->failed;
      result = std::move(join->result);
    }
    if (!failed.ok()) return join->done(failed);
    join->done(std::move(result));
  };
  // Queues `writes` (under seq_mu_: no later own write can be queued before them).
  auto queue = [&](std::vector<Sealed>* writes) LAPOR_REQUIRES(seq_mu_) {
    for (auto& w : *writes) {
      const bool tracked = !w.state.case_id().empty();
      {
        MutexLock l(join->mu);
        ++join->left;
      }
      Queue(std::move(w), tracked, [settle](Result<v1::CaseState> r) { settle(r.status()); });
    }
    writes->clear();
  };

  v1::BatchResult result;
  std::vector<Sealed> writes;
  MutexLock lock(seq_mu_);
  // A deferred item holds up only the later items of its own case: a case that cannot go on
  // (its earlier event or its submission has not arrived) does not stop the others. `received`
  // is how far every item was settled.
  std::set<std::string> deferred_cases;
  const std::set<std::string> not_party = NewCasesNotOurs(batch, checked);
  bool all_settled = true;
  int64_t received = 0;
  for (int i = 0; i < batch.items_size(); ++i) {
    if (i > 0 && i % kReceiveItemsPerLock == 0) {
      // Local requests wait for the sequencing lock while a batch is decided, and for the
      // commits ahead of theirs: between chunks, let them in, and (a large batch) let this
      // chunk's writes become durable before the next is decided, so at most one chunk of it is
      // in the commit queue at a time. What this chunk applied is queued first, so it commits
      // before any write that could depend on it.
      queue(&writes);
      lock.Unlock();
      if (large) {
        MutexLock l(join->mu);
        join->durable.Wait(l, [&]() LAPOR_REQUIRES(join->mu) { return join->left <= 1; });
      }
      pacer.Step();
      if (pacer.Expired()) until = std::min(until, i);
      lock.Lock();
    }
    const auto& item = batch.items(i);
    if (i >= until) {
      auto* r = result.add_items();
      r->set_outbox_id(item.outbox_id());
      r->set_result(v1::ITEM_DEFERRED);
      r->set_reason("node " + opt_.node_id +
                    " is busy: the rest of this batch waits for the next delivery");
      all_settled = false;
      continue;
    }
    const std::string case_id = ItemCaseId(item, checked[i]);
    if (!case_id.empty() && (deferred_cases.count(case_id) != 0 || not_party.count(case_id) != 0)) {
      auto* r = result.add_items();
      r->set_outbox_id(item.outbox_id());
      r->set_result(v1::ITEM_DEFERRED);
      r->set_reason(not_party.count(case_id) != 0
                        ? "node " + opt_.node_id + " is not a party to case " + case_id +
                              " (its history comes with the event that makes it one)"
                        : "an earlier item of case " + case_id + " in this batch is deferred");
      deferred_cases.insert(case_id);
      all_settled = false;
      continue;
    }
    *result.add_items() = ReceiveItem(sender, log, item, std::move(checked[i]), &writes);
    if (result.items().rbegin()->result() == v1::ITEM_DEFERRED) {
      if (!case_id.empty()) deferred_cases.insert(case_id);
      all_settled = false;
    } else if (all_settled) {
      received = std::max<int64_t>(received, static_cast<int64_t>(item.outbox_id()));
    }
  }
  if (received > 0) {
    // The receiver remembers how far it got from this sender, with what it applied, so a
    // restore from backup knows where to ask the sender to start again.
    Sealed mark;
    mark.write.kind = storage::Write::Kind::kBookkeeping;
    mark.write.after_seq = next_seq_;
    mark.write.received.emplace_back(sender, received);
    writes.push_back(std::move(mark));
  }
  queue(&writes);
  lock.Unlock();
  {
    MutexLock l(join->mu);
    join->result = std::move(result);
  }
  settle(Status::Ok());  // this function's share: `done` runs now if every write is durable
}

Result<std::vector<v1::Attachment>> CaseService::NamedAttachments(const v1::CaseState& s,
                                                                  const v1::Submission& sub) {
  if (sub.content_commitment().empty())
    return std::vector<v1::Attachment>(sub.attachments().begin(), sub.attachments().end());
  auto blob = store_->GetSealed(CaseRef(s), "content");
  if (!blob.ok()) return blob.status();
  if (!blob->has_value()) {
    return Status::Unavailable("the case's sealed content has not arrived yet");
  }
  auto text = crypto::SecretboxOpen(opt_.sealing_key, **blob);
  v1::SealedText content;
  if (!text.ok() || !content.ParseFromString(*text)) {
    return Status::Corruption("the case's sealed content cannot be read here");
  }
  return std::vector<v1::Attachment>(content.attachments().begin(), content.attachments().end());
}

std::vector<std::string> CaseService::AttachmentsOf(const v1::CaseState& s) {
  std::vector<std::string> out;
  auto chain = ChainEnvelopes(s);
  protocol::EventEnvelope first;
  if (!chain.ok() || chain->empty() || !protocol::ParseEventEnvelope((*chain)[0], &first).ok()) {
    return out;
  }
  auto named = NamedAttachments(s, first.event.submission());
  if (named.ok()) {
    for (const auto& a : *named) out.push_back(a.sha256());
  }
  return out;
}

v1::BatchResult::Item CaseService::ReceiveItem(const std::string& sender, const SenderLog& log,
                                               const v1::DeliveryItem& item,
                                               std::optional<federation::Decision> checked,
                                               std::vector<Sealed>* writes) {
  v1::BatchResult::Item out;
  out.set_outbox_id(item.outbox_id());
  auto finish = [&](v1::ItemResult r, std::string reason = {}) {
    out.set_result(r);
    out.set_reason(std::move(reason));
    return out;
  };
  const std::string& self = opt_.node_id;
  auto m = manifest();
  if (!m) return finish(v1::ITEM_DEFERRED, "this node has no federation manifest yet");

  if (item.has_sealed()) {
    const auto& sealed = item.sealed();
    auto latest = LatestState(sealed.case_id());
    if (!latest.ok()) {
      return finish(v1::ITEM_DEFERRED, "case " + sealed.case_id() + " not known yet");
    }
    const bool note = sealed.kind().rfind("note:", 0) == 0;
    if (note ? latest->owner_node() != self && latest->origin_node() != self
             : latest->owner_node() != self) {
      return finish(v1::ITEM_REJECTED, "personal data goes to the case's owner only (node " +
                                           latest->owner_node() + ")");
    }
    // What the owner erased never comes back (a late retry, a relayed copy).
    if (storage::IsReporterData(sealed.kind()) && latest->reporter_erased()) {
      return finish(v1::ITEM_REJECTED, "the reporter's data of this case was erased");
    }
    if ((note || sealed.kind() == "content") && latest->content_erased()) {
      return finish(v1::ITEM_REJECTED, "the content of this case was erased");
    }
    auto plain = OpenSealedBox(sealed.box());
    if (plain.status().code() == Status::Code::kUnavailable) {
      return finish(v1::ITEM_DEFERRED, plain.status().message());
    }
    if (!plain.ok()) return finish(v1::ITEM_REJECTED, plain.status().message());
    std::string_view tag;
    std::string commitment;
    if (note) {
      // The note of one event of the case, named by its hash.
      auto hash = crypto::HexDecode(sealed.kind().substr(5));
      if (!hash) return finish(v1::ITEM_REJECTED, "malformed note name");
      std::string envelope;
      auto it = in_flight_.find(sealed.case_id());
      if (it != in_flight_.end()) {
        for (const auto& [h, e] : it->second.events) {
          if (h == *hash) envelope = e;
        }
      }
      if (envelope.empty()) {
        auto held = History(*latest);
        if (held.ok()) {
          for (const auto& e : *held) {
            if (e.hash == *hash) envelope = e.envelope;
          }
        }
      }
      protocol::EventEnvelope p;
      if (envelope.empty() || !protocol::ParseEventEnvelope(envelope, &p).ok()) {
        return finish(v1::ITEM_DEFERRED, "the note's event has not arrived yet");
      }
      tag = kNoteCommitmentTag;
      commitment = p.event.action().note_commitment();
    } else {
      auto chain = ChainEnvelopes(*latest);
      protocol::EventEnvelope first;
      if (!chain.ok() || chain->empty() ||
          !protocol::ParseEventEnvelope((*chain)[0], &first).ok()) {
        return finish(v1::ITEM_DEFERRED, "the case's submission is not held yet");
      }
      const auto& sub = first.event.submission();
      if (sealed.kind().rfind(storage::kAttachmentKindPrefix, 0) == 0) {
        // A file the reporter attached: one the submission names (a confidential case names it
        // in its sealed content), with the bytes that hash to that name.
        auto want =
            crypto::HexDecode(sealed.kind().substr(std::strlen(storage::kAttachmentKindPrefix)));
        if (!want || want->size() != crypto::kSha256Size) {
          return finish(v1::ITEM_REJECTED, "malformed attachment name");
        }
        if (!sub.content_commitment().empty() && latest->content_erased()) {
          return finish(v1::ITEM_REJECTED, "the content of this case was erased");
        }
        auto named = NamedAttachments(*latest, sub);
        if (!named.ok()) {
          // Content not held yet (or not read now): it comes; held but unreadable: it never will.
          const bool later = named.status().code() != Status::Code::kCorruption;
          return finish(later ? v1::ITEM_DEFERRED : v1::ITEM_REJECTED, named.status().message());
        }
        const v1::Attachment* listed = nullptr;
        for (const auto& a : *named) {
          if (a.sha256() == *want) listed = &a;
        }
        if (listed == nullptr)
          return finish(v1::ITEM_REJECTED, "the case names no such attachment");
        if (crypto::Sha256(*plain) != *want) {
          return finish(v1::ITEM_REJECTED, "the sealed attachment does not match its hash");
        }
        // Only a file this node would have taken itself: an accepted type, already clean.
        auto clean = CleanAttachment(listed->media_type(), *plain);
        if (!clean.ok() || *clean != *plain) {
          return finish(v1::ITEM_REJECTED,
                        "the sealed attachment is not a clean " + listed->media_type() + " file");
        }
        Sealed w;
        w.write.kind = storage::Write::Kind::kBookkeeping;
        w.write.after_seq = next_seq_;
        w.write.case_ref = CaseRef(*latest);
        w.write.sealed.push_back({storage::kAttachmentKindPrefix + crypto::HexEncode(*want),
                                  crypto::SecretboxSeal(opt_.sealing_key, *plain)});
        writes->push_back(std::move(w));
        return finish(v1::ITEM_APPLIED);
      }
      if (sealed.kind() == "reporter") {
        tag = kReporterCommitmentTag;
        commitment = sub.reporter_commitment();
      } else if (sealed.kind() == "content") {
        tag = kContentCommitmentTag;
        commitment = sub.content_commitment();
      } else {
        return finish(v1::ITEM_REJECTED, "unknown kind of personal data '" + sealed.kind() + "'");
      }
    }
    if (commitment.empty() || Commitment(tag, *plain) != commitment) {
      return finish(v1::ITEM_REJECTED,
                    "the sealed " + sealed.kind() + " does not match its commitment");
    }
    Sealed w;
    w.write.kind = storage::Write::Kind::kBookkeeping;
    w.write.after_seq = next_seq_;
    w.write.case_ref = CaseRef(*latest);
    w.write.sealed.push_back({sealed.kind(), crypto::SecretboxSeal(opt_.sealing_key, *plain)});
    writes->push_back(std::move(w));
    return finish(v1::ITEM_APPLIED);
  }

  if (!item.has_envelope()) return finish(v1::ITEM_REJECTED, "empty item");
  const std::string& bytes = item.envelope();
  const std::string hash = crypto::Sha256(bytes);
  out.set_event_hash(crypto::HexEncode(hash));
  HeldState held(this);
  if (!checked) {
    checked = federation::CheckEnvelope(sender, log, *m, bytes,
                                        item.has_evidence() ? &item.evidence() : nullptr);
  }
  federation::Decision d =
      federation::DecideChecked(std::move(*checked), self, *m, bytes, hash, &held);
  const v1::Event& ev = d.event.event;
  switch (d.verdict) {
    case federation::Verdict::kDuplicate:
      return finish(v1::ITEM_DUPLICATE);
    case federation::Verdict::kDeferred:
      return finish(v1::ITEM_DEFERRED, d.reason);
    case federation::Verdict::kRejected:
      if (d.equivocating_with) {
        storage::AlertRow alert;
        alert.origin = ev.node_id();
        alert.kind = "event_equivocation";
        alert.detail = d.reason;
        alert.note_a = *d.equivocating_with;
        alert.note_b = hash;
        alert.time_ms = opt_.clock->NowMs();
        if (Status kept = store_->AddAlert(alert); !kept.ok()) {
          // The item is refused either way; the evidence is lost only if the store failed.
          spdlog::error("equivocation alert of node {} not stored: {}", ev.node_id(),
                        kept.ToString());
        }
      }
      return finish(v1::ITEM_REJECTED, d.reason);
    case federation::Verdict::kApply:
    case federation::Verdict::kKeepMessage:
    case federation::Verdict::kAdopt:
      break;
  }
  const auto author_seq = std::make_pair(ev.node_id(), ev.seq());
  uint64_t ref = 0;
  if (d.new_case) {
    d.state.set_local_ref(next_foreign_ref_);
    ref = next_foreign_ref_++;
  } else {
    ref = CaseRef(d.state);
  }
  const v1::CaseState* latest = &d.state;  // for a kept or adopted message: the case as it is
  if (d.verdict == federation::Verdict::kKeepMessage) {
    // Not this node's to adopt: a party keeps the message as a record of the case.
    Sealed record;
    record.write.kind = storage::Write::Kind::kForeign;
    record.write.foreign = {hash,      bytes, ev.node_id(), ev.seq(), ref, opt_.clock->NowMs(),
                            d.evidence};
    record.write.after_seq = next_seq_;
    record.write.case_ref = ref;
    record.state = *latest;
    pending_hashes_[hash] = author_seq;
    pending_by_author_[author_seq] = {hash, ev.time_ms()};
    ++in_flight_[ev.case_id()].writes;
    in_flight_[ev.case_id()].state = *latest;
    in_flight_[ev.case_id()].events.emplace_back(hash, bytes);
    writes->push_back(std::move(record));
    return finish(v1::ITEM_APPLIED);
  }
  if (d.verdict == federation::Verdict::kAdopt && !behind_.empty()) {
    return finish(v1::ITEM_DEFERRED,
                  "this node's log is behind: it adopts nothing until it is whole");
  }
  if (d.verdict == federation::Verdict::kAdopt) {
    // Adopt: this node, the owner, records the reporter's reply or reopen in the chain. The
    // note was sized by another node: hold it to this node's own limits before signing it.
    if (const std::string& note = ev.action().note();
        !crypto::IsValidUtf8(note) || crypto::Utf8Length(note) > kMaxNoteChars) {
      return finish(v1::ITEM_REJECTED, "not adopted: the note is not UTF-8 of at most " +
                                           std::to_string(kMaxNoteChars) + " characters");
    }
    Draft draft;
    v1::Event& own = draft.event;
    const std::string& request = ev.action().request();
    own.set_type(request == "reopen" ? v1::EVENT_REOPENED
                 : request == "rate" ? v1::EVENT_RATED
                                     : v1::EVENT_REPLIED);
    own.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
    auto* a = own.mutable_action();
    a->set_note(ev.action().note());
    a->set_note_commitment(ev.action().note_commitment());
    a->set_relayed_from(hash);
    if (own.type() == v1::EVENT_RATED) a->set_rating(ev.action().rating());
    const int64_t now = SigningTime();
    if (own.type() != v1::EVENT_RATED) {
      a->set_response_due_ms(calendar()->DeadlineAfter(now, protocol::kResponseWorkingDays));
    }
    own.set_node_id(self);
    own.set_seq(next_seq_);
    own.set_case_id(ev.case_id());
    own.set_time_ms(now);
    own.set_prev_hash(latest->last_hash());
    v1::CaseState probe = *latest;
    if (Status s = protocol::ApplyEvent(own, {}, &probe); !s.ok()) {
      return finish(v1::ITEM_REJECTED, "not adopted: " + s.message());
    }
    if (own.ByteSizeLong() + kEnvelopeOverheadBytes > kMaxEnvelopeBytes) {
      return finish(v1::ITEM_REJECTED, "not adopted: the event would exceed " +
                                           std::to_string(kMaxEnvelopeBytes) + " bytes");
    }
    Sealed message;
    message.write.kind = storage::Write::Kind::kForeign;
    message.write.foreign = {hash,      bytes, ev.node_id(), ev.seq(), ref, opt_.clock->NowMs(),
                             d.evidence};
    message.write.after_seq = next_seq_;
    message.write.case_ref = ref;
    pending_hashes_[hash] = author_seq;
    pending_by_author_[author_seq] = {hash, ev.time_ms()};
    auto& f = in_flight_[ev.case_id()];
    ++f.writes;
    f.events.emplace_back(hash, bytes);
    message.state = *latest;  // only for the in-flight bookkeeping; not stored
    writes->push_back(std::move(message));
    ++next_seq_;
    Sealed adopted = Seal(std::move(draft), *latest);
    f.state = adopted.state;
    ++f.writes;
    f.events.emplace_back(adopted.write.event.hash, adopted.write.event.envelope);
    writes->push_back(std::move(adopted));
    return finish(v1::ITEM_APPLIED);
  }
  const v1::CaseState& state = d.state;
  Sealed w;
  w.write.kind = storage::Write::Kind::kForeign;
  w.write.foreign = {hash, bytes, ev.node_id(), ev.seq(), ref, opt_.clock->NowMs(), d.evidence};
  w.write.after_seq = next_seq_;
  w.write.case_ref = ref;
  w.write.state = state;
  w.write.track_deadlines = state.owner_node() == self;
  if (ev.type() == v1::EVENT_ERASED) {
    // The owner erased personal data: this party's copies go in the same transaction.
    w.write.erase.assign(ev.action().erased().begin(), ev.action().erased().end());
  }
  if (ev.type() == v1::EVENT_ACCEPTED && state.origin_node() == self &&
      state.owner_node() != self) {
    // The origin holds the reporter's data and files: the new owner gets them, sealed to its key.
    std::vector<std::string> kinds = {"reporter", "content"};
    std::set<std::string> files;  // a file named twice goes once
    for (const auto& sha : AttachmentsOf(state)) files.insert(sha);
    for (const auto& sha : files) {
      kinds.push_back(storage::kAttachmentKindPrefix + crypto::HexEncode(sha));
    }
    for (const auto& kind : kinds) {
      auto blob = store_->GetSealed(ref, kind);
      if (!blob.ok() || !blob->has_value()) continue;
      auto plain = crypto::SecretboxOpen(opt_.sealing_key, **blob);
      if (!plain.ok()) continue;
      auto sealed = SealForNode(state.owner_node(), state.case_id(), kind, *plain);
      if (sealed) w.write.outbox.push_back(std::move(*sealed));
    }
  }
  w.state = state;
  pending_hashes_[hash] = author_seq;
  pending_by_author_[author_seq] = {hash, ev.time_ms()};
  auto& f = in_flight_[ev.case_id()];
  f.state = state;
  ++f.writes;
  f.events.emplace_back(hash, bytes);
  writes->push_back(std::move(w));
  return finish(v1::ITEM_APPLIED);
}

void CaseService::Relay(const v1::EventBatch& batch, Done<v1::BatchResult> done) {
  v1::BatchResult result;
  auto m = manifest();
  const std::string& sender = batch.sender();
  const std::string& to = batch.relay_to();
  if (!m) return done(Status::Unavailable("the hub has no federation manifest yet"));
  auto backlog = store_->RelayBacklogBytes(sender);
  if (!backlog.ok()) return done(backlog.status());
  int64_t budget = opt_.relay_backlog_max_bytes - *backlog;
  // Signatures first, outside the sequencing lock.
  std::vector<Status> verified(batch.items_size());
  std::vector<protocol::EventEnvelope> parsed(batch.items_size());
  for (int i = 0; i < batch.items_size(); ++i) {
    const auto& item = batch.items(i);
    if (item.has_sealed()) continue;
    Status s = protocol::ParseEventEnvelope(item.envelope(), &parsed[i]);
    if (s.ok()) s = protocol::VerifyEventEnvelope(*m, parsed[i].envelope, parsed[i].event);
    verified[i] = s;
  }
  Sealed w;
  w.write.kind = storage::Write::Kind::kBookkeeping;
  {
    MutexLock lock(seq_mu_);
    std::set<std::string> deferred_cases;  // later items of a deferred case wait with it
    for (int i = 0; i < batch.items_size(); ++i) {
      const auto& item = batch.items(i);
      auto* r = result.add_items();
      r->set_outbox_id(item.outbox_id());
      auto refuse = [&](v1::ItemResult how, std::string why) {
        r->set_result(how);
        r->set_reason(std::move(why));
      };
      if (!item.has_sealed() && !verified[i].ok()) {
        refuse(v1::ITEM_REJECTED, verified[i].message());
        continue;
      }
      const std::string case_id =
          item.has_sealed() ? item.sealed().case_id() : parsed[i].event.case_id();
      if (!item.has_sealed()) r->set_event_hash(crypto::HexEncode(crypto::Sha256(item.envelope())));
      if (deferred_cases.count(case_id) != 0) {
        refuse(v1::ITEM_DEFERRED, "an earlier item of case " + case_id + " is deferred");
        continue;
      }
      auto latest = LatestState(case_id);
      if (!latest.ok()) {
        deferred_cases.insert(case_id);
        refuse(v1::ITEM_DEFERRED, "the hub does not hold case " + case_id + " yet");
        continue;
      }
      const auto& parties = latest->parties();
      auto party = [&](const std::string& n) {
        return std::find(parties.begin(), parties.end(), n) != parties.end();
      };
      if (!party(to)) {
        refuse(v1::ITEM_REJECTED, "node " + to + " is not a party to case " + case_id);
        continue;
      }
      if (item.has_sealed()) {
        const bool note = item.sealed().kind().rfind("note:", 0) == 0;
        if (!party(sender) || (note ? to != latest->owner_node() && to != latest->origin_node()
                                    : to != latest->owner_node())) {
          refuse(v1::ITEM_REJECTED, "personal data of case " + case_id +
                                        " goes from a party to the case's owner only");
          continue;
        }
      } else if (parsed[i].event.node_id() != sender && !party(sender)) {
        refuse(v1::ITEM_REJECTED, "node " + sender +
                                      " neither authored this event nor is a party "
                                      "to case " +
                                      case_id);
        continue;
      }
      const std::string payload =
          item.has_sealed() ? item.sealed().SerializeAsString() : item.envelope();
      if (static_cast<int64_t>(payload.size()) > budget) {
        deferred_cases.insert(case_id);
        refuse(v1::ITEM_DEFERRED, "node " + sender + " has " + std::to_string(*backlog) +
                                      " bytes waiting at the hub for relay (at most " +
                                      std::to_string(opt_.relay_backlog_max_bytes) + ")");
        continue;
      }
      budget -= static_cast<int64_t>(payload.size());
      r->set_result(v1::ITEM_RELAYED);
      w.write.outbox.push_back(
          {to, item.has_sealed() ? storage::OutboxKind::kSealed : storage::OutboxKind::kEnvelope,
           payload, sender});
    }
  }
  if (w.write.outbox.empty()) return done(std::move(result));
  Queue(std::move(w), false,
        [result = std::move(result), done = std::move(done)](Result<v1::CaseState> r) mutable {
          if (!r.ok()) return done(r.status());
          done(std::move(result));
        });
}

void CaseService::ApplyFetchedChain(const std::string& peer, const v1::EventBatch& batch) {
  std::promise<void> applied;
  // Proven like any delivery: the peer sends each event's evidence with the chain.
  Receive(peer, batch, [&applied](Result<v1::BatchResult>) { applied.set_value(); });
  applied.get_future().wait();
}

Result<int> CaseService::RecoverOwnEvents(const std::vector<std::string>& envelopes) {
  std::vector<std::future<Result<v1::CaseState>>> pending;
  {
    MutexLock lock(seq_mu_);
    for (const auto& bytes : envelopes) {
      protocol::EventEnvelope p;
      LAPOR_RETURN_IF_ERROR(protocol::ParseEventEnvelope(bytes, &p));
      const v1::Event& ev = p.event;
      if (ev.node_id() != opt_.node_id) {
        return Status::InvalidArgument("recovered event is not this node's", "node_id");
      }
      if (ev.seq() < next_seq_) continue;  // already held
      if (ev.seq() != next_seq_) {
        return Status::Conflict("recovered events leave a gap before seq " +
                                std::to_string(ev.seq()) + " (this node holds up to " +
                                std::to_string(next_seq_) + ")");
      }
      bool signed_ok = false;
      const std::string pae =
          crypto::PreAuthEncoding(p.envelope.payload_type(), p.envelope.payload());
      for (const auto& sg : p.envelope.signatures()) {
        signed_ok = signed_ok || crypto::VerifySignature(opt_.key->public_key(), pae, sg.sig());
        for (const auto& [key, before_seq] : opt_.retired_before_seq) {
          signed_ok =
              signed_ok || (ev.seq() < before_seq && crypto::VerifySignature(key, pae, sg.sig()));
        }
      }
      if (!signed_ok) return Status::PermissionDenied("recovered event is not signed by this node");
      last_signed_ms_ = std::max(last_signed_ms_, ev.time_ms());
      v1::CaseState before;
      if (ev.type() != v1::EVENT_SUBMITTED) {
        auto latest = LatestState(ev.case_id());
        if (!latest.ok()) return latest.status();
        before = *latest;
      }
      v1::CaseState after = before;
      const std::string hash = crypto::Sha256(bytes);
      if (protocol::IsChainEvent(ev.type()))
        LAPOR_RETURN_IF_ERROR(protocol::ApplyEvent(ev, hash, &after));
      Sealed w;
      w.write.outbox = Deliveries(before, after, ev, bytes);
      w.write.event =
          storage::StoredEvent{ev.seq(), CaseRef(after), hash, bytes, crypto::LeafHash(bytes)};
      if (protocol::IsChainEvent(ev.type())) w.write.state = after;
      w.write.track_deadlines = after.owner_node() == opt_.node_id;
      w.state = protocol::IsChainEvent(ev.type()) ? after : before;
      ++next_seq_;
      auto& f = in_flight_[ev.case_id()];
      f.state = w.state;
      ++f.writes;
      if (protocol::IsChainEvent(ev.type())) f.events.emplace_back(hash, bytes);
      auto promise = std::make_shared<std::promise<Result<v1::CaseState>>>();
      pending.push_back(promise->get_future());
      Queue(std::move(w), true, [promise](Result<v1::CaseState> r) { promise->set_value(r); });
    }
  }
  int n = 0;
  for (auto& f : pending) {
    auto r = f.get();
    if (!r.ok()) return r.status();
    ++n;
  }
  return n;
}

}  // namespace lapor::node
