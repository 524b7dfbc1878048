#include "node/case_service.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "base/mutex.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "protocol/confidential.h"
#include "protocol/directory.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"
#include "protocol/regions.h"

namespace lapor::node {
namespace {

Status CheckText(const std::string& v, const char* field, size_t min_chars, size_t max_chars) {
  if (!crypto::IsValidUtf8(v)) return Status::InvalidArgument("must be valid UTF-8", field);
  size_t n = crypto::Utf8Length(v);
  if (n < min_chars) {
    return Status::InvalidArgument(
        min_chars == 1 ? "must not be empty"
                       : "must have at least " + std::to_string(min_chars) + " characters",
        field);
  }
  if (n > max_chars) {
    return Status::InvalidArgument("must have at most " + std::to_string(max_chars) + " characters",
                                   field);
  }
  if (min_chars > 0 && v.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument("must not be blank", field);
  }
  return Status::Ok();
}

// Identifiers (categories, agencies): lower-case ASCII letters, digits, '.', '_' and '-'.
Status CheckIdentifier(const std::string& v, const char* field, bool required) {
  if (v.empty())
    return required ? Status::InvalidArgument("must not be empty", field) : Status::Ok();
  if (v.size() > 64) return Status::InvalidArgument("must have at most 64 characters", field);
  for (char c : v) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return Status::InvalidArgument("may contain only a-z, 0-9, '.', '_' and '-'", field);
    }
  }
  return Status::Ok();
}

Status CheckReporter(const ReporterInput& r, const std::string& address) {
  LAPOR_RETURN_IF_ERROR(CheckText(r.name, "reporter.name", 0, 100));
  if (!r.nik.empty()) {
    if (r.nik.size() != 16 || r.nik.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("NIK must be exactly 16 digits", "reporter.nik");
    }
  }
  if (!r.phone.empty()) {
    if (r.phone.size() < 6 || r.phone.size() > 20 ||
        r.phone.find_first_not_of("+0123456789 -") != std::string::npos) {
      return Status::InvalidArgument("phone must be 6-20 characters of digits, '+', ' ' or '-'",
                                     "reporter.phone");
    }
  }
  if (!r.email.empty()) {
    auto at = r.email.find('@');
    if (r.email.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= r.email.size() ||
        r.email.find_first_of(" \t\r\n") != std::string::npos || !crypto::IsValidUtf8(r.email)) {
      return Status::InvalidArgument("email is not an address", "reporter.email");
    }
  }
  return CheckText(address, "location.address", 0, 500);
}

}  // namespace

std::string Commitment(std::string_view tag, std::string_view record_bytes) {
  std::string in(tag);
  in += record_bytes;
  return crypto::Sha256(in);
}

std::string CaseService::HashToken(const std::string& token) { return crypto::Sha256(token); }

CaseService::CaseService(CaseServiceOptions opt, storage::Store* store,
                         std::shared_ptr<const protocol::WorkingCalendar> calendar,
                         uint64_t next_seq)
    : opt_(std::move(opt)),
      store_(store),
      ids_(opt_.sealing_key, opt_.jurisdiction),
      calendar_(std::move(calendar)),
      other_keys_(opt_.other_keys),
      next_seq_(next_seq) {}

std::vector<std::shared_ptr<const crypto::SigningKey>> CaseService::OtherKeys() const {
  MutexLock lock(keys_mu_);
  return other_keys_;
}

Result<std::string> CaseService::OpenSealedBox(std::string_view box) {
  auto plain = crypto::OpenSealed(*opt_.key, box);
  if (plain.ok()) return plain;
  auto try_keys = [&](const std::vector<std::shared_ptr<const crypto::SigningKey>>& keys) {
    for (const auto& k : keys) {
      auto other = crypto::OpenSealed(*k, box);
      if (other.ok()) return other;
    }
    return plain;
  };
  auto other = try_keys(OtherKeys());
  if (other.ok() || !opt_.reload_other_keys) return other;
  {
    MutexLock lock(keys_mu_);
    const int64_t now = opt_.clock->NowMs();
    if (now - keys_reloaded_ms_ < 1000) {
      return Status::Unavailable(
          "the sealed box opens with none of this node's keys; its keys "
          "were read again less than a second ago");
    }
    keys_reloaded_ms_ = now;
  }
  auto reloaded = opt_.reload_other_keys();
  if (!reloaded.ok()) {
    return Status::Unavailable(
        "the sealed box opens with none of this node's keys, which could "
        "not be read again: " +
        reloaded.status().message());
  }
  {
    MutexLock lock(keys_mu_);
    other_keys_ = *reloaded;
  }
  return try_keys(*reloaded);
}

Result<std::unique_ptr<CaseService>> CaseService::Open(
    CaseServiceOptions options, storage::Store* store,
    std::shared_ptr<const protocol::WorkingCalendar> calendar) {
  if (!options.key) return Status::InvalidArgument("a signing key is required");
  if (options.sealing_key.size() != crypto::kSecretboxKeySize) {
    return Status::InvalidArgument("sealing key must be 32 bytes");
  }
  auto next = store->NextSeq();
  if (!next.ok()) return next.status();
  auto foreign = store->MaxForeignRef();
  if (!foreign.ok()) return foreign.status();
  std::unique_ptr<CaseService> service(
      new CaseService(std::move(options), store, std::move(calendar), *next));
  MutexLock lock(service->seq_mu_);  // not shared yet; taken to keep the rule without exception
  service->next_foreign_ref_ = *foreign + 1;
  if (*next > 0) {
    // The next event is dated no earlier than the last one signed.
    auto last = store->Envelopes(*next - 1, 1);
    if (!last.ok()) return last.status();
    protocol::EventEnvelope p;
    if (last->size() == 1 && protocol::ParseEventEnvelope((*last)[0], &p).ok()) {
      service->last_signed_ms_ = p.event.time_ms();
    }
  }
  return service;
}

int64_t CaseService::SigningTime() {
  last_signed_ms_ = std::max(last_signed_ms_, opt_.clock->NowMs());
  return last_signed_ms_;
}

std::shared_ptr<const v1::Manifest> CaseService::manifest() const {
  return opt_.directory != nullptr ? opt_.directory->Get() : nullptr;
}

void CaseService::SetCalendar(std::shared_ptr<const protocol::WorkingCalendar> calendar) {
  MutexLock lock(calendar_mu_);
  calendar_ = std::move(calendar);
}

std::shared_ptr<const protocol::WorkingCalendar> CaseService::calendar() const {
  MutexLock lock(calendar_mu_);
  return calendar_;
}

uint64_t CaseService::next_seq() {
  MutexLock lock(seq_mu_);
  return next_seq_;
}

void CaseService::SetLogBehind(std::string reason) {
  MutexLock lock(seq_mu_);
  behind_ = std::move(reason);
}

std::string CaseService::log_behind() const {
  MutexLock lock(seq_mu_);
  return behind_;
}

namespace {
Status RefusedWhileBehind(const std::string& reason) {
  return Status::Unavailable(
      "this node signs nothing while its log is behind what other nodes have seen of it (" +
      reason + "); see docs/OPERATIONS.md, Backup and restore");
}
}  // namespace

Status CaseService::ResumeWrites() {
  MutexLock lock(seq_mu_);
  if (Status health = store_->Health(); health.code() != Status::Code::kNoSpace) return health;
  if (unsettled_.load() != 0) return Status::Unavailable("writes are still being answered");
  auto next = store_->NextSeq();
  if (!next.ok()) return next.status();
  auto foreign = store_->MaxForeignRef();
  if (!foreign.ok()) return foreign.status();
  LAPOR_RETURN_IF_ERROR(store_->ResumeWrites(*next));
  // Every write was answered, so nothing is in flight; what was taken and refused is forgotten.
  next_seq_ = *next;
  next_foreign_ref_ = *foreign + 1;
  in_flight_.clear();
  pending_hashes_.clear();
  pending_by_author_.clear();
  return Status::Ok();
}

std::string CaseService::Seal(const google::protobuf::MessageLite& msg) const {
  return crypto::SecretboxSeal(opt_.sealing_key, msg.SerializeAsString());
}

bool CaseService::HoldsAccessCode(const v1::CaseState& s, const std::string& code) const {
  return !code.empty() && crypto::ConstantTimeEquals(crypto::Sha256(code), s.access_code_hash());
}

Status CheckAgencyName(const std::string& agency, const char* field) {
  return CheckIdentifier(agency, field, false);
}

Result<std::optional<storage::Operator>> CaseService::Authenticate(const std::string& token) {
  // Read on every request (one indexed row): a removed, rotated or expired token is refused from
  // the moment the change commits, without a restart.
  return AuthenticateHash(HashToken(token));
}

Result<std::optional<storage::Operator>> CaseService::AuthenticateHash(
    const std::string& token_hash) {
  return store_->FindOperator(token_hash, opt_.clock->NowMs());
}

Result<v1::CaseState> CaseService::LatestState(const std::string& case_id) {
  auto it = in_flight_.find(case_id);
  if (it != in_flight_.end()) return it->second.state;
  return StoredCase(case_id);
}

Result<v1::CaseState> CaseService::StoredCase(const std::string& case_id) {
  auto ref = ids_.Decode(case_id);
  if (!ref) {
    // Another node's case that this node holds as a party.
    auto foreign = store_->FindForeignCase(case_id);
    if (!foreign.ok()) return foreign.status();
    if (!foreign->has_value())
      return Status::NotFound("no case with this tracking id", "tracking_id");
    return std::move((*foreign)->second);
  }
  auto stored = store_->GetCase(*ref);
  if (!stored.ok()) return stored.status();
  // The id must match too: a seq that was not a case's first event decodes as well.
  if (!stored->has_value() || (*stored)->case_id() != case_id) {
    return Status::NotFound("no case with this tracking id", "tracking_id");
  }
  return std::move(**stored);
}

void CaseService::SequenceNew(Draft draft, Done<v1::CaseState> done) {
  // Nothing may fail once a seq is taken (every taken seq must reach the store, or the writes
  // behind it wait), so the lifecycle check runs first, on a probe.
  {
    v1::CaseState probe;
    Status s = protocol::ApplyEvent(draft.event, {}, &probe);
    if (!s.ok()) return done(s);
  }
  uint64_t seq;
  int64_t time_ms;
  {
    MutexLock lock(seq_mu_);
    if (!behind_.empty()) return done(RefusedWhileBehind(behind_));
    if (next_seq_ > protocol::TrackingIdCodec::kMaxSeq) {
      return done(Status::Unavailable("this node's tracking id space is exhausted"));
    }
    seq = next_seq_++;
    time_ms = SigningTime();  // with the seq: the node's events are dated in seq order
    ++unsettled_;             // until Queue has counted the write itself
  }
  // Nobody can know a new case's id before its reply, which is sent once it is durable, so no
  // other request can touch the case meanwhile: it needs no in-flight entry, and signing runs in
  // parallel on the caller's thread (the store commits in seq order whatever the queue order).
  v1::Event& ev = draft.event;
  ev.set_node_id(opt_.node_id);
  ev.set_seq(seq);
  ev.set_case_id(ids_.Encode(seq));
  ev.set_time_ms(time_ms);
  Queue(Seal(std::move(draft), v1::CaseState()), /*in_flight=*/false, std::move(done));
  --unsettled_;
}

CaseService::Sealed CaseService::Seal(Draft draft, v1::CaseState current) {
  const v1::Event& ev = draft.event;  // as the operator or reporter made it: content in plain
  // A confidential case's event is signed with its content sealed (protocol/confidential.h): the
  // log, the hub and every party see it so; this node keeps the content sealed under its own key
  // and the case's origin and owner get it sealed to theirs.
  const bool confidential =
      ev.type() == v1::EVENT_SUBMITTED ? ev.submission().confidential() : current.confidential();
  v1::Event signed_event = ev;
  std::string content;  // SerializeAsString of the SealedText, when there is one
  if (confidential) {
    if (auto text = protocol::TakeContent(&signed_event)) {
      text->set_salt(crypto::RandomBytes(16));
      content = text->SerializeAsString();
      if (ev.type() == v1::EVENT_SUBMITTED) {
        signed_event.mutable_submission()->set_content_commitment(
            Commitment(kContentCommitmentTag, content));
      } else {
        signed_event.mutable_action()->set_note_commitment(Commitment(kNoteCommitmentTag, content));
      }
    }
  }
  std::string envelope = protocol::SignEnvelope(protocol::kEventPayloadType,
                                                signed_event.SerializeAsString(), *opt_.key);
  std::string hash = crypto::Sha256(envelope);
  const v1::CaseState before = current;
  Sealed out;
  if (protocol::IsChainEvent(ev.type())) {
    Status applied = protocol::ApplyEvent(ev, hash, &current);
    if (!applied.ok()) {
      // Callers probe the same event against the same state first: reaching this is a program
      // bug, and the seq already taken would block every later write.
      std::fprintf(stderr, "fatal: event seq %llu refused after sequencing: %s\n",
                   static_cast<unsigned long long>(ev.seq()), applied.ToString().c_str());
      std::abort();
    }
    out.write.state = current;
  }  // else a citizen message: the case's state does not change
  out.write.outbox =
      Deliveries(before, current, ev, envelope, draft.history ? &*draft.history : nullptr);
  if (!content.empty()) {
    // The submission's content is kept as "content", an action's as "note:<seq>" here and
    // "note:<event hash>" at the case's origin (where the reporter reads) and owner (who
    // answers); the owner that did not author the submission gets its content too.
    const bool submission = ev.type() == v1::EVENT_SUBMITTED;
    draft.sealed.push_back({submission ? "content" : "note:" + std::to_string(ev.seq()),
                            crypto::SecretboxSeal(opt_.sealing_key, content)});
    std::set<std::string> to = {current.owner_node()};
    if (!submission) to.insert(current.origin_node());
    for (const auto& node : to) {
      if (node == opt_.node_id) continue;
      auto item = SealForNode(node, current.case_id(),
                              submission ? "content" : "note:" + crypto::HexEncode(hash), content);
      if (item) out.write.outbox.push_back(std::move(*item));
    }
  }
  if (current.owner_node() != opt_.node_id) {
    for (const auto& [kind, plain] : draft.for_owner) {
      auto item = SealForNode(current.owner_node(), current.case_id(), kind, plain);
      if (item) out.write.outbox.push_back(std::move(*item));
    }
  }
  std::string leaf = crypto::LeafHash(envelope);  // here, in parallel, not in the log's thread
  out.write.event = storage::StoredEvent{ev.seq(), CaseRef(current), std::move(hash),
                                         std::move(envelope), std::move(leaf)};
  out.write.sealed = std::move(draft.sealed);
  if (ev.type() == v1::EVENT_ERASED) {
    out.write.erase.assign(ev.action().erased().begin(), ev.action().erased().end());
  }
  out.write.track_deadlines = current.owner_node() == opt_.node_id;
  out.state = std::move(current);
  return out;
}

bool CaseService::AddsParty(const v1::CaseState& before, const v1::CaseState& after) {
  if (before.event_count() == 0) return false;
  for (const auto& party : after.parties()) {
    bool known = false;
    for (const auto& p : before.parties()) known = known || p == party;
    if (!known) return true;
  }
  return false;
}

std::vector<storage::OutboxItem> CaseService::Deliveries(const v1::CaseState& before,
                                                         const v1::CaseState& after,
                                                         const v1::Event& ev,
                                                         const std::string& envelope,
                                                         const std::vector<std::string>* history) {
  std::vector<storage::OutboxItem> out;
  const std::string& self = opt_.node_id;
  if (!protocol::IsChainEvent(ev.type())) {
    // A citizen message: the owner adopts it, the other parties keep it as a record.
    for (const auto& party : after.parties()) {
      if (party != self) out.push_back({party, {}, envelope});
    }
    return out;
  }
  std::vector<std::string> loaded;
  if (history == nullptr && AddsParty(before, after)) {
    // An existing case (a new one adds no party to an earlier state): the caller holds seq_mu_.
    seq_mu_.AssertHeld();
    auto chain = ChainEnvelopes(before);
    if (chain.ok()) loaded = std::move(*chain);
    history = &loaded;
  }
  for (const auto& party : after.parties()) {
    if (party == self) continue;
    bool is_new = true;
    for (const auto& p : before.parties()) is_new = is_new && p != party;
    if (is_new && before.event_count() > 0 && history != nullptr) {
      // A node that joins the case now first gets its chain so far.
      for (const auto& h : *history) out.push_back({party, {}, h});
    }
    out.push_back({party, {}, envelope});
  }
  return out;
}

std::optional<storage::OutboxItem> CaseService::SealForNode(const std::string& node,
                                                            const std::string& case_id,
                                                            const std::string& kind,
                                                            const std::string& plaintext) const {
  auto m = manifest();
  if (!m) return std::nullopt;
  const v1::Member* member = protocol::FindNode(*m, node);
  if (member == nullptr) return std::nullopt;
  const v1::MemberKey* key = protocol::CurrentKey(*member, opt_.clock->NowMs());
  if (key == nullptr) return std::nullopt;
  auto box = crypto::SealToKey(key->public_key(), plaintext);
  if (!box.ok()) return std::nullopt;
  v1::DeliveryItem item;
  auto* sealed = item.mutable_sealed();
  sealed->set_case_id(case_id);
  sealed->set_kind(kind);
  sealed->set_box(std::move(*box));
  return storage::OutboxItem{node, storage::OutboxKind::kSealed, sealed->SerializeAsString()};
}

void CaseService::Queue(Sealed sealed, bool in_flight, Done<v1::CaseState> done) {
  // The callback runs on the committer thread after the fsync (or the failure).
  std::string hash = sealed.write.kind == storage::Write::Kind::kForeign ? sealed.write.foreign.hash
                                                                         : sealed.write.event.hash;
  std::vector<std::string> owed;  // destinations, each once
  for (const auto& item : sealed.write.outbox) {
    if (std::find(owed.begin(), owed.end(), item.destination) == owed.end()) {
      owed.push_back(item.destination);
    }
  }
  auto on_durable = [this, in_flight, owed = std::move(owed), hash = std::move(hash),
                     state = std::move(sealed.state),
                     done = std::move(done)](const Status& s) mutable {
    if (in_flight) {
      MutexLock lock(seq_mu_);
      if (auto p = pending_hashes_.find(hash); p != pending_hashes_.end()) {
        pending_by_author_.erase(p->second);
        pending_hashes_.erase(p);
      }
      auto it = in_flight_.find(state.case_id());
      if (it != in_flight_.end()) {
        auto& events = it->second.events;
        for (auto e = events.begin(); e != events.end(); ++e) {
          if (e->first == hash) {
            events.erase(e);
            break;
          }
        }
        if (--it->second.writes == 0) in_flight_.erase(it);
      }
    }
    if (s.ok() && !owed.empty() && opt_.on_outbox) opt_.on_outbox(owed);
    // Settled before `done`: once a blocking caller has its answer, the service may be gone.
    --unsettled_;
    if (s.ok()) {
      done(std::move(state));
    } else if (s.code() == Status::Code::kNoSpace) {
      done(s);
    } else {
      done(Status::Unavailable("the change could not be stored: " + s.message()));
    }
  };
  ++unsettled_;
  store_->Enqueue(std::move(sealed.write), std::move(on_durable));
}

void CaseService::Sequence(std::string case_id, Draft draft, const Prepare& prepare,
                           Done<v1::CaseState> done) {
  last_local_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                       std::memory_order_relaxed);
  if (case_id.empty()) return SequenceNew(std::move(draft), std::move(done));
  // An existing case: its next event chains onto the hash of the previous one, so the checks,
  // the seq, the signature and the in-flight state are all decided under the lock, against the
  // latest state including writes not yet durable.
  Status refused = [&]() -> Status {
    MutexLock lock(seq_mu_);
    if (!behind_.empty()) return RefusedWhileBehind(behind_);
    auto latest = LatestState(case_id);
    if (!latest.ok()) return latest.status();
    const uint64_t seq = next_seq_;
    LAPOR_RETURN_IF_ERROR(prepare(*latest, seq, &draft));
    v1::Event& ev = draft.event;
    ev.set_node_id(opt_.node_id);
    ev.set_seq(seq);
    ev.set_case_id(case_id);
    ev.set_time_ms(SigningTime());
    ev.set_prev_hash(latest->last_hash());
    if (protocol::IsChainEvent(ev.type())) {
      v1::CaseState probe = *latest;
      LAPOR_RETURN_IF_ERROR(
          protocol::ApplyEvent(ev, {}, &probe));  // refusals before the seq is taken
      if (AddsParty(*latest, probe)) {
        // The new party first gets the chain so far: read it now, while a failure can still
        // refuse the request.
        auto chain = ChainEnvelopes(*latest);
        if (!chain.ok())
          return Status::Unavailable("cannot read the case: " + chain.status().message());
        draft.history = std::move(*chain);
      }
    }
    ++next_seq_;
    const bool chain = protocol::IsChainEvent(ev.type());
    Sealed sealed = Seal(std::move(draft), std::move(*latest));
    auto& f = in_flight_[case_id];
    f.state = sealed.state;
    ++f.writes;
    if (chain) f.events.emplace_back(sealed.write.event.hash, sealed.write.event.envelope);
    Queue(std::move(sealed), /*in_flight=*/true, std::move(done));
    return Status::Ok();
  }();
  if (!refused.ok()) done(refused);
}

Result<v1::CaseState> CaseService::SequenceAndWait(std::string case_id, Draft draft,
                                                   const Prepare& prepare) {
  std::promise<Result<v1::CaseState>> p;
  auto f = p.get_future();
  Sequence(std::move(case_id), std::move(draft), prepare,
           [&p](Result<v1::CaseState> r) { p.set_value(std::move(r)); });
  return f.get();
}

void CaseService::Submit(const SubmitRequest& r, Done<SubmitResult> done) {
  Status invalid = [&]() -> Status {
    LAPOR_RETURN_IF_ERROR(CheckText(r.title, "title", 1, kMaxTitleChars));
    LAPOR_RETURN_IF_ERROR(CheckText(r.description, "description", 1, kMaxDescriptionChars));
    LAPOR_RETURN_IF_ERROR(CheckIdentifier(r.category, "category", true));
    if (!protocol::IsValidReportType(r.report_type)) {
      return Status::InvalidArgument(
          "must be aspirasi, pengaduan, permintaan_informasi or whistleblowing", "report_type");
    }
    if (r.region_code.empty()) return Status::InvalidArgument("must not be empty", "region_code");
    if (protocol::FindRegion(r.region_code) == nullptr) {
      return Status::InvalidArgument("unknown region code '" + r.region_code +
                                         "' (expected a province like 32 or a regency like 32.04)",
                                     "region_code");
    }
    LAPOR_RETURN_IF_ERROR(CheckIdentifier(r.target_agency, "target_agency", false));
    if (r.location) {
      auto [lat, lon] = *r.location;
      if (!std::isfinite(lat) || lat < -90 || lat > 90) {
        return Status::InvalidArgument("latitude must be within -90..90", "location.lat");
      }
      if (!std::isfinite(lon) || lon < -180 || lon > 180) {
        return Status::InvalidArgument("longitude must be within -180..180", "location.lon");
      }
    }
    if (!protocol::IsValidChannel(r.channel)) {
      return Status::InvalidArgument("must be web, sms, app or social", "channel");
    }
    LAPOR_RETURN_IF_ERROR(CheckReporter(r.reporter, r.address));
    if (r.attachments.size() > 20) {
      return Status::InvalidArgument("at most 20 attachments", "attachments");
    }
    for (const auto& a : r.attachments) {
      if (a.sha256.size() != crypto::kSha256Size) {
        return Status::InvalidArgument("must be 64 hex characters", "attachments.sha256");
      }
      auto slash = a.media_type.find('/');
      if (a.media_type.size() > 100 || slash == std::string::npos || slash == 0 ||
          slash + 1 == a.media_type.size() || !crypto::IsValidUtf8(a.media_type)) {
        return Status::InvalidArgument("must be a media type like image/jpeg",
                                       "attachments.media_type");
      }
      if (a.size == 0 || a.size > (1ULL << 32)) {
        return Status::InvalidArgument("must be between 1 byte and 4 GiB", "attachments.size");
      }
      // One file, one description: the same hash named again must say the same.
      for (const auto& b : r.attachments) {
        if (&b != &a && b.sha256 == a.sha256 &&
            (b.media_type != a.media_type || b.size != a.size)) {
          return Status::InvalidArgument("names one file twice with different types or sizes",
                                         "attachments");
        }
      }
      // A file uploaded here must be the one named, as it was cleaned and hashed.
      if (auto f = r.files.find(a.sha256); f != r.files.end()) {
        if (crypto::Sha256(f->second) != a.sha256 || f->second.size() != a.size) {
          return Status::InvalidArgument("does not match the uploaded file's size",
                                         "attachments.size");
        }
      }
    }

    return Status::Ok();
  }();
  if (!invalid.ok()) return done(invalid);

  const int64_t now = opt_.clock->NowMs();
  SubmitResult result;
  result.access_code = crypto::Base32Encode(crypto::RandomBytes(16));

  Draft draft;
  draft.event.set_type(v1::EVENT_SUBMITTED);
  draft.event.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
  auto* sub = draft.event.mutable_submission();
  sub->set_category(r.category);
  sub->set_report_type(r.report_type);
  sub->set_region_code(r.region_code);
  sub->set_target_agency(r.target_agency);
  if (r.location) {
    sub->set_has_location(true);
    sub->set_lat(r.location->first);
    sub->set_lon(r.location->second);
  }
  sub->set_channel(r.channel);
  sub->set_anonymous(r.anonymous);
  sub->set_confidential(r.confidential);
  const std::string owner_node =
      protocol::OwnerForRegion(manifest().get(), r.region_code, opt_.node_id);
  for (const auto& a : r.attachments) {
    auto* att = sub->add_attachments();
    att->set_sha256(a.sha256);
    att->set_media_type(a.media_type);
    att->set_size(a.size);
    auto file = r.files.find(a.sha256);
    if (file == r.files.end()) continue;
    // The file is the reporter's personal data: sealed at rest with the node's key, erased with
    // the reporter's record, served only to who may read the content.
    const std::string kind = storage::kAttachmentKindPrefix + crypto::HexEncode(a.sha256);
    if (std::any_of(draft.sealed.begin(), draft.sealed.end(),
                    [&](const storage::SealedBlob& b) { return b.kind == kind; })) {
      continue;  // the same file named twice
    }
    draft.sealed.push_back({kind, crypto::SecretboxSeal(opt_.sealing_key, file->second)});
    // The case's owner answers it: it gets the file too, sealed to its key.
    if (owner_node != opt_.node_id) draft.for_owner.emplace_back(kind, file->second);
  }
  sub->set_access_code_hash(crypto::Sha256(result.access_code));
  sub->set_verify_due_ms(calendar()->DeadlineAfter(now, protocol::kVerifyWorkingDays));
  // A case about another jurisdiction's region is owned by that jurisdiction's node from the
  // start; it gets the reporter's data sealed to its key.
  const std::string& owner = owner_node;
  if (owner != opt_.node_id) sub->set_owner_node(owner);

  const auto& rep = r.reporter;
  if (!rep.name.empty() || !rep.nik.empty() || !rep.phone.empty() || !rep.email.empty() ||
      !r.address.empty()) {
    v1::ReporterRecord record;
    record.set_salt(crypto::RandomBytes(16));
    record.set_name(rep.name);
    record.set_nik(rep.nik);
    record.set_phone(rep.phone);
    record.set_email(rep.email);
    record.set_address(r.address);
    std::string bytes = record.SerializeAsString();
    sub->set_reporter_commitment(Commitment(kReporterCommitmentTag, bytes));
    draft.sealed.push_back({"reporter", crypto::SecretboxSeal(opt_.sealing_key, bytes)});
    if (owner != opt_.node_id) draft.for_owner.emplace_back("reporter", bytes);
  }
  // A confidential case's content is sealed when the event is signed (Seal).
  sub->set_title(r.title);
  sub->set_description(r.description);

  Sequence(
      {}, std::move(draft), [](const v1::CaseState&, uint64_t, Draft*) { return Status::Ok(); },
      [result = std::move(result), done = std::move(done)](Result<v1::CaseState> state) mutable {
        if (!state.ok()) return done(state.status());
        result.tracking_id = state->case_id();
        result.state = std::move(*state);
        done(std::move(result));
      });
}

Result<SubmitResult> CaseService::Submit(const SubmitRequest& req) {
  std::promise<Result<SubmitResult>> p;
  auto f = p.get_future();
  Submit(req, [&p](Result<SubmitResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<v1::CaseState> CaseService::Act(const std::string& case_id, const ActionRequest& req,
                                       const Credentials& who) {
  std::promise<Result<v1::CaseState>> p;
  auto f = p.get_future();
  Act(case_id, req, who, [&p](Result<v1::CaseState> r) { p.set_value(std::move(r)); });
  return f.get();
}

void CaseService::Act(const std::string& case_id, const ActionRequest& req, const Credentials& who,
                      Done<v1::CaseState> done) {
  Draft draft;
  Status invalid = [&]() -> Status {
    auto type = protocol::EventTypeForAction(req.action);
    if (!type) {
      return Status::InvalidArgument(
          "unknown action (verify, hold, archive, dispose, process, respond, complete, reply, "
          "reopen, rate, forward, accept, decline, erase)",
          "action");
    }
    v1::Actor actor;
    if (who.op) {
      actor.set_kind(v1::ACTOR_OPERATOR);
      actor.set_operator_id(who.op->id);
      actor.set_role(who.op->role);
    } else if (!who.access_code.empty()) {
      actor.set_kind(v1::ACTOR_CITIZEN);
    } else {
      return Status::Unauthenticated("an operator token or the case's access code is required");
    }
    LAPOR_RETURN_IF_ERROR(protocol::CheckActor(*type, actor));
    LAPOR_RETURN_IF_ERROR(CheckText(req.note, "note", 0, kMaxNoteChars));
    LAPOR_RETURN_IF_ERROR(CheckIdentifier(req.agency, "agency", false));
    LAPOR_RETURN_IF_ERROR(CheckText(req.reason, "reason", 0, 64));
    LAPOR_RETURN_IF_ERROR(CheckText(req.duplicate_of, "duplicate_of", 0, 64));
    if (*type == v1::EVENT_FORWARDED) {
      if (req.to.empty()) return Status::InvalidArgument("forward needs a node", "to");
      auto m = manifest();
      if (req.to == opt_.node_id) {
        return Status::InvalidArgument("the case cannot be forwarded to this node", "to");
      }
      if (!m || protocol::FindNode(*m, req.to) == nullptr) {
        return Status::InvalidArgument("node '" + req.to + "' is not a federation member", "to");
      }
    } else if (!req.to.empty()) {
      return Status::InvalidArgument("only forward names a node", "to");
    }
    if (*type == v1::EVENT_RATED && (req.rating < 1 || req.rating > 5)) {
      return Status::InvalidArgument("rate needs a rating: a whole number from 1 to 5", "rating");
    }
    if (*type != v1::EVENT_RATED && req.rating != 0) {
      return Status::InvalidArgument("only rate gives a rating", "rating");
    }
    if (*type != v1::EVENT_ERASED && !req.erase.empty()) {
      return Status::InvalidArgument("only erase names what to erase", "erase");
    }
    for (const auto& kind : req.erase) {
      if (kind != "reporter" && kind != "content") {
        return Status::InvalidArgument("erase names reporter or content", "erase");
      }
    }

    const int64_t now = opt_.clock->NowMs();
    auto cal = calendar();
    draft.event.set_type(*type);
    *draft.event.mutable_actor() = actor;
    auto* a = draft.event.mutable_action();
    a->set_agency(req.agency);
    a->set_reason(req.reason);
    a->set_duplicate_of(req.duplicate_of);
    a->set_to_node(req.to);
    a->set_rating(req.rating);
    switch (*type) {
      case v1::EVENT_ACCEPTED:
        a->set_response_due_ms(cal->DeadlineAfter(now, protocol::kVerifyWorkingDays));
        break;
      case v1::EVENT_VERIFIED:
      case v1::EVENT_DISPOSED:
      case v1::EVENT_REPLIED:
      case v1::EVENT_REOPENED:
        a->set_response_due_ms(cal->DeadlineAfter(now, protocol::kResponseWorkingDays));
        break;
      case v1::EVENT_RESPONDED:
        a->set_auto_complete_at_ms(cal->DeadlineAfter(now, protocol::kAutoCompleteWorkingDays));
        break;
      case v1::EVENT_COMPLETED:
        a->set_reopen_until_ms(cal->DeadlineAfter(now, protocol::kReopenWorkingDays));
        break;
      default:
        break;
    }
    if (req.reason == "duplicate" && !req.duplicate_of.empty()) {
      auto original = StoredCase(req.duplicate_of);
      if (original.status().code() == Status::Code::kNotFound || req.duplicate_of == case_id) {
        return Status::InvalidArgument("no other case with this tracking id", "duplicate_of");
      }
      if (!original.ok()) return original.status();
    }
    return Status::Ok();
  }();
  if (!invalid.ok()) return done(invalid);

  const v1::Actor actor = draft.event.actor();
  auto prepare = [&](const v1::CaseState& s, uint64_t, Draft* d) -> Status {
    if (actor.kind() == v1::ACTOR_CITIZEN && !HoldsAccessCode(s, who.access_code)) {
      return Status::Unauthenticated("the access code does not match this case");
    }
    if (actor.role() == "liaison" && s.agency() != who.op->agency) {
      return Status::PermissionDenied("the case is not dispositioned to your agency");
    }
    if (actor.kind() == v1::ACTOR_CITIZEN && s.owner_node() != opt_.node_id) {
      // The reporter writes at the origin while another node owns the case: the origin signs
      // the message and delivers it to the owner, which adopts it into the case's chain.
      if (s.origin_node() != opt_.node_id) {
        return Status::PermissionDenied("the reporter writes through the case's origin node " +
                                        s.origin_node());
      }
      const v1::EventType asked = d->event.type();
      v1::CaseState probe = s;  // refuse now what the owner would refuse
      v1::Event as_owner = d->event;
      as_owner.set_node_id(s.owner_node());
      as_owner.set_prev_hash(s.last_hash());
      as_owner.set_case_id(s.case_id());
      as_owner.set_time_ms(opt_.clock->NowMs());
      if (!req.note.empty()) as_owner.mutable_action()->set_note(req.note);
      if (s.pending_owner().empty())
        LAPOR_RETURN_IF_ERROR(protocol::ApplyEvent(as_owner, {}, &probe));
      if (asked == v1::EVENT_RATED) {
        // The owner's rated event comes back later: until then this node's own message is what
        // says the reporter has rated (a second one the owner would refuse).
        auto history = History(s);
        if (!history.ok()) return history.status();
        for (const auto& stored : *history) {
          protocol::EventEnvelope sent;
          if (!protocol::ParseEventEnvelope(stored.envelope, &sent).ok()) continue;
          if (sent.event.type() == v1::EVENT_CITIZEN_MESSAGE &&
              sent.event.node_id() == opt_.node_id && sent.event.action().request() == "rate") {
            return Status::Conflict("the reporter has already rated this case", "rating");
          }
        }
      }
      d->event.set_type(v1::EVENT_CITIZEN_MESSAGE);
      d->event.mutable_action()->set_request(asked == v1::EVENT_REPLIED ? "reply"
                                             : asked == v1::EVENT_RATED ? "rate"
                                                                        : "reopen");
    }
    // A confidential case's note is sealed when the event is signed (Seal).
    if (!req.note.empty()) d->event.mutable_action()->set_note(req.note);
    if (d->event.type() == v1::EVENT_ERASED) return PrepareErase(s, req.erase, &d->event);
    return Status::Ok();
  };
  if (draft.event.type() == v1::EVENT_ERASED && opt_.on_admin_erasure) {
    done = [done = std::move(done), counted = opt_.on_admin_erasure](Result<v1::CaseState> r) {
      if (r.ok()) counted();
      done(std::move(r));
    };
  }
  Sequence(case_id, std::move(draft), prepare, std::move(done));
}

Status CaseService::PrepareErase(const v1::CaseState& s, std::vector<std::string> kinds,
                                 v1::Event* ev) const {
  if (s.owner_node() != opt_.node_id) {
    return Status::Conflict("node " + s.owner_node() +
                                " owns the case: its admin erases the data everywhere it is held "
                                "(this node's copy with it)",
                            "action");
  }
  if (kinds.empty()) {
    if (!s.reporter_erased()) kinds.push_back("reporter");
    if (s.confidential() && !s.content_erased()) kinds.push_back("content");
    if (kinds.empty()) return Status::Conflict("nothing is left to erase", "erase");
  }
  for (const auto& kind : kinds) ev->mutable_action()->add_erased(kind);
  return Status::Ok();
}

Result<v1::CaseState> CaseService::EraseBySystem(const std::string& case_id,
                                                 std::vector<std::string> kinds) {
  Draft draft;
  draft.event.set_type(v1::EVENT_ERASED);
  draft.event.mutable_actor()->set_kind(v1::ACTOR_SYSTEM);
  draft.event.mutable_action();
  auto prepare = [&](const v1::CaseState& s, uint64_t, Draft* d) -> Status {
    return PrepareErase(s, kinds, &d->event);
  };
  return SequenceAndWait(case_id, std::move(draft), prepare);
}

Result<CaseService::RetentionReport> CaseService::RunRetention(int64_t retain_ms, int64_t warn_ms) {
  RetentionReport report;
  if (retain_ms <= 0 || !log_behind().empty()) return report;
  const int64_t now = opt_.clock->NowMs();
  std::vector<std::string> due;
  LAPOR_RETURN_IF_ERROR(store_->ScanCases([&](const v1::CaseState& s) {
    const bool closed =
        s.status() == protocol::status::kDone || s.status() == protocol::status::kArchived;
    const bool left = !s.reporter_erased() || (s.confidential() && !s.content_erased());
    if (!closed || !left || s.owner_node() != opt_.node_id || !s.pending_owner().empty()) {
      return true;
    }
    const int64_t at = s.updated_ms() + retain_ms;
    if (at <= now) {
      due.push_back(s.case_id());
    } else if (at - warn_ms <= now) {
      ++report.due_soon;
      if (report.first_due_ms == 0 || at < report.first_due_ms) {
        report.first_due_ms = at;
        report.first_due_case = s.case_id();
      }
    }
    return true;
  }));
  for (const auto& id : due) {
    auto erased = EraseBySystem(id, {});
    // A case that changed meanwhile (reopened, forwarded) is looked at again next time.
    if (erased.ok()) ++report.erased;
  }
  return report;
}

Result<AttachmentFile> CaseService::Attachment(const std::string& case_id,
                                               const std::string& sha256, const Credentials& who) {
  auto stored = StoredCase(case_id);
  if (!stored.ok()) return stored.status();
  auto access = Authorize(*stored, who);
  if (!access.ok()) return access.status();
  if (!access->files) {
    return who.op || !who.access_code.empty()
               ? Status::PermissionDenied(
                     "only who may read the case's content gets its files (of an anonymous "
                     "case: the reporter, the admins and the case's liaison)")
               : Status::Unauthenticated(
                     "the case's access code, or an operator token, is "
                     "required for its files");
  }
  const std::string kind = storage::kAttachmentKindPrefix + crypto::HexEncode(sha256);
  auto sealed = store_->GetSealed(CaseRef(*stored), kind);
  if (!sealed.ok()) return sealed.status();
  if (!sealed->has_value()) {
    return Status::NotFound(
        "this node holds no such file of the case (never uploaded here, or "
        "erased)",
        "sha256");
  }
  auto plain = crypto::SecretboxOpen(opt_.sealing_key, **sealed);
  if (!plain.ok()) return plain.status();
  // The media type the submission gave it (a confidential case's, from its sealed content).
  auto view = View(case_id, who);  // also records an operator's read of confidential content
  if (!view.ok()) return view.status();
  AttachmentFile file;
  for (const auto& a : view->submission.attachments()) {
    if (a.sha256() == sha256) file.media_type = a.media_type();
  }
  if (file.media_type.empty()) return Status::NotFound("the case has no such attachment", "sha256");
  file.bytes = std::move(*plain);
  return file;
}

Result<CaseView> CaseService::View(const std::string& case_id, const Credentials& who) {
  auto stored = StoredCase(case_id);
  if (!stored.ok()) return stored.status();
  CaseView view;
  view.state = std::move(*stored);
  auto decided = Authorize(view.state, who);
  if (!decided.ok()) return decided.status();
  view.access = *decided;
  const CaseAccess& access = view.access;
  auto events = History(view.state);
  if (!events.ok()) return events.status();
  const uint64_t ref = CaseRef(view.state);
  // The sealed content this node holds of an event (protocol/confidential.h): its own events'
  // by seq, others' by hash, the submission's as "content".
  auto open_content = [&](const std::string& kind, v1::SealedText* text) {
    auto sealed = store_->GetSealed(ref, kind);
    if (!sealed.ok() || !sealed->has_value()) return false;
    auto plain = crypto::SecretboxOpen(opt_.sealing_key, **sealed);
    return plain.ok() && text->ParseFromString(*plain);
  };
  // Each event parsed once; where its sealed content is kept, by hash (an adopted reply names the
  // reporter's message it adopts by hash).
  std::map<std::string, std::string> kind_of;
  for (const auto& stored_event : *events) {
    v1::Envelope env;
    HistoryItem item;
    item.seq = stored_event.seq;
    if (!env.ParseFromString(stored_event.envelope) || !item.event.ParseFromString(env.payload())) {
      return Status::Corruption("stored event " + std::to_string(stored_event.seq) +
                                " does not parse");
    }
    const v1::Event& ev = item.event;
    kind_of[stored_event.hash] = ev.type() == v1::EVENT_SUBMITTED ? "content"
                                 : ev.node_id() == opt_.node_id
                                     ? "note:" + std::to_string(stored_event.seq)
                                     : "note:" + crypto::HexEncode(stored_event.hash);
    view.history.push_back(std::move(item));
  }
  v1::Submission submission;
  for (size_t i = 0; i < view.history.size(); ++i) {
    HistoryItem& item = view.history[i];
    v1::Event& ev = item.event;
    const bool committed = ev.type() == v1::EVENT_SUBMITTED
                               ? !ev.submission().content_commitment().empty()
                               : !ev.action().note_commitment().empty();
    if (access.content && committed) {
      // Its content was sealed: restore it from what this node holds. An adopted reply carries
      // the note of the reporter's message it adopts.
      v1::SealedText text;
      const std::string& adopted = ev.action().relayed_from();
      if (open_content(kind_of[(*events)[i].hash], &text) ||
          (!adopted.empty() && kind_of.count(adopted) > 0 &&
           open_content(kind_of[adopted], &text))) {
        protocol::RestoreContent(text, &ev);
      }
    }
    if (access.content && protocol::IsChainEvent(ev.type())) {
      protocol::ApplyContent(ev, &view.state);  // what a sealed event left out of the state
    }
    if (ev.type() == v1::EVENT_SUBMITTED) submission = ev.submission();
    if (ev.has_action() && access.content) item.note = ev.action().note();
  }
  if (access.reporter_identity) {
    // This node's erasures of the case: which parties have acknowledged each (its delivery).
    for (size_t i = 0; i < view.history.size(); ++i) {
      const v1::Event& ev = view.history[i].event;
      if (ev.type() != v1::EVENT_ERASED || ev.node_id() != opt_.node_id) continue;
      auto delivered = store_->DeliveryOf((*events)[i].envelope);
      if (!delivered.ok()) return delivered.status();
      Erasure e;
      e.time_ms = ev.time_ms();
      e.kinds.assign(ev.action().erased().begin(), ev.action().erased().end());
      e.parties = std::move(*delivered);
      // A party with no row left: its row was pruned, which happens only once it acknowledged.
      for (const auto& party : view.state.parties()) {
        if (party == opt_.node_id) continue;
        bool listed = false;
        for (const auto& p : e.parties) listed = listed || p.first == party;
        if (!listed) e.parties.emplace_back(party, true);
      }
      std::sort(e.parties.begin(), e.parties.end());
      view.erasures.push_back(std::move(e));
    }
  }
  std::vector<std::string> revealed;  // what an operator's read reveals, for the access record
  if (access.content) {
    view.submission = submission;
    view.title = submission.title();
    view.description = submission.description();
    for (const auto& a : submission.attachments()) {
      if (!access.files) break;  // `held` says what the caller can download
      auto held =
          store_->HasSealed(ref, storage::kAttachmentKindPrefix + crypto::HexEncode(a.sha256()));
      if (!held.ok()) return held.status();
      if (*held) view.held_attachments.insert(a.sha256());
    }
    if (view.state.confidential()) revealed.push_back("confidential_content");
  }
  if (access.reporter_identity && !submission.reporter_commitment().empty()) {
    auto sealed = store_->GetSealed(ref, "reporter");
    if (!sealed.ok()) return sealed.status();
    if (!sealed->has_value()) {
      // Only the origin and the owner ever hold the reporter's data: at other parties its
      // absence is not an erasure.
      const std::string& self = opt_.node_id;
      view.reporter_erased = view.state.origin_node() == self || view.state.owner_node() == self ||
                             view.state.reporter_erased();
    } else {
      auto plain = crypto::SecretboxOpen(opt_.sealing_key, **sealed);
      if (!plain.ok()) return plain.status();
      v1::ReporterRecord record;
      record.ParseFromString(*plain);
      view.reporter = std::move(record);
      revealed.push_back("reporter_identity");
    }
  }
  if (who.op && !revealed.empty()) {
    // Accountability before disclosure: no record, no data.
    std::string fields;
    for (const auto& f : revealed) fields += (fields.empty() ? "" : ",") + f;
    LAPOR_RETURN_IF_ERROR(store_->RecordAccess({ReadBy(who, view.state.case_id(), fields)}));
  }
  return view;
}

Result<std::vector<storage::StoredEvent>> CaseService::Events(const std::string& case_id,
                                                              const Credentials& who) {
  auto stored = StoredCaseGranting(
      case_id, who, &CaseAccess::signed_events,
      "the signed events name operators: an admin or the case's liaison of the owner node, or "
      "an auditor, may read them (the case's view shows what the caller may see)");
  if (!stored.ok()) return stored.status();
  const auto& s = *stored;
  // A confidential case's envelopes carry its content sealed (protocol/confidential.h): they are
  // the bytes the public log serves, so reading them reveals nothing to record.
  return History(s);
}

Result<v1::CaseState> CaseService::StoredCaseGranting(const std::string& case_id,
                                                      const Credentials& who,
                                                      bool CaseAccess::*grant,
                                                      const char* refusal) {
  auto stored = StoredCase(case_id);
  if (!stored.ok()) return stored.status();
  auto access = Authorize(*stored, who);
  if (!access.ok()) return access.status();
  if (!((*access).*grant)) return Status::PermissionDenied(refusal);
  return stored;
}

Result<storage::StoredEvent> CaseService::Submission(const std::string& case_id,
                                                     const Credentials& who) {
  auto stored = StoredCaseGranting(
      case_id, who, &CaseAccess::receipt,
      "the filing receipt is the reporter's (with the access code), or an admin's, the case's "
      "liaison's or an auditor's");
  if (!stored.ok()) return stored.status();
  const auto& s = *stored;
  if (!s.origin_node().empty() && s.origin_node() != opt_.node_id) {
    return Status::Conflict("case " + case_id + " was filed at node " + s.origin_node() +
                            ": its receipt comes from that node's log");
  }
  auto events = store_->CaseEvents(CaseRef(s));
  if (!events.ok()) return events.status();
  for (auto& e : *events) {
    if (e.seq == s.first_seq()) return std::move(e);
  }
  return Status::NotFound("the submission of case " + case_id + " is not in this node's log");
}

CaseAccess CaseService::AccessOf(const v1::CaseState& s, const Credentials& who,
                                 bool code_checked) const {
  const bool reporter = code_checked && !who.op && !who.access_code.empty();
  return DecideAccess(s, AudienceFor(s, who, reporter, opt_.node_id));
}

Result<CaseAccess> CaseService::Authorize(const v1::CaseState& s, const Credentials& who) const {
  if (!who.access_code.empty() && !who.op && !HoldsAccessCode(s, who.access_code)) {
    return Status::Unauthenticated("the access code does not match this case");
  }
  return AccessOf(s, who, true);
}

CaseAccess CaseService::ActionReplyAccess(const v1::CaseState& s, const Credentials& who) const {
  // Act succeeded, so an access code it came with was the case's.
  CaseAccess access = AccessOf(s, who, true);
  if (s.confidential() && who.op) access.content = false;
  return access;
}

storage::AccessRecord CaseService::ReadBy(const Credentials& who, const std::string& case_id,
                                          std::string fields) const {
  return storage::AccessRecord{0,       opt_.clock->NowMs(), who.op->id, who.op->role,
                               case_id, std::move(fields)};
}

Result<AccessLogPage> CaseService::AccessLog(const std::string& case_id, const Credentials& who,
                                             int64_t after_id, int limit) {
  AccessLogPage page;
  if (case_id.empty()) {
    if (!MayReadWholeAccessRecord(who)) {
      return who.op ? Status::PermissionDenied("only admins and auditors read the access record")
                    : Status::Unauthenticated("an operator token is required");
    }
    page.operator_ids = true;
  } else {
    auto stored = StoredCase(case_id);
    if (!stored.ok()) return stored.status();
    auto access = Authorize(*stored, who);
    if (!access.ok()) return access.status();
    if (!access->access_record) {
      return who.op ? Status::PermissionDenied(
                          "only admins, auditors and the reporter read a case's access record")
                    : Status::Unauthenticated(
                          "an operator token, or the case's access code, is required");
    }
    page.operator_ids = access->operator_ids;
  }
  auto records = store_->AccessRecords(case_id, after_id, limit);
  if (!records.ok()) return records.status();
  page.records = std::move(*records);
  return page;
}

Status CaseService::ScopeToCaller(storage::CaseFilter* filter, const Credentials& who) const {
  if (!who.op) return Status::Unauthenticated("an operator token is required");
  if (who.op->role == "liaison") {
    // A liaison sees the cases of its own agency only.
    if (!filter->agency.empty() && filter->agency != who.op->agency) {
      return Status::PermissionDenied("liaisons may list only their own agency's cases");
    }
    filter->agency = who.op->agency;
  }
  filter->now_ms = opt_.clock->NowMs();
  return Status::Ok();
}

Result<std::vector<ListedCase>> CaseService::CollectListed(storage::CaseFilter filter,
                                                           const Credentials& who) {
  const bool content_filter = FilterTouchesContent(filter);
  std::vector<ListedCase> out;
  // A content filter that matched a confidential case would tell a caller who may not read its
  // content what it holds, so such cases are left out for them. The page is then filled from
  // further rows: a short page (and so the cursor the caller continues from) must not depend on
  // what was left out either.
  for (;;) {
    auto batch = store_->ListCases(filter);
    if (!batch.ok()) return batch.status();
    const bool full = !batch->empty() && static_cast<int>(batch->size()) == filter.limit;
    // Where the next batch starts, taken before the loop moves the states out of this one.
    storage::CaseFilter next = filter;
    const bool more = full && ContinueAfter(batch->back(), &next);
    for (auto& s : *batch) {
      if (static_cast<int>(out.size()) >= filter.limit) break;
      CaseAccess access = AccessOf(s, who, false);
      if (content_filter && !access.content) continue;
      out.push_back({std::move(s), access});
    }
    if (!more || static_cast<int>(out.size()) >= filter.limit) break;
    filter = std::move(next);
  }
  return out;
}

bool CaseService::ContinueAfter(const v1::CaseState& last, storage::CaseFilter* filter) const {
  filter->before_ref = CaseRef(last);
  filter->by_deadline_after = true;
  filter->after_due = DeadlineKey(last);
  filter->after_ref = CaseRef(last);
  // Newest first, nothing comes after key 0 (and before_ref 0 would mean no cursor).
  return filter->by_deadline || CaseRef(last) > 0;
}

Status CaseService::RecordListed(const std::vector<ListedCase>& rows, const Credentials& who) {
  // Listing a confidential case shows its content (category, region, agency; for a search, that
  // its text holds the words) to who may read it: recorded like a read of its view.
  std::vector<storage::AccessRecord> reads;
  for (const auto& row : rows) {
    if (row.state.confidential() && row.access.content) {
      reads.push_back(ReadBy(who, row.state.case_id(), "confidential_content"));
    }
  }
  return store_->RecordAccess(reads);
}

Result<std::vector<ListedCase>> CaseService::List(storage::CaseFilter filter,
                                                  const Credentials& who) {
  LAPOR_RETURN_IF_ERROR(ScopeToCaller(&filter, who));
  auto out = CollectListed(std::move(filter), who);
  if (!out.ok()) return out.status();
  LAPOR_RETURN_IF_ERROR(RecordListed(*out, who));
  return out;
}

Result<std::vector<std::string>> SearchWords(const std::string& query) {
  if (!crypto::IsValidUtf8(query)) return Status::InvalidArgument("must be valid UTF-8", "q");
  // Control characters (NUL would end the index's query string early) are not text to find.
  for (unsigned char c : query) {
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') || c == 0x7F) {
      return Status::InvalidArgument("control characters cannot be searched for", "q");
    }
  }
  if (crypto::Utf8Length(query) > kMaxSearchChars) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxSearchChars) + " characters",
                                   "q");
  }
  // White space, and '+': an HTML form's GET sends a space as '+' (so '+' cannot be searched).
  static constexpr char kSeparators[] = " +\t\r\n\f\v";
  std::vector<std::string> words;
  size_t at = 0;
  while (at < query.size()) {
    const size_t begin = query.find_first_not_of(kSeparators, at);
    if (begin == std::string::npos) break;
    size_t end = query.find_first_of(kSeparators, begin);
    if (end == std::string::npos) end = query.size();
    words.push_back(query.substr(begin, end - begin));
    at = end;
  }
  if (words.empty()) return Status::InvalidArgument("a word to search for is required", "q");
  if (words.size() > kMaxSearchWords) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxSearchWords) + " words", "q");
  }
  for (const auto& w : words) {
    if (crypto::Utf8Length(w) < storage::kMinSearchWordChars) {
      return Status::InvalidArgument("each word needs at least " +
                                         std::to_string(storage::kMinSearchWordChars) +
                                         " characters (\"" + w + "\" is shorter)",
                                     "q");
    }
  }
  return words;
}

namespace {

// ASCII letters folded to lower case (the search index folds case too).
std::string FoldCase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Whether every word occurs in the title or the description, as the index would match it.
bool TextHoldsWords(const v1::SealedText& text, const std::vector<std::string>& words) {
  const std::string title = FoldCase(text.title()), description = FoldCase(text.description());
  for (const auto& w : words) {
    const std::string folded = FoldCase(w);
    if (title.find(folded) == std::string::npos && description.find(folded) == std::string::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::vector<ListedCase>> CaseService::CollectSealedMatches(storage::CaseFilter filter,
                                                                  const Credentials& who) {
  const std::vector<std::string> words = std::move(filter.words);
  filter.words.clear();
  std::vector<ListedCase> out;
  for (;;) {
    auto batch = store_->ListSealedContent(filter);
    if (!batch.ok()) return batch.status();
    const bool full = !batch->empty() && static_cast<int>(batch->size()) == filter.limit;
    storage::CaseFilter next = filter;
    const bool more = full && ContinueAfter(batch->back().first, &next);
    for (auto& row : *batch) {
      if (static_cast<int>(out.size()) >= filter.limit) break;
      CaseAccess access = AccessOf(row.first, who, false);
      if (!access.content) continue;  // opened only for who may read it
      auto plain = crypto::SecretboxOpen(opt_.sealing_key, row.second);
      if (!plain.ok()) return plain.status();
      v1::SealedText text;
      if (!text.ParseFromString(*plain)) {
        return Status::Corruption("the sealed content of " + row.first.case_id() +
                                  " does not parse");
      }
      if (TextHoldsWords(text, words)) out.push_back({std::move(row.first), access});
    }
    if (!more || static_cast<int>(out.size()) >= filter.limit) break;
    filter = std::move(next);
  }
  return out;
}

Result<std::vector<ListedCase>> CaseService::Search(const std::string& query,
                                                    storage::CaseFilter filter,
                                                    const Credentials& who) {
  LAPOR_RETURN_IF_ERROR(ScopeToCaller(&filter, who));
  auto words = SearchWords(query);
  if (!words.ok()) return words.status();
  filter.words = std::move(*words);
  // Public cases from the index; confidential ones from their sealed content, only for a role
  // that may read some (the case's admin and liaison at its owner: DecideAccess decides each).
  auto found = CollectListed(filter, who);
  if (!found.ok()) return found.status();
  std::vector<ListedCase> sealed;
  if (who.op->role == "admin" || who.op->role == "liaison") {
    auto matched = CollectSealedMatches(filter, who);
    if (!matched.ok()) return matched.status();
    sealed = std::move(*matched);
  }
  // Both are in the filter's order after the cursor (newest first, or by deadline key then ref)
  // and disjoint (the index holds no confidential case): the page is the first `limit` of their
  // merge, so its last key is a cursor that skips and repeats nothing.
  auto before = [&](const v1::CaseState& a, const v1::CaseState& b) {
    if (!filter.by_deadline) return CaseRef(a) > CaseRef(b);
    return std::make_pair(DeadlineKey(a), CaseRef(a)) < std::make_pair(DeadlineKey(b), CaseRef(b));
  };
  std::vector<ListedCase> out;
  size_t i = 0, j = 0;
  while (static_cast<int>(out.size()) < filter.limit && (i < found->size() || j < sealed.size())) {
    const bool take_found =
        j == sealed.size() || (i < found->size() && before((*found)[i].state, sealed[j].state));
    out.push_back(std::move(take_found ? (*found)[i++] : sealed[j++]));
  }
  LAPOR_RETURN_IF_ERROR(RecordListed(out, who));
  return out;
}

Result<int> CaseService::RunSla() {
  if (!log_behind().empty()) return 0;  // escalations wait until the log is whole again
  const int64_t now = opt_.clock->NowMs();
  auto due = store_->DueCases(now, 1000);
  if (!due.ok()) return due.status();
  auto cal = calendar();
  int written = 0;
  for (const auto& candidate : *due) {
    Draft draft;
    draft.event.mutable_actor()->set_kind(v1::ACTOR_SYSTEM);
    draft.event.mutable_action();
    bool skip = false;
    std::optional<std::pair<std::string, std::string>> escalated;  // agency, deadline
    auto prepare = [&](const v1::CaseState& s, uint64_t, Draft* d) -> Status {
      // Decide on the latest state: an operator may have acted since the scan.
      auto* a = d->event.mutable_action();
      if (s.owner_node() != opt_.node_id || !s.pending_owner().empty()) {
        skip = true;  // another node runs this case's clocks
        return Status::Conflict("not owned here");
      }
      if (s.status() == protocol::status::kProcessing && s.auto_complete_at_ms() > 0 &&
          s.auto_complete_at_ms() <= now) {
        d->event.set_type(v1::EVENT_AUTO_COMPLETED);
        a->set_reopen_until_ms(cal->DeadlineAfter(now, protocol::kReopenWorkingDays));
      } else if (s.due_ms() > 0 && !s.escalated() && s.due_ms() < now) {
        d->event.set_type(v1::EVENT_ESCALATED);
        a->set_missed_deadline(s.due_kind());
        escalated.emplace(s.agency(), s.due_kind());
        // The supervising node (province, then hub) becomes a party to the case.
        a->set_to_node(
            protocol::EscalationTarget(manifest().get(), opt_.node_id, s.escalation_level()));
      } else {
        skip = true;
        return Status::Conflict("nothing due");
      }
      return Status::Ok();
    };
    auto r = SequenceAndWait(candidate.case_id(), std::move(draft), prepare);
    if (r.ok()) {
      ++written;
      if (escalated && opt_.on_escalated) opt_.on_escalated(escalated->first, escalated->second);
    } else if (!skip) {
      return r.status();
    }
  }
  return written;
}

}  // namespace lapor::node
