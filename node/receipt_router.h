// GET /api/v1/complaints/{id}/receipt: the filing receipt, a file a reporter keeps as proof that
// this node received the complaint at that time and cannot quietly drop it. It holds the
// complaint's signed submission event, the node's checkpoint that covers it (with the witness
// cosignatures it carries) and the event's inclusion proof in it; `lapor-audit verify-receipt`
// checks it offline against the node's log key. Who may have it: access.receipt.
#pragma once

#include <string>

#include "node/case_service.h"
#include "node/http_router.h"
#include "storage/tree_log.h"

namespace lapor::node {

// The receipt's format name, the first field of the file.
inline constexpr char kReceiptFormat[] = "lapor-receipt-v1";

class ReceiptRouter : public Router {
 public:
  // `vkey`: the log's note verifier key, written into the receipt (a verifier pins its own copy).
  ReceiptRouter(CaseService* service, const storage::TreeLog* log, std::string vkey)
      : service_(service), log_(log), vkey_(std::move(vkey)) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  CaseService* service_;
  const storage::TreeLog* log_;
  std::string vkey_;
};

}  // namespace lapor::node
