#include "crypto/note.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "crypto/encoding.h"

namespace lapor::crypto {
namespace {

// U+2014 EM DASH followed by a space: the start of every signature line.
constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";
constexpr std::string_view kSignerKeyPrefix = "PRIVATE+KEY+";
constexpr uint64_t kMaxCosignatureTimestamp = std::numeric_limits<int64_t>::max();

// White_Space code points (what Go's unicode.IsSpace reports), which key names must not contain.
bool IsUnicodeSpace(uint32_t c) {
  switch (c) {
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return (c >= 0x09 && c <= 0x0D) || (c >= 0x2000 && c <= 0x200A);
  }
}

// Decodes the code point at s[*i] and advances *i. `s` must be well-formed UTF-8.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[k])); };
  uint32_t c = byte(*i);
  int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
  if (len > 1) c &= 0x3F >> (len - 1);
  for (int k = 1; k < len; ++k) c = (c << 6) | (byte(*i + k) & 0x3F);
  *i += len;
  return c;
}

// UTF-8 with no ASCII control character other than newline: the alphabet of a signed note.
bool IsNoteAlphabet(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\n') return false;
  }
  return IsValidUtf8(s);
}

// A single line of a note: the note alphabet without newlines.
bool IsValidLine(std::string_view s) {
  return s.find('\n') == std::string_view::npos && IsNoteAlphabet(s);
}

// Canonical unsigned decimal: digits only, no leading zero unless the number is 0, no overflow.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// Exactly eight lower-case hex digits, as written by VerifierKeyString.
std::optional<std::string> ParseKeyIdHex(std::string_view hex) {
  if (hex.size() != 2 * kNoteKeyIdSize) return std::nullopt;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return HexDecode(hex);
}

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

uint64_t ReadBigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

std::string SignatureLine(std::string_view name, std::string_view payload) {
  std::string line(kSigPrefix);
  line += name;
  line += ' ';
  line += Base64Encode(payload);
  line += '\n';
  return line;
}

std::string KeyLabel(std::string_view name, std::string_view key_id) {
  std::string out(name);
  out += '+';
  out += HexEncode(key_id);
  return out;
}

std::string CosignedMessage(uint64_t timestamp, std::string_view checkpoint_body) {
  std::string msg = "cosignature/v1\ntime ";
  msg += std::to_string(timestamp);
  msg += '\n';
  msg += checkpoint_body;
  return msg;
}

// The parts of "<name>+<hex key ID>+<base64 key>" (the base64 may itself contain '+').
struct KeyStringParts {
  std::string_view name, key_id_hex, key_b64;
};

std::optional<KeyStringParts> SplitKeyString(std::string_view s) {
  size_t p1 = s.find('+');
  if (p1 == std::string_view::npos) return std::nullopt;
  size_t p2 = s.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return std::nullopt;
  return KeyStringParts{s.substr(0, p1), s.substr(p1 + 1, p2 - p1 - 1), s.substr(p2 + 1)};
}

bool IsSupportedType(uint8_t type) {
  return type == kNoteSigEd25519 || type == kNoteSigCosignatureV1;
}

Status CheckVerifierShape(const NoteVerifier& v) {
  if (!IsValidNoteKeyName(v.name)) return Status::InvalidArgument("invalid verifier key name");
  if (v.key_id.size() != kNoteKeyIdSize) {
    return Status::InvalidArgument("verifier key ID must be 4 bytes");
  }
  if (v.public_key.size() != kPublicKeySize) {
    return Status::InvalidArgument("verifier public key must be 32 bytes");
  }
  if (!IsSupportedType(v.type)) return Status::InvalidArgument("unsupported verifier key type");
  return Status::Ok();
}

Status VerifyEd25519Note(const SignedNote& note, const NoteVerifier& v) {
  bool found = false;
  for (const SignedNote::Sig& sig : note.sigs) {
    if (sig.name != v.name || sig.key_id != v.key_id) continue;
    found = true;
    if (!VerifySignature(v.public_key, note.text, sig.signature)) {
      return Status::Corruption("invalid signature for key " + KeyLabel(v.name, v.key_id));
    }
  }
  if (!found) return Status::NotFound("no signature by key " + KeyLabel(v.name, v.key_id));
  return Status::Ok();
}

}  // namespace

bool IsValidNoteKeyName(std::string_view name) {
  if (name.empty() || !IsValidUtf8(name)) return false;
  for (size_t i = 0; i < name.size();) {
    uint32_t c = NextCodePoint(name, &i);
    if (c < 0x20 || c == '+' || IsUnicodeSpace(c)) return false;
  }
  return true;
}

std::string NoteKeyId(std::string_view name, uint8_t type, std::string_view public_key) {
  std::string input(name);
  input += '\n';
  input += static_cast<char>(type);
  input += public_key;
  return Sha256(input).substr(0, kNoteKeyIdSize);
}

// ---------------------------------------------------------------------------------------------
// Keys.

Result<NoteVerifier> NoteVerifier::Parse(std::string_view vkey) {
  auto parts = SplitKeyString(vkey);
  if (!parts) return Status::InvalidArgument("verifier key must be <name>+<key ID>+<key>");
  if (!IsValidNoteKeyName(parts->name)) return Status::InvalidArgument("invalid verifier key name");
  auto key_id = ParseKeyIdHex(parts->key_id_hex);
  if (!key_id) return Status::InvalidArgument("verifier key ID must be 8 lower-case hex digits");
  auto raw = Base64Decode(parts->key_b64);
  if (!raw || raw->empty()) return Status::InvalidArgument("verifier key is not base64");
  NoteVerifier v;
  v.name = std::string(parts->name);
  v.type = static_cast<uint8_t>((*raw)[0]);
  v.public_key = raw->substr(1);
  v.key_id = std::move(*key_id);
  if (!IsSupportedType(v.type)) return Status::InvalidArgument("unsupported verifier key type");
  if (v.public_key.size() != kPublicKeySize) {
    return Status::InvalidArgument("verifier public key must be 32 bytes");
  }
  if (v.key_id != NoteKeyId(v.name, v.type, v.public_key)) {
    return Status::InvalidArgument("verifier key ID does not match its name and key");
  }
  return v;
}

Result<NoteVerifier> NoteVerifier::FromPublicKey(std::string_view name, std::string_view public_key,
                                                 uint8_t type) {
  NoteVerifier v;
  v.name = std::string(name);
  v.public_key = std::string(public_key);
  v.type = type;
  v.key_id = NoteKeyId(name, type, public_key);
  LAPOR_RETURN_IF_ERROR(CheckVerifierShape(v));
  return v;
}

std::string NoteVerifier::ToString() const {
  std::string typed_key(1, static_cast<char>(type));
  typed_key += public_key;
  return KeyLabel(name, key_id) + "+" + Base64Encode(typed_key);
}

std::string VerifierKeyString(std::string_view name, std::string_view public_key, uint8_t type) {
  return NoteVerifier{std::string(name), NoteKeyId(name, type, public_key), std::string(public_key),
                      type}
      .ToString();
}

Result<NoteSignerKey> NoteSignerKey::Parse(std::string_view skey) {
  if (!skey.starts_with(kSignerKeyPrefix)) {
    return Status::InvalidArgument("signer key must start with PRIVATE+KEY+");
  }
  auto parts = SplitKeyString(skey.substr(kSignerKeyPrefix.size()));
  if (!parts) return Status::InvalidArgument("signer key must be PRIVATE+KEY+<name>+<id>+<key>");
  if (!IsValidNoteKeyName(parts->name)) return Status::InvalidArgument("invalid signer key name");
  auto key_id = ParseKeyIdHex(parts->key_id_hex);
  if (!key_id) return Status::InvalidArgument("signer key ID must be 8 lower-case hex digits");
  auto raw = Base64Decode(parts->key_b64);
  if (!raw || raw->empty()) return Status::InvalidArgument("signer key is not base64");
  uint8_t type = static_cast<uint8_t>((*raw)[0]);
  if (!IsSupportedType(type)) return Status::InvalidArgument("unsupported signer key type");
  if (raw->size() != 1 + kSeedSize) return Status::InvalidArgument("signer seed must be 32 bytes");
  auto key = SigningKey::FromSeed(std::string_view(*raw).substr(1));
  if (!key.ok()) return key.status();
  if (*key_id != NoteKeyId(parts->name, type, key->public_key())) {
    return Status::InvalidArgument("signer key ID does not match its name and key");
  }
  return NoteSignerKey{std::string(parts->name), std::move(key).value(), type};
}

std::string NoteSignerKey::ToString() const {
  std::string typed_seed(1, static_cast<char>(type));
  typed_seed += std::string_view(key.secret_key()).substr(0, kSeedSize);
  return std::string(kSignerKeyPrefix) + KeyLabel(name, NoteKeyId(name, type, key.public_key())) +
         "+" + Base64Encode(typed_seed);
}

NoteVerifier NoteSignerKey::Verifier() const {
  return NoteVerifier{name, NoteKeyId(name, type, key.public_key()), key.public_key(), type};
}

// ---------------------------------------------------------------------------------------------
// Signed notes.

Result<std::string> SignNote(std::string_view text, std::string_view name, const SigningKey& key) {
  if (text.empty() || text.back() != '\n') {
    return Status::InvalidArgument("note text must end with a newline");
  }
  if (!IsNoteAlphabet(text)) {
    return Status::InvalidArgument("note text must be UTF-8 without control characters");
  }
  if (!IsValidNoteKeyName(name)) return Status::InvalidArgument("invalid note key name");
  std::string note(text);
  note += '\n';
  note += SignatureLine(name, Ed25519NoteKeyId(name, key.public_key()) + key.Sign(text));
  return note;
}

Result<SignedNote> SignedNote::Parse(std::string_view note) {
  auto malformed = [](std::string why) {
    return Status::InvalidArgument("malformed note: " + why);
  };
  if (!IsNoteAlphabet(note)) return malformed("not UTF-8 or has control characters");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return malformed("no blank line before the signatures");
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view block = note.substr(split + 2);
  if (block.empty() || block.back() != '\n') {
    return malformed("signature block missing or not newline-terminated");
  }
  while (!block.empty()) {
    size_t eol = block.find('\n');  // found: the block ends in a newline
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol + 1);
    if (out.sigs.size() == kMaxNoteSignatures) return malformed("too many signatures");
    if (!line.starts_with(kSigPrefix)) return malformed("signature line must start with U+2014");
    line.remove_prefix(kSigPrefix.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return malformed("signature line has no signature");
    std::string_view name = line.substr(0, space);
    if (!IsValidNoteKeyName(name)) return malformed("invalid key name in signature line");
    auto raw = Base64Decode(line.substr(space + 1));
    if (!raw || raw->size() <= kNoteKeyIdSize) return malformed("signature is not valid base64");
    out.sigs.push_back(
        Sig{std::string(name), raw->substr(0, kNoteKeyIdSize), raw->substr(kNoteKeyIdSize)});
  }
  return out;
}

std::string SignedNote::Serialize() const {
  std::string out = text;
  out += '\n';
  for (const Sig& sig : sigs) out += SignatureLine(sig.name, sig.key_id + sig.signature);
  return out;
}

Status VerifyNote(const SignedNote& note, const NoteVerifier& verifier) {
  LAPOR_RETURN_IF_ERROR(CheckVerifierShape(verifier));
  if (verifier.type == kNoteSigCosignatureV1) return VerifyCosignature(note, verifier, nullptr);
  return VerifyEd25519Note(note, verifier);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and cosignatures.

std::string Checkpoint::Body() const {
  std::string out = origin;
  out += '\n';
  out += std::to_string(size);
  out += '\n';
  out += Base64Encode(root_hash);
  out += '\n';
  for (const std::string& ext : extensions) {
    out += ext;
    out += '\n';
  }
  return out;
}

Status Checkpoint::Validate() const {
  if (origin.empty() || !IsValidLine(origin)) {
    return Status::InvalidArgument("checkpoint origin must be a non-empty line without controls");
  }
  if (root_hash.size() != kSha256Size) {
    return Status::InvalidArgument("checkpoint root hash must be 32 bytes");
  }
  for (const std::string& ext : extensions) {
    if (ext.empty() || !IsValidLine(ext)) {
      return Status::InvalidArgument("checkpoint extension lines must be non-empty, no controls");
    }
  }
  return Status::Ok();
}

Result<Checkpoint> Checkpoint::ParseBody(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return Status::InvalidArgument("checkpoint must end with a newline");
  }
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t eol = text.find('\n', start);
    lines.push_back(text.substr(start, eol - start));
    start = eol + 1;
  }
  if (lines.size() < 3) return Status::InvalidArgument("checkpoint needs at least three lines");
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  auto size = ParseDecimal(lines[1]);
  if (!size) return Status::InvalidArgument("checkpoint tree size is not canonical decimal");
  cp.size = *size;
  auto root = Base64Decode(lines[2]);
  if (!root) return Status::InvalidArgument("checkpoint root hash is not base64");
  cp.root_hash = std::move(*root);
  for (size_t i = 3; i < lines.size(); ++i) cp.extensions.emplace_back(lines[i]);
  LAPOR_RETURN_IF_ERROR(cp.Validate());
  return cp;
}

Result<std::string> CosignatureLine(std::string_view witness_name, const SigningKey& witness_key,
                                    uint64_t timestamp, const Checkpoint& checkpoint) {
  if (!IsValidNoteKeyName(witness_name)) return Status::InvalidArgument("invalid witness name");
  if (timestamp > kMaxCosignatureTimestamp) {
    return Status::InvalidArgument("cosignature timestamp exceeds 2^63 - 1");
  }
  LAPOR_RETURN_IF_ERROR(checkpoint.Validate());
  std::string payload = CosignatureKeyId(witness_name, witness_key.public_key());
  payload += BigEndian64(timestamp);
  payload += witness_key.Sign(CosignedMessage(timestamp, checkpoint.Body()));
  return SignatureLine(witness_name, payload);
}

Status VerifyCosignature(const SignedNote& note, const NoteVerifier& witness,
                         uint64_t* timestamp_out) {
  LAPOR_RETURN_IF_ERROR(CheckVerifierShape(witness));
  if (witness.type != kNoteSigCosignatureV1) {
    return Status::InvalidArgument("cosignatures need a type 0x04 verifier key");
  }
  auto checkpoint = Checkpoint::ParseBody(note.text);
  if (!checkpoint.ok()) {
    return Status::InvalidArgument("cosigned note is not a checkpoint: " +
                                   checkpoint.status().message());
  }
  bool found = false;
  uint64_t latest = 0;
  for (const SignedNote::Sig& sig : note.sigs) {
    if (sig.name != witness.name || sig.key_id != witness.key_id) continue;
    found = true;
    auto invalid = [&] {
      return Status::Corruption("invalid cosignature for key " +
                                KeyLabel(witness.name, witness.key_id));
    };
    if (sig.signature.size() != kCosignatureSize) return invalid();
    uint64_t timestamp = ReadBigEndian64(sig.signature);
    if (timestamp > kMaxCosignatureTimestamp) return invalid();
    if (!VerifySignature(witness.public_key, CosignedMessage(timestamp, note.text),
                         std::string_view(sig.signature).substr(8))) {
      return invalid();
    }
    latest = std::max(latest, timestamp);
  }
  if (!found) {
    return Status::NotFound("no cosignature by key " + KeyLabel(witness.name, witness.key_id));
  }
  if (timestamp_out != nullptr) *timestamp_out = latest;
  return Status::Ok();
}

Result<uint64_t> CosignatureTimestamp(const SignedNote::Sig& sig) {
  if (sig.signature.size() != kCosignatureSize) {
    return Status::InvalidArgument("not a cosignature/v1 signature");
  }
  uint64_t timestamp = ReadBigEndian64(sig.signature);
  if (timestamp > kMaxCosignatureTimestamp) {
    return Status::InvalidArgument("cosignature timestamp exceeds 2^63 - 1");
  }
  return timestamp;
}

// ---------------------------------------------------------------------------------------------
// Tiles.

std::string EncodeTileIndex(uint64_t n) {
  std::string digits = std::to_string(n);
  digits.insert(0, (3 - digits.size() % 3) % 3, '0');
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 3) {
    if (i > 0) out += '/';
    if (i + 3 < digits.size()) out += 'x';
    out.append(digits, i, 3);
  }
  return out;
}

namespace {
std::string TileSuffix(uint64_t index, uint32_t partial_width) {
  std::string out = EncodeTileIndex(index);
  if (partial_width != 0) {
    out += ".p/";
    out += std::to_string(partial_width);
  }
  return out;
}

bool IsThreeDigits(std::string_view s) {
  return s.size() == 3 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

std::string TilePath(uint32_t level, uint64_t index, uint32_t partial_width) {
  if (level > kMaxTileLevel || partial_width >= kTileWidth) return "";
  return "tile/" + std::to_string(level) + "/" + TileSuffix(index, partial_width);
}

std::string EntriesTilePath(uint64_t index, uint32_t partial_width) {
  if (partial_width >= kTileWidth) return "";
  return "tile/entries/" + TileSuffix(index, partial_width);
}

Result<TileRef> ParseTilePath(std::string_view path) {
  auto bad = [&] { return Status::InvalidArgument("not a tile path: " + std::string(path)); };
  constexpr std::string_view kPrefix = "tile/";
  if (!path.starts_with(kPrefix)) return bad();
  std::vector<std::string_view> elems;
  for (std::string_view rest = path.substr(kPrefix.size());;) {
    size_t slash = rest.find('/');
    elems.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (elems.size() < 2) return bad();

  TileRef ref;
  if (elems[0] == "entries") {
    ref.entries = true;
  } else {
    auto level = ParseDecimal(elems[0]);
    if (!level || *level > kMaxTileLevel) return bad();
    ref.level = static_cast<uint32_t>(*level);
  }
  elems.erase(elems.begin());

  // "<last group>.p/<width>" for a partial tile.
  if (elems.size() >= 2 && elems[elems.size() - 2].ends_with(".p")) {
    auto width = ParseDecimal(elems.back());
    if (!width || *width == 0 || *width >= kTileWidth) return bad();
    ref.width = static_cast<uint32_t>(*width);
    elems.pop_back();
    elems.back().remove_suffix(2);
  }

  // Groups of three digits, all but the last "x"-prefixed, no leading all-zero group. The
  // overflow check bounds the count (uint64 has at most 20 digits).
  if (elems.size() > 1 && elems[0] == "x000") return bad();
  uint64_t index = 0;
  for (size_t i = 0; i < elems.size(); ++i) {
    std::string_view group = elems[i];
    if (i + 1 < elems.size()) {
      if (!group.starts_with('x')) return bad();
      group.remove_prefix(1);
    }
    if (!IsThreeDigits(group)) return bad();
    uint64_t g =
        static_cast<uint64_t>((group[0] - '0') * 100 + (group[1] - '0') * 10 + (group[2] - '0'));
    if (index > (std::numeric_limits<uint64_t>::max() - g) / 1000) return bad();
    index = index * 1000 + g;
  }
  ref.index = index;
  return ref;
}

Result<std::string> EncodeEntryBundle(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (e.size() > kMaxBundleEntryBytes) {
      return Status::Internal("entry of " + std::to_string(e.size()) +
                              " bytes: an entry bundle holds at most 65535");
    }
    out.push_back(static_cast<char>(e.size() >> 8));
    out.push_back(static_cast<char>(e.size() & 0xFF));
    out += e;
  }
  return out;
}

Result<std::vector<std::string>> DecodeEntryBundle(std::string_view bundle, size_t expect) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < bundle.size()) {
    if (out.size() == expect) {
      return Status::Corruption("entry bundle holds more than " + std::to_string(expect) +
                                " entries");
    }
    if (bundle.size() - at < 2) return Status::Corruption("entry bundle cut inside a length");
    const size_t len = (static_cast<size_t>(static_cast<unsigned char>(bundle[at])) << 8) |
                       static_cast<unsigned char>(bundle[at + 1]);
    if (bundle.size() - at - 2 < len) return Status::Corruption("entry bundle cut inside an entry");
    out.emplace_back(bundle.substr(at + 2, len));
    at += 2 + len;
  }
  if (out.size() != expect) {
    return Status::Corruption("entry bundle holds " + std::to_string(out.size()) +
                              " entries, expected " + std::to_string(expect));
  }
  return out;
}

}  // namespace lapor::crypto
