#include "audit/national.h"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "base/clock.h"
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "protocol/envelope.h"
#include "protocol/manifest.h"
#include "protocol/national.h"

namespace lapor::audit {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

Result<NationalCheck> Check(const std::string& evidence_json, const std::string& hub_key_hex);

}  // namespace

Result<NationalCheck> CheckNationalEvidence(const std::string& evidence_json,
                                            const std::string& hub_key_hex) {
  try {
    return Check(evidence_json, hub_key_hex);
  } catch (const nlohmann::json::exception& e) {
    // A value of the wrong type somewhere: not evidence the hub serves.
    return Status::InvalidArgument(std::string("malformed evidence: ") + e.what(), "format");
  }
}

}  // namespace lapor::audit

namespace lapor::audit {
namespace {

Result<NationalCheck> Check(const std::string& evidence_json, const std::string& hub_key_hex) {
  auto hub_key = crypto::HexDecode(hub_key_hex);
  if (!hub_key || hub_key->size() != crypto::kPublicKeySize) {
    return Status::InvalidArgument("the hub key must be 64 hex characters", "--hub-key");
  }
  json ev = json::parse(evidence_json, nullptr, false);
  if (ev.is_discarded() || !ev.is_object() || Str(ev, "format") != "lapor-national-evidence-v1") {
    return Status::InvalidArgument("not national evidence (format lapor-national-evidence-v1)",
                                   "format");
  }
  if (!ev.contains("query") || !ev["query"].is_object() || !ev.contains("figures") ||
      !ev.contains("snapshots") || !ev["snapshots"].is_array()) {
    return Status::InvalidArgument("the evidence lacks its query, figures or snapshots", "query");
  }
  NationalCheck out;
  auto manifest_bytes = crypto::Base64Decode(Str(ev, "manifest"));
  if (!manifest_bytes) return Status::InvalidArgument("the manifest is not base64", "manifest");
  auto manifest = protocol::OpenManifest(*manifest_bytes, *hub_key);
  if (!manifest.ok()) {
    out.problems.push_back("manifest: " + manifest.status().message());
    return out;
  }

  const json& q = ev["query"];
  protocol::NationalFilter filter{Str(q, "province"), Str(q, "regency"), Str(q, "report_type"),
                                  Str(q, "category"), Str(q, "agency")};
  const auto to_ms = ParseUtc(Str(q, "to"));
  if (!to_ms) return Status::InvalidArgument("the query's to is not a time", "query.to");
  std::optional<int64_t> from_ms;
  if (q.contains("from") && !q["from"].is_null()) {
    from_ms = ParseUtc(Str(q, "from"));
    if (!from_ms) return Status::InvalidArgument("the query's from is not a time", "query.from");
  }
  if (!q.contains("weeks") || !q["weeks"].is_number_integer() || q["weeks"].get<int64_t>() < 0 ||
      q["weeks"].get<int64_t>() > 104) {
    return Status::InvalidArgument("the query's weeks is not 0-104", "query.weeks");
  }
  const int weeks = q["weeks"].get<int>();
  const std::vector<int64_t> week_bounds = protocol::WeekBoundaries(*to_ms, weeks);

  std::optional<protocol::Snapshot> at, since;
  std::vector<protocol::Snapshot> weekly;
  for (const auto& snap : ev["snapshots"]) {
    ++out.snapshots;
    const std::string role = Str(snap, "role");
    const auto snap_at = ParseUtc(Str(snap, "at"));
    const std::string where = role + " snapshot " + Str(snap, "at");
    if (!snap_at || !snap.contains("reports") || !snap["reports"].is_array()) {
      out.problems.push_back(where + ": malformed");
      continue;
    }
    protocol::Snapshot s;
    s.at_ms = *snap_at;
    std::set<std::string> seen;
    for (const auto& b64 : snap["reports"]) {
      auto bytes = crypto::Base64Decode(b64.is_string() ? b64.get<std::string>() : "");
      v1::Envelope env;
      auto report = std::make_shared<v1::StatsReport>();
      if (!bytes || !env.ParseFromString(*bytes) || !report->ParseFromString(env.payload())) {
        out.problems.push_back(where + ": a report does not parse");
        continue;
      }
      const std::string at_report =
          where + ": report of " + report->node_id() + " dated " + FormatUtc(report->time_ms());
      const v1::Member* member = protocol::FindMember(*manifest, report->node_id());
      if (report->node_id() == "00") {
        // The hub sends no report: one under its id is the hub's own making.
        out.problems.push_back(at_report + ": the hub reports no figures of its own");
        continue;
      }
      if (member == nullptr) {
        out.problems.push_back(at_report + ": not a member of the manifest");
        continue;
      }
      bool signed_ok = false;
      for (const auto& key : member->keys()) {
        if (!protocol::KeyValidAt(*member, key.public_key(), report->time_ms())) continue;
        if (protocol::OpenEnvelope(*bytes, protocol::kStatsPayloadType, key.public_key()).ok()) {
          signed_ok = true;
          break;
        }
      }
      if (!signed_ok) {
        out.problems.push_back(at_report + ": not signed by a key the member held then");
        continue;
      }
      if (report->time_ms() > s.at_ms) {
        out.problems.push_back(at_report + ": dated after the snapshot");
        continue;
      }
      if (!seen.insert(report->node_id()).second) {
        out.problems.push_back(at_report + ": a second report of the member in one snapshot");
        continue;
      }
      ++out.reports;
      const std::string node = report->node_id();
      const int64_t t = report->time_ms();
      s.reports.push_back({node, t, crypto::HexEncode(crypto::Sha256(*bytes)), std::move(report)});
    }
    for (const auto& m : manifest->members()) {
      if (m.node_id() != "00" && !seen.count(m.node_id())) {
        out.notes.push_back(where + ": no report of member " + m.node_id());
      }
    }
    if (role == "at") {
      if (at || s.at_ms != *to_ms) out.problems.push_back(where + ": not the query's one");
      at = std::move(s);
    } else if (role == "since") {
      if (since || !from_ms || s.at_ms != *from_ms) {
        out.problems.push_back(where + ": not the query's one");
      }
      since = std::move(s);
    } else if (role == "week") {
      const size_t i = weekly.size();
      if (i >= week_bounds.size() || week_bounds[i] != s.at_ms) {
        out.problems.push_back(where + ": not the query's week boundary");
      }
      weekly.push_back(std::move(s));
    } else {
      out.problems.push_back(where + ": unknown role");
    }
  }
  if (!at) out.problems.push_back("no snapshot at the query's time");
  if (from_ms && !since) out.problems.push_back("no snapshot at the query's from");
  if (weekly.size() != week_bounds.size()) {
    out.problems.push_back("the weekly snapshots are not the query's " + std::to_string(weeks) +
                           " weeks");
  }
  // Snapshots of one member must move forward with their time, and two at the same time (the
  // query's end and the last week's) must be the same reports: a hub that picks different
  // reports for different figures is caught.
  auto times_of = [](const protocol::Snapshot& s) {
    std::map<std::string, int64_t> t;
    for (const auto& r : s.reports) t[r.node_id] = r.time_ms;
    return t;
  };
  std::vector<const protocol::Snapshot*> ordered;
  for (const auto& w : weekly) ordered.push_back(&w);
  if (since) ordered.push_back(&*since);
  if (at) ordered.push_back(&*at);
  std::sort(ordered.begin(), ordered.end(),
            [](const auto* a, const auto* b) { return a->at_ms < b->at_ms; });
  for (size_t i = 1; i < ordered.size(); ++i) {
    const auto before = times_of(*ordered[i - 1]), after = times_of(*ordered[i]);
    const bool same_time = ordered[i - 1]->at_ms == ordered[i]->at_ms;
    for (const auto& [node, t] : before) {
      auto it = after.find(node);
      if (it == after.end() || it->second < t || (same_time && it->second != t)) {
        out.problems.push_back(
            "member " + node + ": the snapshot at " + FormatUtc(ordered[i]->at_ms) + " holds " +
            (it == after.end() ? std::string("no report")
                               : "a report of " + FormatUtc(it->second)) +
            ", the one at " + FormatUtc(ordered[i - 1]->at_ms) + " one of " + FormatUtc(t));
      }
    }
    if (same_time && after.size() != before.size()) {
      out.problems.push_back("two snapshots at " + FormatUtc(ordered[i]->at_ms) +
                             " hold different members' reports");
    }
  }
  if (!out.problems.empty()) return out;

  // Every figure, recomputed from the verified reports.
  const json recomputed = protocol::NationalFigures(filter, *at, since ? &*since : nullptr, weekly);
  const json patch = json::diff(ev["figures"], recomputed);
  for (const auto& op : patch) {
    const std::string path = op.value("path", "");
    const json claimed = ev["figures"].contains(json::json_pointer(path))
                             ? ev["figures"][json::json_pointer(path)]
                             : json(nullptr);
    out.problems.push_back("figure " + path + ": the evidence says " + claimed.dump() +
                           ", the signed reports give " +
                           (op.contains("value") ? op["value"].dump() : std::string("nothing")));
    if (out.problems.size() >= 50) {
      out.problems.push_back("... (more figures differ)");
      break;
    }
  }
  return out;
}

}  // namespace
}  // namespace lapor::audit
