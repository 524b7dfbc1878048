// The JSON bodies of the citizen and operator API, parsed strictly into the case service's
// request types: unknown fields, wrong types and malformed JSON (invalid UTF-8 included) are
// InvalidArgument naming the field. No domain rules here (lengths, region codes, NIK...): the case
// service checks those. Fuzzed by fuzz/api_json_fuzz.cc.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "node/case_service.h"

namespace lapor::node {

// A JSON document, or InvalidArgument("malformed JSON: ...", "body"). Never throws.
Result<nlohmann::json> ParseJsonBody(std::string_view bytes);

// POST /api/v1/complaints.
Status ParseSubmit(const nlohmann::json& body, SubmitRequest* r);
// POST /api/v1/complaints/{id}/actions; the access code may come in the body.
Status ParseAction(const nlohmann::json& body, ActionRequest* r, std::string* access_code);

}  // namespace lapor::node
