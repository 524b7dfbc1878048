// The citizen and operator API's JSON bodies (node/api_codec.h): any bytes become a request or
// an InvalidArgument naming a field, never an exception or a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/api_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lapor;
  using namespace lapor::node;
  auto body = ParseJsonBody(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!body.ok()) {
    if (body.status().code() != Status::Code::kInvalidArgument) __builtin_trap();
    return 0;
  }
  SubmitRequest submit;
  Status s = ParseSubmit(*body, &submit);
  if (!s.ok() && (s.code() != Status::Code::kInvalidArgument || s.field().empty())) {
    __builtin_trap();
  }
  ActionRequest action;
  std::string code;
  Status a = ParseAction(*body, &action, &code);
  if (!a.ok() && (a.code() != Status::Code::kInvalidArgument || a.field().empty())) {
    __builtin_trap();
  }
  return 0;
}
