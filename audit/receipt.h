// A filing receipt (GET /api/v1/complaints/{id}/receipt, format "lapor-receipt-v1") checked
// offline: the complaint's submission event is signed by the node's key, its checkpoint is
// signed by the node's log key, and the event is in the log under that checkpoint (its inclusion
// proof). With witness keys, the witnesses' cosignatures on the checkpoint and their times. Only
// keys the verifier obtained itself count: the key written in the receipt proves nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/note.h"

namespace lapor::audit {

struct ReceiptCheck {
  std::string tracking_id;
  std::string node_id;     // the event's author
  int64_t filed_ms = 0;    // the event's signed time
  std::string log_origin;  // the checkpoint's
  uint64_t leaf_index = 0;
  uint64_t log_size = 0;
  // Witnesses (of those given) that cosigned the checkpoint: name and time (POSIX seconds).
  std::vector<std::pair<std::string, uint64_t>> witnessed;
};

// InvalidArgument (naming the field) for a file that is not a receipt; PermissionDenied for a
// signature that does not verify; Corruption for a proof or an event that does not match.
// The checkpoint must be signed by `log_key`; the submission by it or by one of `earlier_keys`
// (the node's log keys before `lapor-node key activate`, of the same log).
Result<ReceiptCheck> VerifyReceipt(const std::string& receipt_json,
                                   const crypto::NoteVerifier& log_key,
                                   const std::vector<crypto::NoteVerifier>& witnesses,
                                   const std::vector<crypto::NoteVerifier>& earlier_keys = {});

}  // namespace lapor::audit
