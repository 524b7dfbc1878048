#include "node/media.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

namespace lapor::node {
namespace {

Status Bad(const std::string& what) { return Status::InvalidArgument(what, "file"); }

uint8_t At(std::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }

// What of JPEG segment `marker` (with `body`, its bytes after the length) is kept: nothing
// (nullopt), or the body to write. Only the segments that draw the image are kept: frame headers
// (SOF0-3, 5-7, 9-11, 13-15), Huffman and quantization tables, arithmetic conditioning (DAC),
// restart interval (DRI), line count (DNL), hierarchical progression (DHP, EXP), scans; and of
// the metadata only what decoding needs,
// rebuilt: JFIF's density without its thumbnail, Adobe's colour transform without anything after
// it, EXIF's orientation without anything else. Every other segment (the rest of EXIF, XMP, ICC,
// IPTC, comments, JFXX and MPF thumbnails, JPGn and reserved markers) is dropped.
// The EXIF orientation (2-8: how a viewer turns the stored pixels upright) that an APP1 EXIF
// `body` states in its first IFD, or 0 if it states none (or 1, upright already) or is malformed.
// Reads nothing outside `body`.
int ExifOrientation(std::string_view body) {
  // At least the 32 bytes OrientationOnlyExif writes (header, TIFF header, one entry, next IFD),
  // so that keeping the orientation never makes a segment, or the file, longer.
  if (body.size() < 32 || body.substr(0, 6) != std::string_view("Exif\0\0", 6)) return 0;
  const std::string_view tiff = body.substr(6);
  const bool big = tiff.substr(0, 2) == "MM";
  if (!big && tiff.substr(0, 2) != "II") return 0;
  auto u16 = [&](size_t at) -> uint32_t {
    return big ? (At(tiff, at) << 8) | At(tiff, at + 1) : (At(tiff, at + 1) << 8) | At(tiff, at);
  };
  auto u32 = [&](size_t at) -> uint32_t {
    return big ? (u16(at) << 16) | u16(at + 2) : (u16(at + 2) << 16) | u16(at);
  };
  if (u16(2) != 42) return 0;
  const uint32_t ifd = u32(4);
  if (ifd < 8 || ifd > tiff.size() - 2) return 0;
  const uint32_t entries = u16(ifd);
  for (uint32_t i = 0; i < entries; ++i) {
    const size_t at = ifd + 2 + size_t{i} * 12;
    if (at + 12 > tiff.size()) return 0;
    // Tag 0x0112 (Orientation), type SHORT, one value, held in the entry itself.
    if (u16(at) != 0x0112) continue;
    if (u16(at + 2) != 3 || u32(at + 4) != 1) return 0;
    const uint32_t v = u16(at + 8);
    return v >= 2 && v <= 8 ? static_cast<int>(v) : 0;
  }
  return 0;
}

// An EXIF body stating orientation `o` and nothing else: 32 bytes (big-endian TIFF, one IFD
// entry, no next IFD). ExifOrientation reads `o` back, so cleaning it again keeps it as it is.
std::string OrientationOnlyExif(int o) {
  return std::string("Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0", 25) +
         static_cast<char>(o) + std::string(6, '\0');
}

std::optional<std::string> KeptJpegSegment(uint8_t marker, std::string_view body) {
  const bool frame =
      marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
  if (frame || marker == 0xC4 || marker == 0xCC || marker == 0xDB || marker == 0xDD ||
      marker == 0xDC || marker == 0xDA || marker == 0xDE || marker == 0xDF) {
    return std::string(body);
  }
  // Never longer than what was sent (so a clean file stays within the size limit and cleaning
  // it again changes nothing): a JFIF segment shorter than its 14 bytes is dropped.
  if (marker == 0xE0 && body.size() >= 14 && body.substr(0, 5) == std::string_view("JFIF\0", 5)) {
    // Version, units and densities (7 bytes), then a 0x0 thumbnail.
    return std::string(body.substr(0, 12)) + std::string(2, '\0');
  }
  if (marker == 0xEE && body.size() >= 12 && body.substr(0, 5) == "Adobe") {
    return std::string(body.substr(0, 12));  // version, flags, transform
  }
  // Of EXIF only the orientation, so that a photo taken with the phone turned shows upright
  // (ExifOrientation reads it only from a body of 32 bytes or more: never longer than sent).
  if (marker == 0xE1) {
    if (const int o = ExifOrientation(body); o != 0) return OrientationOnlyExif(o);
  }
  return std::nullopt;
}

Result<std::string> CleanJpeg(std::string_view b) {
  const size_t n = b.size();
  if (n < 4 || At(b, 0) != 0xFF || At(b, 1) != 0xD8) return Bad("not a JPEG image");
  std::string out("\xFF\xD8", 2);
  out.reserve(n);
  bool frame = false, scan = false;
  size_t pos = 2;
  for (;;) {
    if (pos >= n) return Bad("the JPEG image ends before its end marker");
    if (At(b, pos) != 0xFF) return Bad("a malformed JPEG segment");
    while (pos < n && At(b, pos) == 0xFF) ++pos;  // fill bytes
    if (pos >= n) return Bad("the JPEG image ends before its end marker");
    const uint8_t marker = At(b, pos++);
    if (marker == 0xD9) {  // end of image: whatever follows is dropped
      out.append("\xFF\xD9", 2);
      break;
    }
    if (marker == 0x00 || marker == 0xD8) return Bad("a malformed JPEG segment");
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
      out.push_back(static_cast<char>(0xFF));
      out.push_back(static_cast<char>(marker));
      continue;
    }
    if (n - pos < 2) return Bad("the JPEG image ends inside a segment");
    const size_t len = (static_cast<size_t>(At(b, pos)) << 8) | At(b, pos + 1);
    if (len < 2 || len > n - pos) return Bad("the JPEG image ends inside a segment");
    const std::string_view body = b.substr(pos + 2, len - 2);
    if ((marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)) {
      frame = true;
    }
    if (auto kept = KeptJpegSegment(marker, body)) {
      const size_t kept_len = kept->size() + 2;  // <= len
      out.push_back(static_cast<char>(0xFF));
      out.push_back(static_cast<char>(marker));
      out.push_back(static_cast<char>(kept_len >> 8));
      out.push_back(static_cast<char>(kept_len & 0xFF));
      out.append(*kept);
    }
    pos += len;
    if (marker == 0xDA) {
      if (!frame) return Bad("a JPEG scan before its frame header");
      scan = true;
      // Entropy-coded data: up to the next marker that is not a restart marker or a stuffed 0x00.
      const size_t start = pos;
      while (pos < n) {
        if (At(b, pos) == 0xFF && pos + 1 < n) {
          const uint8_t m = At(b, pos + 1);
          if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) {
            pos += 2;
            continue;
          }
          break;
        }
        ++pos;
      }
      if (pos + 1 >= n) return Bad("the JPEG image ends inside its image data");
      out.append(b.substr(start, pos - start));
    }
  }
  if (!scan) return Bad("the JPEG image holds no image data");
  return out;
}

uint32_t Be32(std::string_view b, size_t i) {
  return (static_cast<uint32_t>(At(b, i)) << 24) | (static_cast<uint32_t>(At(b, i + 1)) << 16) |
         (static_cast<uint32_t>(At(b, i + 2)) << 8) | At(b, i + 3);
}

Result<std::string> CleanPng(std::string_view b) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (b.substr(0, 8) != kSignature) return Bad("not a PNG image");
  // The chunks kept, each with the most bytes it may hold (its specification's size): a longer
  // ancillary chunk is dropped, a longer critical one refused.
  static constexpr std::pair<const char*, uint32_t> kKept[] = {
      {"IHDR", 13}, {"PLTE", 768}, {"IDAT", UINT32_MAX}, {"IEND", 0}, {"tRNS", 256}, {"gAMA", 4},
      {"cHRM", 32}, {"sRGB", 1},   {"sBIT", 4},          {"bKGD", 6}, {"pHYs", 9}};
  std::string out(kSignature);
  out.reserve(b.size());
  size_t pos = 8;
  bool first = true, data = false;
  for (;;) {
    if (b.size() - pos < 12) return Bad("the PNG image ends before its IEND chunk");
    const uint32_t len = Be32(b, pos);
    if (len > b.size() - pos - 12) return Bad("the PNG image ends inside a chunk");
    const std::string_view type = b.substr(pos + 4, 4);
    for (char c : type) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return Bad("a malformed PNG chunk");
    }
    if (first != (type == "IHDR")) return Bad("a PNG image must start with exactly one IHDR");
    first = false;
    bool keep = false;
    for (const auto& [k, max] : kKept) keep = keep || (type == k && len <= max);
    // A critical chunk (upper-case first letter) unknown or too long: the image may need it.
    if (!keep && type[0] >= 'A' && type[0] <= 'Z') {
      return Bad("an unsupported PNG chunk " + std::string(type));
    }
    if (keep) out.append(b.substr(pos, 12 + static_cast<size_t>(len)));
    data = data || type == "IDAT";
    pos += 12 + static_cast<size_t>(len);
    if (type == "IEND") break;  // whatever follows is dropped
  }
  if (!data) return Bad("the PNG image holds no image data");
  return out;
}

Result<std::string> CheckPdf(std::string_view b) {
  if (b.substr(0, 5) != "%PDF-") return Bad("not a PDF document");
  // The trailer's %%EOF sits in the last kilobyte (writers may add a newline or a few bytes).
  const std::string_view tail = b.substr(b.size() > 1024 ? b.size() - 1024 : 0);
  if (tail.find("%%EOF") == std::string_view::npos) return Bad("the PDF document is incomplete");
  return std::string(b);
}

}  // namespace

bool IsAcceptedMediaType(std::string_view media_type) {
  return media_type == "image/jpeg" || media_type == "image/png" || media_type == "application/pdf";
}

Result<std::string> CleanAttachment(std::string_view media_type, std::string_view bytes) {
  if (bytes.empty()) return Bad("the file is empty");
  if (bytes.size() > kMaxAttachmentBytes) return Bad("the file is larger than 5 MB");
  if (media_type == "image/jpeg") return CleanJpeg(bytes);
  if (media_type == "image/png") return CleanPng(bytes);
  if (media_type == "application/pdf") return CheckPdf(bytes);
  return Status::InvalidArgument("photos (image/jpeg, image/png) and PDF (application/pdf) only",
                                 "Content-Type");
}

}  // namespace lapor::node
