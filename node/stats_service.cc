#include "node/stats_service.h"

#include "node/stats.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::node {

StatsService::StatsService(storage::Store* store, std::string node_id,
                           const protocol::Directory* directory)
    : store_(store), node_id_(std::move(node_id)), directory_(directory) {}

Status StatsService::Accept(const v1::Member& sender, const std::string& envelope, int64_t now_ms) {
  if (node_id_ != protocol::kHubNode) {
    return Status::NotFound("only the hub collects statistics", "path");
  }
  Result<v1::StatsReport> report = Status::PermissionDenied("no valid key");
  Status checked = Status::PermissionDenied("the stats report is not signed by the sender");
  for (const auto& key : sender.keys()) {
    if (!protocol::KeyValidAt(sender, key.public_key(), now_ms)) continue;
    report = OpenStats(envelope, key.public_key());
    if (report.ok()) {
      checked = Status::Ok();
      break;
    }
    checked = report.status();
  }
  if (!checked.ok()) return checked;
  if (report->node_id() != sender.node_id()) {
    return Status::PermissionDenied("the report names another node");
  }
  return store_->SetMeta(storage::kStatsMetaPrefix + sender.node_id(), envelope);
}

NationalStats StatsService::National() {
  NationalStats out;
  auto manifest = directory_ != nullptr ? directory_->Get() : nullptr;
  if (!manifest) return out;
  for (const auto& member : manifest->members()) {
    // Reports were verified when stored; one that cannot be read is skipped.
    auto blob = store_->GetMeta(storage::kStatsMetaPrefix + member.node_id());
    if (!blob.ok() || !blob->has_value()) continue;
    v1::Envelope env;
    v1::StatsReport r;
    if (!env.ParseFromString(**blob) || !r.ParseFromString(env.payload())) continue;
    out.nodes.push_back({r.node_id(), r.time_ms(), r.total_cases(), r.sla_breaches()});
    out.total_cases += r.total_cases();
    out.sla_breaches += r.sla_breaches();
    for (const auto& c : r.counts()) out.counts[c.dimension()][c.value()] += c.count();
  }
  return out;
}

}  // namespace lapor::node
