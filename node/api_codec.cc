#include "node/api_codec.h"

#include "crypto/encoding.h"

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
      LAPOR_RETURN_IF_ERROR(af.OnlyKnown({"sha256", "media_type", "size"}));
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
      r->attachments.push_back(std::move(in));
    }
  }
  return Status::Ok();
}

Status ParseAction(const json& body, ActionRequest* r, std::string* access_code) {
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object", "body");
  Fields f(body, "");
  LAPOR_RETURN_IF_ERROR(
      f.OnlyKnown({"action", "note", "agency", "reason", "duplicate_of", "access_code", "to"}));
  LAPOR_RETURN_IF_ERROR(f.String("to", &r->to, false));
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

}  // namespace lapor::node
