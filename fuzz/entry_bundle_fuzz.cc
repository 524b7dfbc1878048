// Entry bundles (crypto/note.h DecodeEntryBundle): what an auditor downloads from a node. The
// first byte is the expected entry count; a bundle that decodes encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor::crypto;
  if (size == 0) return 0;
  const std::string_view bundle(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto entries = DecodeEntryBundle(bundle, data[0]);
  if (!entries.ok()) return 0;
  if (entries->size() != data[0]) __builtin_trap();
  auto encoded = EncodeEntryBundle(*entries);
  if (!encoded.ok() || *encoded != bundle) __builtin_trap();
  return 0;
}
