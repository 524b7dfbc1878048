// The transparency log (/log/...): C2SP tlog-tiles (checkpoint, tiles, entry bundles), the note
// verifier key, and JSON inclusion and consistency proofs, for auditors and anyone who checks the
// node's log. Nothing here carries personal data: entries are the signed envelopes. With
// NodeConfig::log_requires_auditor only auditors and admins may read it.
#pragma once

#include <string>

#include "node/case_service.h"
#include "node/http_router.h"
#include "storage/tree_log.h"

namespace lapor::node {

class LogRouter : public Router {
 public:
  // `vkey` is the log's note verifier key; `service` authenticates operators.
  LogRouter(CaseService* service, const storage::TreeLog* log, std::string vkey,
            bool requires_auditor)
      : service_(service), log_(log), vkey_(std::move(vkey)), requires_auditor_(requires_auditor) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  // `rest` is the path after "/log/".
  bool Serve(const Request& req, const std::string& rest, const Reply& reply);

  CaseService* service_;
  const storage::TreeLog* log_;
  std::string vkey_;
  bool requires_auditor_;
};

}  // namespace lapor::node
