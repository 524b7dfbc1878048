// The hub's side of the statistics reports (node/stats.h): it accepts each member's signed report
// (verified against the member's keys in the manifest) and keeps it in the store's StatsHistory,
// every report of the last `keep_hourly_days` and one a day before that. From them it serves the
// federation's figures at any time (Snapshot: each manifest member's latest report at or before
// it), which protocol/national.h turns into the national figures, and the old sum of the latest
// reports (National, for GET /federation/v1/stats). Only counts, never cases.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "lapor/v1/event.pb.h"
#include "protocol/directory.h"
#include "protocol/national.h"
#include "storage/store.h"

namespace lapor::node {

// One member's latest report, as the aggregate lists it.
struct MemberStats {
  std::string node_id;
  int64_t reported_at_ms = 0;
  uint64_t total_cases = 0;
  uint64_t sla_breaches = 0;
};

struct NationalStats {
  // The members that have reported, in manifest order; a member without a stored report is not
  // listed and counts nothing.
  std::vector<MemberStats> nodes;
  uint64_t total_cases = 0;
  uint64_t sla_breaches = 0;
  std::map<std::string, std::map<std::string, uint64_t>> counts;  // dimension -> value -> count
};

struct StatsServiceOptions {
  // When the hub keeps a member's report, that member's reports dated more than this many days
  // before the hub's clock are thinned to the last of each day.
  double keep_hourly_days = 14;
  // A report dated further than this ahead of the hub's clock is refused.
  int64_t max_ahead_ms = 5 * 60 * 1000;
  // Parsed reports kept in memory (each is read again for every figure over its time).
  size_t cache_reports = 4096;
  // Totals of settled boundaries kept in memory (StatsService::TotalsAt; each a few hundred bytes).
  size_t cache_totals = 16384;
};

// Whether a report's cells are consistent (statuses and durations add up, nothing counts more
// than its cases, sizes bounded): InvalidArgument naming "cells" otherwise.
Status CheckCells(const v1::StatsReport& report);

class StatsService {
 public:
  // `node_id` is this node (only the hub, protocol::kHubNode, collects); `directory` may be null
  // (not federated: no members, an empty aggregate).
  StatsService(storage::Store* store, std::string node_id, const protocol::Directory* directory,
               StatsServiceOptions options = {});

  // Keeps `envelope`, a stats report from `sender` (a member whose request signature was
  // verified), once it verifies under one of the sender's keys valid at `now_ms`, names the
  // sender, is dated no later than now_ms + max_ahead_ms and after the sender's last kept report.
  // NotFound unless this node is the hub; PermissionDenied for a signature by none of the
  // sender's valid keys or a report naming another node; InvalidArgument for a malformed one or
  // one dated ahead; Conflict for one not newer than the last.
  Status Accept(const v1::Member& sender, const std::string& envelope, int64_t now_ms);

  // Each current manifest member's latest kept report dated at or before `at_ms` (the hub's id
  // excepted); with `cells_only`, only reports with cells (format 2), the others left out.
  Result<protocol::Snapshot> SnapshotAt(int64_t at_ms, bool cells_only = true);
  // SumTotals of SnapshotAt(at_ms) over the cells matching `filter`. Kept in memory for a settled
  // boundary (a midnight in WIB at least kSettledMs before now_ms, such as the Mondays of a
  // weekly trend), per manifest version (the snapshot counts the members of the manifest in
  // use): each member's latest report at or before it is kept for good (the daily thinning keeps
  // the last report up to each midnight), and a report dated at or before a boundary summed
  // here that arrives later (Accept) clears what was kept.
  Result<protocol::Figures> TotalsAt(int64_t at_ms, const protocol::NationalFilter& filter,
                                     int64_t now_ms);
  static constexpr int64_t kSettledMs = 3600000;

  // The signed envelopes of a snapshot's reports, in its order (for the evidence an auditor
  // checks).
  Result<std::vector<std::string>> Envelopes(const protocol::Snapshot& snapshot);

  // The sum of the members' latest stored reports.
  NationalStats National();

 private:
  storage::Store* store_;
  std::string node_id_;
  const protocol::Directory* directory_;
  StatsServiceOptions options_;
  Mutex mu_;
  std::map<std::pair<std::string, int64_t>, protocol::SourceReport> cache_ LAPOR_GUARDED_BY(mu_);
  // TotalsAt's settled boundaries, by manifest version, time and filter; generation_ counts the
  // clearings, so that totals summed before a late report arrived are not kept after it.
  std::map<std::string, protocol::Figures> totals_ LAPOR_GUARDED_BY(mu_);
  uint64_t generation_ LAPOR_GUARDED_BY(mu_) = 0;
  int64_t newest_boundary_ LAPOR_GUARDED_BY(mu_) = 0;  // the newest TotalsAt has summed
};

}  // namespace lapor::node
