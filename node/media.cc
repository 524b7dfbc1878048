#include "node/media.h"

#include <cstdint>
#include <cstring>

namespace lapor::node {
namespace {

Status Bad(const std::string& what) { return Status::InvalidArgument(what, "file"); }

uint8_t At(std::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }

// Whether JPEG segment `marker` (with `body`, its bytes after the length) is kept.
bool KeepJpegSegment(uint8_t marker, std::string_view body) {
  if (marker == 0xE0) return body.substr(0, 5) == std::string_view("JFIF\0", 5);  // not JFXX
  if (marker == 0xEE) return body.substr(0, 5) == "Adobe";
  if (marker >= 0xE1 && marker <= 0xEF) return false;  // EXIF, XMP, ICC, IPTC, vendors'
  if (marker == 0xFE) return false;                    // comment
  return true;                                         // tables, frame, scan, restart interval...
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
    if (KeepJpegSegment(marker, body)) {
      out.push_back(static_cast<char>(0xFF));
      out.push_back(static_cast<char>(marker));
      out.append(b.substr(pos, len));
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
  static constexpr const char* kKept[] = {"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA",
                                          "cHRM", "sRGB", "sBIT", "bKGD", "pHYs"};
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
    for (const char* k : kKept) keep = keep || type == k;
    // An unknown critical chunk (upper-case first letter) may be needed to draw the image.
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
