#include "federation/receive.h"

#include <algorithm>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "protocol/directory.h"
#include "protocol/lifecycle.h"

namespace lapor::federation {

AuthorCheckpoint ReadAuthorCheckpoint(const v1::Manifest* manifest, const std::string& author,
                                      const std::string& note_bytes, int64_t now_ms) {
  AuthorCheckpoint cp;
  const v1::Member* member = manifest ? protocol::FindNode(*manifest, author) : nullptr;
  auto note = crypto::SignedNote::Parse(note_bytes);
  auto body = note.ok() ? crypto::Checkpoint::ParseBody(note->text)
                        : Result<crypto::Checkpoint>(note.status());
  if (member == nullptr || !body.ok()) {
    cp.status =
        Status::InvalidArgument("node " + author + "'s checkpoint does not parse", "checkpoint");
    return cp;
  }
  const v1::MemberKey* signer = nullptr;
  for (const auto& key : member->keys()) {
    auto verifier = crypto::NoteVerifier::FromPublicKey(body->origin, key.public_key());
    if (verifier.ok() && crypto::VerifyNote(*note, *verifier).ok()) {
      // Of several keys that signed it, the one in force longest counts.
      if (signer == nullptr ||
          (signer->valid_until_ms() != 0 &&
           (key.valid_until_ms() == 0 || key.valid_until_ms() > signer->valid_until_ms()))) {
        signer = &key;
      }
    }
  }
  if (signer == nullptr) {
    cp.status =
        Status::PermissionDenied("node " + author + "'s checkpoint is not signed by its key");
    return cp;
  }
  if (signer->valid_until_ms() != 0 && now_ms >= signer->valid_until_ms()) {
    cp.key_retired_ms = signer->valid_until_ms();
  }
  if (const v1::Member* hub = protocol::FindNode(*manifest, protocol::kHubNode)) {
    for (const auto& sig : note->sigs) {
      for (const auto& key : hub->keys()) {
        auto witness = crypto::NoteVerifier::FromPublicKey(sig.name, key.public_key(),
                                                           crypto::kNoteSigCosignatureV1);
        if (!witness.ok() || witness->key_id != sig.key_id) continue;
        uint64_t seconds = 0;
        if (!crypto::VerifyCosignature(*note, *witness, &seconds).ok()) continue;
        const int64_t ms = static_cast<int64_t>(seconds) * 1000;
        if (cp.witnessed_ms == 0 || ms < cp.witnessed_ms) cp.witnessed_ms = ms;
      }
    }
  }
  cp.size = body->size;
  cp.root = body->root_hash;
  return cp;
}

Status CheckpointVouches(const AuthorCheckpoint& cp, const std::string& author,
                         int64_t event_key_retired_ms) {
  if (!cp.status.ok()) return cp.status;
  if (cp.key_retired_ms == 0) return Status::Ok();
  const int64_t retired = event_key_retired_ms == 0
                              ? cp.key_retired_ms
                              : std::min(cp.key_retired_ms, event_key_retired_ms);
  if (cp.witnessed_ms != 0 && cp.witnessed_ms < retired) return Status::Ok();
  return Status::PermissionDenied(
      "node " + author + "'s checkpoint is signed by a key retired at " +
      std::to_string(cp.key_retired_ms) +
      (cp.witnessed_ms == 0
           ? std::string(" and carries no cosignature of the hub")
           : " and the hub witnessed it only at " + std::to_string(cp.witnessed_ms)) +
      ": a retired key's events need a checkpoint witnessed before it retired, or one signed by "
      "a key in force");
}

SenderLog ReadSenderLog(const v1::Manifest* manifest, const std::string& sender,
                        const v1::EventBatch& batch, int64_t now_ms) {
  SenderLog log;
  log.manifest_version = batch.manifest_version();
  log.now_ms = now_ms;
  if (batch.checkpoint().empty()) return log;
  log.present = true;
  log.checkpoint = batch.checkpoint();
  static_cast<AuthorCheckpoint&>(log) =
      ReadAuthorCheckpoint(manifest, sender, log.checkpoint, now_ms);
  if (!log.status.ok()) return log;
  for (const auto& p : batch.proofs()) {
    log.proofs[p.leaf_index()] = {p.hashes().begin(), p.hashes().end()};
  }
  return log;
}

Decision CheckEnvelope(const std::string& sender, const SenderLog& log, const v1::Manifest& m,
                       const std::string& bytes, const v1::InclusionEvidence* evidence) {
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
  if (ev.type() == v1::EVENT_LOG_GAP) {  // the author's log's own record, of no case
    return verdict(Verdict::kRejected, "an EVENT_LOG_GAP is not delivered to other nodes");
  }
  const v1::MemberKey* key = nullptr;
  if (Status sig = protocol::VerifyEventEnvelope(m, d.event.envelope, ev, &key); !sig.ok()) {
    // A member or key this node's manifest does not list yet (the sender holds a newer one):
    // try again once the manifest has caught up. Otherwise the signature is simply wrong.
    if (log.manifest_version > m.version()) {
      return verdict(Verdict::kDeferred, sig.message() + " (this node's manifest version " +
                                             std::to_string(m.version()) + " is behind)");
    }
    return verdict(Verdict::kRejected, sig.message());
  }
  const int64_t key_retired_ms =
      key->valid_until_ms() != 0 && log.now_ms >= key->valid_until_ms() ? key->valid_until_ms() : 0;
  if (!log.required) return verdict(Verdict::kApply);  // the rules' tests only
  // The event is in its author's log: proven by the item's evidence (the author's checkpoint and
  // proof, as the sender has them), or for the sender's own events by the batch's checkpoint.
  const bool own = ev.node_id() == sender;
  const bool carried = evidence != nullptr && !evidence->checkpoint().empty();
  AuthorCheckpoint relayed;
  const AuthorCheckpoint* cp = &log;
  std::vector<std::string> proof;
  v1::InclusionEvidence keep;
  if (carried) {
    relayed = ReadAuthorCheckpoint(&m, ev.node_id(), evidence->checkpoint(), log.now_ms);
    if (!relayed.status.ok()) return verdict(Verdict::kRejected, relayed.status.message());
    cp = &relayed;
    proof.assign(evidence->hashes().begin(), evidence->hashes().end());
    keep.set_checkpoint(evidence->checkpoint());
  } else if (own) {
    if (!log.present) {
      return verdict(Verdict::kRejected,
                     "no checkpoint and inclusion proof for the sender's event");
    }
    if (!log.status.ok()) return verdict(Verdict::kRejected, log.status.message());
    auto p = log.proofs.find(ev.seq());
    if (p == log.proofs.end()) {
      return verdict(Verdict::kRejected, "no inclusion proof for seq " + std::to_string(ev.seq()));
    }
    proof = p->second;
    keep.set_checkpoint(log.checkpoint);
  } else {
    return verdict(Verdict::kDeferred,
                   "no proof that the event is in node " + ev.node_id() +
                       "'s log (its checkpoint and inclusion proof): it waits for a delivery "
                       "that carries one");
  }
  Status included = ev.seq() < cp->size ? crypto::VerifyInclusion(crypto::LeafHash(bytes), ev.seq(),
                                                                  cp->size, proof, cp->root)
                                        : Status::InvalidArgument("seq beyond the checkpoint");
  if (!included.ok()) {
    return verdict(Verdict::kRejected, "inclusion proof does not verify: " + included.message());
  }
  if (Status vouches = CheckpointVouches(*cp, ev.node_id(), key_retired_ms); !vouches.ok()) {
    return verdict(Verdict::kRejected, vouches.message());
  }
  for (auto& h : proof) keep.add_hashes(std::move(h));
  d.evidence = keep.SerializeAsString();
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
  // One lookup by (author, seq) answers both "held already" (the same hash there) and "signed
  // twice" (another one there): the hash covers the author and seq.
  auto other = held->HashAt(ev.node_id(), ev.seq());
  if (!other.ok()) return verdict(Verdict::kDeferred, other.status().message());
  if (other->has_value() && **other == hash) return verdict(Verdict::kDuplicate);
  if (other->has_value()) {
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
                     ReceiverState* held, const v1::InclusionEvidence* evidence) {
  return DecideChecked(CheckEnvelope(sender, log, m, bytes, evidence), self, m, bytes, hash, held);
}

}  // namespace lapor::federation
