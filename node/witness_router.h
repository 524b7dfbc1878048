// The witness surface (/witness/...): other logs' operators submit checkpoints to be cosigned
// (C2SP tlog-witness add-checkpoint, a text body) and fetch this witness's cosigner key. Served
// only when this node witnesses other logs; otherwise 404.
#pragma once

#include <cstddef>

#include "federation/witness.h"
#include "node/http_router.h"

namespace lapor::node {

class WitnessRouter : public Router {
 public:
  // `witness` may be null: this node witnesses no logs.
  WitnessRouter(federation::Witness* witness, size_t max_body_bytes)
      : witness_(witness), max_body_bytes_(max_body_bytes) {}
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  federation::Witness* witness_;
  size_t max_body_bytes_;
};

}  // namespace lapor::node
