#include "node/citizen_router.h"

#include <nlohmann/json.hpp>

#include "node/api_codec.h"

namespace lapor::node {

using nlohmann::json;

bool IsComplaintsPath(const Request& req) {
  const auto& s = req.segments;
  return s.size() >= 3 && s[0] == "api" && s[1] == "v1" && s[2] == "complaints";
}

bool CitizenRouter::Handle(const Request& req, const Reply& reply) {
  if (!IsComplaintsPath(req)) return false;
  const auto& segments = req.segments;
  if (segments.size() == 3) return req.method == "POST" && Submit(req, reply);
  const std::string& case_id = req.decoded_segments[3];
  if (segments.size() == 4 && req.method == "GET") return View(req, case_id, reply);
  return false;
}

bool CitizenRouter::Submit(const Request& req, const Reply& reply) {
  auto q = Query(req, {});
  if (!q.ok()) return Fail(reply, q.status());
  // An operator filing for a citizen is not held to the per-client filing limit (rate_limiter.h),
  // so a token sent here must be a real one.
  if (ClaimsOperator(req)) {
    Status s = RequireOperator(service_, req);
    if (!s.ok()) return Fail(reply, s);
  }
  auto body = ParseJson(req, max_body_bytes_);
  if (!body.ok()) return Fail(reply, body.status());
  SubmitRequest sr;
  Status s = ParseSubmit(*body, &sr);
  if (!s.ok()) return Fail(reply, s);
  service_->Submit(sr, [on_pool = on_pool_, reply](Result<SubmitResult> r) {
    on_pool([reply, r = std::move(r)] {
      if (!r.ok()) return reply(ErrorResponse(r.status()));
      reply(RawResponse(201, SubmittedJson(*r), "application/json", "no-store"));
    });
  });
  return true;
}

bool CitizenRouter::View(const Request& req, const std::string& case_id, const Reply& reply) {
  auto who = CallerOf(service_, req);
  if (!who.ok()) return Fail(reply, who.status());
  auto view = service_->View(case_id, *who);
  if (!view.ok()) return Fail(reply, view.status());
  return Send(reply, 200, ViewJson(*view, req.now_ms));
}

}  // namespace lapor::node
