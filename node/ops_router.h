// Node operations: /healthz, for the node's supervisor and load balancer (no authentication,
// nothing personal). Further probes for operations (e.g. /metrics) belong here.
#pragma once

#include "node/case_service.h"
#include "node/http_router.h"
#include "storage/store.h"

namespace lapor::node {

class OpsRouter : public Router {
 public:
  // `store` may be null (its health is then not checked).
  OpsRouter(CaseService* service, storage::Store* store) : service_(service), store_(store) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  CaseService* service_;
  storage::Store* store_;
};

}  // namespace lapor::node
