// The node's log lines on stderr: "text" (time, level, message: for a terminal) or "json" (one
// object per line: time, level, subsystem, thread, message; for journald and log shippers).
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
