#include "base/status.h"

namespace lapor {

const char* Status::CodeName() const {
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kNotFound:
      return "not_found";
    case Code::kConflict:
      return "conflict";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kTooLarge:
      return "too_large";
    case Code::kMethodNotAllowed:
      return "method_not_allowed";
    case Code::kUnsupportedMedia:
      return "unsupported_media_type";
    case Code::kTooManyRequests:
      return "too_many_requests";
    case Code::kHeadersTooLarge:
      return "headers_too_large";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kNoSpace:
      return "no_space";
    case Code::kCorruption:
      return "corruption";
    case Code::kIOError:
      return "io_error";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = CodeName();
  s += ": ";
  s += message_;
  if (!field_.empty()) s += " (field " + field_ + ")";
  return s;
}

}  // namespace lapor
