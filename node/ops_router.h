// Node operations: /healthz, for the node's supervisor and load balancer (no authentication,
// nothing personal), and /metrics, the Prometheus scrape (node/metrics.h; any operator's token:
// it names agencies and peer nodes, nothing personal).
#pragma once

#include "node/case_service.h"
#include "node/http_router.h"
#include "node/metrics.h"
#include "storage/store.h"

namespace lapor::node {

class OpsRouter : public Router {
 public:
  // `store` may be null (its health is then not checked).
  OpsRouter(CaseService* service, storage::Store* store) : service_(service), store_(store) {}
  bool Handle(const Request& req, const Reply& reply) override;
  // Serves /metrics from `metrics` (404 while unset).
  void SetMetrics(NodeMetrics* metrics) { metrics_ = metrics; }

 private:
  bool Metrics(const Request& req, const Reply& reply);

  CaseService* service_;
  storage::Store* store_;
  NodeMetrics* metrics_ = nullptr;
};

}  // namespace lapor::node
