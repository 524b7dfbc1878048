// DSSE envelopes (lapor.v1.Envelope) for the federation's signed documents: the manifest, the
// statistics reports. Events are signed the same way on the node's hot path (CaseService::Seal).
#pragma once

#include <google/protobuf/message_lite.h>

#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/crypto.h"

namespace lapor::federation {

// The serialized envelope of `payload` with one signature by `key` over PAE(type, payload).
std::string SignEnvelope(std::string_view payload_type,
                         const google::protobuf::MessageLite& payload,
                         const crypto::SigningKey& key);

// The payload of an envelope of `payload_type` that carries a signature by `public_key`.
// InvalidArgument if it is not such an envelope, PermissionDenied if no signature verifies.
Result<std::string> OpenEnvelope(std::string_view envelope, std::string_view payload_type,
                                 std::string_view public_key);

}  // namespace lapor::federation
