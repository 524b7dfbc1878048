#include "node/operator_router.h"

#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "crypto/encoding.h"
#include "node/api_codec.h"
#include "node/citizen_router.h"
#include "node/csv.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"

namespace lapor::node {

using nlohmann::json;

bool OperatorRouter::Handle(const Request& req, const Reply& reply) {
  const auto& segments = req.segments;
  const std::string& m = req.method;
  if (segments.size() == 3 && segments[0] == "api" && segments[1] == "v1" &&
      segments[2] == "access-log") {
    if (m != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    return AccessLog(req, "", reply);
  }
  if (segments.size() == 3 && segments[0] == "api" && segments[1] == "v1" &&
      segments[2] == "search") {
    if (m != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    return Search(req, reply);
  }
  if (!IsComplaintsPath(req)) return false;
  if (segments.size() == 3) {
    if (m == "GET") return List(req, reply);
    if (m == "POST") return false;  // a new complaint: the citizen's route
    return Fail(reply, Status::MethodNotAllowed("use GET or POST"));
  }
  const std::string& case_id = req.decoded_segments[3];
  if (segments.size() == 5 && segments[4] == "events" && m == "GET") {
    return Events(req, case_id, reply);
  }
  if (segments.size() == 5 && segments[4] == "access-log" && m == "GET") {
    return AccessLog(req, case_id, reply);
  }
  if (segments.size() == 5 && segments[4] == "actions" && m == "POST") {
    return Act(req, case_id, reply);
  }
  return false;
}

namespace {

// The list's filters and paging (status, report_type, category, region_code, agency, overdue,
// limit, cursor) from the query; the error names the parameter.
Status ParseCaseFilter(QueryMap& qs, storage::CaseFilter* filter) {
  filter->status = qs["status"];
  if (!filter->status.empty() && !protocol::IsValidStatus(filter->status)) {
    return Status::InvalidArgument("unknown status", "status");
  }
  filter->report_type = qs["report_type"];
  if (!filter->report_type.empty() && !protocol::IsValidReportType(filter->report_type)) {
    return Status::InvalidArgument("unknown report type", "report_type");
  }
  filter->category = qs["category"];
  filter->region_code = qs["region_code"];
  filter->agency = qs["agency"];
  if (!qs["overdue"].empty()) {
    if (qs["overdue"] != "true" && qs["overdue"] != "false") {
      return Status::InvalidArgument("must be true or false", "overdue");
    }
    filter->overdue = qs["overdue"] == "true";
  }
  if (!qs["limit"].empty()) {
    uint64_t limit = 0;
    if (!ParseDecimal(qs["limit"], &limit) || limit < 1 || limit > 500) {
      return Status::InvalidArgument("must be an integer 1-500", "limit");
    }
    filter->limit = static_cast<int>(limit);
  }
  if (qs["sort"] == "deadline") {
    filter->by_deadline = true;
  } else if (!qs["sort"].empty() && qs["sort"] != "newest") {
    return Status::InvalidArgument("must be newest or deadline", "sort");
  }
  if (!qs["cursor"].empty()) {
    // Newest first: the last case's ref. Deadline order: "<deadline key>.<ref>" of the last case.
    const std::string& c = qs["cursor"];
    const size_t dot = c.find('.');
    uint64_t due = 0, ref = 0;
    const bool ok = filter->by_deadline
                        ? dot != std::string::npos && ParseDecimal(c.substr(0, dot), &due) &&
                              ParseDecimal(c.substr(dot + 1), &ref) &&
                              due <= static_cast<uint64_t>(INT64_MAX)
                        : dot == std::string::npos && ParseDecimal(c, &ref) && ref > 0;
    if (!ok || ref > static_cast<uint64_t>(INT64_MAX)) {
      return Status::InvalidArgument("not a cursor from next_cursor (of this sort)", "cursor");
    }
    filter->before_ref = ref;
    filter->by_deadline_after = filter->by_deadline;
    filter->after_due = static_cast<int64_t>(due);
    filter->after_ref = ref;
  }
  return Status::Ok();
}

// The cursor of the page after `items` (a full page, in the filter's order), or nullopt at the
// end.
std::optional<std::string> NextCursor(const CaseService& service,
                                      const std::vector<ListedCase>& items,
                                      storage::CaseFilter filter) {
  if (static_cast<int>(items.size()) != filter.limit || items.empty() ||
      !service.ContinueAfter(items.back().state, &filter)) {
    return std::nullopt;
  }
  return filter.by_deadline
             ? std::to_string(filter.after_due) + "." + std::to_string(filter.after_ref)
             : std::to_string(filter.before_ref);
}

json ItemsJson(const std::vector<ListedCase>& items, int64_t now_ms) {
  json arr = json::array();
  for (const auto& c : items) arr.push_back(StateJson(c.state, now_ms, c.access));
  return arr;
}

// The CSV export's columns: fields of a listed case as StateJson shows it to the caller.
constexpr const char* kCsvColumns[] = {"tracking_id", "status",     "report_type", "category",
                                       "region_code", "agency",     "title",       "confidential",
                                       "created_at",  "updated_at", "due_at",      "due_kind",
                                       "overdue",     "escalated",  "owner_node"};

std::string ItemsCsv(const std::vector<ListedCase>& items, int64_t now_ms) {
  std::vector<std::string> header(std::begin(kCsvColumns), std::end(kCsvColumns));
  std::string out = CsvRow(header);
  for (const auto& c : items) {
    const json j = StateJson(c.state, now_ms, c.access);
    std::vector<std::string> row;
    for (const char* col : kCsvColumns) {
      const json& v = j.at(col);
      row.push_back(v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump());
    }
    out += CsvRow(row);
  }
  return out;
}

}  // namespace

bool OperatorRouter::List(const Request& req, const Reply& reply) {
  auto q = Query(req, {"status", "report_type", "category", "region_code", "agency", "overdue",
                       "limit", "cursor", "sort"});
  if (!q.ok()) return Fail(reply, q.status());
  storage::CaseFilter filter;
  if (Status s = ParseCaseFilter(*q, &filter); !s.ok()) return Fail(reply, s);
  auto who = ReadCredentials(service_, req, "");
  if (!who.ok()) return Fail(reply, who.status());
  auto items = service_->List(filter, *who);
  if (!items.ok()) return Fail(reply, items.status());
  auto next = NextCursor(*service_, *items, filter);
  return Send(reply, 200,
              {{"items", ItemsJson(*items, req.now_ms)},
               {"next_cursor", next ? json(*next) : json(nullptr)}});
}

bool OperatorRouter::Search(const Request& req, const Reply& reply) {
  auto q = Query(req, {"q", "status", "report_type", "category", "region_code", "agency", "overdue",
                       "limit", "cursor", "sort", "format"});
  if (!q.ok()) return Fail(reply, q.status());
  storage::CaseFilter filter;
  if (Status s = ParseCaseFilter(*q, &filter); !s.ok()) return Fail(reply, s);
  const std::string format = (*q)["format"].empty() ? "json" : (*q)["format"];
  if (format != "json" && format != "csv") {
    return Fail(reply, Status::InvalidArgument("must be json or csv", "format"));
  }
  auto who = ReadCredentials(service_, req, "");
  if (!who.ok()) return Fail(reply, who.status());
  auto items = service_->Search((*q)["q"], filter, *who);
  if (!items.ok()) return Fail(reply, items.status());
  auto next = NextCursor(*service_, *items, filter);
  if (format == "json") {
    return Send(reply, 200,
                {{"items", ItemsJson(*items, req.now_ms)},
                 {"next_cursor", next ? json(*next) : json(nullptr)}});
  }
  Response r = RawResponse(200, ItemsCsv(*items, req.now_ms), kCsvContentType, "no-store");
  // The next page's cursor, as next_cursor in JSON (absent on the last page).
  if (next) r.headers.emplace_back("X-Next-Cursor", *next);
  reply(std::move(r));
  return true;
}

bool OperatorRouter::Act(const Request& req, const std::string& case_id, const Reply& reply) {
  auto q = Query(req, {"access_code"});
  if (!q.ok()) return Fail(reply, q.status());
  auto body = ParseJson(req, max_body_bytes_);
  if (!body.ok()) return Fail(reply, body.status());
  ActionRequest ar;
  std::string access_code = (*q)["access_code"];
  Status s = ParseAction(*body, &ar, &access_code);
  if (!s.ok()) return Fail(reply, s);
  auto who = ReadCredentials(service_, req, access_code);
  if (!who.ok()) return Fail(reply, who.status());
  service_->Act(
      case_id, ar, *who,
      [service = service_, on_pool = on_pool_, reply, now = req.now_ms,
       who = *who](Result<v1::CaseState> state) {
        on_pool([service, reply, now, who, state = std::move(state)] {
          if (!state.ok()) return reply(ErrorResponse(state.status()));
          reply(JsonResponse(200, StateJson(*state, now, service->ActionReplyAccess(*state, who))));
        });
      });
  return true;
}

bool OperatorRouter::Events(const Request& req, const std::string& case_id, const Reply& reply) {
  auto who = CallerOf(service_, req);
  if (!who.ok()) return Fail(reply, who.status());
  auto events = service_->Events(case_id, *who);
  if (!events.ok()) return Fail(reply, events.status());
  json arr = json::array();
  for (const auto& e : *events) {
    arr.push_back({{"seq", e.seq},
                   {"hash", crypto::HexEncode(e.hash)},
                   {"envelope", crypto::Base64Encode(e.envelope)}});
  }
  return Send(reply, 200,
              {{"tracking_id", case_id},
               {"payload_type", std::string(protocol::kEventPayloadType)},
               {"events", arr}});
}

bool OperatorRouter::AccessLog(const Request& req, const std::string& case_id, const Reply& reply) {
  auto q = Query(req, {"after", "limit", "access_code"});
  if (!q.ok()) return Fail(reply, q.status());
  uint64_t after = 0, limit = 0;
  if (Status s = QueryPage(*q, &after, &limit); !s.ok()) return Fail(reply, s);
  auto who = ReadCredentials(service_, req, (*q)["access_code"]);
  if (!who.ok()) return Fail(reply, who.status());
  auto page =
      service_->AccessLog(case_id, *who, static_cast<int64_t>(after), static_cast<int>(limit));
  if (!page.ok()) return Fail(reply, page.status());
  const auto& records = page->records;
  json items = json::array();
  for (const auto& r : records) {
    json fields = json::array();
    for (size_t at = 0; at < r.fields.size();) {
      size_t comma = r.fields.find(',', at);
      if (comma == std::string::npos) comma = r.fields.size();
      fields.push_back(r.fields.substr(at, comma - at));
      at = comma + 1;
    }
    json item = {{"id", r.id},
                 {"at", FormatTime(r.time_ms)},
                 {"role", r.role},
                 {"tracking_id", r.case_id},
                 {"fields", fields}};
    if (page->operator_ids) item["operator_id"] = r.operator_id;  // not for the reporter
    items.push_back(std::move(item));
  }
  json next = records.size() == limit ? json(std::to_string(records.back().id)) : json(nullptr);
  return Send(reply, 200, {{"items", items}, {"next_after", next}});
}

}  // namespace lapor::node
