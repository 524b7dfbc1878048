// The citizen API (/api/v1/complaints): a citizen submits a complaint (POST, answered with its
// tracking id and the one-time access code) and reads it back by tracking id with the access code
// (GET /api/v1/complaints/{id}). Files go first to POST /api/v1/attachments (the raw file, its
// media type as Content-Type; cleaned by node/media.h, answered with a random upload id and its
// hash), which the complaint then names by that id; GET /api/v1/complaints/{id}/attachments/
// {sha256} serves one back to who may have the case's files (CaseAccess.files). Operators read a
// case through the same GET with their token; what each caller sees is the case service's decision
// (node/access_policy.h). The operator's routes are in operator_router.h.
#pragma once

#include <cstddef>

#include "node/case_service.h"
#include "node/http_router.h"
#include "node/uploads.h"

namespace lapor::node {

class CitizenRouter : public Router {
 public:
  // `on_pool` runs the replies that come from commit callbacks.
  CitizenRouter(CaseService* service, size_t max_body_bytes, UploadStore* uploads, Executor on_pool)
      : service_(service),
        max_body_bytes_(max_body_bytes),
        uploads_(uploads),
        on_pool_(std::move(on_pool)) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  bool Submit(const Request& req, const Reply& reply);
  bool View(const Request& req, const std::string& case_id, const Reply& reply);
  bool Upload(const Request& req, const Reply& reply);
  bool File(const Request& req, const std::string& case_id, const std::string& hex,
            const Reply& reply);

  CaseService* service_;
  size_t max_body_bytes_;
  UploadStore* uploads_;
  Executor on_pool_;
};

// Whether the path is /api/v1/complaints or below it (the citizen's and the operator's routes).
bool IsComplaintsPath(const Request& req);
// Whether the path is /api/v1/attachments (a file's upload).
bool IsUploadPath(const Request& req);

}  // namespace lapor::node
