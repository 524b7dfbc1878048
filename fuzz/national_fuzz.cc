// The national evidence an auditor checks (audit/national.h, `lapor-audit check-national`):
// whatever bytes a hub serves, the check answers with an error or a list of problems, never a
// crash or an exception; and the UTC times the national API reads (base/clock.h ParseUtc) print
// back as what they parsed to.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/national.h"
#include "base/clock.h"
#include "crypto/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = (lapor::crypto::Init(), true);
  (void)init;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto check = lapor::audit::CheckNationalEvidence(text, std::string(64, 'a'));
  (void)check;
  if (auto t = lapor::ParseUtc(text); t) {
    if (*t < 0) __builtin_trap();
    auto again = lapor::ParseUtc(lapor::FormatUtc(*t));
    if (*t > 0 && (!again || *again != *t)) __builtin_trap();
  }
  return 0;
}
