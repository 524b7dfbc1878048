#include "node/pull_service.h"

#include <algorithm>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "federation/replicator.h"
#include "protocol/envelope.h"

namespace lapor::node {
namespace {

bool IsCaseEvent(const std::string& envelope) {
  protocol::EventEnvelope p;
  return protocol::ParseEventEnvelope(envelope, &p).ok() && p.event.type() != v1::EVENT_LOG_GAP;
}

}  // namespace

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
  // Own entries that are no case event (lost seqs' placeholders, below) are skipped: a page of
  // nothing else reads on (in pages of 1000, at most 16 of them per request; the reply's
  // author_next_seq says where the log goes on), so that an empty reply means the end.
  uint64_t from = pull.from_seq() + envelopes->size();
  for (int pages = 0; own && pages < 16 && !envelopes->empty() &&
                      std::none_of(envelopes->begin(), envelopes->end(), IsCaseEvent);
       ++pages) {
    envelopes = store_->Envelopes(from, 1000);
    if (!envelopes.ok()) return envelopes.status();
    from += envelopes->size();
  }
  // Well below what a member reads of a reply (federation::kMaxReplyBytes): the puller asks again
  // from where this reply ends.
  size_t bytes = 0;
  for (auto& e : *envelopes) {
    // Lost seqs' placeholders and the event declaring them (`log continue`) are the log's, not
    // events of a case: never sent to other nodes.
    if (own && !IsCaseEvent(e)) continue;
    if (out.envelopes_size() >= limit) break;
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
