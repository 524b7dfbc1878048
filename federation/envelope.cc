#include "federation/envelope.h"

#include "lapor/v1/event.pb.h"

namespace lapor::federation {

std::string SignEnvelope(std::string_view payload_type,
                         const google::protobuf::MessageLite& payload,
                         const crypto::SigningKey& key) {
  v1::Envelope env;
  env.set_payload_type(std::string(payload_type));
  payload.SerializeToString(env.mutable_payload());
  auto* sig = env.add_signatures();
  sig->set_keyid(key.KeyId());
  sig->set_sig(key.Sign(crypto::PreAuthEncoding(payload_type, env.payload())));
  return env.SerializeAsString();
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
  const std::string pae = crypto::PreAuthEncoding(env.payload_type(), env.payload());
  for (const auto& sig : env.signatures()) {
    if (crypto::VerifySignature(public_key, pae, sig.sig())) return env.payload();
  }
  return Status::PermissionDenied("no signature by the expected key");
}

}  // namespace lapor::federation
