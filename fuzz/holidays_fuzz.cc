// The holiday file (protocol/calendar.h WorkingCalendar::Parse) an operator edits and the node
// reloads while it runs: any text is a calendar or an error naming its line, and deadlines
// computed from a parsed calendar always move forward.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/calendar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor::protocol;
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const auto national = WorkingCalendar::National(7 * 60);
  auto cal = WorkingCalendar::Parse(text, 7 * 60, national.ok() ? &*national : nullptr);
  if (!cal.ok()) {
    if (cal.status().message().find("line ") == std::string::npos) __builtin_trap();
    return 0;
  }
  const int64_t start = 1'796'000'000'000;  // December 2026
  const int64_t due = cal->DeadlineAfter(start, 3);
  if (due <= start) __builtin_trap();
  return 0;
}
