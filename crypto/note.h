// Text formats of the C2SP transparency-log specifications, so that a node's signed events can be
// published as an append-only log that standard tooling (witnesses, monitors) understands:
//
//   c2sp.org/signed-note       notes, signature lines, verifier keys ("vkeys"), Ed25519 (type 0x01)
//   c2sp.org/tlog-checkpoint   the checkpoint note body: origin, tree size, root hash, extensions
//   c2sp.org/tlog-cosignature  timestamped Ed25519 witness cosignatures (type 0x04, cosignature/v1)
//   c2sp.org/tlog-tiles        tile and entry-bundle resource paths
//
// Byte strings are std::string. Parsers are strict: anything that is not the one canonical
// encoding (base64 with non-zero padding bits, decimal with leading zeroes, "x000/" tile groups,
// upper-case hex key IDs) is rejected, so an accepted value re-encodes to the same bytes.
// Everything here is stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"

namespace lapor::crypto {

// Signature type bytes assigned by c2sp.org/signed-note.
inline constexpr uint8_t kNoteSigEd25519 = 0x01;        // plain Ed25519 over the note text
inline constexpr uint8_t kNoteSigCosignatureV1 = 0x04;  // c2sp.org/tlog-cosignature, Ed25519
inline constexpr size_t kNoteKeyIdSize = 4;
// Signed notes with more signature lines are rejected (the spec requires accepting at least 16;
// golang.org/x/mod/sumdb/note also stops at 100).
inline constexpr size_t kMaxNoteSignatures = 100;
// A cosignature/v1 signature after the key ID: 8-byte big-endian timestamp || Ed25519 signature.
inline constexpr size_t kCosignatureSize = 8 + kSignatureSize;

// True if `name` may be a note key name: non-empty well-formed UTF-8 with no '+', no Unicode white
// space (Go's unicode.IsSpace set) and no other ASCII control character.
bool IsValidNoteKeyName(std::string_view name);

// SHA-256(name || 0x0A || type || public_key)[:4], the key ID that signed-note recommends and
// that tlog-cosignature requires.
std::string NoteKeyId(std::string_view name, uint8_t type, std::string_view public_key);
inline std::string Ed25519NoteKeyId(std::string_view name, std::string_view public_key) {
  return NoteKeyId(name, kNoteSigEd25519, public_key);
}
inline std::string CosignatureKeyId(std::string_view name, std::string_view public_key) {
  return NoteKeyId(name, kNoteSigCosignatureV1, public_key);
}

// A verifier key: "<name>+<hex key ID, 8 lower-case digits>+<base64(type || public key)>".
// Types 0x01 and 0x04 (both 32-byte Ed25519 public keys) are supported.
struct NoteVerifier {
  std::string name;
  std::string key_id;  // kNoteKeyIdSize bytes
  std::string public_key;
  uint8_t type = kNoteSigEd25519;

  // Checks the name, the key length and that the key ID is the derivation of name, type and key.
  static Result<NoteVerifier> Parse(std::string_view vkey);
  static Result<NoteVerifier> FromPublicKey(std::string_view name, std::string_view public_key,
                                            uint8_t type = kNoteSigEd25519);
  std::string ToString() const;
};

// The vkey string of an Ed25519 key (type 0x01 unless `type` says otherwise). The caller must
// pass a valid name and a 32-byte key (use NoteVerifier::FromPublicKey to have them checked).
std::string VerifierKeyString(std::string_view name, std::string_view public_key,
                              uint8_t type = kNoteSigEd25519);

// A signer key: "PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte Ed25519 seed)>", the
// format of golang.org/x/mod/sumdb/note. Secret: never log ToString().
struct NoteSignerKey {
  std::string name;
  SigningKey key;
  uint8_t type = kNoteSigEd25519;  // 0x01, or 0x04 for a witness key

  // Checks the name and that the key ID is that of the public key derived from the seed.
  static Result<NoteSignerKey> Parse(std::string_view skey);
  std::string ToString() const;
  NoteVerifier Verifier() const;
};

// Signs `text` (which must end in a newline, be UTF-8 and contain no other control character)
// with Ed25519 as key `name` and returns the whole signed note: text, blank line, one signature
// line "— <name> <base64(key ID || signature)>\n". Ed25519 is deterministic, so the output is
// a pure function of the inputs.
Result<std::string> SignNote(std::string_view text, std::string_view name, const SigningKey& key);

// A parsed, not yet verified, signed note.
struct SignedNote {
  struct Sig {
    std::string name;
    std::string key_id;     // kNoteKeyIdSize bytes
    std::string signature;  // the bytes after the key ID (at least one)
  };
  std::string text;  // including its final newline, not the blank separator line
  std::vector<Sig> sigs;

  // Strict parse: well-formed UTF-8 without control characters other than newline; the text
  // ends in a newline and is separated from the signatures by the last blank line; every line
  // after it is "— <valid name> <canonical base64 of at least 5 bytes>\n"; 1 to
  // kMaxNoteSignatures lines. Signatures of unknown types are kept (and ignored by Verify*).
  static Result<SignedNote> Parse(std::string_view note);
  // The encoded note. Parse(n.Serialize()) reproduces n if n came from Parse or SignNote.
  std::string Serialize() const;
};

// Verifies the signatures in `note` made by `verifier`'s key (same name and key ID). Returns
// NotFound if there are none, Corruption if any of them fails to verify (signed-note says a
// client SHOULD then reject the whole note). A type-0x04 verifier checks cosignatures, as
// VerifyCosignature does.
Status VerifyNote(const SignedNote& note, const NoteVerifier& verifier);

// A checkpoint note body (c2sp.org/tlog-checkpoint).
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root_hash;  // kSha256Size bytes
  std::vector<std::string> extensions;

  // "<origin>\n<size in decimal>\n<base64 root hash>\n" followed by "<extension>\n" for each.
  // Only meaningful if Validate() is ok.
  std::string Body() const;
  // Origin and extension lines non-empty, UTF-8, without control characters; 32-byte root.
  Status Validate() const;
  // Strict: at least three lines, every line newline-terminated and non-empty, size without
  // leading zeroes (unless it is "0") and within uint64, root hash exactly 32 bytes.
  static Result<Checkpoint> ParseBody(std::string_view text);
};

// Cosigns `checkpoint` as witness `witness_name` at `timestamp` (POSIX seconds, at most
// 2^63 - 1): Ed25519 over "cosignature/v1\ntime <timestamp>\n" + checkpoint.Body(). Returns the
// signature line "— <name> <base64(key ID || timestamp, 8 bytes big-endian || signature)>\n",
// with the type-0x04 key ID; it can be appended to the signed checkpoint as it is.
Result<std::string> CosignatureLine(std::string_view witness_name, const SigningKey& witness_key,
                                    uint64_t timestamp, const Checkpoint& checkpoint);

// Verifies the cosignatures by `witness` (a type-0x04 verifier) on the checkpoint `note`. Errors
// as VerifyNote; InvalidArgument if the note text is not a checkpoint body. On success, if
// `timestamp_out` is set, it receives the latest timestamp among that witness's cosignatures.
Status VerifyCosignature(const SignedNote& note, const NoteVerifier& witness,
                         uint64_t* timestamp_out);

// The timestamp inside a cosignature/v1 signature, not verified. InvalidArgument unless
// sig.signature has the cosignature size and the timestamp is at most 2^63 - 1.
Result<uint64_t> CosignatureTimestamp(const SignedNote::Sig& sig);

// Tiles (c2sp.org/tlog-tiles). Paths are relative to the log prefix ("tile/...", no leading
// slash). A full tile holds 2^kTileHeight hashes (or entries); a partial one 1 to 255.
inline constexpr uint32_t kTileHeight = 8;
inline constexpr uint32_t kTileWidth = 1u << kTileHeight;  // 256
inline constexpr uint32_t kMaxTileLevel = 63;

// What tiles keep of the full subtrees a tree builder reports (the rule, written once): leaf
// hashes are gathered into `leaf_tile` and handed to on_leaf_tile(tile index, 256 hashes) when a
// tile is full; nodes of every kTileHeight-th level go to on_node(level, index, hash); the other
// levels are recomputed from these when needed.
template <class OnLeafTile, class OnNode>
void KeepForTiles(uint32_t level, uint64_t index, const std::string& hash, std::string* leaf_tile,
                  OnLeafTile&& on_leaf_tile, OnNode&& on_node) {
  if (level == 0) {
    *leaf_tile += hash;
    if (index % kTileWidth == kTileWidth - 1) {
      on_leaf_tile(index / kTileWidth, leaf_tile);
      leaf_tile->clear();
    }
  } else if (level % kTileHeight == 0) {
    on_node(level, index, hash);
  }
}

// Splits the decimal index into 3-digit groups, each but the last prefixed with 'x':
// 1234067 -> "x001/x234/067", 0 -> "000", 1000 -> "x001/000".
std::string EncodeTileIndex(uint64_t n);
// "tile/<level>/<N>" or, if partial_width is not 0, "tile/<level>/<N>.p/<partial_width>".
// Returns "" if level > kMaxTileLevel or partial_width >= kTileWidth.
std::string TilePath(uint32_t level, uint64_t index, uint32_t partial_width);
// "tile/entries/<N>[.p/<W>]"; "" if partial_width >= kTileWidth.
std::string EntriesTilePath(uint64_t index, uint32_t partial_width);

struct TileRef {
  bool entries = false;  // an entry bundle ("tile/entries/..."); level is then 0
  uint32_t level = 0;
  uint64_t index = 0;
  uint32_t width = 0;  // 0 for a full tile, else the partial width (1 to 255)
  bool operator==(const TileRef&) const = default;
};

// Parses a path made by TilePath or EntriesTilePath; rejects every other spelling (leading
// zeroes in the level or width, "x000" leading groups, groups not of three digits, levels above
// 63, widths 0 or >= 256, indexes beyond uint64, empty or extra path elements).
Result<TileRef> ParseTilePath(std::string_view path);

// Entry bundles (c2sp.org/tlog-tiles): each entry as a 16-bit big-endian length and its bytes.
inline constexpr size_t kMaxBundleEntryBytes = 0xFFFF;
// Internal if an entry is longer than kMaxBundleEntryBytes.
Result<std::string> EncodeEntryBundle(const std::vector<std::string>& entries);
// Corruption if the bundle is cut inside a length or an entry, or holds other than `expect`
// entries.
Result<std::vector<std::string>> DecodeEntryBundle(std::string_view bundle, size_t expect);

}  // namespace lapor::crypto
