#include "node/stats_service.h"

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "node/stats.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::node {

StatsService::StatsService(storage::Store* store, std::string node_id,
                           const protocol::Directory* directory, StatsServiceOptions options)
    : store_(store),
      node_id_(std::move(node_id)),
      directory_(directory),
      options_(std::move(options)) {}

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
  if (report->time_ms() <= 0 || report->time_ms() > now_ms + options_.max_ahead_ms) {
    return Status::InvalidArgument("the report is dated ahead of the hub's clock", "time_ms");
  }
  const auto keep_all_ms = static_cast<int64_t>(options_.keep_hourly_days * 86400000.0);
  return store_->AddStatsReport({sender.node_id(), report->time_ms(), now_ms, envelope},
                                now_ms - keep_all_ms);
}

Result<protocol::Snapshot> StatsService::SnapshotAt(int64_t at_ms) {
  protocol::Snapshot out;
  out.at_ms = at_ms;
  auto manifest = directory_ != nullptr ? directory_->Get() : nullptr;
  if (!manifest) return out;
  for (const auto& member : manifest->members()) {
    auto row = store_->StatsReportAt(member.node_id(), at_ms);
    if (!row.ok()) return row.status();
    if (!row->has_value()) continue;
    const auto key = std::make_pair(member.node_id(), (*row)->time_ms);
    {
      MutexLock lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        out.reports.push_back(it->second);
        continue;
      }
    }
    // Reports were verified when kept; one that cannot be read is skipped.
    v1::Envelope env;
    auto report = std::make_shared<v1::StatsReport>();
    if (!env.ParseFromString((*row)->envelope) || !report->ParseFromString(env.payload())) {
      continue;
    }
    protocol::SourceReport src{member.node_id(), (*row)->time_ms,
                               crypto::HexEncode(crypto::Sha256((*row)->envelope)),
                               std::move(report)};
    {
      MutexLock lock(mu_);
      if (cache_.size() >= options_.cache_reports) cache_.clear();
      cache_.emplace(key, src);
    }
    out.reports.push_back(std::move(src));
  }
  return out;
}

Result<std::vector<std::string>> StatsService::Envelopes(const protocol::Snapshot& snapshot) {
  std::vector<std::string> out;
  for (const auto& src : snapshot.reports) {
    auto row = store_->StatsReportAt(src.node_id, src.time_ms);
    if (!row.ok()) return row.status();
    if (!row->has_value() || (*row)->time_ms != src.time_ms) {
      return Status::Conflict("report " + src.node_id + " is no longer kept; ask again");
    }
    out.push_back((*row)->envelope);
  }
  return out;
}

NationalStats StatsService::National() {
  NationalStats out;
  auto snapshot = SnapshotAt(INT64_MAX);
  if (!snapshot.ok()) return out;
  for (const auto& src : snapshot->reports) {
    const v1::StatsReport& r = *src.report;
    out.nodes.push_back({r.node_id(), r.time_ms(), r.total_cases(), r.sla_breaches()});
    out.total_cases += r.total_cases();
    out.sla_breaches += r.sla_breaches();
    for (const auto& c : r.counts()) out.counts[c.dimension()][c.value()] += c.count();
  }
  return out;
}

}  // namespace lapor::node
