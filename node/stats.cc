#include "node/stats.h"

#include <map>
#include <tuple>

#include "protocol/envelope.h"

namespace lapor::node {

Result<v1::StatsReport> BuildStats(storage::Store* store, const std::string& node_id,
                                   int64_t now_ms) {
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  v1::StatsReport report;
  report.set_node_id(node_id);
  report.set_time_ms(now_ms);
  uint64_t total = 0, breaches = 0;
  Status s = store->ScanCases([&](const v1::CaseState& c) {
    if (c.owner_node() != node_id) return true;  // another node counts the cases it owns
    ++total;
    if (c.escalated()) ++breaches;
    ++counts[{"status", c.status()}];
    ++counts[{"report_type", c.report_type()}];
    ++counts[{"category", c.category()}];
    ++counts[{"region_code", c.region_code()}];
    // Ratings of public cases only: a confidential case's rating is content, and its rated_at is
    // public, so two consecutive reports would tell it.
    if (c.rating() != 0 && !c.confidential()) ++counts[{"rating", std::to_string(c.rating())}];
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [key, n] : counts) {
    auto* c = report.add_counts();
    c->set_dimension(key.first);
    c->set_value(key.second);
    c->set_count(n);
  }
  report.set_total_cases(total);
  report.set_sla_breaches(breaches);
  return report;
}

std::string SignStats(const v1::StatsReport& report, const crypto::SigningKey& key) {
  return protocol::SignEnvelope(kStatsPayloadType, report, key);
}

Result<v1::StatsReport> OpenStats(std::string_view envelope, std::string_view public_key) {
  auto payload = protocol::OpenEnvelope(envelope, kStatsPayloadType, public_key);
  if (payload.status().code() == Status::Code::kPermissionDenied) {
    return Status::PermissionDenied("the stats report is not signed by the sender");
  }
  if (!payload.ok()) return Status::InvalidArgument("not a stats envelope", "body");
  v1::StatsReport report;
  if (!report.ParseFromString(*payload)) {
    return Status::InvalidArgument("stats payload does not parse", "body");
  }
  return report;
}

}  // namespace lapor::node
