// The national figures: what the hub's /national/v1/stats computes from the members' signed
// statistics reports (node/stats.h builds them), and what `lapor-audit check-national`
// recomputes from the same reports to check every figure. One function, so that the two cannot
// differ.
//
// A report is a snapshot: every figure in it counts the member's cases as they stood at the
// report's time. The federation's figures at a time T sum each member's latest report dated at
// or before T. Figures "since F" are the snapshot at T minus the snapshot at F: what was filed,
// verified, responded, reopened or auto-completed between them.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lapor/v1/event.pb.h"

namespace lapor::protocol {

// Upper bounds (hours) of the buckets of a cell's duration histograms; the last bucket, one
// past these, holds everything longer.
inline constexpr std::array<int64_t, 15> kDurationBoundsHours = {
    1, 2, 4, 8, 12, 24, 48, 72, 96, 120, 168, 240, 336, 504, 720};
inline constexpr size_t kDurationBuckets = kDurationBoundsHours.size() + 1;
// The bucket of a duration (a negative one counts as 0).
size_t DurationBucket(int64_t ms);

// The DSSE payload type of a member's signed statistics report.
inline constexpr std::string_view kStatsPayloadType = "application/vnd.lapor.stats.v1+protobuf";

// What a report says in place of a confidential case's region, report type, category and agency.
inline constexpr std::string_view kConfidentialValue = "rahasia";
// The order of StatsReport.Cell.statuses.
inline constexpr std::array<std::string_view, 6> kReportStatuses = {
    "belum_terverifikasi", "terdisposisi", "diproses", "selesai", "tertunda", "arsip"};
// The index of a status in kReportStatuses (kReportStatuses.size() if it is none of them).
size_t ReportStatusIndex(std::string_view status);

// The report format with cells (StatsReport.format).
inline constexpr uint32_t kStatsFormatCells = 2;

// Where a cell's cases are: the province ("32") and the regency ("32.04", or the province's code
// for a case about the province as a whole). A confidential cell is placed at its member.
std::string CellProvince(const v1::StatsReport& report, const v1::StatsReport::Cell& cell);
std::string CellRegency(const v1::StatsReport& report, const v1::StatsReport::Cell& cell);

// Filters; empty means any. A confidential cell matches a report type, category or agency only
// when the filter asks for kConfidentialValue.
struct NationalFilter {
  std::string province, regency, report_type, category, agency;
};

// One member's report in a snapshot.
struct SourceReport {
  std::string node_id;
  int64_t time_ms = 0;
  std::string sha256_hex;  // of the envelope as the member signed it
  std::shared_ptr<const v1::StatsReport> report;
};

// Figures that add up over cells (and subtract between snapshots): what a snapshot sums to.
struct Figures {
  int64_t cases = 0, backlog = 0, overdue = 0, escalated = 0, verified = 0, verified_on_time = 0,
          responded = 0, responded_on_time = 0, reopened = 0, auto_completed = 0;
  std::array<int64_t, kDurationBuckets> to_verification{}, to_response{};
  void Add(const v1::StatsReport::Cell& c);
};

// Every member's latest report dated at or before at_ms (members that had not reported yet are
// absent).
struct Snapshot {
  int64_t at_ms = 0;
  std::vector<SourceReport> reports;
};

// The boundaries of `weeks` weekly periods ending at `to_ms`: weeks + 1 times, oldest first; the
// last is to_ms, the one before it the latest Monday 00:00 in Western Indonesian Time (UTC+7)
// before to_ms, and each earlier one a week before the next.
std::vector<int64_t> WeekBoundaries(int64_t to_ms, int weeks);

// The figures as JSON (docs/openapi.yaml, NationalStats): totals, counts by status, report type,
// category and agency, a table by province (and by regency when the filter names a province or a
// regency), the SLA league table of provinces, the weekly trend (one snapshot per boundary of
// `weekly`, which may be empty) and the sources (each member's report: node, time, SHA-256).
// `since` may be null (figures over all time). Provinces and regencies are named from the
// official region list (protocol/regions.h).
nlohmann::json NationalFigures(const NationalFilter& filter, const Snapshot& at,
                               const Snapshot* since, const std::vector<Snapshot>& weekly);
// The same, with the weekly trend from the totals of each boundary (time, SumTotals of the
// snapshot there), which the hub keeps summed: the figures are the same.
nlohmann::json NationalFiguresWithTotals(const NationalFilter& filter, const Snapshot& at,
                                         const Snapshot* since,
                                         const std::vector<std::pair<int64_t, Figures>>& weekly);

// The totals of the cells of `snapshot` that match `filter`.
Figures SumTotals(const NationalFilter& filter, const Snapshot& snapshot);

}  // namespace lapor::protocol
