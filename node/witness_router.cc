#include "node/witness_router.h"

namespace lapor::node {

bool WitnessRouter::Handle(const Request& req, const Reply& reply) {
  if (req.path != "/witness/add-checkpoint" && req.path != "/witness/vkey") return false;
  if (witness_ == nullptr)
    return Fail(reply, Status::NotFound("this node witnesses no logs", "path"));
  if (req.path == "/witness/vkey") {
    if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    reply(RawResponse(200, witness_->CosignerVkey() + "\n", "text/plain; charset=utf-8",
                      "public, max-age=3600"));
    return true;
  }
  if (req.method != "POST") return Fail(reply, Status::MethodNotAllowed("use POST"));
  if (req.body.size() > max_body_bytes_) return Fail(reply, Status::TooLarge("body too large"));
  auto r = witness_->AddCheckpoint(req.body);
  reply(RawResponse(r.http_status, r.body, r.content_type, "no-store"));
  return true;
}

}  // namespace lapor::node
