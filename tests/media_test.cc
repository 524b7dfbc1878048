// node/media.h: what CleanAttachment keeps of a photo (the image, byte for byte) and what it
// removes (EXIF with GPS, XMP, IPTC, ICC, comments, thumbnails, data after the image's end), and
// that bad files get a clear error whatever their bytes.
#include "node/media.h"

#include <gtest/gtest.h>

#include <string>

#include "harness/sample_files.h"

namespace lapor::node {
namespace {

using namespace std::string_literals;
const std::string& kJpeg = testing::SampleJpeg();
const std::string& kPng = testing::SamplePng();
using testing::JpegSegment;

std::string Chunk(const std::string& type, const std::string& data) {
  const uint32_t n = static_cast<uint32_t>(data.size());
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)} +
         type + data + std::string(4, 'C');  // the CRC is carried, not checked
}

TEST(MediaTest, AJpegLosesEveryMetadataSegmentAndKeepsItsImageByteForByte) {
  const std::string jfif = JpegSegment(0xE0, std::string("JFIF\0\1\1\0\0\1\0\1\0\0", 14));
  const std::string exif =
      JpegSegment(0xE1, std::string("Exif\0\0", 6) + "GPSLatitude -6.59 Canon EOS");
  const std::string xmp =
      JpegSegment(0xE1, "http://ns.adobe.com/xap/1.0/\0<dc:creator>Siti</dc:creator>"s);
  const std::string icc = JpegSegment(0xE2, std::string("ICC_PROFILE\0", 12) + "Apple iPhone");
  const std::string iptc = JpegSegment(0xED, "Photoshop 3.0\0By-line Siti Aminah"s);
  const std::string jfxx = JpegSegment(0xE0, std::string("JFXX\0\x10", 6) + "thumbnail-bytes");
  const std::string comment = JpegSegment(0xFE, "taken at Jl. Pajajaran 12");
  const std::string dirty = kJpeg.substr(0, 2) + jfif + exif + xmp + icc + iptc + jfxx + comment +
                            kJpeg.substr(2) + "MotionPhoto-video-after-the-end";
  auto clean = CleanAttachment("image/jpeg", dirty);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_EQ(*clean, kJpeg.substr(0, 2) + jfif + kJpeg.substr(2));
  for (const char* gone : {"GPS", "Canon", "Siti", "iPhone", "thumbnail", "Pajajaran", "Motion"}) {
    EXPECT_EQ(clean->find(gone), std::string::npos) << gone;
  }
  // Clean stays clean; the original (no metadata) passes unchanged.
  EXPECT_EQ(*CleanAttachment("image/jpeg", *clean), *clean);
  EXPECT_EQ(*CleanAttachment("image/jpeg", kJpeg), kJpeg);
}

// A TIFF IFD0 entry, in the byte order `big` chooses: tag, type, count, then the 4-byte value.
std::string IfdEntry(bool big, uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
  auto u16 = [&](uint32_t v) {
    return big ? std::string{static_cast<char>(v >> 8), static_cast<char>(v)}
               : std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
  };
  auto u32 = [&](uint32_t v) { return big ? u16(v >> 16) + u16(v) : u16(v) + u16(v >> 16); };
  // A SHORT value sits in the first two of the four bytes.
  return u16(tag) + u16(type) + u32(count) + (type == 3 ? u16(value) + u16(0) : u32(value));
}

// EXIF as a phone writes it: camera, GPS pointer and orientation in IFD0, in either byte order,
// with text after the IFD.
std::string PhoneExif(bool big, uint32_t orientation) {
  auto u16 = [&](uint32_t v) {
    return big ? std::string{static_cast<char>(v >> 8), static_cast<char>(v)}
               : std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
  };
  std::string tiff = big ? "MM"s + u16(42) + "\0\0\0\x08"s : "II"s + u16(42) + "\x08\0\0\0"s;
  tiff += u16(3);
  tiff += IfdEntry(big, 0x010F, 2, 6, 50);           // Make -> "Canon" at offset 50
  tiff += IfdEntry(big, 0x0112, 3, 1, orientation);  // Orientation
  tiff += IfdEntry(big, 0x8825, 4, 1, 56);           // GPS IFD pointer
  tiff += std::string(4, '\0');                      // no next IFD
  tiff.resize(50, '\0');
  tiff += "Canon\0GPSLatitude -6.59 Siti Aminah"s;
  return JpegSegment(0xE1, "Exif\0\0"s + tiff);
}

// Of EXIF only the orientation stays (rebuilt as 32 bytes that say nothing else), so a photo
// taken with the phone turned still shows upright; EXIF without one, or upright, or malformed,
// goes entirely.
TEST(MediaTest, AJpegKeepsItsExifOrientationAndNothingElseOfExif) {
  const std::string six = JpegSegment(
      0xE1, "Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0"s);
  for (bool big : {false, true}) {
    auto clean =
        CleanAttachment("image/jpeg", kJpeg.substr(0, 2) + PhoneExif(big, 6) + kJpeg.substr(2));
    ASSERT_TRUE(clean.ok()) << clean.status().ToString();
    EXPECT_EQ(*clean, kJpeg.substr(0, 2) + six + kJpeg.substr(2)) << (big ? "MM" : "II");
    EXPECT_EQ(clean->find("Canon"), std::string::npos);
    EXPECT_EQ(clean->find("GPS"), std::string::npos);
    EXPECT_EQ(*CleanAttachment("image/jpeg", *clean), *clean);  // idempotent
  }
  // Upright (1), out of range (9), the wrong type, a truncated IFD: no EXIF at all.
  for (const std::string& exif :
       {PhoneExif(true, 1), PhoneExif(false, 9),
        JpegSegment(0xE1,
                    "Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x04\0\0\0\x01\0\0\0\x06\0\0\0\0"s),
        // Five entries said, room for one: the orientation would be the second.
        JpegSegment(
            0xE1,
            "Exif\0\0MM\0\x2A\0\0\0\x08\0\x05\x01\x0F\0\x02\0\0\0\x01\0\0\0\0\x01\x12\0\x03"s),
        JpegSegment(0xE1, "Exif\0\0MM\0\x2A\xFF\xFF\xFF\xF0\0\0"s),
        // 28 bytes (no next-IFD offset): kept, it would grow to 32.
        JpegSegment(0xE1, "Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0"s)}) {
    auto clean = CleanAttachment("image/jpeg", kJpeg.substr(0, 2) + exif + kJpeg.substr(2));
    ASSERT_TRUE(clean.ok()) << clean.status().ToString();
    EXPECT_EQ(*clean, kJpeg) << exif.size();
  }
}

// JFIF may carry an uncompressed thumbnail (of the uncropped original), and Adobe's segment bytes
// after its colour transform; other markers with a length (JPGn, reserved) carry anything: all
// of that goes, and what decoding needs is rebuilt.
TEST(MediaTest, AJpegKeepsNoThumbnailAndNoUnknownSegment) {
  const std::string density = std::string("JFIF\0\1\2\1\0\x48\0\x48", 12);
  const std::string with_thumb = JpegSegment(0xE0, density + "\1\1" + "RGB");  // 1x1 thumbnail
  const std::string adobe = JpegSegment(0xEE, "Adobe\0\x64\0\0\0\0\1"s + "Siti Aminah");
  const std::string jpg5 = JpegSegment(0xF5, "Siti Aminah");
  const std::string reserved = JpegSegment(0x42, "Siti Aminah");
  auto clean = CleanAttachment(
      "image/jpeg", kJpeg.substr(0, 2) + with_thumb + adobe + jpg5 + reserved + kJpeg.substr(2));
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_EQ(*clean, kJpeg.substr(0, 2) + JpegSegment(0xE0, density + std::string(2, '\0')) +
                        JpegSegment(0xEE, "Adobe\0\x64\0\0\0\0\1"s) + kJpeg.substr(2));
  EXPECT_EQ(clean->find("Siti"), std::string::npos);
  EXPECT_EQ(clean->find("RGB"), std::string::npos);
  // A JFIF segment too short to be one is dropped, not padded: cleaning never grows a file.
  auto short_jfif = CleanAttachment(
      "image/jpeg", kJpeg.substr(0, 2) + JpegSegment(0xE0, density) + kJpeg.substr(2));
  ASSERT_TRUE(short_jfif.ok());
  EXPECT_EQ(*short_jfif, kJpeg);
}

TEST(MediaTest, APngKeepsOnlyTheChunksThatDrawIt) {
  const std::string ihdr_end = kPng.substr(8, 25);  // IHDR: 4 + 4 + 13 + 4
  const std::string rest = kPng.substr(33);
  const std::string dirty = kPng.substr(0, 8) + ihdr_end + Chunk("tEXt", "Author\0Siti Aminah"s) +
                            Chunk("eXIf", "GPS -6.59") + Chunk("iTXt", "XML:com.adobe.xmp") +
                            Chunk("tIME", "1234567") + Chunk("gAMA", "0000") +
                            Chunk("pHYs", "longer than nine bytes: Siti") + rest + "trailing-bytes";
  auto clean = CleanAttachment("image/png", dirty);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_EQ(*clean, kPng.substr(0, 8) + ihdr_end + Chunk("gAMA", "0000") + rest);
  EXPECT_EQ(*CleanAttachment("image/png", kPng), kPng);
  // An unknown critical chunk may be needed to draw the image: refused, not dropped.
  auto critical = CleanAttachment("image/png", kPng.substr(0, 33) + Chunk("ABCD", "x") + rest);
  EXPECT_FALSE(critical.ok());
  EXPECT_NE(critical.status().message().find("ABCD"), std::string::npos);
  EXPECT_FALSE(CleanAttachment("image/png", kPng.substr(0, 8) + rest).ok());  // no IHDR first
}

TEST(MediaTest, APdfIsCheckedAndKeptAsSent) {
  const std::string pdf = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
  EXPECT_EQ(*CleanAttachment("application/pdf", pdf), pdf);
  EXPECT_FALSE(CleanAttachment("application/pdf", pdf.substr(0, 30)).ok());  // no %%EOF
  EXPECT_FALSE(CleanAttachment("application/pdf", "GIF89a%%EOF").ok());
}

// Every prefix of a file, and the file under another type: an error naming the field, never a
// crash or a read outside the bytes (the sanitizer pass runs this too).
TEST(MediaTest, BadFilesGetAClearErrorWhateverTheirBytes) {
  for (const auto& [type, file] :
       {std::pair<std::string, std::string>{"image/jpeg", kJpeg}, {"image/png", kPng}}) {
    for (size_t n = 0; n < file.size(); ++n) {
      auto r = CleanAttachment(type, file.substr(0, n));
      ASSERT_FALSE(r.ok()) << type << " cut at " << n;
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
      EXPECT_EQ(r.status().field(), "file");
    }
  }
  EXPECT_FALSE(CleanAttachment("image/jpeg", kPng).ok());
  EXPECT_FALSE(CleanAttachment("image/png", kJpeg).ok());
  auto gif = CleanAttachment("image/gif", "GIF89a");
  ASSERT_FALSE(gif.ok());
  EXPECT_EQ(gif.status().field(), "Content-Type");
  auto big = CleanAttachment("application/pdf", "%PDF-" + std::string(kMaxAttachmentBytes, ' '));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("5 MB"), std::string::npos);
}

}  // namespace
}  // namespace lapor::node
