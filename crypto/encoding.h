// Text encodings of byte strings. Bytes are carried in std::string throughout the project (as
// protobuf does for `bytes` fields).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lapor::crypto {

std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);

// RFC 4648 base64 with padding (standard alphabet).
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

// RFC 4648 base32 alphabet (A-Z, 2-7) without padding; 5 bits per character.
std::string Base32Encode(std::string_view bytes);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);
// Number of Unicode code points in well-formed UTF-8 `s`.
size_t Utf8Length(std::string_view s);

}  // namespace lapor::crypto
