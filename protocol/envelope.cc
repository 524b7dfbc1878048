#include "protocol/envelope.h"

namespace lapor::protocol {

std::string SignEnvelope(std::string_view payload_type, std::string payload,
                         const crypto::SigningKey& key) {
  v1::Envelope env;
  env.set_payload_type(std::string(payload_type));
  auto* sig = env.add_signatures();
  sig->set_keyid(key.KeyId());
  sig->set_sig(key.Sign(crypto::PreAuthEncoding(payload_type, payload)));
  env.set_payload(std::move(payload));
  return env.SerializeAsString();
}

std::string SignEnvelope(std::string_view payload_type,
                         const google::protobuf::MessageLite& payload,
                         const crypto::SigningKey& key) {
  return SignEnvelope(payload_type, payload.SerializeAsString(), key);
}

bool SignedBy(const v1::Envelope& envelope, std::string_view public_key, std::string_view keyid) {
  std::string pae;  // computed once, only if a signature is a candidate
  for (const auto& sig : envelope.signatures()) {
    if (!keyid.empty() && sig.keyid() != keyid) continue;
    if (pae.empty()) pae = crypto::PreAuthEncoding(envelope.payload_type(), envelope.payload());
    if (crypto::VerifySignature(public_key, pae, sig.sig())) return true;
  }
  return false;
}

Result<std::string> OpenEnvelope(std::string_view envelope, std::string_view payload_type,
                                 std::string_view public_key) {
  v1::Envelope env;
  if (!env.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()))) {
    return Status::InvalidArgument("not an envelope", "envelope");
  }
  if (env.payload_type() != payload_type) {
    return Status::InvalidArgument("payload type is not " + std::string(payload_type),
                                   "payload_type");
  }
  if (!SignedBy(env, public_key))
    return Status::PermissionDenied("no signature by the expected key");
  return std::move(*env.mutable_payload());
}

Status ParseEventEnvelope(std::string_view bytes, EventEnvelope* out) {
  if (!out->envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::InvalidArgument("envelope does not parse", "envelope");
  }
  if (out->envelope.payload_type() != kEventPayloadType) {
    return Status::InvalidArgument("not an event payload type", "payload_type");
  }
  if (!out->event.ParseFromString(out->envelope.payload())) {
    return Status::InvalidArgument("event payload does not parse", "payload");
  }
  return Status::Ok();
}

namespace {
constexpr std::string_view kLostEntryPrefix = "lapor lost event ";
}  // namespace

std::string LostEntry(uint64_t seq) {
  return std::string(kLostEntryPrefix) + std::to_string(seq) + "\n";
}

std::optional<uint64_t> ParseLostEntry(std::string_view entry) {
  if (entry.size() <= kLostEntryPrefix.size() + 1 ||
      entry.substr(0, kLostEntryPrefix.size()) != kLostEntryPrefix || entry.back() != '\n') {
    return std::nullopt;
  }
  std::string_view digits = entry.substr(kLostEntryPrefix.size());
  digits.remove_suffix(1);
  if (digits.size() > 19 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint64_t seq = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

}  // namespace lapor::protocol
