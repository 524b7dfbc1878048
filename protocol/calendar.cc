#include "protocol/calendar.h"

#include <fstream>
#include <sstream>

namespace lapor::protocol {

// Generated from data/holidays/national-*.txt (node/national_holidays.cc.in).
extern const char kNationalHolidays[];

namespace {
constexpr int64_t kDayMs = 86400000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
}  // namespace

int64_t WorkingCalendar::DayNumber(int y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1) return -1;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return -1;
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = y / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool WorkingCalendar::IsWorkingDay(int64_t day) const {
  int64_t weekday = ((day % 7) + 7 + 4) % 7;  // 0 = Sunday; day 0 was a Thursday
  if (weekday == 0 || weekday == 6) return false;
  return holidays_.count(day) == 0;
}

int64_t WorkingCalendar::DeadlineAfter(int64_t start_ms, int n) const {
  int64_t day = FloorDiv(start_ms + offset_ms_, kDayMs);
  while (n > 0) {
    ++day;
    if (IsWorkingDay(day)) --n;
  }
  return (day + 1) * kDayMs - 1 - offset_ms_;
}

Result<WorkingCalendar> WorkingCalendar::Parse(const std::string& text, int utc_offset_minutes,
                                               const WorkingCalendar* base) {
  WorkingCalendar cal(utc_offset_minutes);
  if (base != nullptr) cal.holidays_ = base->holidays_;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    auto e = line.find_last_not_of(" \t\r");
    std::string date = line.substr(b, e - b + 1);
    const bool remove = date[0] == '-';
    if (remove) date.erase(0, 1);
    int y = 0, m = 0, d = 0;
    char tail = 0;
    bool digits = date.size() == 10;
    for (size_t i = 0; digits && i < date.size(); ++i) {
      digits = (i == 4 || i == 7) ? date[i] == '-' : (date[i] >= '0' && date[i] <= '9');
    }
    if (!digits || std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) {
      return Status::InvalidArgument("holiday calendar line " + std::to_string(lineno) +
                                     ": expected YYYY-MM-DD, got '" + date + "'");
    }
    int64_t day = DayNumber(y, m, d);
    if (day < 0) {
      return Status::InvalidArgument("holiday calendar line " + std::to_string(lineno) +
                                     ": no such date " + date);
    }
    if (remove) {
      cal.holidays_.erase(day);
    } else {
      cal.AddHoliday(day);
    }
  }
  return cal;
}

Result<WorkingCalendar> WorkingCalendar::Load(const std::string& path, int utc_offset_minutes) {
  std::ifstream f(path);
  if (!f) return WorkingCalendar(utc_offset_minutes);  // no file: weekends only
  std::stringstream ss;
  ss << f.rdbuf();
  return Parse(ss.str(), utc_offset_minutes);
}

Result<WorkingCalendar> WorkingCalendar::National(int utc_offset_minutes) {
  auto cal = Parse(kNationalHolidays, utc_offset_minutes);
  if (!cal.ok()) {
    return Status::Corruption("the national holiday list compiled in is invalid: " +
                              cal.status().message());
  }
  return cal;
}

Result<WorkingCalendar> WorkingCalendar::LoadWithNational(const std::string& path,
                                                          int utc_offset_minutes) {
  auto national = National(utc_offset_minutes);
  if (!national.ok()) return national.status();
  std::ifstream f(path);
  if (!f) return national;
  std::stringstream ss;
  ss << f.rdbuf();
  return Parse(ss.str(), utc_offset_minutes, &*national);
}

}  // namespace lapor::protocol
