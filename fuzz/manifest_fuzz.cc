// The federation manifest (protocol/manifest.h): what a node fetches from the hub and stores.
// Any bytes: no crash; a signature check against a fixed key never accepts unsigned input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/crypto.h"
#include "protocol/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor;
  static const bool init = (crypto::Init(), true);
  (void)init;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto m = protocol::ParseStoredManifest(bytes)) (void)m->version();
  static const std::string hub_key(32, '\x02');  // nobody holds its secret key
  if (protocol::OpenManifest(bytes, hub_key).ok()) __builtin_trap();
  return 0;
}
