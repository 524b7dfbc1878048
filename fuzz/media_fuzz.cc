// CleanAttachment (node/media.h) on arbitrary bytes as each accepted type: never reads outside
// the input, and what it keeps is clean already (cleaning it again changes nothing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "node/media.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const char* type : {"image/jpeg", "image/png", "application/pdf"}) {
    auto clean = lapor::node::CleanAttachment(type, bytes);
    if (!clean.ok()) continue;
    auto again = lapor::node::CleanAttachment(type, *clean);
    if (!again.ok() || *again != *clean) std::abort();
  }
  return 0;
}
