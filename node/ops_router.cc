#include "node/ops_router.h"

namespace lapor::node {

bool OpsRouter::Handle(const Request& req, const Reply& reply) {
  if (req.segments.size() == 1 && req.segments[0] == "metrics" && metrics_ != nullptr) {
    return Metrics(req, reply);
  }
  if (req.segments.size() != 1 || req.segments[0] != "healthz") return false;
  if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
  // A node whose store failed cannot take writes: its supervisor and load balancer must know
  // (the node also stops itself so that it restarts from disk).
  Status health = store_ ? store_->Health() : Status::Ok();
  if (health.code() == Status::Code::kNoSpace) {
    // Still serving (reads, the log, federation reads); writes get 503 until the disk has room.
    return Send(reply, 200,
                {{"status", "read_only"},
                 {"node_id", service_->node_id()},
                 {"next_seq", service_->next_seq()},
                 {"error", health.message()}});
  }
  if (!health.ok()) {
    return Send(
        reply, 503,
        {{"status", "failed"}, {"node_id", service_->node_id()}, {"error", health.message()}});
  }
  if (std::string behind = service_->log_behind(); !behind.empty()) {
    // Serving reads, the log and federation; new complaints and actions get 503 until the events
    // other nodes have seen of this log are back (node/case_service.h, SetLogBehind).
    return Send(reply, 200,
                {{"status", "behind"},
                 {"node_id", service_->node_id()},
                 {"next_seq", service_->next_seq()},
                 {"error", behind}});
  }
  return Send(
      reply, 200,
      {{"status", "ok"}, {"node_id", service_->node_id()}, {"next_seq", service_->next_seq()}});
}

bool OpsRouter::Metrics(const Request& req, const Reply& reply) {
  if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
  if (auto q = Query(req, {}); !q.ok()) return Fail(reply, q.status());
  if (Status s = RequireOperator(service_, req); !s.ok()) return Fail(reply, s);
  reply(RawResponse(200, metrics_->Scrape(req.now_ms), "text/plain; version=0.0.4; charset=utf-8",
                    "no-store"));
  return true;
}

}  // namespace lapor::node
