#include "audit/receipt.h"

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "protocol/envelope.h"

namespace lapor::audit {

using nlohmann::json;

Result<ReceiptCheck> VerifyReceipt(const std::string& receipt_json,
                                   const crypto::NoteVerifier& log_key,
                                   const std::vector<crypto::NoteVerifier>& witnesses,
                                   const std::vector<crypto::NoteVerifier>& earlier_keys) {
  const json r = json::parse(receipt_json, nullptr, false);
  if (!r.is_object()) return Status::InvalidArgument("the file is not JSON", "receipt");
  auto text = [&](const char* field) -> Result<std::string> {
    if (!r.contains(field) || !r.at(field).is_string()) {
      return Status::InvalidArgument("missing or not a string", field);
    }
    return r.at(field).get<std::string>();
  };
  auto format = text("format");
  if (!format.ok()) return format.status();
  if (*format != "lapor-receipt-v1") {
    return Status::InvalidArgument("not a lapor-receipt-v1 file", "format");
  }
  auto tracking_id = text("tracking_id");
  auto submission_b64 = text("submission");
  auto checkpoint = text("checkpoint");
  for (const auto* f : {&tracking_id, &submission_b64, &checkpoint}) {
    if (!f->ok()) return f->status();
  }
  if (!r.contains("leaf_index") || !r.at("leaf_index").is_number_unsigned()) {
    return Status::InvalidArgument("missing or not a number", "leaf_index");
  }
  const uint64_t leaf = r.at("leaf_index").get<uint64_t>();
  if (!r.contains("inclusion_proof") || !r.at("inclusion_proof").is_array()) {
    return Status::InvalidArgument("missing or not a list", "inclusion_proof");
  }
  std::vector<std::string> proof;
  for (const auto& h : r.at("inclusion_proof")) {
    auto bytes = h.is_string() ? crypto::Base64Decode(h.get<std::string>()) : std::nullopt;
    if (!bytes) return Status::InvalidArgument("a hash is not base64", "inclusion_proof");
    proof.push_back(std::move(*bytes));
  }
  auto envelope = crypto::Base64Decode(*submission_b64);
  if (!envelope) return Status::InvalidArgument("not base64", "submission");

  // The checkpoint: signed by the node's log key.
  auto note = crypto::SignedNote::Parse(*checkpoint);
  if (!note.ok()) return Status::InvalidArgument(note.status().message(), "checkpoint");
  if (!crypto::VerifyNote(*note, log_key).ok()) {
    return Status::PermissionDenied("the checkpoint is not signed by the node's log key " +
                                    log_key.name);
  }
  auto body = crypto::Checkpoint::ParseBody(note->text);
  if (!body.ok()) return Status::InvalidArgument(body.status().message(), "checkpoint");

  // The event: the submission of this complaint, signed by the same key, at this leaf.
  protocol::EventEnvelope parsed;
  if (Status s = protocol::ParseEventEnvelope(*envelope, &parsed); !s.ok()) {
    return Status::InvalidArgument(s.message(), "submission");
  }
  bool signed_by_node = protocol::SignedBy(parsed.envelope, log_key.public_key);
  for (const auto& k : earlier_keys) {
    signed_by_node = signed_by_node ||
                     (k.name == log_key.name && protocol::SignedBy(parsed.envelope, k.public_key));
  }
  if (!signed_by_node) {
    return Status::PermissionDenied(earlier_keys.empty()
                                        ? "the submission is not signed by the node's key"
                                        : "the submission is not signed by the node's key or an "
                                          "earlier one given");
  }
  const auto& ev = parsed.event;
  if (ev.type() != v1::EVENT_SUBMITTED) {
    return Status::Corruption("submission: the event is not a submission");
  }
  if (ev.case_id() != *tracking_id) {
    return Status::Corruption("tracking_id: the submission is of case " + ev.case_id() + ", not " +
                              *tracking_id);
  }
  if (ev.seq() != leaf) {
    return Status::Corruption("leaf_index: the submission is entry " + std::to_string(ev.seq()) +
                              " of the log, not " + std::to_string(leaf));
  }
  if (leaf >= body->size) {
    return Status::Corruption("leaf_index: entry " + std::to_string(leaf) +
                              " is beyond the checkpoint (size " + std::to_string(body->size) +
                              ")");
  }
  if (Status s = crypto::VerifyInclusion(crypto::LeafHash(*envelope), leaf, body->size, proof,
                                         body->root_hash);
      !s.ok()) {
    return Status::Corruption("inclusion_proof: the proof does not verify: " + s.message());
  }
  ReceiptCheck out;
  out.tracking_id = *tracking_id;
  out.node_id = ev.node_id();
  out.filed_ms = ev.time_ms();
  out.log_origin = body->origin;
  out.leaf_index = leaf;
  out.log_size = body->size;
  for (const auto& w : witnesses) {
    uint64_t at = 0;
    if (crypto::VerifyCosignature(*note, w, &at).ok()) out.witnessed.emplace_back(w.name, at);
  }
  return out;
}

}  // namespace lapor::audit
