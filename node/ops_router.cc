#include "node/ops_router.h"

namespace lapor::node {

bool OpsRouter::Handle(const Request& req, const Reply& reply) {
  if (req.segments.size() != 1 || req.segments[0] != "healthz") return false;
  if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
  // A node whose store failed cannot take writes: its supervisor and load balancer must know
  // (the node also stops itself so that it restarts from disk).
  if (Status health = store_ ? store_->Health() : Status::Ok(); !health.ok()) {
    return Send(
        reply, 503,
        {{"status", "failed"}, {"node_id", service_->node_id()}, {"error", health.message()}});
  }
  return Send(
      reply, 200,
      {{"status", "ok"}, {"node_id", service_->node_id()}, {"next_seq", service_->next_seq()}});
}

}  // namespace lapor::node
