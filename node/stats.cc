#include "node/stats.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "protocol/envelope.h"
#include "protocol/national.h"

namespace lapor::node {

Result<v1::StatsReport> BuildStats(storage::Store* store, const std::string& node_id,
                                   int64_t now_ms) {
  using Cell = v1::StatsReport::Cell;
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  // (region, report type, category, agency) -> the cell's figures
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Cell> cells;
  v1::StatsReport report;
  report.set_node_id(node_id);
  report.set_time_ms(now_ms);
  report.set_format(protocol::kStatsFormatCells);
  uint64_t total = 0, breaches = 0;
  const std::string hidden(protocol::kConfidentialValue);
  Status s = store->ScanCases([&](const v1::CaseState& c) {
    if (c.owner_node() != node_id) return true;  // another node counts the cases it owns
    ++total;
    if (c.escalated()) ++breaches;
    // A confidential case's region, report type, category and agency are content: the report
    // says "rahasia" for each (its status and dates are public).
    const bool conf = c.confidential();
    const std::string& region = conf ? hidden : c.region_code();
    const std::string& type = conf ? hidden : c.report_type();
    const std::string& category = conf ? hidden : c.category();
    const std::string& agency = conf ? hidden : c.agency();
    ++counts[{"status", c.status()}];
    ++counts[{"report_type", type}];
    ++counts[{"category", category}];
    ++counts[{"region_code", region}];
    // Ratings of public cases only: a confidential case's rating is content, and its rated_at is
    // public, so two consecutive reports would tell it.
    if (c.rating() != 0 && !conf) ++counts[{"rating", std::to_string(c.rating())}];

    Cell& cell = cells[{region, type, category, agency}];
    if (cell.cases() == 0) {
      cell.set_region_code(region);
      cell.set_report_type(type);
      cell.set_category(category);
      cell.set_agency(agency);
      cell.mutable_statuses()->Resize(protocol::kReportStatuses.size(), 0);
      cell.mutable_to_verification()->Resize(protocol::kDurationBuckets, 0);
      cell.mutable_to_response()->Resize(protocol::kDurationBuckets, 0);
    }
    cell.set_cases(cell.cases() + 1);
    const size_t status = protocol::ReportStatusIndex(c.status());
    if (status < protocol::kReportStatuses.size()) {
      cell.set_statuses(static_cast<int>(status), cell.statuses(static_cast<int>(status)) + 1);
    }
    if (c.due_ms() > 0 && c.due_ms() < now_ms) cell.set_overdue(cell.overdue() + 1);
    if (c.escalated()) cell.set_escalated(cell.escalated() + 1);
    if (c.verified_ms() > 0) {
      cell.set_verified(cell.verified() + 1);
      if (c.verified_on_time()) cell.set_verified_on_time(cell.verified_on_time() + 1);
      const size_t b = protocol::DurationBucket(c.verified_ms() - c.created_ms());
      cell.set_to_verification(static_cast<int>(b), cell.to_verification(static_cast<int>(b)) + 1);
    }
    if (c.responded_ms() > 0) {
      cell.set_responded(cell.responded() + 1);
      if (c.responded_on_time()) cell.set_responded_on_time(cell.responded_on_time() + 1);
      const int64_t from = c.verified_ms() > 0 ? c.verified_ms() : c.created_ms();
      const size_t b = protocol::DurationBucket(c.responded_ms() - from);
      cell.set_to_response(static_cast<int>(b), cell.to_response(static_cast<int>(b)) + 1);
    }
    if (c.reopen_count() > 0) cell.set_reopened(cell.reopened() + 1);
    if (c.auto_completed()) cell.set_auto_completed(cell.auto_completed() + 1);
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [key, n] : counts) {
    auto* c = report.add_counts();
    c->set_dimension(key.first);
    c->set_value(key.second);
    c->set_count(n);
  }
  for (auto& [key, cell] : cells) {
    // A histogram with nothing in it is left out (empty means all zero).
    auto trim = [](google::protobuf::RepeatedField<uint64_t>* h) {
      if (std::all_of(h->begin(), h->end(), [](uint64_t n) { return n == 0; })) h->Clear();
    };
    trim(cell.mutable_to_verification());
    trim(cell.mutable_to_response());
    *report.add_cells() = std::move(cell);
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
