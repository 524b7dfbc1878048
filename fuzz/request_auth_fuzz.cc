// The four request-signing headers (federation/request_auth.h ParseRequestAuth) of every
// node-to-node request: the input holds their values separated by '\n'. Any value: a clear
// refusal or a well-formed RequestAuth, never a crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "federation/request_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor::federation;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string_view names[] = {kHeaderNode, kHeaderTimestamp, kHeaderNonce, kHeaderSignature};
  std::map<std::string, std::string, std::less<>> headers;
  size_t at = 0;
  for (const auto& name : names) {
    if (at > in.size()) break;
    size_t nl = in.find('\n', at);
    if (nl == std::string::npos) nl = in.size();
    headers.emplace(std::string(name), in.substr(at, nl - at));
    at = nl + 1;
  }
  auto auth = ParseRequestAuth([&](std::string_view name) -> std::optional<std::string> {
    auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  });
  if (auth.ok() && (auth->nonce.size() != 2 * kNonceBytes || auth->signature.size() != 64 ||
                    auth->node_id.empty())) {
    __builtin_trap();
  }
  return 0;
}
