// The national figures (protocol/national.h) summed from members' statistics reports: totals,
// flows since an earlier snapshot, filters (a confidential cell only under "rahasia"), tables by
// province and regency, the SLA league, medians from the duration histograms, weekly boundaries;
// and the UTC times the national API reads (base/clock.h).
#include "protocol/national.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"

namespace lapor::protocol {
namespace {

using Cell = v1::StatsReport::Cell;
using nlohmann::json;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;
const int64_t kT = *ParseUtc("2026-12-02T05:00:00Z");  // a Wednesday, 12:00 WIB

Cell MakeCell(const std::string& region, const std::string& type, const std::string& category,
              const std::string& agency, const std::string& status, uint64_t cases) {
  Cell c;
  c.set_region_code(region);
  c.set_report_type(type);
  c.set_category(category);
  c.set_agency(agency);
  c.mutable_statuses()->Resize(kReportStatuses.size(), 0);
  c.set_statuses(static_cast<int>(ReportStatusIndex(status)), cases);
  c.set_cases(cases);
  return c;
}

SourceReport Source(const std::string& node, int64_t t, std::vector<Cell> cells) {
  auto r = std::make_shared<v1::StatsReport>();
  r->set_node_id(node);
  r->set_time_ms(t);
  r->set_format(kStatsFormatCells);
  for (auto& c : cells) *r->add_cells() = std::move(c);
  return {node, t, "sha-" + node, r};
}

void Bucket(google::protobuf::RepeatedField<uint64_t>* h, size_t bucket, uint64_t n) {
  h->Resize(kDurationBuckets, 0);
  h->Set(static_cast<int>(bucket), h->Get(static_cast<int>(bucket)) + n);
}

// A filter on one field.
NationalFilter Only(const std::string& field, const std::string& value) {
  NationalFilter f;
  if (field == "province") f.province = value;
  if (field == "regency") f.regency = value;
  if (field == "report_type") f.report_type = value;
  if (field == "category") f.category = value;
  if (field == "agency") f.agency = value;
  return f;
}

class NationalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 32: three public road cases in regency 32.04 (two verified on time, one late, one of
    // them overdue for its response) and one confidential case, done by auto-completion.
    Cell road = MakeCell("32.04", "pengaduan", "jalan", "dinas-pu", "terdisposisi", 3);
    road.set_verified(3);
    road.set_verified_on_time(2);
    road.set_overdue(1);
    Bucket(road.mutable_to_verification(), DurationBucket(20 * kHour), 1);
    Bucket(road.mutable_to_verification(), DurationBucket(40 * kHour), 2);
    Cell hidden = MakeCell("rahasia", "rahasia", "rahasia", "rahasia", "selesai", 1);
    hidden.set_verified(1);
    hidden.set_verified_on_time(1);
    hidden.set_responded(1);
    hidden.set_auto_completed(1);
    Bucket(hidden.mutable_to_verification(), DurationBucket(3 * kHour), 1);
    Bucket(hidden.mutable_to_response(), DurationBucket(100 * kHour), 1);
    // 33: two health cases not verified, both overdue, one escalated.
    Cell health = MakeCell("33", "pengaduan", "kesehatan", "dinkes", "belum_terverifikasi", 2);
    health.set_overdue(2);
    health.set_escalated(1);
    at_.at_ms = kT;
    at_.reports = {Source("32", kT - kHour, {road, hidden}),
                   Source("33", kT - 2 * kHour, {health})};
    // A week earlier 32 had one road case, verified on time; 33 had not reported yet.
    Cell early = MakeCell("32.04", "pengaduan", "jalan", "dinas-pu", "terdisposisi", 1);
    early.set_verified(1);
    early.set_verified_on_time(1);
    Bucket(early.mutable_to_verification(), DurationBucket(20 * kHour), 1);
    since_.at_ms = kT - 7 * kDay;
    since_.reports = {Source("32", kT - 7 * kDay - kHour, {early})};
  }
  Snapshot at_, since_;
};

TEST_F(NationalTest, TotalsSumEveryMembersCells) {
  json f = NationalFigures({}, at_, nullptr, {});
  const json& t = f["totals"];
  EXPECT_EQ(t["cases"], 6);
  EXPECT_EQ(t["filed"], 6);
  EXPECT_EQ(t["backlog"], 5);  // the done case is not
  EXPECT_EQ(t["overdue"], 3);
  EXPECT_EQ(t["escalated"], 1);
  EXPECT_EQ(t["verified"], 4);
  EXPECT_EQ(t["verified_on_time"], 3);
  EXPECT_DOUBLE_EQ(t["verified_on_time_share"].get<double>(), 0.75);
  EXPECT_EQ(t["responded"], 1);
  EXPECT_DOUBLE_EQ(t["responded_on_time_share"].get<double>(), 0.0);
  EXPECT_EQ(t["auto_completed"], 1);
  // Verification took 3 h, 20 h, 40 h and 40 h: the median lies in the 24-48 h bucket's first
  // half by interpolation (2 of 4 cases at or below it: the 12-24 h bucket's upper bound).
  EXPECT_DOUBLE_EQ(t["median_hours_to_verification"].get<double>(), 24.0);
  EXPECT_DOUBLE_EQ(t["median_hours_to_response"].get<double>(), 96 + (120 - 96) * 0.5);
  EXPECT_EQ(f["by_status"]["belum_terverifikasi"], 2);
  EXPECT_EQ(f["by_category"]["rahasia"], 1);
  EXPECT_EQ(f["members_reporting"], 2);
  ASSERT_EQ(f["sources"].size(), 2u);
  EXPECT_EQ(f["sources"][0]["node_id"], "32");
  EXPECT_EQ(f["sources"][0]["time"], FormatUtc(kT - kHour));
  EXPECT_EQ(f["sources"][0]["sha256"], "sha-32");
  EXPECT_TRUE(f["since"].is_null());
  EXPECT_FALSE(f.contains("regencies"));  // only for a province or regency
}

TEST_F(NationalTest, SinceAnEarlierSnapshotCountsWhatHappenedBetween) {
  json f = NationalFigures({}, at_, &since_, {});
  const json& t = f["totals"];
  EXPECT_EQ(t["cases"], 6);  // held at the end
  EXPECT_EQ(t["filed"], 5);
  EXPECT_EQ(t["verified"], 3);
  EXPECT_EQ(t["verified_on_time"], 2);
  EXPECT_EQ(f["since"], FormatUtc(kT - 7 * kDay));
  EXPECT_EQ(f["sources_since"].size(), 1u);
  // The province table subtracts per province; 33 had nothing before.
  for (const auto& p : f["provinces"]) {
    const int64_t want = p["code"] == "32" ? 3 : 2;
    EXPECT_EQ(p["filed"], want) << p["code"];
  }
}

TEST_F(NationalTest, FiltersSelectCellsAndAConfidentialCellOnlyUnderRahasia) {
  EXPECT_EQ(NationalFigures(Only("category", "jalan"), at_, nullptr, {})["totals"]["cases"], 3);
  EXPECT_EQ(NationalFigures(Only("category", "rahasia"), at_, nullptr, {})["totals"]["cases"], 1);
  EXPECT_EQ(NationalFigures(Only("agency", "dinkes"), at_, nullptr, {})["totals"]["cases"], 2);
  EXPECT_EQ(NationalFigures(Only("report_type", "aspirasi"), at_, nullptr, {})["totals"]["cases"],
            0);
  // The confidential case is placed at its member (32): in the province, not in regency 32.04.
  json p = NationalFigures(Only("province", "32"), at_, nullptr, {});
  EXPECT_EQ(p["totals"]["cases"], 4);
  ASSERT_EQ(p["regencies"].size(), 2u);
  EXPECT_EQ(p["regencies"][0]["code"], "32");
  EXPECT_EQ(p["regencies"][0]["cases"], 1);
  EXPECT_EQ(p["regencies"][1]["code"], "32.04");
  EXPECT_EQ(p["regencies"][1]["cases"], 3);
  EXPECT_FALSE(p["regencies"][1]["name"].is_null());
  EXPECT_EQ(NationalFigures(Only("regency", "32.04"), at_, nullptr, {})["totals"]["cases"], 3);
  EXPECT_EQ(p["filter"], (json{{"province", "32"}}));
}

TEST_F(NationalTest, TheLeagueRanksProvincesByComplianceWithNothingVerifiedLast) {
  json f = NationalFigures({}, at_, nullptr, {});
  ASSERT_EQ(f["league"].size(), 2u);
  EXPECT_EQ(f["league"][0]["code"], "32");
  EXPECT_EQ(f["league"][0]["rank"], 1);
  EXPECT_EQ(f["league"][0]["name"], "JAWA BARAT");
  EXPECT_EQ(f["league"][1]["code"], "33");
  EXPECT_TRUE(f["league"][1]["verified_on_time_share"].is_null());
  ASSERT_EQ(f["provinces"].size(), 2u);
  EXPECT_EQ(f["provinces"][0]["cases"], 4);
  EXPECT_EQ(f["provinces"][1]["overdue"], 2);
}

TEST_F(NationalTest, WeeksEndOnMondaysInWesternIndonesianTime) {
  std::vector<int64_t> b = WeekBoundaries(kT, 3);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[3], kT);
  EXPECT_EQ(FormatUtc(b[2]), "2026-11-29T17:00:00.000Z");  // Monday 30 Nov, 00:00 WIB
  EXPECT_EQ(b[1], b[2] - 7 * kDay);
  EXPECT_EQ(b[0], b[1] - 7 * kDay);
  // Exactly on a boundary, the last week is the whole week before it.
  std::vector<int64_t> on = WeekBoundaries(b[2], 1);
  EXPECT_EQ(on[0], b[2] - 7 * kDay);
  EXPECT_TRUE(WeekBoundaries(kT, 0).empty());

  // The weekly series: one row per week, flows between boundaries.
  Snapshot empty;
  empty.at_ms = b[1];
  Snapshot mid = since_;
  mid.at_ms = b[2];
  json f = NationalFigures({}, at_, nullptr, {empty, mid, at_});
  ASSERT_EQ(f["weekly"].size(), 2u);
  EXPECT_EQ(f["weekly"][0]["filed"], 1);
  EXPECT_EQ(f["weekly"][1]["filed"], 5);
  EXPECT_EQ(f["weekly"][1]["backlog"], 5);
  EXPECT_EQ(f["weekly"][1]["week_start"], FormatUtc(b[2]));
}

TEST(DurationBucketTest, BucketsEndAtTheirBoundsAndTheLastIsOpen) {
  EXPECT_EQ(DurationBucket(-5), 0u);
  EXPECT_EQ(DurationBucket(kHour), 0u);
  EXPECT_EQ(DurationBucket(kHour + 1), 1u);
  EXPECT_EQ(DurationBucket(72 * kHour), 7u);
  EXPECT_EQ(DurationBucket(720 * kHour), kDurationBuckets - 2);
  EXPECT_EQ(DurationBucket(10000 * kHour), kDurationBuckets - 1);
}

TEST(UtcTest, ParsesDatesAndUtcTimesOnly) {
  EXPECT_EQ(ParseUtc("1970-01-02"), std::optional<int64_t>(kDay));
  EXPECT_EQ(ParseUtc("2026-12-02T05:00:00Z"), std::optional<int64_t>(kT));
  EXPECT_EQ(ParseUtc("2026-12-02T05:00:00.250Z"), std::optional<int64_t>(kT + 250));
  EXPECT_EQ(FormatUtc(*ParseUtc("2026-12-02T05:00:00.250Z")), "2026-12-02T05:00:00.250Z");
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-12-02T05:00:00",
                          "2026-12-02T05:00:00+07:00", "2026-12-02 05:00:00Z", "1969-12-31",
                          "2026-12-02T25:00:00Z", "2026-12-02T05:00:00.5Z", "2026-12-0a"}) {
    EXPECT_EQ(ParseUtc(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace lapor::protocol
