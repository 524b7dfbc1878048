// Status and Result<T>: the error values every layer returns. No exceptions cross a module
// boundary; the HTTP edge maps a Status code to a status line and a JSON error body.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace lapor {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,   // caller's input is malformed (HTTP 400)
    kUnauthenticated,   // no or unknown credentials (401)
    kPermissionDenied,  // credentials lack the right (403)
    kNotFound,          // (404)
    kConflict,          // refused by the current state (409)
    kAlreadyExists,     // (409)
    kTooLarge,          // (413)
    kMethodNotAllowed,  // (405)
    kUnsupportedMedia,  // (415)
    kTooManyRequests,   // the caller's rate limit is spent (429)
    kHeadersTooLarge,   // the request's header block is over the limit (431)
    kUnavailable,       // try again later (503)
    kNoSpace,           // the disk is full: writes are refused until space returns (503)
    kCorruption,        // stored data fails a check
    kIOError,           // the operating system or SQLite failed
    kInternal,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg, std::string field = {}) {
    return Status(Code::kInvalidArgument, std::move(msg), std::move(field));
  }
  static Status Unauthenticated(std::string msg) {
    return Status(Code::kUnauthenticated, std::move(msg));
  }
  static Status PermissionDenied(std::string msg) {
    return Status(Code::kPermissionDenied, std::move(msg));
  }
  static Status NotFound(std::string msg, std::string field = {}) {
    return Status(Code::kNotFound, std::move(msg), std::move(field));
  }
  static Status Conflict(std::string msg, std::string field = {}) {
    return Status(Code::kConflict, std::move(msg), std::move(field));
  }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status TooLarge(std::string msg) { return Status(Code::kTooLarge, std::move(msg)); }
  static Status MethodNotAllowed(std::string msg) {
    return Status(Code::kMethodNotAllowed, std::move(msg));
  }
  static Status UnsupportedMedia(std::string msg) {
    return Status(Code::kUnsupportedMedia, std::move(msg));
  }
  static Status TooManyRequests(std::string msg) {
    return Status(Code::kTooManyRequests, std::move(msg));
  }
  static Status HeadersTooLarge(std::string msg) {
    return Status(Code::kHeadersTooLarge, std::move(msg));
  }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // Name of the request field the error is about, if any.
  const std::string& field() const { return field_; }
  // Stable lower-case name of the code, used in JSON error bodies.
  const char* CodeName() const;
  std::string ToString() const;

 private:
  Status(Code code, std::string msg, std::string field = {})
      : code_(code), message_(std::move(msg)), field_(std::move(field)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

#define LAPOR_RETURN_IF_ERROR(expr) \
  do {                              \
    ::lapor::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

}  // namespace lapor
