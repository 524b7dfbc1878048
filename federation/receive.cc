#include "federation/receive.h"

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "protocol/directory.h"
#include "protocol/lifecycle.h"

namespace lapor::federation {

SenderLog ReadSenderLog(const v1::Manifest* manifest, const std::string& sender,
                        const v1::EventBatch& batch) {
  SenderLog log;
  log.manifest_version = batch.manifest_version();
  if (batch.checkpoint().empty()) return log;
  log.present = true;
  const v1::Member* member = manifest ? protocol::FindNode(*manifest, sender) : nullptr;
  auto note = crypto::SignedNote::Parse(batch.checkpoint());
  auto body = note.ok() ? crypto::Checkpoint::ParseBody(note->text)
                        : Result<crypto::Checkpoint>(note.status());
  if (member == nullptr || !body.ok()) {
    log.status = Status::InvalidArgument("the sender's checkpoint does not parse", "checkpoint");
    return log;
  }
  bool verified = false;
  for (const auto& key : member->keys()) {
    auto verifier = crypto::NoteVerifier::FromPublicKey(body->origin, key.public_key());
    verified = verified || (verifier.ok() && crypto::VerifyNote(*note, *verifier).ok());
  }
  if (!verified) {
    log.status = Status::PermissionDenied("the sender's checkpoint is not signed by its key");
    return log;
  }
  log.size = body->size;
  log.root = body->root_hash;
  for (const auto& p : batch.proofs()) {
    log.proofs[p.leaf_index()] = {p.hashes().begin(), p.hashes().end()};
  }
  return log;
}

Decision CheckEnvelope(const std::string& sender, const SenderLog& log, const v1::Manifest& m,
                       const std::string& bytes) {
  Decision d;
  auto verdict = [&d](Verdict v, std::string reason = {}) {
    d.verdict = v;
    d.reason = std::move(reason);
    return std::move(d);
  };
  if (Status s = protocol::ParseEventEnvelope(bytes, &d.event); !s.ok()) {
    return verdict(Verdict::kRejected, s.message());
  }
  const v1::Event& ev = d.event.event;
  if (Status sig = protocol::VerifyEventEnvelope(m, d.event.envelope, ev); !sig.ok()) {
    // A member or key this node's manifest does not list yet (the sender holds a newer one):
    // try again once the manifest has caught up. Otherwise the signature is simply wrong.
    if (log.manifest_version > m.version()) {
      return verdict(Verdict::kDeferred, sig.message() + " (this node's manifest version " +
                                             std::to_string(m.version()) + " is behind)");
    }
    return verdict(Verdict::kRejected, sig.message());
  }
  if (ev.node_id() == sender && log.required) {
    // The sender's own event: it must be in the sender's log, under the checkpoint it sent.
    if (!log.present) {
      return verdict(Verdict::kRejected,
                     "no checkpoint and inclusion proof for the sender's event");
    }
    if (!log.status.ok()) return verdict(Verdict::kRejected, log.status.message());
    auto proof = log.proofs.find(ev.seq());
    if (proof == log.proofs.end()) {
      return verdict(Verdict::kRejected, "no inclusion proof for seq " + std::to_string(ev.seq()));
    }
    Status included = ev.seq() < log.size
                          ? crypto::VerifyInclusion(crypto::LeafHash(bytes), ev.seq(), log.size,
                                                    proof->second, log.root)
                          : Status::InvalidArgument("seq beyond the checkpoint");
    if (!included.ok()) {
      return verdict(Verdict::kRejected, "inclusion proof does not verify: " + included.message());
    }
  }
  return verdict(Verdict::kApply);  // so far: DecideChecked goes on
}

Decision DecideChecked(Decision checked, const std::string& self, const v1::Manifest& m,
                       const std::string& bytes, const std::string& hash, ReceiverState* held) {
  Decision d = std::move(checked);
  if (d.verdict != Verdict::kApply) return d;
  auto verdict = [&d](Verdict v, std::string reason = {}) {
    d.verdict = v;
    d.reason = std::move(reason);
    return std::move(d);
  };
  const v1::Event& ev = d.event.event;
  if (ev.node_id() == self) {
    auto own = held->OwnEnvelope(ev.seq());
    if (own && *own == bytes) return verdict(Verdict::kDuplicate);
    return verdict(Verdict::kRejected, "an event of this node's own that it does not hold");
  }
  auto have = held->Holds(hash);
  if (!have.ok()) return verdict(Verdict::kDeferred, have.status().message());
  if (*have) return verdict(Verdict::kDuplicate);
  auto other = held->HashAt(ev.node_id(), ev.seq());
  if (other.ok() && other->has_value() && **other != hash) {
    d.equivocating_with = **other;
    return verdict(Verdict::kRejected, "node " + ev.node_id() +
                                           " signed two different events with seq " +
                                           std::to_string(ev.seq()));
  }
  auto times = held->TimesAround(ev.node_id(), ev.seq());
  if (!times.ok()) return verdict(Verdict::kDeferred, times.status().message());
  if (times->before && ev.time_ms() < *times->before - kAuthorClockSkewMs) {
    return verdict(Verdict::kRejected,
                   "node " + ev.node_id() + " dated its event seq " + std::to_string(ev.seq()) +
                       " at " + std::to_string(ev.time_ms()) + ", before its earlier event (" +
                       std::to_string(*times->before) +
                       "): an author's events are dated in "
                       "seq order");
  }
  if (times->after && ev.time_ms() > *times->after + kAuthorClockSkewMs) {
    return verdict(Verdict::kRejected,
                   "node " + ev.node_id() + " dated its event seq " + std::to_string(ev.seq()) +
                       " at " + std::to_string(ev.time_ms()) + ", after its later event (" +
                       std::to_string(*times->after) +
                       "): an author's events are dated in "
                       "seq order");
  }

  auto latest = held->Latest(ev.case_id());
  if (!latest.ok() && latest.status().code() != Status::Code::kNotFound) {
    return verdict(Verdict::kDeferred, latest.status().message());
  }
  if (ev.type() == v1::EVENT_SUBMITTED) {
    if (latest.ok()) {
      return verdict(Verdict::kRejected, "case " + ev.case_id() + " already exists");
    }
    // A case id is its author's: tracking ids carry the issuing node's jurisdiction digits.
    std::string prefix;
    for (char c : ev.node_id()) {
      if (c != '.') prefix += c;
    }
    if (ev.case_id().rfind(prefix + "-", 0) != 0) {
      return verdict(Verdict::kRejected,
                     "case id " + ev.case_id() + " is not one node " + ev.node_id() + " issues");
    }
    const std::string& owner = ev.submission().owner_node();
    if (!owner.empty() && protocol::FindNode(m, owner) == nullptr) {
      return verdict(Verdict::kRejected, "owner node '" + owner + "' is not a member");
    }
    d.state.Clear();
    if (Status s = protocol::ApplyEvent(ev, hash, &d.state); !s.ok()) {
      return verdict(Verdict::kRejected, s.ToString());
    }
    d.new_case = true;
    return verdict(Verdict::kApply);
  }
  if (!latest.ok()) {
    return verdict(Verdict::kDeferred, "case " + ev.case_id() + " not known yet");
  }
  d.state = *latest;
  if (ev.type() == v1::EVENT_CITIZEN_MESSAGE) {
    if (ev.node_id() != latest->origin_node()) {
      return verdict(Verdict::kRejected,
                     "only the case's origin node relays the reporter's messages");
    }
    if (!latest->pending_owner().empty() &&
        (latest->owner_node() == self || latest->pending_owner() == self)) {
      // Whoever owns the case once the handoff ends adopts it.
      return verdict(Verdict::kDeferred, "the case is being handed over");
    }
    return verdict(latest->owner_node() == self ? Verdict::kAdopt : Verdict::kKeepMessage);
  }
  if (ev.prev_hash() != latest->last_hash()) {
    auto chain = held->Chain(*latest);
    if (chain.ok()) {
      for (const auto& e : *chain) {
        if (crypto::Sha256(e) == ev.prev_hash()) {
          return verdict(Verdict::kRejected,
                         "fork: the event follows an earlier event of the case, not its last");
        }
      }
    }
    return verdict(Verdict::kDeferred, "its previous event has not arrived yet");
  }
  if (Status s = protocol::ApplyEvent(ev, hash, &d.state); !s.ok()) {
    return verdict(Verdict::kRejected, s.ToString());
  }
  return verdict(Verdict::kApply);
}

Decision DecideEvent(const std::string& self, const std::string& sender, const SenderLog& log,
                     const v1::Manifest& m, const std::string& bytes, const std::string& hash,
                     ReceiverState* held) {
  return DecideChecked(CheckEnvelope(sender, log, m, bytes), self, m, bytes, hash, held);
}

}  // namespace lapor::federation
