#include "protocol/national.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "base/clock.h"
#include "protocol/regions.h"

namespace lapor::protocol {
namespace {

using nlohmann::json;
using Cell = v1::StatsReport::Cell;
using Histogram = std::array<int64_t, kDurationBuckets>;

constexpr int64_t kHourMs = 3600000;
constexpr int64_t kWeekMs = 7 * 24 * kHourMs;
constexpr int64_t kWibOffsetMs = 7 * kHourMs;

// The median of a histogram in hours, by linear interpolation inside its bucket (the open last
// bucket answers its lower bound); null when it counts nothing.
json MedianHours(const Histogram& h) {
  int64_t total = 0;
  for (int64_t n : h) total += std::max<int64_t>(n, 0);
  if (total == 0) return nullptr;
  const double half = static_cast<double>(total) / 2;
  double below = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    const double n = static_cast<double>(std::max<int64_t>(h[i], 0));
    if (below + n >= half && n > 0) {
      const double lo = i == 0 ? 0 : static_cast<double>(kDurationBoundsHours[i - 1]);
      if (i == kDurationBoundsHours.size()) return lo;
      const double hi = static_cast<double>(kDurationBoundsHours[i]);
      return std::round((lo + (hi - lo) * (half - below) / n) * 10) / 10;
    }
    below += n;
  }
  return nullptr;
}

json Share(int64_t part, int64_t whole) {
  if (whole <= 0) return nullptr;
  return std::round(static_cast<double>(part) / static_cast<double>(whole) * 10000) / 10000;
}

// The figures at `at`, with the flows since `since` (a null since: over all time).
json FiguresJson(const Figures& at, const Figures* since) {
  Figures d = at;
  if (since != nullptr) {
    d.verified -= since->verified;
    d.verified_on_time -= since->verified_on_time;
    d.responded -= since->responded;
    d.responded_on_time -= since->responded_on_time;
    d.reopened -= since->reopened;
    d.auto_completed -= since->auto_completed;
    for (size_t i = 0; i < kDurationBuckets; ++i) {
      d.to_verification[i] -= since->to_verification[i];
      d.to_response[i] -= since->to_response[i];
    }
  }
  return json{
      {"cases", at.cases},
      {"backlog", at.backlog},
      {"overdue", at.overdue},
      {"escalated", at.escalated},
      {"filed", since != nullptr ? at.cases - since->cases : at.cases},
      {"verified", d.verified},
      {"verified_on_time", d.verified_on_time},
      {"verified_on_time_share", Share(d.verified_on_time, d.verified)},
      {"responded", d.responded},
      {"responded_on_time", d.responded_on_time},
      {"responded_on_time_share", Share(d.responded_on_time, d.responded)},
      {"reopened", d.reopened},
      {"auto_completed", d.auto_completed},
      {"median_hours_to_verification", MedianHours(d.to_verification)},
      {"median_hours_to_response", MedianHours(d.to_response)},
  };
}

bool Matches(const NationalFilter& f, const v1::StatsReport& r, const Cell& c) {
  if (!f.report_type.empty() && c.report_type() != f.report_type) return false;
  if (!f.category.empty() && c.category() != f.category) return false;
  if (!f.agency.empty() && c.agency() != f.agency) return false;
  if (!f.province.empty() && CellProvince(r, c) != f.province) return false;
  if (!f.regency.empty() && CellRegency(r, c) != f.regency) return false;
  return true;
}

// One snapshot summed: totals, by dimension, by province and by regency.
struct Summed {
  Figures total;
  std::map<std::string, std::map<std::string, int64_t>> by;  // dimension -> value -> cases
  std::map<std::string, Figures> provinces, regencies;
};

Summed Sum(const NationalFilter& f, const Snapshot& s, bool detail) {
  Summed out;
  for (const auto& src : s.reports) {
    const v1::StatsReport& r = *src.report;
    for (const auto& c : r.cells()) {
      if (!Matches(f, r, c)) continue;
      out.total.Add(c);
      if (!detail) continue;
      const auto n = static_cast<int64_t>(c.cases());
      for (int i = 0; i < c.statuses_size() && i < static_cast<int>(kReportStatuses.size()); ++i) {
        if (c.statuses(i) > 0) {
          out.by["status"][std::string(kReportStatuses[i])] += static_cast<int64_t>(c.statuses(i));
        }
      }
      out.by["report_type"][c.report_type()] += n;
      out.by["category"][c.category()] += n;
      out.by["agency"][c.agency()] += n;
      out.provinces[CellProvince(r, c)].Add(c);
      out.regencies[CellRegency(r, c)].Add(c);
    }
  }
  return out;
}

json Sources(const Snapshot& s) {
  json out = json::array();
  for (const auto& src : s.reports) {
    out.push_back(
        {{"node_id", src.node_id}, {"time", FormatUtc(src.time_ms)}, {"sha256", src.sha256_hex}});
  }
  return out;
}

}  // namespace

void Figures::Add(const Cell& c) {
  const auto n = static_cast<int64_t>(c.cases());
  cases += n;
  backlog += n;
  for (int i = 0; i < c.statuses_size() && i < static_cast<int>(kReportStatuses.size()); ++i) {
    // Done and archived cases are not waiting for anyone.
    if (kReportStatuses[i] == "selesai" || kReportStatuses[i] == "arsip") {
      backlog -= static_cast<int64_t>(c.statuses(i));
    }
  }
  overdue += static_cast<int64_t>(c.overdue());
  escalated += static_cast<int64_t>(c.escalated());
  verified += static_cast<int64_t>(c.verified());
  verified_on_time += static_cast<int64_t>(c.verified_on_time());
  responded += static_cast<int64_t>(c.responded());
  responded_on_time += static_cast<int64_t>(c.responded_on_time());
  reopened += static_cast<int64_t>(c.reopened());
  auto_completed += static_cast<int64_t>(c.auto_completed());
  for (int i = 0; i < c.to_verification_size() && i < int{kDurationBuckets}; ++i) {
    to_verification[i] += static_cast<int64_t>(c.to_verification(i));
  }
  for (int i = 0; i < c.to_response_size() && i < int{kDurationBuckets}; ++i) {
    to_response[i] += static_cast<int64_t>(c.to_response(i));
  }
}

Figures SumTotals(const NationalFilter& filter, const Snapshot& snapshot) {
  return Sum(filter, snapshot, false).total;
}

size_t ReportStatusIndex(std::string_view status) {
  for (size_t i = 0; i < kReportStatuses.size(); ++i) {
    if (kReportStatuses[i] == status) return i;
  }
  return kReportStatuses.size();
}

size_t DurationBucket(int64_t ms) {
  for (size_t i = 0; i < kDurationBoundsHours.size(); ++i) {
    if (ms <= kDurationBoundsHours[i] * kHourMs) return i;
  }
  return kDurationBoundsHours.size();
}

std::string CellProvince(const v1::StatsReport& report, const Cell& cell) {
  const std::string& where = cell.region_code() == kConfidentialValue || cell.region_code().empty()
                                 ? report.node_id()
                                 : cell.region_code();
  return where.substr(0, where.find('.'));
}

std::string CellRegency(const v1::StatsReport& report, const Cell& cell) {
  return cell.region_code() == kConfidentialValue || cell.region_code().empty()
             ? report.node_id()
             : cell.region_code();
}

std::vector<int64_t> WeekBoundaries(int64_t to_ms, int weeks) {
  std::vector<int64_t> out;
  if (weeks <= 0) return out;
  // 1970-01-01 was a Thursday: Mondays 00:00 WIB are 4 days (minus the offset) past a multiple
  // of a week.
  const int64_t monday0 = 4 * 24 * kHourMs - kWibOffsetMs;
  int64_t b = to_ms - 1 - ((to_ms - 1 - monday0) % kWeekMs + kWeekMs) % kWeekMs;
  out.resize(static_cast<size_t>(weeks) + 1);
  out.back() = to_ms;
  for (int i = weeks - 1; i >= 0; --i, b -= kWeekMs) out[static_cast<size_t>(i)] = b;
  return out;
}

json NationalFigures(const NationalFilter& filter, const Snapshot& at, const Snapshot* since,
                     const std::vector<Snapshot>& weekly) {
  std::vector<std::pair<int64_t, Figures>> totals;
  for (const auto& w : weekly) totals.emplace_back(w.at_ms, SumTotals(filter, w));
  return NationalFiguresWithTotals(filter, at, since, totals);
}

json NationalFiguresWithTotals(const NationalFilter& filter, const Snapshot& at,
                               const Snapshot* since,
                               const std::vector<std::pair<int64_t, Figures>>& weekly) {
  auto province_name = [](const std::string& code) -> json {
    const Region* r = FindRegion(code);
    return r != nullptr ? json(r->name) : json(nullptr);
  };
  const Summed now = Sum(filter, at, true);
  std::optional<Summed> before;
  if (since != nullptr) before = Sum(filter, *since, true);
  auto figures_of = [&](const std::map<std::string, Figures>& table_now,
                        const std::map<std::string, Figures>* table_before,
                        const std::string& code) {
    const Figures* b = nullptr;
    if (table_before != nullptr) {
      auto it = table_before->find(code);
      static const Figures kNone;
      b = it != table_before->end() ? &it->second : &kNone;
    }
    return FiguresJson(table_now.at(code), b);
  };

  // A table's rows: each region's figures with its code and name.
  auto rows_of = [&](const std::map<std::string, Figures>& table_now,
                     const std::map<std::string, Figures>* table_before) {
    json rows = json::array();
    for (const auto& entry : table_now) {
      json row = figures_of(table_now, table_before, entry.first);
      row["code"] = entry.first;
      row["name"] = province_name(entry.first);
      rows.push_back(row);
    }
    return rows;
  };
  const json provinces = rows_of(now.provinces, before ? &before->provinces : nullptr);
  json league = json::array();
  for (const auto& row : provinces) {
    league.push_back({{"code", row["code"]},
                      {"name", row["name"]},
                      {"verified", row["verified"]},
                      {"verified_on_time_share", row["verified_on_time_share"]},
                      {"responded", row["responded"]},
                      {"responded_on_time_share", row["responded_on_time_share"]}});
  }
  // Best compliance first: by the verification share, then the response share (a province with
  // nothing verified yet last), then by code.
  auto key = [](const json& v) { return v.is_null() ? -1.0 : v.get<double>(); };
  std::stable_sort(league.begin(), league.end(), [&](const json& a, const json& b) {
    const double va = key(a["verified_on_time_share"]), vb = key(b["verified_on_time_share"]);
    if (va != vb) return va > vb;
    return key(a["responded_on_time_share"]) > key(b["responded_on_time_share"]);
  });
  for (size_t i = 0; i < league.size(); ++i) league[i]["rank"] = i + 1;

  json out = {
      {"as_of", FormatUtc(at.at_ms)},
      {"since", since != nullptr ? json(FormatUtc(since->at_ms)) : json(nullptr)},
      {"members_reporting", at.reports.size()},
      {"totals", FiguresJson(now.total, before ? &before->total : nullptr)},
      {"by_status", now.by.count("status") ? json(now.by.at("status")) : json::object()},
      {"by_report_type",
       now.by.count("report_type") ? json(now.by.at("report_type")) : json::object()},
      {"by_category", now.by.count("category") ? json(now.by.at("category")) : json::object()},
      {"by_agency", now.by.count("agency") ? json(now.by.at("agency")) : json::object()},
      {"provinces", provinces},
      {"league", league},
  };
  json filter_json = json::object();
  for (const auto& [k, v] :
       {std::pair<const char*, const std::string*>{"province", &filter.province},
        {"regency", &filter.regency},
        {"report_type", &filter.report_type},
        {"category", &filter.category},
        {"agency", &filter.agency}}) {
    if (!v->empty()) filter_json[k] = *v;
  }
  out["filter"] = filter_json;
  if (!filter.province.empty() || !filter.regency.empty()) {
    out["regencies"] = rows_of(now.regencies, before ? &before->regencies : nullptr);
  }
  json weeks = json::array();
  for (size_t i = 1; i < weekly.size(); ++i) {
    json w = FiguresJson(weekly[i].second, &weekly[i - 1].second);
    w["week_start"] = FormatUtc(weekly[i - 1].first);
    w["week_end"] = FormatUtc(weekly[i].first);
    weeks.push_back(w);
  }
  out["weekly"] = weeks;
  out["sources"] = Sources(at);
  if (since != nullptr) out["sources_since"] = Sources(*since);
  return out;
}

}  // namespace lapor::protocol
