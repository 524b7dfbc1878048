// CSV for exports (RFC 4180: fields separated by commas, rows ended by CRLF, a field quoted when
// it holds a comma, a quote or a line break, its quotes doubled), safe to open in a spreadsheet:
// a field that starts with = + - @ (or a tab or carriage return) would be read as a formula, so
// it gets a leading apostrophe (OWASP's CSV injection advice).
#pragma once

#include <string>
#include <vector>

namespace lapor::node {

inline constexpr char kCsvContentType[] = "text/csv; charset=utf-8";

// One field, guarded and quoted as needed.
std::string CsvField(const std::string& value);
// One row: the fields joined by commas, ended by CRLF.
std::string CsvRow(const std::vector<std::string>& fields);

}  // namespace lapor::node
