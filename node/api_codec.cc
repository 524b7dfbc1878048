#include "node/api_codec.h"

#include <cstdio>
#include <ctime>

#include "base/clock.h"
#include "crypto/encoding.h"
#include "protocol/lifecycle.h"

namespace lapor::node {
namespace {

using nlohmann::json;

// Reads typed fields out of a JSON object, naming the field in every error.
class Fields {
 public:
  Fields(const json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {}

  Status String(const char* key, std::string* out, bool required) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      return required ? Status::InvalidArgument("is required", Name(key)) : Status::Ok();
    }
    if (!it->is_string()) return Status::InvalidArgument("must be a string", Name(key));
    *out = it->get<std::string>();
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return Status::Ok();
    if (!it->is_boolean()) return Status::InvalidArgument("must be true or false", Name(key));
    *out = it->get<bool>();
    return Status::Ok();
  }
  Status Number(const char* key, double* out) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return Status::InvalidArgument("is required", Name(key));
    if (!it->is_number()) return Status::InvalidArgument("must be a number", Name(key));
    *out = it->get<double>();
    return Status::Ok();
  }
  Status Unsigned(const char* key, uint64_t* out) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return Status::InvalidArgument("is required", Name(key));
    if (!it->is_number_unsigned()) {
      return Status::InvalidArgument("must be a non-negative integer", Name(key));
    }
    *out = it->get<uint64_t>();
    return Status::Ok();
  }
  Status Object(const char* key, const json** out) {
    auto it = j_.find(key);
    *out = nullptr;
    if (it == j_.end() || it->is_null()) return Status::Ok();
    if (!it->is_object()) return Status::InvalidArgument("must be an object", Name(key));
    *out = &*it;
    return Status::Ok();
  }
  // Unknown keys are refused so that a misspelt field is not silently dropped.
  Status OnlyKnown(std::initializer_list<const char*> known) {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (it.key().empty()) {  // an error must name a field a client can find
        return Status::InvalidArgument("a field with an empty name is not allowed",
                                       prefix_.empty() ? "body" : prefix_);
      }
      bool found = false;
      for (const char* k : known) found = found || it.key() == k;
      if (!found) return Status::InvalidArgument("unknown field", Name(it.key().c_str()));
    }
    return Status::Ok();
  }

 private:
  std::string Name(const char* key) const { return prefix_.empty() ? key : prefix_ + "." + key; }
  const json& j_;
  std::string prefix_;
};

}  // namespace

Status ParseSubmit(const json& body, SubmitRequest* r) {
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object", "body");
  Fields f(body, "");
  LAPOR_RETURN_IF_ERROR(f.OnlyKnown({"title", "description", "category", "report_type",
                                     "region_code", "target_agency", "location", "channel",
                                     "reporter", "anonymous", "confidential", "attachments"}));
  LAPOR_RETURN_IF_ERROR(f.String("title", &r->title, true));
  LAPOR_RETURN_IF_ERROR(f.String("description", &r->description, true));
  LAPOR_RETURN_IF_ERROR(f.String("category", &r->category, true));
  LAPOR_RETURN_IF_ERROR(f.String("report_type", &r->report_type, true));
  LAPOR_RETURN_IF_ERROR(f.String("region_code", &r->region_code, true));
  LAPOR_RETURN_IF_ERROR(f.String("target_agency", &r->target_agency, false));
  LAPOR_RETURN_IF_ERROR(f.String("channel", &r->channel, false));
  LAPOR_RETURN_IF_ERROR(f.Bool("anonymous", &r->anonymous));
  LAPOR_RETURN_IF_ERROR(f.Bool("confidential", &r->confidential));
  const json* loc = nullptr;
  LAPOR_RETURN_IF_ERROR(f.Object("location", &loc));
  if (loc) {
    Fields lf(*loc, "location");
    LAPOR_RETURN_IF_ERROR(lf.OnlyKnown({"lat", "lon", "address"}));
    double lat = 0, lon = 0;
    LAPOR_RETURN_IF_ERROR(lf.Number("lat", &lat));
    LAPOR_RETURN_IF_ERROR(lf.Number("lon", &lon));
    r->location = std::make_pair(lat, lon);
    LAPOR_RETURN_IF_ERROR(lf.String("address", &r->address, false));
  }
  const json* rep = nullptr;
  LAPOR_RETURN_IF_ERROR(f.Object("reporter", &rep));
  if (rep) {
    Fields rf(*rep, "reporter");
    LAPOR_RETURN_IF_ERROR(rf.OnlyKnown({"name", "nik", "phone", "email"}));
    LAPOR_RETURN_IF_ERROR(rf.String("name", &r->reporter.name, false));
    LAPOR_RETURN_IF_ERROR(rf.String("nik", &r->reporter.nik, false));
    LAPOR_RETURN_IF_ERROR(rf.String("phone", &r->reporter.phone, false));
    LAPOR_RETURN_IF_ERROR(rf.String("email", &r->reporter.email, false));
  }
  auto atts = body.find("attachments");
  if (atts != body.end() && !atts->is_null()) {
    if (!atts->is_array()) return Status::InvalidArgument("must be an array", "attachments");
    if (atts->size() > 20) return Status::InvalidArgument("at most 20 attachments", "attachments");
    for (const auto& a : *atts) {
      if (!a.is_object()) return Status::InvalidArgument("must be an object", "attachments[]");
      Fields af(a, "attachments");
      LAPOR_RETURN_IF_ERROR(af.OnlyKnown({"sha256", "media_type", "size", "upload"}));
      AttachmentInput in;
      std::string hex;
      LAPOR_RETURN_IF_ERROR(af.String("sha256", &hex, true));
      auto raw = crypto::HexDecode(hex);
      if (!raw || raw->size() != 32) {
        return Status::InvalidArgument("must be 64 hex characters", "attachments.sha256");
      }
      in.sha256 = *raw;
      LAPOR_RETURN_IF_ERROR(af.String("media_type", &in.media_type, true));
      LAPOR_RETURN_IF_ERROR(af.Unsigned("size", &in.size));
      LAPOR_RETURN_IF_ERROR(af.String("upload", &in.upload, false));
      if (!in.upload.empty() &&
          (in.upload.size() != 32 || !crypto::HexDecode(in.upload).has_value())) {
        return Status::InvalidArgument("must be the upload id POST /api/v1/attachments gave",
                                       "attachments.upload");
      }
      r->attachments.push_back(std::move(in));
    }
  }
  return Status::Ok();
}

Status ParseAction(const json& body, ActionRequest* r, std::string* access_code) {
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object", "body");
  Fields f(body, "");
  LAPOR_RETURN_IF_ERROR(f.OnlyKnown({"action", "note", "agency", "reason", "duplicate_of",
                                     "access_code", "to", "erase", "rating"}));
  LAPOR_RETURN_IF_ERROR(f.String("to", &r->to, false));
  if (auto it = body.find("rating"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 5) {
      return Status::InvalidArgument("must be a whole number from 1 to 5", "rating");
    }
    r->rating = static_cast<int>(it->get<int64_t>());
  }
  if (auto it = body.find("erase"); it != body.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 2) {
      return Status::InvalidArgument("must be a list of reporter and/or content", "erase");
    }
    for (const auto& kind : *it) {
      if (!kind.is_string()) return Status::InvalidArgument("must hold strings", "erase");
      r->erase.push_back(kind.get<std::string>());
    }
  }
  LAPOR_RETURN_IF_ERROR(f.String("action", &r->action, true));
  LAPOR_RETURN_IF_ERROR(f.String("note", &r->note, false));
  LAPOR_RETURN_IF_ERROR(f.String("agency", &r->agency, false));
  LAPOR_RETURN_IF_ERROR(f.String("reason", &r->reason, false));
  LAPOR_RETURN_IF_ERROR(f.String("duplicate_of", &r->duplicate_of, false));
  return f.String("access_code", access_code, false);
}

Result<json> ParseJsonBody(std::string_view bytes) {
  try {
    return json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("malformed JSON: ") + e.what(), "body");
  }
}

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kConflict:
    case Status::Code::kAlreadyExists:
      return 409;
    case Status::Code::kTooLarge:
      return 413;
    case Status::Code::kMethodNotAllowed:
      return 405;
    case Status::Code::kUnsupportedMedia:
      return 415;
    case Status::Code::kTooManyRequests:
      return 429;
    case Status::Code::kHeadersTooLarge:
      return 431;
    case Status::Code::kUnavailable:
    case Status::Code::kNoSpace:  // read-only until the disk has room again
    case Status::Code::kIOError:  // the disk or the store failed: the node restarts from disk
      return 503;
    default:
      return 500;
  }
}

std::string FormatTime(int64_t ms) { return FormatUtc(ms); }

json ErrorJson(const Status& s) {
  json err = {{"code", s.CodeName()}, {"message", s.message()}};
  err["field"] = s.field().empty() ? json(nullptr) : json(s.field());
  return json{{"error", err}};
}

json TimeOrNull(int64_t ms) { return ms > 0 ? json(FormatTime(ms)) : json(nullptr); }

// The 201 of a new complaint, the busiest reply, written without building a JSON document: none
// of its values needs escaping (base32 ids and codes, a fixed status word, an RFC 3339 time).
std::string SubmittedJson(const SubmitResult& r) {
  std::string out = "{\"tracking_id\":\"" + r.tracking_id + "\",\"access_code\":\"" +
                    r.access_code + "\",\"status\":\"" + r.state.status() + "\",\"due_at\":";
  out += r.state.due_ms() > 0 ? "\"" + FormatTime(r.state.due_ms()) + "\"}" : "null}";
  return out;
}

// A case's state as `access` lets its caller see it: without content, only its existence,
// status and dates (the keys stay, with null values).
json StateJson(const v1::CaseState& s, int64_t now, const CaseAccess& access) {
  const bool content = access.content;
  auto text = [content](const std::string& v) {
    return content && !v.empty() ? json(v) : json(nullptr);
  };
  return json{
      {"tracking_id", s.case_id()},
      {"status", s.status()},
      {"report_type", text(s.report_type())},
      {"category", text(s.category())},
      {"region_code", text(s.region_code())},
      {"agency", text(s.agency())},
      {"title", s.confidential() ? json(nullptr) : text(s.title())},
      {"anonymous", s.anonymous()},
      {"confidential", s.confidential()},
      {"created_at", FormatTime(s.created_ms())},
      {"updated_at", FormatTime(s.updated_ms())},
      {"due_at", TimeOrNull(s.due_ms())},
      {"due_kind", s.due_kind().empty() ? json(nullptr) : json(s.due_kind())},
      {"overdue", s.due_ms() > 0 && s.due_ms() < now},
      {"rating", content && s.rating() != 0 ? json(s.rating()) : json(nullptr)},
      {"rated_at", TimeOrNull(s.rated_ms())},
      {"escalated", s.escalated()},
      {"responded", s.responded()},
      {"auto_complete_at", TimeOrNull(s.auto_complete_at_ms())},
      {"event_count", s.event_count()},
      // Node ids are region codes: for a confidential case they are content too.
      {"origin_node", text(s.origin_node())},
      {"owner_node", text(s.owner_node())},
      {"pending_owner", text(s.pending_owner())},
      {"parties", content ? json(s.parties()) : json(nullptr)},
      {"escalation_level", content ? json(s.escalation_level()) : json(nullptr)},
  };
}

json ViewJson(const CaseView& v, int64_t now) {
  const CaseAccess& access = v.access;
  json j = StateJson(v.state, now, access);
  j["access"] = AudienceName(access.audience);
  const auto& sub = v.submission;
  if (access.content) {
    j["title"] = v.title;
    j["description"] = v.description;
    j["channel"] = sub.channel();
    j["target_agency"] = sub.target_agency().empty() ? json(nullptr) : json(sub.target_agency());
    if (sub.has_location()) {
      j["location"] = {{"lat", sub.lat()}, {"lon", sub.lon()}};
      if (access.reporter_identity && v.reporter && !v.reporter->address().empty()) {
        j["location"]["address"] = v.reporter->address();
      }
    }
    json atts = json::array();
    for (const auto& a : sub.attachments()) {
      atts.push_back({{"sha256", crypto::HexEncode(a.sha256())},
                      {"media_type", a.media_type()},
                      {"size", a.size()},
                      // Whether the caller can download the file here (GET
                      // .../attachments/{sha256}): this node holds it and access.files.
                      {"held", v.held_attachments.count(a.sha256()) > 0}});
    }
    j["attachments"] = atts;
    if (!v.state.archive_reason().empty()) j["archive_reason"] = v.state.archive_reason();
    if (!v.state.duplicate_of().empty()) j["duplicate_of"] = v.state.duplicate_of();
  }
  if (access.reporter_identity && v.reporter) {
    j["reporter"] = {{"name", v.reporter->name()},
                     {"nik", v.reporter->nik()},
                     {"phone", v.reporter->phone()},
                     {"email", v.reporter->email()}};
  } else if (access.reporter_identity && v.reporter_erased) {
    j["reporter"] = {{"erased", true}};
  }
  if (!v.erasures.empty()) {
    json erasures = json::array();
    for (const auto& e : v.erasures) {
      json parties = json::array();
      for (const auto& [node, confirmed] : e.parties) {
        parties.push_back({{"node", node}, {"confirmed", confirmed}});
      }
      erasures.push_back(
          {{"time", FormatTime(e.time_ms)}, {"erased", e.kinds}, {"parties", parties}});
    }
    j["erasures"] = erasures;
  }
  json history = json::array();
  for (const auto& h : v.history) {
    const auto& e = h.event;
    json item = {{"seq", h.seq},
                 {"node_id", access.content ? json(e.node_id()) : json(nullptr)},
                 {"type", std::string(protocol::EventTypeName(e.type()))},
                 {"at", FormatTime(e.time_ms())}};
    switch (e.actor().kind()) {
      case v1::ACTOR_OPERATOR:
        item["actor"] = {{"kind", "operator"}, {"role", e.actor().role()}};
        if (access.operator_ids) item["actor"]["operator_id"] = e.actor().operator_id();
        break;
      case v1::ACTOR_CITIZEN:
        item["actor"] = {{"kind", "reporter"}};
        break;
      default:
        item["actor"] = {{"kind", "system"}};
        break;
    }
    if (e.has_action() && access.content) {
      const auto& a = e.action();
      if (!h.note.empty()) item["note"] = h.note;
      if (!a.agency().empty()) item["agency"] = a.agency();
      if (!a.reason().empty()) item["reason"] = a.reason();
      if (!a.missed_deadline().empty()) item["missed_deadline"] = a.missed_deadline();
      if (!a.to_node().empty()) item["to_node"] = a.to_node();
      if (!a.relayed_from().empty()) item["relayed_from"] = crypto::HexEncode(a.relayed_from());
      if (!a.request().empty()) item["request"] = a.request();
      if (a.rating() != 0) item["rating"] = a.rating();
    }
    history.push_back(std::move(item));
  }
  j["history"] = history;
  return j;
}

}  // namespace lapor::node
