// Working-day arithmetic for SLA deadlines: Monday to Friday, minus the holidays of a calendar
// file the operator edits (one YYYY-MM-DD per line, '#' starts a comment), in the node's local
// time (UTC offset, default +07:00 WIB).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "base/status.h"

namespace lapor::protocol {

class WorkingCalendar {
 public:
  explicit WorkingCalendar(int utc_offset_minutes = 7 * 60)
      : offset_ms_(utc_offset_minutes * 60000LL) {}

  // Parses holiday lines; an error names the line. A line `-YYYY-MM-DD` removes that date from
  // the holidays of `base` (which the result starts from when given).
  static Result<WorkingCalendar> Parse(const std::string& text, int utc_offset_minutes,
                                       const WorkingCalendar* base = nullptr);
  // The file alone (a missing file: weekends only).
  static Result<WorkingCalendar> Load(const std::string& path, int utc_offset_minutes);
  // Indonesia's national holidays and cuti bersama (data/holidays/, compiled in: the years the
  // release knows) plus the file's regional days, minus its `-YYYY-MM-DD` lines. What a node uses.
  static Result<WorkingCalendar> LoadWithNational(const std::string& path, int utc_offset_minutes);
  static Result<WorkingCalendar> National(int utc_offset_minutes);

  void AddHoliday(int64_t day) { holidays_.insert(day); }
  // Day number (days since 1970-01-01) of a civil date; -1 if the date is invalid.
  static int64_t DayNumber(int year, int month, int day);
  bool IsWorkingDay(int64_t day) const;

  // The end (last millisecond, local time) of the n-th working day after the local day of
  // `start_ms`, in UTC milliseconds. n >= 1. A case filed on Monday with n = 3 is due at the end
  // of Thursday; one filed on Saturday with n = 1 is due at the end of Monday.
  int64_t DeadlineAfter(int64_t start_ms, int n) const;

  size_t holiday_count() const { return holidays_.size(); }

 private:
  int64_t offset_ms_;
  std::set<int64_t> holidays_;
};

}  // namespace lapor::protocol
