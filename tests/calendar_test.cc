// Unit tests for protocol/calendar.h: civil day numbers, working days, SLA deadlines in local time
// and the holiday file format. Every expected timestamp was computed with Python's datetime (with
// an explicit timezone), not by hand; the comment beside each gives the local and UTC reading.
//
// Reference dates: 1970-01-01 was a Thursday; 2026-11-27 and 2026-12-25 are Fridays.

#include "protocol/calendar.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace lapor::protocol {
namespace {

using Code = Status::Code;

constexpr int kWib = 7 * 60;   // Western Indonesia (Jakarta)
constexpr int kWita = 8 * 60;  // Central Indonesia (Makassar, Bali)
constexpr int kWit = 9 * 60;   // Eastern Indonesia (Jayapura)

int64_t Day(int y, int m, int d) {
  const int64_t n = WorkingCalendar::DayNumber(y, m, d);
  EXPECT_GE(n, 0) << y << "-" << m << "-" << d;
  return n;
}

// ---------------------------------------------------------------------------------------------
// DayNumber.

TEST(CalendarDayNumberTest, KnownValues) {
  // python3: date(y, m, d).toordinal() - date(1970, 1, 1).toordinal()
  EXPECT_EQ(WorkingCalendar::DayNumber(1970, 1, 1), 0);
  EXPECT_EQ(WorkingCalendar::DayNumber(1970, 1, 2), 1);
  EXPECT_EQ(WorkingCalendar::DayNumber(2000, 3, 1), 11017);
  EXPECT_EQ(WorkingCalendar::DayNumber(2024, 2, 29), 19782);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 11, 27), 20784);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 11, 30), 20787);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 12, 1), 20788);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 12, 25), 20812);
  EXPECT_EQ(WorkingCalendar::DayNumber(2027, 1, 1), 20819);
}

TEST(CalendarDayNumberTest, ConsecutiveAcrossMonthAndYearEnds) {
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 12, 31) + 1, WorkingCalendar::DayNumber(2027, 1, 1));
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 2, 28) + 1, WorkingCalendar::DayNumber(2026, 3, 1));
  EXPECT_EQ(WorkingCalendar::DayNumber(2024, 2, 28) + 1, WorkingCalendar::DayNumber(2024, 2, 29));
  EXPECT_EQ(WorkingCalendar::DayNumber(2024, 2, 29) + 1, WorkingCalendar::DayNumber(2024, 3, 1));
  EXPECT_EQ(WorkingCalendar::DayNumber(2000, 2, 29) + 1, WorkingCalendar::DayNumber(2000, 3, 1));
  EXPECT_EQ(WorkingCalendar::DayNumber(2027, 1, 1) - WorkingCalendar::DayNumber(2026, 1, 1), 365);
  EXPECT_EQ(WorkingCalendar::DayNumber(2025, 1, 1) - WorkingCalendar::DayNumber(2024, 1, 1), 366);
}

TEST(CalendarDayNumberTest, InvalidDates) {
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 2, 29), -1);  // 2026 is not a leap year
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 13, 1), -1);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 4, 31), -1);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 0, 1), -1);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 1, 0), -1);
  EXPECT_EQ(WorkingCalendar::DayNumber(2026, 1, 32), -1);
  EXPECT_EQ(WorkingCalendar::DayNumber(2100, 2, 29), -1);  // divisible by 100, not by 400
  EXPECT_NE(WorkingCalendar::DayNumber(2024, 2, 29), -1);
  EXPECT_NE(WorkingCalendar::DayNumber(2000, 2, 29), -1);  // divisible by 400
  EXPECT_NE(WorkingCalendar::DayNumber(2026, 4, 30), -1);
  EXPECT_NE(WorkingCalendar::DayNumber(2026, 12, 31), -1);
}

// ---------------------------------------------------------------------------------------------
// Working days.

TEST(CalendarWorkingDayTest, WeekendsAndHolidays) {
  WorkingCalendar cal;
  EXPECT_TRUE(cal.IsWorkingDay(0));                   // 1970-01-01, Thursday
  EXPECT_TRUE(cal.IsWorkingDay(1));                   // Friday
  EXPECT_FALSE(cal.IsWorkingDay(2));                  // Saturday
  EXPECT_FALSE(cal.IsWorkingDay(3));                  // Sunday
  EXPECT_TRUE(cal.IsWorkingDay(4));                   // Monday
  EXPECT_TRUE(cal.IsWorkingDay(Day(2026, 11, 27)));   // Friday
  EXPECT_FALSE(cal.IsWorkingDay(Day(2026, 11, 28)));  // Saturday
  EXPECT_FALSE(cal.IsWorkingDay(Day(2026, 11, 29)));  // Sunday
  EXPECT_TRUE(cal.IsWorkingDay(Day(2026, 11, 30)));   // Monday
  EXPECT_TRUE(cal.IsWorkingDay(Day(2026, 12, 25)));   // Friday, not yet a holiday
  cal.AddHoliday(Day(2026, 12, 25));
  EXPECT_FALSE(cal.IsWorkingDay(Day(2026, 12, 25)));
  EXPECT_TRUE(cal.IsWorkingDay(Day(2026, 12, 24)));
  EXPECT_EQ(cal.holiday_count(), 1u);
  cal.AddHoliday(Day(2026, 12, 25));  // the same day twice counts once
  EXPECT_EQ(cal.holiday_count(), 1u);
}

TEST(CalendarWorkingDayTest, AWeekHasFiveWorkingDays) {
  WorkingCalendar cal;
  for (int64_t start : {int64_t{0}, Day(2026, 11, 27), Day(2027, 1, 1)}) {
    int working = 0;
    for (int64_t d = start; d < start + 7; ++d) working += cal.IsWorkingDay(d) ? 1 : 0;
    EXPECT_EQ(working, 5) << start;
  }
}

// ---------------------------------------------------------------------------------------------
// DeadlineAfter, WIB (+07:00, the default).

TEST(CalendarDeadlineTest, MondayPlusThreeIsEndOfThursday) {
  WorkingCalendar cal;
  // Start 2026-11-30 10:00 WIB (Mon) = 2026-11-30T03:00:00Z.
  // Due   2026-12-03 23:59:59.999 WIB (Thu) = 2026-12-03T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1796007600000, 3), 1796317199999);
}

TEST(CalendarDeadlineTest, DefaultOffsetIsWib) {
  WorkingCalendar def;
  WorkingCalendar wib(kWib);
  EXPECT_EQ(def.DeadlineAfter(1796007600000, 3), wib.DeadlineAfter(1796007600000, 3));
  EXPECT_EQ(def.DeadlineAfter(1796059800000, 1), wib.DeadlineAfter(1796059800000, 1));
}

TEST(CalendarDeadlineTest, FridayPlusThreeIsEndOfWednesday) {
  WorkingCalendar cal;
  // Start 2026-11-27 10:00 WIB (Fri) = 2026-11-27T03:00:00Z.
  // Due   2026-12-02 23:59:59.999 WIB (Wed) = 2026-12-02T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795748400000, 3), 1796230799999);
}

TEST(CalendarDeadlineTest, WeekendPlusOneIsEndOfMonday) {
  WorkingCalendar cal;
  // Start 2026-11-28 10:00 WIB (Sat) = 2026-11-28T03:00:00Z.
  // Due   2026-11-30 23:59:59.999 WIB (Mon) = 2026-11-30T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795834800000, 1), 1796057999999);
  // Start 2026-11-29 10:00 WIB (Sun) = 2026-11-29T03:00:00Z: same deadline.
  EXPECT_EQ(cal.DeadlineAfter(1795921200000, 1), 1796057999999);
}

TEST(CalendarDeadlineTest, MondayPlusFiveIsEndOfNextMonday) {
  WorkingCalendar cal;
  // Start 2026-11-30 10:00 WIB (Mon) = 2026-11-30T03:00:00Z.
  // Due   2026-12-07 23:59:59.999 WIB (Mon) = 2026-12-07T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1796007600000, 5), 1796662799999);
}

TEST(CalendarDeadlineTest, AHolidayIsSkipped) {
  WorkingCalendar cal;
  cal.AddHoliday(Day(2026, 12, 1));  // Tuesday
  // Start 2026-11-30 10:00 WIB (Mon) = 2026-11-30T03:00:00Z.
  // Due   2026-12-04 23:59:59.999 WIB (Fri) = 2026-12-04T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1796007600000, 3), 1796403599999);
}

TEST(CalendarDeadlineTest, AHolidayOnTheStartDayDoesNotMatter) {
  WorkingCalendar cal;
  cal.AddHoliday(Day(2026, 11, 30));  // the Monday itself; counting starts the day after
  // Start 2026-11-30 10:00 WIB (Mon) = 2026-11-30T03:00:00Z.
  // Due   2026-12-03 23:59:59.999 WIB (Thu) = 2026-12-03T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1796007600000, 3), 1796317199999);
}

TEST(CalendarDeadlineTest, ARunOfHolidaysAroundChristmas) {
  WorkingCalendar cal;
  cal.AddHoliday(Day(2026, 12, 24));  // Thu, collective leave (cuti bersama)
  cal.AddHoliday(Day(2026, 12, 25));  // Fri, Christmas
  cal.AddHoliday(Day(2026, 12, 28));  // Mon, collective leave
  // Start 2026-12-23 09:00 WIB (Wed) = 2026-12-23T02:00:00Z.
  // Due   2026-12-29 23:59:59.999 WIB (Tue) = 2026-12-29T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1797991200000, 1), 1798563599999);
  // Without the holidays the same start is due at the end of Thursday 2026-12-24
  // (= 2026-12-24T16:59:59.999Z).
  EXPECT_EQ(WorkingCalendar().DeadlineAfter(1797991200000, 1), 1798131599999);
}

TEST(CalendarDeadlineTest, TenWorkingDaysAcrossTheYearEnd) {
  WorkingCalendar cal;
  cal.AddHoliday(Day(2026, 12, 25));  // Christmas
  cal.AddHoliday(Day(2027, 1, 1));    // New Year's Day
  // Start 2026-12-18 14:00 WIB (Fri) = 2026-12-18T07:00:00Z.
  // Working days: Dec 21 22 23 24 28 29 30 31, Jan 4 5.
  // Due   2027-01-05 23:59:59.999 WIB (Tue) = 2027-01-05T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1797577200000, 10), 1799168399999);
}

TEST(CalendarDeadlineTest, LocalDayBoundary) {
  WorkingCalendar cal;
  // 2026-11-30T16:59:59.999Z is 23:59:59.999 WIB Monday: due end of Tuesday 2026-12-01
  // = 2026-12-01T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1796057999999, 1), 1796144399999);
  // 2026-11-30T17:00:00Z is 00:00 WIB Tuesday: due end of Wednesday 2026-12-02
  // = 2026-12-02T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1796058000000, 1), 1796230799999);
  // 2026-11-30T17:30:00Z is 00:30 WIB Tuesday, though still Monday in UTC: same as above.
  EXPECT_EQ(cal.DeadlineAfter(1796059800000, 1), 1796230799999);
}

TEST(CalendarDeadlineTest, TheDeadlineIsTheLastMillisecondOfTheLocalDay) {
  WorkingCalendar cal;
  const int64_t due = cal.DeadlineAfter(1796007600000, 3);
  // One millisecond later is the next local day (Friday): a start then counts from Friday.
  // Friday 2026-12-04 00:00 WIB + 1 = end of Monday 2026-12-07 = 2026-12-07T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(due + 1, 1), 1796662799999);
  // The deadline itself is still Thursday: + 1 = end of Friday 2026-12-04T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(due, 1), 1796403599999);
}

// ---------------------------------------------------------------------------------------------
// Other offsets. The start 2026-11-26T16:30:00Z is Thursday 23:30 WIB, but already Friday 00:30
// WITA and 01:30 WIT, and Thursday 16:30 UTC.

TEST(CalendarOffsetTest, Wita) {
  WorkingCalendar cal(kWita);
  // Start Fri 2026-11-27 00:30 WITA. Due 2026-11-30 23:59:59.999 WITA (Mon)
  // = 2026-11-30T15:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795710600000, 1), 1796054399999);
  // Start 2026-11-26T15:30:00Z = Thu 23:30 WITA. Due 2026-11-27 23:59:59.999 WITA (Fri)
  // = 2026-11-27T15:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795707000000, 1), 1795795199999);
}

TEST(CalendarOffsetTest, Wit) {
  WorkingCalendar cal(kWit);
  // Start Fri 2026-11-27 01:30 WIT. Due 2026-11-30 23:59:59.999 WIT (Mon)
  // = 2026-11-30T14:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795710600000, 1), 1796050799999);
  // Start 2026-11-26T15:30:00Z = Fri 00:30 WIT as well: same deadline.
  EXPECT_EQ(cal.DeadlineAfter(1795707000000, 1), 1796050799999);
}

TEST(CalendarOffsetTest, WibForTheSameInstant) {
  WorkingCalendar cal(kWib);
  // Start Thu 2026-11-26 23:30 WIB. Due 2026-11-27 23:59:59.999 WIB (Fri)
  // = 2026-11-27T16:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795710600000, 1), 1795798799999);
}

TEST(CalendarOffsetTest, Utc) {
  WorkingCalendar cal(0);
  // Start Thu 2026-11-26 16:30 UTC. Due 2026-11-27T23:59:59.999Z (Fri).
  EXPECT_EQ(cal.DeadlineAfter(1795710600000, 1), 1795823999999);
  // The epoch itself: Thu 1970-01-01 00:00 UTC + 1 = end of Fri 1970-01-02 = 172799999.
  EXPECT_EQ(cal.DeadlineAfter(0, 1), 172799999);
  // Thu 1970-01-01 + 2 = end of Mon 1970-01-05 = 1970-01-05T23:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(0, 2), 5 * 86400000LL - 1);
}

TEST(CalendarOffsetTest, HolidaysAreLocalDays) {
  // A holiday on Fri 2026-11-27 matters to a WITA node whose local day is already Friday.
  WorkingCalendar cal(kWita);
  cal.AddHoliday(Day(2026, 11, 27));
  // Start 2026-11-26T15:30:00Z = Thu 23:30 WITA; Friday is a holiday: due end of Monday
  // 2026-11-30 WITA = 2026-11-30T15:59:59.999Z.
  EXPECT_EQ(cal.DeadlineAfter(1795707000000, 1), 1796054399999);
}

// ---------------------------------------------------------------------------------------------
// Parse and Load.

TEST(CalendarParseTest, CommentsBlankLinesWhitespaceAndCrlf) {
  const std::string text =
      "# Hari libur nasional dan cuti bersama 2026/2027\n"
      "\n"
      "2026-12-24   # cuti bersama\n"
      "  2026-12-25\t\n"
      "\t2027-01-01\r\n"
      "   \n"
      "\r\n"
      "# 2026-12-31 commented out\n"
      "2026-12-28#no space before the comment\n"
      "2026-12-25\n"  // a repeat
      "2027-01-02";   // no final newline
  auto cal = WorkingCalendar::Parse(text, kWib);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_EQ(cal->holiday_count(), 5u);
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 24)));
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 25)));
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 28)));
  EXPECT_FALSE(cal->IsWorkingDay(Day(2027, 1, 1)));
  EXPECT_TRUE(cal->IsWorkingDay(Day(2026, 12, 31)));  // only in a comment
  // The parsed calendar computes the Christmas example: Wed 2026-12-23 09:00 WIB + 1 = end of
  // Tue 2026-12-29 WIB = 2026-12-29T16:59:59.999Z.
  EXPECT_EQ(cal->DeadlineAfter(1797991200000, 1), 1798563599999);
}

TEST(CalendarParseTest, EmptyAndCommentOnly) {
  for (const char* text : {"", "\n", "# nothing\n\n", "\r\n\r\n"}) {
    auto cal = WorkingCalendar::Parse(text, kWib);
    ASSERT_TRUE(cal.ok()) << cal.status().ToString();
    EXPECT_EQ(cal->holiday_count(), 0u);
  }
}

TEST(CalendarParseTest, UsesTheGivenOffset) {
  auto cal = WorkingCalendar::Parse("2026-11-27\n", kWita);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  // Same as HolidaysAreLocalDays: = 2026-11-30T15:59:59.999Z.
  EXPECT_EQ(cal->DeadlineAfter(1795707000000, 1), 1796054399999);
}

class CalendarParseBadLineTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CalendarParseBadLineTest, NamesTheLine) {
  const std::string bad = GetParam();
  // The bad line is line 4, after a comment, a good date and a blank line.
  const std::string text = "# holidays\n2026-12-25\n\n" + bad + "\n2027-01-01\n";
  auto cal = WorkingCalendar::Parse(text, kWib);
  ASSERT_FALSE(cal.ok()) << "accepted '" << bad << "'";
  EXPECT_EQ(static_cast<int>(cal.status().code()), static_cast<int>(Code::kInvalidArgument));
  EXPECT_NE(cal.status().message().find("line 4"), std::string::npos) << cal.status().message();
}

INSTANTIATE_TEST_SUITE_P(Calendar, CalendarParseBadLineTest,
                         ::testing::Values("2026/01/01", "2026-1-1", "2026-02-30", "hello",
                                           "2026-02-29", "2026-13-01", "2026-04-31",
                                           "2026-12-25 2026-12-26", "2026-12-25x", "26-12-25",
                                           "2026-00-10", "2026-12-00"));

// The format is exactly YYYY-MM-DD: the month and day are two digits each, with no sign and no
// space inside the date (sscanf's %2d alone would accept "+1" and " 1").
TEST(CalendarParseTest, RejectsSignsAndSpacesInsideTheDate) {
  for (const char* bad : {"2026-+1-01", "2026- 1-01", "2026-01-+1", "2026-01- 1"}) {
    auto cal = WorkingCalendar::Parse(std::string("2026-12-25\n") + bad + "\n", kWib);
    EXPECT_FALSE(cal.ok()) << "accepted '" << bad << "' as a holiday";
    if (!cal.ok()) {
      EXPECT_EQ(static_cast<int>(cal.status().code()), static_cast<int>(Code::kInvalidArgument));
      EXPECT_NE(cal.status().message().find("line 2"), std::string::npos) << cal.status().message();
    }
  }
}

TEST(CalendarParseTest, LineNumbersCountBlankAndCommentLines) {
  auto cal = WorkingCalendar::Parse("\n\n# c\n2026-12-25\r\n\r\n2026-02-30\r\n", kWib);
  ASSERT_FALSE(cal.ok());
  EXPECT_EQ(static_cast<int>(cal.status().code()), static_cast<int>(Code::kInvalidArgument));
  EXPECT_NE(cal.status().message().find("line 6"), std::string::npos) << cal.status().message();

  auto first = WorkingCalendar::Parse("hello\n", kWib);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("line 1"), std::string::npos) << first.status().message();
}

TEST(CalendarLoadTest, MissingFileMeansWeekendsOnly) {
  auto cal = WorkingCalendar::Load("/nonexistent/lapor-holidays.txt", kWib);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_EQ(cal->holiday_count(), 0u);
}

TEST(CalendarLoadTest, ReadsAFile) {
  const std::string path =
      ::testing::TempDir() + "calendar_test_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << "# libur\n2026-12-25\n2027-01-01\n";
  }
  auto cal = WorkingCalendar::Load(path, kWib);
  std::remove(path.c_str());
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_EQ(cal->holiday_count(), 2u);
  EXPECT_FALSE(cal->IsWorkingDay(Day(2027, 1, 1)));
}

TEST(CalendarLoadTest, ABadFileIsAnError) {
  const std::string path =
      ::testing::TempDir() + "calendar_test_bad_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << "2026-12-25\n2026/12/26\n";
  }
  auto cal = WorkingCalendar::Load(path, kWib);
  std::remove(path.c_str());
  ASSERT_FALSE(cal.ok());
  EXPECT_NE(cal.status().message().find("line 2"), std::string::npos) << cal.status().message();
}

// The national list compiled in from data/holidays/ (SKB 3 Menteri for 2026 and 2027).
TEST(CalendarNationalTest, KnowsTheNationalHolidaysAndCutiBersama) {
  auto cal = WorkingCalendar::National(kWib);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  EXPECT_GE(cal->holiday_count(), 25u + 26u);
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 8, 17)));   // Monday, Proklamasi
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 3, 23)));   // Monday, cuti bersama Idulfitri
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 24)));  // Thursday, cuti bersama Natal
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 25)));  // Friday, Natal
  EXPECT_FALSE(cal->IsWorkingDay(Day(2027, 1, 1)));    // Friday, Tahun Baru
  EXPECT_TRUE(cal->IsWorkingDay(Day(2026, 12, 23)));   // an ordinary Wednesday
  // Thursday 2026-12-23 + 1 working day skips Thu 24 (cuti bersama), Fri 25 (Natal) and the
  // weekend: due at the end of Monday 2026-12-28 WIB = 2026-12-28T16:59:59.999Z.
  const int64_t start = Day(2026, 12, 23) * 86400000LL + 3 * 3600000LL;  // 10:00 WIB
  EXPECT_EQ(cal->DeadlineAfter(start, 1), Day(2026, 12, 29) * 86400000LL - 7 * 3600000LL - 1);
}

TEST(CalendarNationalTest, TheFileAddsRegionalDaysAndCanRemoveANationalOne) {
  const std::string path =
      ::testing::TempDir() + "calendar_test_nat_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << "# regional\n2026-12-22\n-2026-12-24  # cuti bersama is a working day here\n";
  }
  auto cal = WorkingCalendar::LoadWithNational(path, kWib);
  auto missing = WorkingCalendar::LoadWithNational("/nonexistent/lapor-holidays.txt", kWib);
  auto national = WorkingCalendar::National(kWib);
  std::remove(path.c_str());
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  ASSERT_TRUE(missing.ok() && national.ok());
  EXPECT_EQ(missing->holiday_count(), national->holiday_count());
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 22)));  // the regional day
  EXPECT_TRUE(cal->IsWorkingDay(Day(2026, 12, 24)));   // removed by the file
  EXPECT_FALSE(cal->IsWorkingDay(Day(2026, 12, 25)));  // still national
  EXPECT_EQ(cal->holiday_count(), national->holiday_count());
  // A bad removal line is an error naming its line, like any other.
  auto bad = WorkingCalendar::Parse("-2026-13-01\n", kWib, &*national);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace lapor::protocol
