// The citizen API (/api/v1/complaints): a citizen submits a complaint (POST, answered with its
// tracking id and the one-time access code) and reads it back by tracking id with the access code
// (GET /api/v1/complaints/{id}). Operators read a case through the same GET with their token;
// what each caller sees is the case service's decision (node/access_policy.h). The operator's
// routes are in operator_router.h.
#pragma once

#include <cstddef>

#include "node/case_service.h"
#include "node/http_router.h"

namespace lapor::node {

class CitizenRouter : public Router {
 public:
  // `on_pool` runs the replies that come from commit callbacks.
  CitizenRouter(CaseService* service, size_t max_body_bytes, Executor on_pool)
      : service_(service), max_body_bytes_(max_body_bytes), on_pool_(std::move(on_pool)) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  bool Submit(const Request& req, const Reply& reply);
  bool View(const Request& req, const std::string& case_id, const Reply& reply);

  CaseService* service_;
  size_t max_body_bytes_;
  Executor on_pool_;
};

// Whether the path is /api/v1/complaints or below it (the citizen's and the operator's routes).
bool IsComplaintsPath(const Request& req);

}  // namespace lapor::node
