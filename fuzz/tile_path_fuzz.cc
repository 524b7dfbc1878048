// Tile paths (crypto/note.h ParseTilePath): every request path under /log/. A path that parses is
// the canonical spelling of its tile: TilePath/EntriesTilePath give it back byte for byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor::crypto;
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  auto ref = ParseTilePath(path);
  if (!ref.ok()) return 0;
  const std::string again = ref->entries ? EntriesTilePath(ref->index, ref->width)
                                         : TilePath(ref->level, ref->index, ref->width);
  if (again != path) __builtin_trap();
  return 0;
}
