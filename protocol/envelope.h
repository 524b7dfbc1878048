// DSSE envelopes (lapor.v1.Envelope): how every signed document of the federation is signed and
// checked, written once. Events, the manifest and statistics reports are all envelopes; a
// signature is over PAE(payload_type, payload) (crypto::PreAuthEncoding).
#pragma once

#include <google/protobuf/message_lite.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/crypto.h"
#include "lapor/v1/event.pb.h"

namespace lapor::protocol {

// The payload type of a case event (lapor.v1.Event).
inline constexpr std::string_view kEventPayloadType = "application/vnd.lapor.event.v1+protobuf";

// The serialized envelope of `payload` (serialized bytes, or a message) with one signature by
// `key`, which names its key id.
std::string SignEnvelope(std::string_view payload_type, std::string payload,
                         const crypto::SigningKey& key);
std::string SignEnvelope(std::string_view payload_type,
                         const google::protobuf::MessageLite& payload,
                         const crypto::SigningKey& key);

// Whether one of the envelope's signatures verifies under `public_key` (and, when `keyid` is not
// empty, is labelled with that key id).
bool SignedBy(const v1::Envelope& envelope, std::string_view public_key,
              std::string_view keyid = {});

// The payload of an envelope of `payload_type` that carries a signature by `public_key`.
// InvalidArgument if it is not such an envelope, PermissionDenied if no signature verifies.
Result<std::string> OpenEnvelope(std::string_view envelope, std::string_view payload_type,
                                 std::string_view public_key);

// An event envelope taken apart. Its signature is not checked here: see SignedBy (a node's own
// key) and VerifyEventEnvelope in protocol/directory.h (a member's key from the manifest).
struct EventEnvelope {
  v1::Envelope envelope;
  v1::Event event;
};
// InvalidArgument naming "envelope", "payload_type" or "payload" if `bytes` is not an event
// envelope.
Status ParseEventEnvelope(std::string_view bytes, EventEnvelope* out);

// The log entry that stands for a lost event of `seq` (see v1::EVENT_LOG_GAP): the text
// "lapor lost event <seq>\n". It is no envelope and is signed by nothing: the log's signed
// checkpoint covers it, and the node's EVENT_LOG_GAP entry right after the lost seqs declares it.
std::string LostEntry(uint64_t seq);
// The seq a log entry stands for if it is exactly a LostEntry.
std::optional<uint64_t> ParseLostEntry(std::string_view entry);

}  // namespace lapor::protocol
