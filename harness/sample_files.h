// Small files for tests of attachments (node/media.h): an 8x8 JPEG and a 2x2 PNG with no
// metadata at all, and a way to give the JPEG some (as a phone's camera would).
#pragma once

#include <string>

#include "crypto/encoding.h"

namespace lapor::testing {

inline const std::string& SampleJpeg() {
  static const std::string kJpeg = *crypto::HexDecode(
      "ffd8ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c3933383740485c4e40"
      "4457453738506d51575f626768673e4d71797064785c656763ffdb0043011112121815182f1a1a2f634238426363"
      "63636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363"
      "6363ffc00011080008000803012200021101031101ffc4001500010100000000000000000000000000000005ffc4"
      "00191000030003000000000000000000000000000311132161ffc400150101010000000000000000000000000000"
      "0406ffc4001811010003010000000000000000000000000200031231ffda000c03010002110311003f0098a5e3bb"
      "b78000d658ac5a5d94201072793fffd9");
  return kJpeg;
}

inline const std::string& SamplePng() {
  static const std::string kPng = *crypto::HexDecode(
      "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a7300000010494441547"
      "89c631050300022060805000a0e01815633eef30000000049454e44ae426082");
  return kPng;
}

// A JPEG segment: marker, two length bytes, body.
inline std::string JpegSegment(unsigned char marker, const std::string& body) {
  const size_t len = body.size() + 2;
  return std::string{static_cast<char>(0xFF), static_cast<char>(marker),
                     static_cast<char>(len >> 8), static_cast<char>(len & 0xFF)} +
         body;
}

// The sample JPEG as a camera would send it: an EXIF segment naming the camera and a GPS
// position, and a comment, after its start.
inline std::string SampleJpegWithMetadata() {
  return SampleJpeg().substr(0, 2) +
         JpegSegment(0xE1, std::string("Exif\0\0", 6) + "GPSLatitude -6.5971 Canon EOS 80D") +
         JpegSegment(0xFE, "Siti Aminah") + SampleJpeg().substr(2);
}

}  // namespace lapor::testing
