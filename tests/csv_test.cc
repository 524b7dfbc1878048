// The CSV of exports (node/csv.h): RFC 4180 quoting and the spreadsheet formula guard.
#include "node/csv.h"

#include <gtest/gtest.h>

namespace lapor::node {
namespace {

TEST(CsvTest, QuotesOnlyWhatNeedsItAndDoublesQuotes) {
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("Jalan berlubang"), "Jalan berlubang");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("kata \"rusak\""), "\"kata \"\"rusak\"\"\"");
  EXPECT_EQ(CsvField("baris\nkedua"), "\"baris\nkedua\"");
  EXPECT_EQ(CsvField("baris\r\nkedua"), "\"baris\r\nkedua\"");
  EXPECT_EQ(CsvField("Désa Ñ"), "Désa Ñ");  // UTF-8 passes as it is
  EXPECT_EQ(CsvRow({"a", "b,c", ""}), "a,\"b,c\",\r\n");
  EXPECT_EQ(CsvRow({}), "\r\n");
}

TEST(CsvTest, CellsASpreadsheetWouldRunAsFormulasGetAnApostrophe) {
  EXPECT_EQ(CsvField("=1+1"), "'=1+1");
  EXPECT_EQ(CsvField("+62 812"), "'+62 812");
  EXPECT_EQ(CsvField("-5"), "'-5");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tx"), "'\tx");
  EXPECT_EQ(CsvField("\rx"), "\"'\rx\"");
  EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  // Only the first character counts.
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField("2026-12-04T00:00:00.000Z"), "2026-12-04T00:00:00.000Z");
}

}  // namespace
}  // namespace lapor::node
