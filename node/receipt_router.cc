#include "node/receipt_router.h"

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "node/api_codec.h"
#include "node/citizen_router.h"
#include "protocol/envelope.h"

namespace lapor::node {

using nlohmann::json;

bool ReceiptRouter::Handle(const Request& req, const Reply& reply) {
  if (!IsComplaintsPath(req) || req.segments.size() != 5 || req.segments[4] != "receipt") {
    return false;
  }
  if (req.method != "GET") return false;
  auto q = Query(req, {});
  if (!q.ok()) return Fail(reply, q.status());
  const std::string& case_id = req.decoded_segments[3];
  auto who = CallerOf(service_, req);
  if (!who.ok()) return Fail(reply, who.status());
  auto submission = service_->Submission(case_id, *who);
  if (!submission.ok()) return Fail(reply, submission.status());
  if (log_ == nullptr) return Fail(reply, Status::Unavailable("this node keeps no log"));
  const storage::CheckpointRow cp = log_->checkpoint();
  if (submission->seq >= cp.size) {
    // The log integrates new events within 250 ms of their commit.
    return Fail(reply, Status::Unavailable("the complaint is not in the log's checkpoint yet: "
                                           "ask again in a moment"));
  }
  auto proof = crypto::InclusionProof(log_->Reader(), submission->seq, cp.size);
  if (!proof.ok()) return Fail(reply, proof.status());
  protocol::EventEnvelope parsed;
  if (Status s = protocol::ParseEventEnvelope(submission->envelope, &parsed); !s.ok()) {
    return Fail(reply, Status::Corruption("stored submission does not parse: " + s.message()));
  }
  json hashes = json::array();
  for (const auto& h : *proof) hashes.push_back(crypto::Base64Encode(h));
  const json body = {{"format", kReceiptFormat},
                     {"tracking_id", case_id},
                     {"node_id", service_->node_id()},
                     {"filed_at", FormatTime(parsed.event.time_ms())},
                     {"log_vkey", vkey_},
                     {"leaf_index", submission->seq},
                     {"submission", crypto::Base64Encode(submission->envelope)},
                     {"checkpoint", cp.note},
                     {"inclusion_proof", hashes}};
  Response r = JsonResponse(200, body);
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"tanda-terima-" + case_id + ".json\"");
  reply(std::move(r));
  return true;
}

}  // namespace lapor::node
