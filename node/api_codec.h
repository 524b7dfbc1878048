// The JSON codec of the HTTP edge, both ways.
// Requests: the JSON bodies of the citizen and operator API, parsed strictly into the case
// service's request types: unknown fields, wrong types and malformed JSON (invalid UTF-8 included)
// are InvalidArgument naming the field. No domain rules here (lengths, region codes, NIK...): the
// case service checks those. Fuzzed by fuzz/api_json_fuzz.cc.
// Responses: cases as JSON (as much as the caller may see), times, and Status as an HTTP status
// code and an error body.
#pragma once

#include <cstdint>
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

// ---- Responses ----

// The HTTP status code of a Status (200 for Ok, 500 for anything unforeseen).
int HttpStatusFor(const Status& s);
// {"error": {"code", "message", "field"}}; field is null when the status names none.
nlohmann::json ErrorJson(const Status& s);
// RFC 3339 in UTC with milliseconds ("2026-12-01T02:00:00.000Z"); "" for ms <= 0.
std::string FormatTime(int64_t ms);
// FormatTime, or null for ms <= 0.
nlohmann::json TimeOrNull(int64_t ms);
// The 201 body of a new complaint (tracking id, access code, status, due_at).
std::string SubmittedJson(const SubmitResult& r);
// A case's state as `access` lets its caller see it: without content, only its existence,
// status and dates (the keys stay, with null values). `now` decides "overdue".
nlohmann::json StateJson(const v1::CaseState& s, int64_t now, const CaseAccess& access);
// A case with its submission, reporter and history, as v.access lets its caller see it.
nlohmann::json ViewJson(const CaseView& v, int64_t now);

}  // namespace lapor::node
