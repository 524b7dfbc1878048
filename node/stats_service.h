// The hub's side of the hourly statistics (node/stats.h): it accepts each member's signed report
// (verified against the member's keys in the manifest, then kept under
// storage::kStatsMetaPrefix + node id, the latest replacing the one before) and sums the latest
// reports of the manifest's members into the national aggregate. Only counts, never cases.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "lapor/v1/event.pb.h"
#include "protocol/directory.h"
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

class StatsService {
 public:
  // `node_id` is this node (only the hub, protocol::kHubNode, collects); `directory` may be null
  // (not federated: no members, an empty aggregate).
  StatsService(storage::Store* store, std::string node_id, const protocol::Directory* directory);

  // Stores `envelope`, a stats report from `sender` (a member whose request signature was
  // verified), once it verifies under one of the sender's keys valid at `now_ms` and names the
  // sender. NotFound unless this node is the hub; PermissionDenied for a signature by none of the
  // sender's valid keys or a report naming another node; InvalidArgument for a malformed one.
  Status Accept(const v1::Member& sender, const std::string& envelope, int64_t now_ms);

  // The sum of the members' latest stored reports.
  NationalStats National();

 private:
  storage::Store* store_;
  std::string node_id_;
  const protocol::Directory* directory_;
};

}  // namespace lapor::node
