#include "node/national_router.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "crypto/encoding.h"
#include "node/access_policy.h"
#include "node/api_codec.h"
#include "node/csv.h"
#include "node/stats.h"
#include "protocol/lifecycle.h"
#include "protocol/national.h"
#include "protocol/regions.h"

namespace lapor::node {
namespace {

using nlohmann::json;

constexpr int64_t kHourMs = 3600000;
constexpr int64_t kWibOffsetMs = 7 * kHourMs;
constexpr int64_t kEarliestMs = 946684800000;  // 2000-01-01T00:00:00Z
constexpr int kDefaultWeeks = 12;
constexpr int kMaxWeeks = 104;
constexpr size_t kMaxOverdueListed = 500;
constexpr int64_t kOverdueReuseMs = 60000;
constexpr int64_t kOwnReuseMs = 30000;

Status RequireNationalReader(CaseService* service, const Request& req) {
  auto who = ReadCredentials(service, req, "");
  if (!who.ok()) return who.status();
  if (!who->op) return Status::Unauthenticated("an operator token is required");
  if (!MayReadNationalFigures(*who)) {
    return Status::PermissionDenied("the figures are for this node's admins and auditors");
  }
  return Status::Ok();
}

// A date is its 00:00 in Western Indonesian Time (UTC+7), as the weeks and the days of the
// history are; a time is UTC. Not before 2000.
Result<int64_t> TimeParam(const std::string& value, const char* field) {
  auto t = ParseUtc(value);
  if (!t || *t < kEarliestMs) {
    return Status::InvalidArgument(
        "must be a date (YYYY-MM-DD, from 2000) or a UTC time (YYYY-MM-DDThh:mm:ssZ)", field);
  }
  return value.size() == 10 ? *t - kWibOffsetMs : *t;
}

struct StatsQuery {
  protocol::NationalFilter filter;
  int64_t to_ms = 0;
  int64_t from_ms = 0;  // 0: none
  int weeks = kDefaultWeeks;
  std::string format = "json";
};

Result<StatsQuery> ParseStatsQuery(QueryMap& q, int64_t now_ms, bool evidence) {
  StatsQuery out;
  out.to_ms = now_ms;
  if (!q["to"].empty()) {
    auto t = TimeParam(q["to"], "to");
    if (!t.ok()) return t.status();
    if (*t > now_ms) return Status::InvalidArgument("is in the future", "to");
    out.to_ms = *t;
  }
  if (!q["from"].empty()) {
    auto f = TimeParam(q["from"], "from");
    if (!f.ok()) return f.status();
    if (*f >= out.to_ms) return Status::InvalidArgument("must be before to", "from");
    out.from_ms = *f;
  }
  auto& f = out.filter;
  f.province = q["province"];
  if (!f.province.empty()) {
    const protocol::Region* r = protocol::FindRegion(f.province);
    if (r == nullptr || r->code != r->province_code) {
      return Status::InvalidArgument("not a province code (e.g. 32)", "province");
    }
  }
  f.regency = q["regency"];
  if (!f.regency.empty()) {
    const protocol::Region* r = protocol::FindRegion(f.regency);
    if (r == nullptr || r->code == r->province_code) {
      return Status::InvalidArgument("not a regency or city code (e.g. 32.04)", "regency");
    }
    if (!f.province.empty() && r->province_code != f.province) {
      return Status::InvalidArgument("is not in the province asked for", "regency");
    }
  }
  const std::string hidden(protocol::kConfidentialValue);
  f.report_type = q["report_type"];
  if (!f.report_type.empty() && f.report_type != hidden &&
      !protocol::IsValidReportType(f.report_type)) {
    return Status::InvalidArgument("unknown report type", "report_type");
  }
  f.category = q["category"];
  if (f.category != hidden) LAPOR_RETURN_IF_ERROR(CheckAgencyName(f.category, "category"));
  f.agency = q["agency"];
  if (f.agency != hidden) LAPOR_RETURN_IF_ERROR(CheckAgencyName(f.agency, "agency"));
  if (evidence) out.weeks = 0;
  if (!q["weeks"].empty()) {
    uint64_t w = 0;
    if (!ParseDecimal(q["weeks"], &w) || w > kMaxWeeks) {
      return Status::InvalidArgument("must be an integer 0-104", "weeks");
    }
    out.weeks = static_cast<int>(w);
  }
  if (!q["format"].empty()) out.format = q["format"];
  if (out.format != "json" && (evidence || out.format != "csv")) {
    return Status::InvalidArgument(evidence ? "must be json" : "must be json or csv", "format");
  }
  return out;
}

std::string TableCsv(const json& rows) {
  static const std::vector<std::string> kColumns = {"code",
                                                    "name",
                                                    "cases",
                                                    "backlog",
                                                    "overdue",
                                                    "escalated",
                                                    "filed",
                                                    "verified",
                                                    "verified_on_time",
                                                    "verified_on_time_share",
                                                    "responded",
                                                    "responded_on_time",
                                                    "responded_on_time_share",
                                                    "reopened",
                                                    "auto_completed",
                                                    "median_hours_to_verification",
                                                    "median_hours_to_response"};
  std::string out = CsvRow(kColumns);
  for (const auto& row : rows) {
    std::vector<std::string> fields;
    for (const auto& c : kColumns) {
      const json& v = row[c];
      fields.push_back(v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump());
    }
    out += CsvRow(fields);
  }
  return out;
}

// The witnessed checkpoint of a member's log: its origin is "<anything>/<node id>" (the default
// is lapor.go.id/node/<node id>). A member whose log continued after lost events (`lapor-node log
// continue`) has a log under each origin it had: the one cosigned last.
const storage::WitnessedRow* WitnessedOf(const std::vector<storage::WitnessedRow>& rows,
                                         const std::string& node_id) {
  const storage::WitnessedRow* found = nullptr;
  for (const auto& r : rows) {
    if (r.origin.size() > node_id.size() &&
        r.origin.compare(r.origin.size() - node_id.size(), node_id.size(), node_id) == 0 &&
        r.origin[r.origin.size() - node_id.size() - 1] == '/' &&
        (found == nullptr || r.time_ms > found->time_ms)) {
      found = &r;
    }
  }
  return found;
}

json AgeHours(int64_t now_ms, int64_t at_ms) {
  if (at_ms <= 0) return nullptr;
  return std::round(static_cast<double>(now_ms - at_ms) / kHourMs * 10) / 10;
}

}  // namespace

NationalRouter::NationalRouter(CaseService* service, storage::Store* store,
                               const protocol::Directory* directory, StatsService* stats)
    : service_(service), store_(store), directory_(directory), stats_(stats) {}

bool NationalRouter::Handle(const Request& req, const Reply& reply) {
  const std::string& path = req.path;
  if (path == "/api/v1/stats") {
    if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    if (Status s = RequireNationalReader(service_, req); !s.ok()) return Fail(reply, s);
    return OwnStats(req, reply);
  }
  if (path.rfind("/national/", 0) != 0) return false;
  if (service_->node_id() != protocol::kHubNode) {
    return Fail(reply, Status::NotFound("only the national hub serves the national view", "path"));
  }
  const bool stats = path == "/national/v1/stats", evidence = path == "/national/v1/evidence",
             alerts = path == "/national/v1/alerts";
  if (!stats && !evidence && !alerts) return false;
  if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
  if (Status s = RequireNationalReader(service_, req); !s.ok()) return Fail(reply, s);
  return alerts ? Alerts(req, reply) : Stats(req, reply, evidence);
}

bool NationalRouter::Stats(const Request& req, const Reply& reply, bool evidence) {
  auto q = Query(req, {"from", "to", "province", "regency", "report_type", "category", "agency",
                       "weeks", "format"});
  if (!q.ok()) return Fail(reply, q.status());
  auto parsed = ParseStatsQuery(*q, req.now_ms, evidence);
  if (!parsed.ok()) return Fail(reply, parsed.status());
  const StatsQuery& sq = *parsed;
  auto at = stats_->SnapshotAt(sq.to_ms);
  if (!at.ok()) return Fail(reply, at.status());
  std::optional<protocol::Snapshot> since;
  if (sq.from_ms > 0) {
    auto s = stats_->SnapshotAt(sq.from_ms);
    if (!s.ok()) return Fail(reply, s.status());
    since = std::move(*s);
  }
  // The weekly trend: the evidence holds every boundary's reports; the figures need only each
  // boundary's totals, which the hub keeps once a boundary is settled.
  std::vector<protocol::Snapshot> weekly;
  std::vector<std::pair<int64_t, protocol::Figures>> weekly_totals;
  for (int64_t t : protocol::WeekBoundaries(sq.to_ms, sq.weeks)) {
    if (evidence) {
      auto s = stats_->SnapshotAt(t);
      if (!s.ok()) return Fail(reply, s.status());
      weekly_totals.emplace_back(t, protocol::SumTotals(sq.filter, *s));
      weekly.push_back(std::move(*s));
    } else if (t == sq.to_ms) {
      weekly_totals.emplace_back(t, protocol::SumTotals(sq.filter, *at));  // the same snapshot
    } else {
      auto totals = stats_->TotalsAt(t, sq.filter, req.now_ms);
      if (!totals.ok()) return Fail(reply, totals.status());
      weekly_totals.emplace_back(t, *totals);
    }
  }
  json figures =
      protocol::NationalFiguresWithTotals(sq.filter, *at, since ? &*since : nullptr, weekly_totals);
  if (!evidence) {
    if (sq.format == "csv") {
      const bool by_regency = !sq.filter.province.empty() || !sq.filter.regency.empty();
      reply(RawResponse(200, TableCsv(figures[by_regency ? "regencies" : "provinces"]),
                        kCsvContentType, "no-store"));
      return true;
    }
    return Send(reply, 200, figures);
  }
  // The evidence: the figures, the query that made them, and every signed report they were
  // summed from, with the manifest that names the members' keys.
  json snapshots = json::array();
  auto add = [&](const char* role, const protocol::Snapshot& s) -> Status {
    auto envelopes = stats_->Envelopes(s);
    if (!envelopes.ok()) return envelopes.status();
    json list = json::array();
    for (const auto& e : *envelopes) list.push_back(crypto::Base64Encode(e));
    snapshots.push_back({{"role", role}, {"at", FormatUtc(s.at_ms)}, {"reports", list}});
    return Status::Ok();
  };
  if (Status s = add("at", *at); !s.ok()) return Fail(reply, s);
  if (since) {
    if (Status s = add("since", *since); !s.ok()) return Fail(reply, s);
  }
  for (const auto& w : weekly) {
    if (Status s = add("week", w); !s.ok()) return Fail(reply, s);
  }
  auto manifest = store_->GetMeta(storage::kManifestMetaKey);
  if (!manifest.ok()) return Fail(reply, manifest.status());
  json query = figures["filter"];
  query["to"] = FormatUtc(sq.to_ms);
  query["from"] = sq.from_ms > 0 ? json(FormatUtc(sq.from_ms)) : json(nullptr);
  query["weeks"] = sq.weeks;
  return Send(reply, 200,
              {{"format", "lapor-national-evidence-v1"},
               {"query", query},
               {"figures", figures},
               {"snapshots", snapshots},
               {"manifest",
                manifest->has_value() ? json(crypto::Base64Encode(**manifest)) : json(nullptr)}});
}

bool NationalRouter::OwnStats(const Request& req, const Reply& reply) {
  auto q = Query(req, {"province", "regency", "report_type", "category", "agency"});
  if (!q.ok()) return Fail(reply, q.status());
  auto parsed = ParseStatsQuery(*q, req.now_ms, false);
  if (!parsed.ok()) return Fail(reply, parsed.status());
  std::shared_ptr<const v1::StatsReport> report;
  {
    MutexLock lock(mu_);
    if (own_ && req.now_ms - own_at_ms_ < kOwnReuseMs) report = own_;
  }
  if (!report) {
    auto built = BuildStats(store_, service_->node_id(), req.now_ms);
    if (!built.ok()) return Fail(reply, built.status());
    report = std::make_shared<const v1::StatsReport>(std::move(*built));
    MutexLock lock(mu_);
    own_ = report;
    own_at_ms_ = req.now_ms;
  }
  protocol::Snapshot snapshot;
  snapshot.at_ms = report->time_ms();
  snapshot.reports.push_back({service_->node_id(), report->time_ms(),
                              crypto::HexEncode(crypto::Sha256(report->SerializeAsString())),
                              report});
  json figures = protocol::NationalFigures(parsed->filter, snapshot, nullptr, {});
  figures["node_id"] = service_->node_id();
  return Send(reply, 200, figures);
}

Result<std::vector<v1::CaseState>> NationalRouter::OverdueCases(int64_t now_ms) {
  {
    MutexLock lock(mu_);
    if (overdue_at_ms_ >= 0 && now_ms - overdue_at_ms_ < kOverdueReuseMs) return overdue_;
  }
  std::vector<v1::CaseState> found;
  LAPOR_RETURN_IF_ERROR(store_->ScanCases([&](const v1::CaseState& s) {
    if (s.due_ms() > 0 && s.due_ms() < now_ms) {
      found.push_back(s);
    }
    return true;
  }));
  std::sort(found.begin(), found.end(),
            [](const v1::CaseState& a, const v1::CaseState& b) { return a.due_ms() < b.due_ms(); });
  MutexLock lock(mu_);
  overdue_ = found;
  overdue_at_ms_ = now_ms;
  return found;
}

bool NationalRouter::Alerts(const Request& req, const Reply& reply) {
  auto q = Query(req, {"silent_hours"});
  if (!q.ok()) return Fail(reply, q.status());
  uint64_t silent_hours = 2;
  if (!(*q)["silent_hours"].empty() && (!ParseDecimal((*q)["silent_hours"], &silent_hours) ||
                                        silent_hours < 1 || silent_hours > 8760)) {
    return Fail(reply, Status::InvalidArgument("must be an integer 1-8760", "silent_hours"));
  }
  const int64_t now = req.now_ms;
  const int64_t silent_before = now - static_cast<int64_t>(silent_hours) * kHourMs;
  auto manifest = directory_ != nullptr ? directory_->Get() : nullptr;
  auto witnessed = store_->ListWitnessed();
  if (!witnessed.ok()) return Fail(reply, witnessed.status());
  auto deliveries = store_->Deliveries();
  if (!deliveries.ok()) return Fail(reply, deliveries.status());

  json members = json::array();
  json silent = json::array();
  if (manifest) {
    for (const auto& m : manifest->members()) {
      if (m.node_id() == protocol::kHubNode) continue;
      auto report = store_->StatsReportAt(m.node_id(), INT64_MAX);
      if (!report.ok()) return Fail(reply, report.status());
      const int64_t reported = report->has_value() ? (*report)->time_ms : 0;
      const storage::WitnessedRow* w = WitnessedOf(*witnessed, m.node_id());
      const int64_t cosigned = w != nullptr ? w->time_ms : 0;
      const storage::DeliveryRow* d = nullptr;
      for (const auto& row : *deliveries) {
        if (row.destination == m.node_id()) d = &row;
      }
      json reasons = json::array();
      if (reported < silent_before) reasons.push_back("no_report");
      if (cosigned < silent_before) reasons.push_back("no_checkpoint_witnessed");
      json row = {{"node_id", m.node_id()},
                  {"last_report", TimeOrNull(reported)},
                  {"last_report_age_hours", AgeHours(now, reported)},
                  {"last_witnessed", TimeOrNull(cosigned)},
                  {"last_witnessed_age_hours", AgeHours(now, cosigned)},
                  {"checkpoint_size", w != nullptr ? json(w->size) : json(nullptr)},
                  {"delivery_backlog", d != nullptr ? d->backlog : 0},
                  {"delivery_failing_since", TimeOrNull(d != nullptr ? d->failing_since_ms : 0)},
                  {"dead_letters", d != nullptr ? d->dead_letters : 0}};
      members.push_back(row);
      if (!reasons.empty()) {
        row["reasons"] = reasons;
        silent.push_back(row);
      }
    }
  }

  auto overdue = OverdueCases(now);
  if (!overdue.ok()) return Fail(reply, overdue.status());
  json cases = json::array();
  auto who = ReadCredentials(service_, req, "");
  if (!who.ok()) return Fail(reply, who.status());
  for (const auto& s : *overdue) {
    if (cases.size() >= kMaxOverdueListed) break;
    // Its owner is a node id, content for a confidential case: as the case view shows it to
    // this caller (the one who-sees-what decision); its existence, status and dates are public.
    const CaseAccess access =
        DecideAccess(s, AudienceFor(s, *who, /*holds_access_code=*/false, service_->node_id()));
    cases.push_back({{"tracking_id", s.case_id()},
                     {"status", s.status()},
                     {"due_kind", s.due_kind()},
                     {"due_at", FormatUtc(s.due_ms())},
                     {"overdue_hours", AgeHours(now, s.due_ms())},
                     {"escalated", s.escalated()},
                     {"owner_node", access.content ? json(s.owner_node()) : json(nullptr)}});
  }

  // Every alert counted (at most kMaxAlertsPerOrigin of a kind per member), the 20 newest shown.
  std::map<std::string, int64_t> by_kind;
  std::vector<storage::AlertRow> newest;
  int64_t alert_count = 0;
  for (int64_t after = 0;;) {
    auto page = store_->Alerts(after, 1000);
    if (!page.ok()) return Fail(reply, page.status());
    for (auto& a : *page) {
      ++by_kind[a.kind];
      ++alert_count;
      after = a.id;
      newest.push_back(std::move(a));
      if (newest.size() > 20) newest.erase(newest.begin());
    }
    if (page->size() < 1000) break;
  }
  json latest = json::array();
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
    latest.push_back({{"id", it->id},
                      {"origin", it->origin},
                      {"kind", it->kind},
                      {"detail", it->detail},
                      {"time", FormatUtc(it->time_ms)}});
  }
  return Send(
      reply, 200,
      {{"as_of", FormatUtc(now)},
       {"silent_hours", silent_hours},
       {"silent_members", silent},
       {"members", members},
       {"overdue_cases", {{"count", overdue->size()}, {"items", cases}}},
       {"federation_alerts", {{"count", alert_count}, {"by_kind", by_kind}, {"latest", latest}}}});
}

}  // namespace lapor::node
