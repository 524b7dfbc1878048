// The node's log lines on stderr: "text" (time, level, [subsystem req=id], message: for a
// terminal) or "json" (one object per line: time, level, subsystem, request_id inside a request,
// thread, message; for journald and log shippers). The subsystem is the thread's name
// (node/log_context.h); the request id is the one sent back as X-Request-Id.
// Messages never carry personal data or secrets: reporters' data and tokens stay out of every
// log call (tests read the node's log for it).
#pragma once

#include <string>

#include "base/status.h"

namespace lapor::node {

// Installs the default logger "lapor" on stderr in `format` ("text" or "json"); InvalidArgument
// names `field` for any other format.
Status SetupLogging(const std::string& format, const char* field);

}  // namespace lapor::node
