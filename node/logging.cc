#include "node/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <memory>

#include "node/log_context.h"

namespace lapor::node {
namespace {

void AppendJsonString(std::string_view s, spdlog::memory_buf_t& out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out.append(std::string_view(esc));
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 passes through
        }
    }
  }
  out.push_back('"');
}

// {"time":"2026-12-03T13:45:00.123Z","level":"info","subsystem":"http","request_id":"5f0c...",
//  "thread":123,"message":"..."} (request_id only inside a request)
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto since = msg.time.time_since_epoch();
    const auto secs = duration_cast<seconds>(since);
    const auto ms = duration_cast<milliseconds>(since - secs).count();
    std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char time[96];
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    dest.append(std::string_view("{\"time\":\""));
    dest.append(std::string_view(time));
    dest.append(std::string_view("\",\"level\":"));
    const auto level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(std::string_view(level.data(), level.size()), dest);
    dest.append(std::string_view(",\"subsystem\":"));
    std::string_view subsystem = CurrentSubsystem();
    if (subsystem.empty())
      subsystem = std::string_view(msg.logger_name.data(), msg.logger_name.size());
    AppendJsonString(subsystem, dest);
    if (std::string_view id = CurrentRequestId(); !id.empty()) {
      dest.append(std::string_view(",\"request_id\":"));
      AppendJsonString(id, dest);
    }
    const std::string thread = ",\"thread\":" + std::to_string(msg.thread_id) + ",\"message\":";
    dest.append(std::string_view(thread));
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Text lines' "%*": the subsystem, and the request id inside a request ("http req=5f0c...").
class ContextFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view subsystem = CurrentSubsystem();
    dest.append(subsystem.empty() ? std::string_view("-") : subsystem);
    if (std::string_view id = CurrentRequestId(); !id.empty()) {
      dest.append(std::string_view(" req="));
      dest.append(id);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ContextFlag>();
  }
};

}  // namespace

Status SetupLogging(const std::string& format, const char* field) {
  if (format != "text" && format != "json") {
    return Status::InvalidArgument("log format must be text or json, got '" + format + "'", field);
  }
  auto logger = spdlog::get("lapor");
  if (!logger) logger = spdlog::stderr_color_mt("lapor");
  spdlog::set_default_logger(logger);
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto text = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    text->add_flag<ContextFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%*] %v");
    logger->set_formatter(std::move(text));
  }
  return Status::Ok();
}

}  // namespace lapor::node
