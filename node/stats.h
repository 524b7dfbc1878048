// Hourly statistics: each node sends the hub a signed count of the cases it owns (by status,
// report type, category and region, plus SLA breaches), so the hub can aggregate nationally
// without personal data and without holding local cases.
#pragma once

#include <string>

#include "base/status.h"
#include "crypto/crypto.h"
#include "lapor/v1/event.pb.h"
#include "storage/store.h"

namespace lapor::node {

inline constexpr std::string_view kStatsPayloadType = "application/vnd.lapor.stats.v1+protobuf";

// Counts the cases `node_id` owns. Only counts: no case ids, titles or reporters.
Result<v1::StatsReport> BuildStats(storage::Store* store, const std::string& node_id,
                                   int64_t now_ms);
// The report as a DSSE envelope signed by the node.
std::string SignStats(const v1::StatsReport& report, const crypto::SigningKey& key);
// Verifies a stats envelope against `public_key` and parses it (PermissionDenied if the
// signature fails, InvalidArgument if malformed).
Result<v1::StatsReport> OpenStats(std::string_view envelope, std::string_view public_key);

}  // namespace lapor::node
