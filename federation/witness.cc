#include "federation/witness.h"

#include "crypto/encoding.h"
#include "crypto/merkle.h"

namespace lapor::federation {
namespace {

WitnessReply Reply(int code, std::string body) {
  WitnessReply r;
  r.http_status = code;
  r.body = std::move(body);
  if (!r.body.empty() && r.body.back() != '\n') r.body += '\n';
  return r;
}

}  // namespace

Result<std::unique_ptr<Witness>> Witness::Create(storage::WitnessState* store,
                                                 const std::vector<std::string>& log_vkeys,
                                                 std::string name,
                                                 std::shared_ptr<const crypto::SigningKey> key,
                                                 Clock* clock) {
  std::unique_ptr<Witness> w(new Witness(store, std::move(name), std::move(key), clock));
  for (const auto& vkey : log_vkeys) {
    auto v = crypto::NoteVerifier::Parse(vkey);
    if (!v.ok())
      return Status::InvalidArgument("witnessed log key '" + vkey + "': " + v.status().message());
    w->logs_.push_back(*v);
  }
  return w;
}

std::string Witness::CosignerVkey() const {
  return crypto::VerifierKeyString(name_, key_->public_key(), crypto::kNoteSigCosignatureV1);
}

WitnessReply Witness::AddCheckpoint(std::string_view request) {
  // 1. Parse: "old N", proof lines, blank line, note.
  auto eol = request.find('\n');
  if (eol == std::string_view::npos || request.substr(0, 4) != "old ") {
    return Reply(400, "request must start with 'old <size>'");
  }
  std::string_view old_text = request.substr(4, eol - 4);
  if (old_text.empty() || old_text.size() > 19 ||
      old_text.find_first_not_of("0123456789") != std::string_view::npos ||
      (old_text.size() > 1 && old_text[0] == '0')) {
    return Reply(400, "old size is not a decimal number");
  }
  const uint64_t old_size = std::stoull(std::string(old_text));
  std::vector<std::string> proof;
  size_t at = eol + 1;
  for (;;) {
    auto next = request.find('\n', at);
    if (next == std::string_view::npos) return Reply(400, "missing the blank line before the note");
    std::string_view line = request.substr(at, next - at);
    at = next + 1;
    if (line.empty()) break;
    auto hash = crypto::Base64Decode(line);
    if (!hash || hash->size() != crypto::kSha256Size || proof.size() >= 64) {
      return Reply(400, "proof lines must be base64 SHA-256 hashes");
    }
    proof.push_back(*hash);
  }
  const std::string note_text(request.substr(at));
  auto note = crypto::SignedNote::Parse(note_text);
  if (!note.ok()) return Reply(400, "not a signed note: " + note.status().message());
  auto cp = crypto::Checkpoint::ParseBody(note->text);
  if (!cp.ok()) return Reply(400, "not a checkpoint: " + cp.status().message());

  // 2. The log must be one we witness, and the checkpoint signed by its key: by any key listed
  // for its origin (a log whose key changed, `key activate`, is listed with both while the
  // change settles; what it cosigned before carries over, being kept by origin).
  bool known_origin = false, signed_by_log = false;
  for (const auto& v : logs_) {
    if (v.name != cp->origin) continue;
    known_origin = true;
    signed_by_log = signed_by_log || crypto::VerifyNote(*note, v).ok();
  }
  if (!known_origin) return Reply(404, "this witness does not witness " + cp->origin);
  if (!signed_by_log) {
    return Reply(403, "the checkpoint is not signed by the key of " + cp->origin);
  }

  // 3. It must extend what we cosigned last.
  auto prev = store_->GetWitnessed(cp->origin);
  if (!prev.ok()) return Reply(500, prev.status().message());
  const uint64_t known = prev->has_value() ? (*prev)->size : 0;
  const std::string known_root = prev->has_value() ? (*prev)->root : crypto::EmptyRoot();
  if (old_size != known) {
    WitnessReply r = Reply(409, std::to_string(known));
    r.content_type = "text/x.tlog.size";
    return r;
  }
  if (cp->size < old_size) return Reply(400, "the checkpoint is smaller than the old size");
  Status consistent =
      crypto::VerifyConsistency(old_size, cp->size, known_root, cp->root_hash, proof);
  if (!consistent.ok()) {
    // Two validly signed checkpoints of one size with different roots cannot both be true: that
    // is proof of equivocation, and both are kept. (A failing proof between different sizes
    // proves nothing about the log, only about the proof, so it is just refused.)
    if (prev->has_value() && cp->size == old_size && cp->root_hash != known_root) {
      storage::AlertRow alert;
      alert.origin = cp->origin;
      alert.kind = "equivocation";
      alert.detail =
          "two signed checkpoints of size " + std::to_string(cp->size) + " with different roots";
      alert.note_a = (*prev)->note;
      alert.note_b = note_text;
      alert.time_ms = clock_->NowMs();
      if (Status s = store_->AddAlert(alert); !s.ok()) return Reply(500, s.message());
    }
    return Reply(422, "consistency proof does not verify: " + consistent.message());
  }

  // 4. Advance (compare-and-swap on the size) and cosign.
  Status advanced = store_->AdvanceWitnessed(
      {cp->origin, cp->size, cp->root_hash, note_text, clock_->NowMs()}, old_size);
  if (advanced.code() == Status::Code::kConflict) {
    WitnessReply r = Reply(409, advanced.message());
    r.content_type = "text/x.tlog.size";
    return r;
  }
  if (!advanced.ok()) return Reply(500, advanced.message());
  auto line =
      crypto::CosignatureLine(name_, *key_, static_cast<uint64_t>(clock_->NowMs() / 1000), *cp);
  if (!line.ok()) return Reply(500, line.status().message());
  return Reply(200, *line);
}

}  // namespace lapor::federation
