// Answers another member's pull (/federation/v1/pull): a page of one author's events as this
// node holds them (its own log, or the foreign events it keeps of that author), or the whole
// chain of one case.
#pragma once

#include "base/status.h"
#include "lapor/v1/event.pb.h"
#include "node/case_service.h"
#include "storage/store.h"
#include "storage/tree_log.h"

namespace lapor::node {

class PullService {
 public:
  // `log` (may be null): this node's log, for the proofs of its own events.
  PullService(CaseService* service, storage::Store* store, const storage::TreeLog* log)
      : service_(service), store_(store), log_(log) {}

  // With pull.case_id: the case's chain (NotFound if this node holds none). Otherwise up to
  // pull.limit (clamped to 1-1000) envelopes of pull.author from pull.from_seq, with the author's
  // next seq as this node knows it (left unset if that cannot be read). Each envelope comes
  // with its evidence (PullResponse.evidence).
  Result<v1::PullResponse> Pull(const v1::PullRequest& pull);

 private:
  // This node's log as one pull proves its own events against: read once per pull.
  struct OwnLog {
    storage::CheckpointRow checkpoint;
    crypto::NodeReader reader;
  };
  // The proof that `envelope` is in its author's log: this node's own event from `own` (none yet
  // if the checkpoint does not cover it), another's as this node keeps it.
  v1::InclusionEvidence Evidence(const std::string& envelope, const OwnLog& own);

  CaseService* service_;
  storage::Store* store_;
  const storage::TreeLog* log_;
};

}  // namespace lapor::node
