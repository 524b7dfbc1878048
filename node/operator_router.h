// The operator API (/api/v1): the case list with its filters (GET /api/v1/complaints), actions on
// a case (POST /api/v1/complaints/{id}/actions), a case's signed events for admins, liaisons and
// auditors (GET /api/v1/complaints/{id}/events), and the personal-data access log
// (GET /api/v1/access-log for admins and auditors, GET /api/v1/complaints/{id}/access-log), and
// search (GET /api/v1/search: the list's filters and paging plus words, as JSON or CSV).
// Operators authenticate with "Authorization: Bearer <token>". Two routes also serve the
// reporter with the access code: a reporter's own actions on the case, and the access log of
// their own case. The citizen's routes are in citizen_router.h.
#pragma once

#include <cstddef>
#include <string>

#include "node/case_service.h"
#include "node/http_router.h"

namespace lapor::node {

class OperatorRouter : public Router {
 public:
  // `on_pool` runs the replies that come from commit callbacks.
  OperatorRouter(CaseService* service, size_t max_body_bytes, Executor on_pool)
      : service_(service), max_body_bytes_(max_body_bytes), on_pool_(std::move(on_pool)) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  bool List(const Request& req, const Reply& reply);
  bool Search(const Request& req, const Reply& reply);
  bool Act(const Request& req, const std::string& case_id, const Reply& reply);
  bool Events(const Request& req, const std::string& case_id, const Reply& reply);
  // Who read which personal data of which case (all cases when `case_id` is empty), and when.
  // Paged by `after` (the last id seen).
  bool AccessLog(const Request& req, const std::string& case_id, const Reply& reply);

  CaseService* service_;
  size_t max_body_bytes_;
  Executor on_pool_;
};

}  // namespace lapor::node
