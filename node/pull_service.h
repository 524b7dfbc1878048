// Answers another member's pull (/federation/v1/pull): a page of one author's events as this
// node holds them (its own log, or the foreign events it keeps of that author), or the whole
// chain of one case.
#pragma once

#include "base/status.h"
#include "lapor/v1/event.pb.h"
#include "node/case_service.h"
#include "storage/store.h"

namespace lapor::node {

class PullService {
 public:
  PullService(CaseService* service, storage::Store* store) : service_(service), store_(store) {}

  // With pull.case_id: the case's chain (NotFound if this node holds none). Otherwise up to
  // pull.limit (clamped to 1-1000) envelopes of pull.author from pull.from_seq, with the author's
  // next seq as this node knows it (left unset if that cannot be read).
  Result<v1::PullResponse> Pull(const v1::PullRequest& pull);

 private:
  CaseService* service_;
  storage::Store* store_;
};

}  // namespace lapor::node
