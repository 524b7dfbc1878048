// The national view, served by the hub (/national/v1/..., JSON; admins and auditors of the hub):
// - stats: the national figures (protocol/national.h) at `to` (default now), with what happened
//   since `from`, filtered by province, regency, report type, category and agency, with the
//   weekly trend (`weeks`, default 12), as JSON or (format=csv) the table by province or regency;
// - evidence: the same figures with the signed reports they were summed from and the hub-signed
//   manifest, for `lapor-audit check-national` to check offline;
// - alerts: members silent for longer than `silent_hours` (no report, no checkpoint witnessed),
//   cross-jurisdiction cases the hub holds that are past their deadline, the federation's
//   equivocation and witness alerts, and the hub's delivery backlog per member.
// And on every node, /api/v1/stats: the same figures over the cases the node owns, from the
// report it would send the hub now (reused for 30 s), with the same filters but no period or
// trend (a node keeps no history of its reports).
// Only counts, tracking ids, statuses and dates: nothing personal, no confidential content.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "node/case_service.h"
#include "node/http_router.h"
#include "node/stats_service.h"
#include "protocol/directory.h"
#include "storage/store.h"

namespace lapor::node {

class NationalRouter : public Router {
 public:
  // `stats`: the hub's statistics reports, shared with the FederationRouter that accepts them
  // (outlives the router).
  NationalRouter(CaseService* service, storage::Store* store, const protocol::Directory* directory,
                 StatsService* stats);
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  bool Stats(const Request& req, const Reply& reply, bool evidence);
  bool OwnStats(const Request& req, const Reply& reply);
  bool Alerts(const Request& req, const Reply& reply);
  // The cross-jurisdiction cases past their deadline (a scan of every held case, reused for a
  // minute).
  Result<std::vector<v1::CaseState>> OverdueCases(int64_t now_ms);

  CaseService* service_;
  storage::Store* store_;
  const protocol::Directory* directory_;
  StatsService* stats_;
  Mutex mu_;
  int64_t overdue_at_ms_ LAPOR_GUARDED_BY(mu_) = -1;
  int64_t own_at_ms_ LAPOR_GUARDED_BY(mu_) = -1;
  std::shared_ptr<const v1::StatsReport> own_ LAPOR_GUARDED_BY(mu_);
  std::vector<v1::CaseState> overdue_ LAPOR_GUARDED_BY(mu_);
};

}  // namespace lapor::node
