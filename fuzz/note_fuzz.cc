// Signed notes, checkpoints, verifier keys and cosignatures (crypto/note.h): whatever bytes a log,
// a witness or a peer serves. Parsing never crashes; what parses serializes back to the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/crypto.h"
#include "crypto/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor::crypto;
  static const bool init = (Init(), true);
  (void)init;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto vkey = NoteVerifier::Parse(text); vkey.ok()) {
    // A parsed key prints back as a key that parses to the same one.
    auto again = NoteVerifier::Parse(vkey->ToString());
    if (!again.ok() || again->public_key != vkey->public_key || again->name != vkey->name) {
      __builtin_trap();
    }
  }
  auto note = SignedNote::Parse(text);
  if (!note.ok()) return 0;
  if (auto cp = Checkpoint::ParseBody(note->text); cp.ok()) {
    if (cp->origin.empty()) __builtin_trap();  // a checkpoint always names its log
  }
  // A parsed note serializes to a note that parses to the same text and signatures.
  auto again = SignedNote::Parse(note->Serialize());
  if (!again.ok() || again->text != note->text || again->sigs.size() != note->sigs.size()) {
    __builtin_trap();
  }
  for (const auto& sig : note->sigs) {
    if (auto t = CosignatureTimestamp(sig); t.ok() && *t > (uint64_t{1} << 63)) __builtin_trap();
  }
  static const auto verifier =
      NoteVerifier::FromPublicKey("lapor.go.id/node/32", std::string(32, '\x01'));
  if (verifier.ok()) (void)VerifyNote(*note, *verifier);
  return 0;
}
