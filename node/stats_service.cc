#include "node/stats_service.h"

#include <algorithm>

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
  LAPOR_RETURN_IF_ERROR(CheckCells(*report));
  const auto keep_all_ms = static_cast<int64_t>(options_.keep_hourly_days * 86400000.0);
  Status added = store_->AddStatsReport({sender.node_id(), report->time_ms(), now_ms, envelope},
                                        now_ms - keep_all_ms);
  {
    // A report dated at or before a boundary whose totals are kept (or being summed) changes
    // them: they go, and a sum in progress is not kept (also after a failed write, which may have
    // reached the disk).
    MutexLock lock(mu_);
    if (report->time_ms() <= newest_boundary_) {
      ++generation_;
      totals_.clear();
    }
  }
  return added;
}

Result<protocol::Figures> StatsService::TotalsAt(int64_t at_ms,
                                                 const protocol::NationalFilter& filter,
                                                 int64_t now_ms) {
  constexpr int64_t kDayMs = 86400000, kWibMs = 7 * 3600000;
  const bool settled = at_ms <= now_ms - kSettledMs && (at_ms + kWibMs) % kDayMs == 0;
  std::string key;
  uint64_t generation = 0;
  if (settled) {
    // The snapshot counts the members of the manifest in use: another version, other totals.
    auto manifest = directory_ != nullptr ? directory_->Get() : nullptr;
    key = std::to_string(manifest ? manifest->version() : 0) + '\x1f' + std::to_string(at_ms);
    for (const std::string* f : {&filter.province, &filter.regency, &filter.report_type,
                                 &filter.category, &filter.agency}) {
      key += '\x1f' + *f;
    }
    MutexLock lock(mu_);
    if (auto it = totals_.find(key); it != totals_.end()) return it->second;
    generation = generation_;
    newest_boundary_ = std::max(newest_boundary_, at_ms);
  }
  auto snapshot = SnapshotAt(at_ms);
  if (!snapshot.ok()) return snapshot.status();
  protocol::Figures totals = protocol::SumTotals(filter, *snapshot);
  if (settled) {
    MutexLock lock(mu_);
    if (generation == generation_) {
      if (totals_.size() >= options_.cache_totals) totals_.clear();
      totals_.emplace(key, totals);
    }
  }
  return totals;
}

Status CheckCells(const v1::StatsReport& r) {
  // Bounds that keep every sum within int64 and every share within 0-1: a member's report is
  // signed, but signed nonsense must not skew the nation's figures.
  constexpr uint64_t kMaxCases = uint64_t{1} << 40;
  constexpr int kMaxCells = 200000;
  if (r.cells_size() > kMaxCells) return Status::InvalidArgument("too many cells", "cells");
  for (const auto& c : r.cells()) {
    auto bad = [](const std::string& why) { return Status::InvalidArgument(why, "cells"); };
    for (const std::string* s : {&c.region_code(), &c.report_type(), &c.category(), &c.agency()}) {
      if (s->size() > 100) return bad("a cell's key is longer than 100 bytes");
    }
    if (c.cases() == 0 || c.cases() > kMaxCases) return bad("a cell counts no cases or too many");
    uint64_t by_status = 0;
    if (c.statuses_size() > static_cast<int>(protocol::kReportStatuses.size())) {
      return bad("a cell has more statuses than there are");
    }
    for (uint64_t n : c.statuses()) by_status += std::min(n, kMaxCases);
    if (by_status != c.cases()) return bad("a cell's statuses do not add up to its cases");
    for (uint64_t n : {c.overdue(), c.escalated(), c.verified(), c.responded(), c.reopened(),
                       c.auto_completed()}) {
      if (n > c.cases()) return bad("a cell counts more of something than it has cases");
    }
    if (c.verified_on_time() > c.verified() || c.responded_on_time() > c.responded()) {
      return bad("a cell counts more on time than done");
    }
    auto histogram = [&](const google::protobuf::RepeatedField<uint64_t>& h, uint64_t total) {
      if (h.size() > static_cast<int>(protocol::kDurationBuckets)) return false;
      uint64_t sum = 0;
      for (uint64_t n : h) sum += std::min(n, kMaxCases);
      return h.empty() || sum == total;
    };
    if (!histogram(c.to_verification(), c.verified()) ||
        !histogram(c.to_response(), c.responded())) {
      return bad("a cell's durations do not add up to its verified or responded cases");
    }
  }
  return Status::Ok();
}

Result<protocol::Snapshot> StatsService::SnapshotAt(int64_t at_ms, bool cells_only) {
  protocol::Snapshot out;
  out.at_ms = at_ms;
  auto manifest = directory_ != nullptr ? directory_->Get() : nullptr;
  if (!manifest) return out;
  // The hub sends no report: one under its id cannot be genuine.
  std::vector<std::string> members;
  for (const auto& member : manifest->members()) {
    if (member.node_id() != protocol::kHubNode) members.push_back(member.node_id());
  }
  auto times = store_->StatsReportTimesAt(members, at_ms);
  if (!times.ok()) return times.status();
  for (const auto& key : *times) {
    {
      MutexLock lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        if (!cells_only || it->second.report->format() >= protocol::kStatsFormatCells) {
          out.reports.push_back(it->second);
        }
        continue;
      }
    }
    auto row = store_->StatsReportAt(key.first, key.second);
    if (!row.ok()) return row.status();
    if (!row->has_value() || (*row)->time_ms != key.second) continue;  // thinned meanwhile
    // Reports were verified when kept; one that cannot be read is skipped.
    v1::Envelope env;
    auto report = std::make_shared<v1::StatsReport>();
    if (!env.ParseFromString((*row)->envelope) || !report->ParseFromString(env.payload())) {
      continue;
    }
    protocol::SourceReport src{key.first, key.second,
                               crypto::HexEncode(crypto::Sha256((*row)->envelope)),
                               std::move(report)};
    {
      MutexLock lock(mu_);
      if (cache_.size() >= options_.cache_reports) cache_.clear();
      cache_.emplace(key, src);
    }
    // A report of an older release (counts only, no cells) adds nothing to the figures: it is
    // left out, and so not served as evidence.
    if (cells_only && src.report->format() < protocol::kStatsFormatCells) continue;
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
  auto snapshot = SnapshotAt(INT64_MAX, /*cells_only=*/false);
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
