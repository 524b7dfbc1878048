// Hourly statistics: each node sends the hub a signed count of the cases it owns, so the hub can
// aggregate nationally without personal data and without holding local cases. Since format 2 the
// cases are cross-tabulated in cells (region, report type, category, agency; cases by status in
// each) with their SLA figures: verified and responded (on time or not), overdue, escalated,
// reopened, auto-completed, and histograms of the time to verification and to response
// (protocol/national.h sums them). A confidential case's cell says "rahasia" for its region,
// report type, category and agency.
#pragma once

#include <string>

#include "base/status.h"
#include "crypto/crypto.h"
#include "lapor/v1/event.pb.h"
#include "protocol/national.h"
#include "storage/store.h"

namespace lapor::node {

using protocol::kStatsPayloadType;

// Counts the cases `node_id` owns. Only counts: no case ids, titles or reporters.
Result<v1::StatsReport> BuildStats(storage::Store* store, const std::string& node_id,
                                   int64_t now_ms);
// The report as a DSSE envelope signed by the node.
std::string SignStats(const v1::StatsReport& report, const crypto::SigningKey& key);
// Verifies a stats envelope against `public_key` and parses it (PermissionDenied if the
// signature fails, InvalidArgument if malformed).
Result<v1::StatsReport> OpenStats(std::string_view envelope, std::string_view public_key);

}  // namespace lapor::node
