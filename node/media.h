// The files a complaint may carry: photos (JPEG, PNG) and PDF documents. Before a file is kept,
// CleanAttachment checks that it is what its media type says and removes from an image everything
// that does not draw it: EXIF (GPS position, camera make and model, time, the owner's name),
// XMP, IPTC, ICC profiles, comments, embedded thumbnails and anything after the image's end (some
// phones append a video or their own metadata there). What is kept is a whitelist:
//   JPEG: the frame, table, restart and scan segments and the entropy-coded data, byte for byte;
//         of JFIF (APP0) its version and density with no thumbnail, of Adobe's segment (APP14)
//         its 12 bytes up to the colour transform, of EXIF (APP1) the orientation alone (so a
//         photo taken with the phone turned still shows upright), all rebuilt; every other
//         segment goes;
//   PNG:  IHDR, PLTE, IDAT, IEND and the chunks that change how pixels look (tRNS, gAMA, cHRM,
//         sRGB, sBIT, bKGD, pHYs) no longer than their specification allows, each with its CRC;
//         an unknown or oversized critical chunk is refused.
// The pixels are never decoded or re-encoded: the image is exactly the one sent, minus metadata.
// A PDF is checked to be one (%PDF- header, %%EOF trailer) and kept as sent: its document
// properties are not removed (the filing page says so).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lapor::node {

// A file's size limit (the filing page states it) and the media types accepted.
inline constexpr size_t kMaxAttachmentBytes = 5 * 1024 * 1024;
inline constexpr size_t kMaxFilesPerComplaint = 5;
bool IsAcceptedMediaType(std::string_view media_type);

// The file to keep for `bytes` sent as `media_type`, or InvalidArgument (field "file") naming
// what is wrong. Never reads outside `bytes`, whatever they hold.
Result<std::string> CleanAttachment(std::string_view media_type, std::string_view bytes);

}  // namespace lapor::node
