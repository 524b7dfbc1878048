#include "node/pull_service.h"

#include <algorithm>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "federation/replicator.h"
#include "protocol/envelope.h"

namespace lapor::node {

Result<v1::PullResponse> PullService::Pull(const v1::PullRequest& pull) {
  const int limit = static_cast<int>(std::clamp<uint32_t>(pull.limit(), 1, 1000));
  v1::PullResponse out;
  OwnLog log;
  if (log_ != nullptr) log = {log_->checkpoint(), log_->Reader()};
  if (!pull.case_id().empty()) {
    auto chain = service_->CaseChain(pull.case_id());
    if (!chain.ok()) return chain.status();
    for (auto& e : *chain) {
      *out.add_evidence() = Evidence(e, log);
      out.add_envelopes(std::move(e));
    }
    return out;
  }
  const bool own = pull.author() == service_->node_id();
  Result<std::vector<std::string>> envelopes =
      own ? store_->Envelopes(pull.from_seq(), static_cast<uint64_t>(limit))
          : store_->ForeignEnvelopesBy(pull.author(), pull.from_seq(), limit);
  if (!envelopes.ok()) return envelopes.status();
  // Well below what a member reads of a reply (federation::kMaxReplyBytes): the puller asks again
  // from where this reply ends.
  size_t bytes = 0;
  for (auto& e : *envelopes) {
    v1::InclusionEvidence evidence = Evidence(e, log);
    bytes += e.size() + evidence.ByteSizeLong();
    if (out.envelopes_size() > 0 && bytes > federation::kMaxReplyBytes / 2) break;
    *out.add_evidence() = std::move(evidence);
    out.add_envelopes(std::move(e));
  }
  auto next = own ? Result<uint64_t>(service_->next_seq()) : store_->ForeignNextSeq(pull.author());
  if (next.ok()) out.set_author_next_seq(*next);
  return out;
}

v1::InclusionEvidence PullService::Evidence(const std::string& envelope, const OwnLog& own) {
  v1::InclusionEvidence out;
  protocol::EventEnvelope p;
  if (!protocol::ParseEventEnvelope(envelope, &p).ok()) return out;
  if (p.event.node_id() != service_->node_id()) {
    auto stored = store_->ForeignEvidence(crypto::Sha256(envelope));
    if (stored.ok() && *stored) out.ParseFromString(**stored);
    return out;
  }
  const storage::CheckpointRow& cp = own.checkpoint;
  if (!own.reader || p.event.seq() >= cp.size) return out;
  auto proof = crypto::InclusionProof(own.reader, p.event.seq(), cp.size);
  if (!proof.ok()) return out;
  out.set_checkpoint(cp.note);
  for (auto& h : *proof) out.add_hashes(std::move(h));
  return out;
}

}  // namespace lapor::node
