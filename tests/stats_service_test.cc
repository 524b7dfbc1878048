// StatsService in-process: the hub keeps a member's signed statistics report only when it is
// signed by one of that member's valid keys, names that member and is newer than its last one; it
// keeps them over time (one a day once old), and the national aggregate sums the members' latest
// reports.
#include "node/stats_service.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "harness/node_process.h"
#include "node/stats.h"
#include "protocol/directory.h"
#include "protocol/manifest.h"
#include "protocol/national.h"

namespace lapor::node {
namespace {

constexpr int64_t kNow = 1796004000000;  // 2026-11-30 02:00 UTC
constexpr int64_t kDay = 24 * 3600 * 1000;

class StatsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("lapor-stats");
    auto store = storage::Store::Open(dir_ + "/lapor.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    // The hub, 32 and 33; all keys valid from before kNow.
    ASSERT_TRUE(
        protocol::AddMember(&manifest_, "00", "http://127.0.0.1:1", hub_.public_key(), 0).ok());
    ASSERT_TRUE(
        protocol::AddMember(&manifest_, "32", "http://127.0.0.1:2", k32_.public_key(), 0).ok());
    ASSERT_TRUE(
        protocol::AddMember(&manifest_, "33", "http://127.0.0.1:3", k33_.public_key(), 0).ok());
    directory_.Set(std::make_shared<const v1::Manifest>(manifest_));
  }
  void TearDown() override {
    if (store_) store_->Close();
  }

  const v1::Member& member(const std::string& id) {
    return *protocol::FindNode(*directory_.Get(), id);
  }

  static v1::StatsReport Report(const std::string& node_id, int64_t time_ms, uint64_t total,
                                uint64_t breaches, const std::string& region) {
    v1::StatsReport r;
    r.set_node_id(node_id);
    r.set_time_ms(time_ms);
    r.set_format(protocol::kStatsFormatCells);
    r.set_total_cases(total);
    r.set_sla_breaches(breaches);
    auto* c = r.add_counts();
    c->set_dimension("status");
    c->set_value("belum_terverifikasi");
    c->set_count(total);
    c = r.add_counts();
    c->set_dimension("region_code");
    c->set_value(region);
    c->set_count(total);
    return r;
  }

  // The node's latest kept report.
  std::optional<std::string> Stored(const std::string& node_id) {
    auto row = store_->StatsReportAt(node_id, INT64_MAX);
    EXPECT_TRUE(row.ok());
    if (!row.ok() || !row->has_value()) return std::nullopt;
    return (*row)->envelope;
  }
  std::vector<int64_t> Times(const std::string& node_id) {
    auto times = store_->StatsReportTimes(node_id);
    EXPECT_TRUE(times.ok());
    return times.ok() ? *times : std::vector<int64_t>{};
  }

  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  crypto::SigningKey hub_ = crypto::SigningKey::Generate();
  crypto::SigningKey k32_ = crypto::SigningKey::Generate();
  crypto::SigningKey k33_ = crypto::SigningKey::Generate();
  v1::Manifest manifest_;
  protocol::Directory directory_;
};

TEST_F(StatsServiceTest, AValidReportFromAMemberIsStored) {
  StatsService stats(store_.get(), "00", &directory_);
  const std::string env = SignStats(Report("32", kNow, 3, 1, "32"), k32_);
  ASSERT_TRUE(stats.Accept(member("32"), env, kNow).ok());
  EXPECT_EQ(Stored("32"), env);
  EXPECT_EQ(Stored("33"), std::nullopt);
}

TEST_F(StatsServiceTest, OnlyTheHubCollects) {
  StatsService stats(store_.get(), "32", &directory_);
  Status s = stats.Accept(member("33"), SignStats(Report("33", kNow, 1, 0, "33"), k33_), kNow);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "only the hub collects statistics");
  EXPECT_EQ(s.field(), "path");
  EXPECT_EQ(Stored("33"), std::nullopt);
}

TEST_F(StatsServiceTest, AReportSignedByAnotherKeyIsRefused) {
  StatsService stats(store_.get(), "00", &directory_);
  // Signed by a key outside the federation, and by another member's key.
  const crypto::SigningKey outsider = crypto::SigningKey::Generate();
  for (const crypto::SigningKey* key : std::vector<const crypto::SigningKey*>{&outsider, &k33_}) {
    Status s = stats.Accept(member("32"), SignStats(Report("32", kNow, 3, 0, "32"), *key), kNow);
    EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
    EXPECT_EQ(s.message(), "the stats report is not signed by the sender");
  }
  EXPECT_EQ(Stored("32"), std::nullopt);
}

TEST_F(StatsServiceTest, AReportSignedByARetiredKeyIsRefused) {
  // 32 rotated its key a day ago with no overlap: its old key no longer counts.
  crypto::SigningKey next = crypto::SigningKey::Generate();
  ASSERT_TRUE(protocol::RotateKey(&manifest_, "32", next.public_key(), kNow - kDay, 0,
                                  protocol::KeyVouch{"", "test"})
                  .ok());
  directory_.Set(std::make_shared<const v1::Manifest>(manifest_));
  StatsService stats(store_.get(), "00", &directory_);
  Status s = stats.Accept(member("32"), SignStats(Report("32", kNow, 3, 0, "32"), k32_), kNow);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(Stored("32"), std::nullopt);
  // Its new key does.
  EXPECT_TRUE(
      stats.Accept(member("32"), SignStats(Report("32", kNow, 3, 0, "32"), next), kNow).ok());
}

TEST_F(StatsServiceTest, AReportForAnotherNodeIsRefused) {
  StatsService stats(store_.get(), "00", &directory_);
  // 32 signs a report that claims to be 33's.
  Status s = stats.Accept(member("32"), SignStats(Report("33", kNow, 9, 0, "33"), k32_), kNow);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(s.message(), "the report names another node");
  EXPECT_EQ(Stored("32"), std::nullopt);
  EXPECT_EQ(Stored("33"), std::nullopt);
}

TEST_F(StatsServiceTest, AMalformedReportIsRefused) {
  StatsService stats(store_.get(), "00", &directory_);
  Status s = stats.Accept(member("32"), "not an envelope", kNow);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), "body");
  EXPECT_EQ(Stored("32"), std::nullopt);
}

TEST_F(StatsServiceTest, TheNationalAggregateSumsTheLatestReports) {
  StatsService stats(store_.get(), "00", &directory_);
  ASSERT_TRUE(
      stats.Accept(member("32"), SignStats(Report("32", kNow, 3, 1, "32"), k32_), kNow).ok());
  ASSERT_TRUE(
      stats.Accept(member("33"), SignStats(Report("33", kNow - 10, 7, 0, "33"), k33_), kNow).ok());
  // 33's later report replaces its earlier one.
  ASSERT_TRUE(
      stats.Accept(member("33"), SignStats(Report("33", kNow, 2, 2, "33"), k33_), kNow).ok());

  NationalStats n = stats.National();
  // The hub sent no report: it is not listed (nor counted); the others in manifest order.
  ASSERT_EQ(n.nodes.size(), 2u);
  EXPECT_EQ(n.nodes[0].node_id, "32");
  EXPECT_EQ(n.nodes[0].reported_at_ms, kNow);
  EXPECT_EQ(n.nodes[0].total_cases, 3u);
  EXPECT_EQ(n.nodes[0].sla_breaches, 1u);
  EXPECT_EQ(n.nodes[1].node_id, "33");
  EXPECT_EQ(n.nodes[1].total_cases, 2u);
  EXPECT_EQ(n.total_cases, 5u);
  EXPECT_EQ(n.sla_breaches, 3u);
  EXPECT_EQ(n.counts["status"]["belum_terverifikasi"], 5u);
  EXPECT_EQ(n.counts["region_code"]["32"], 3u);
  EXPECT_EQ(n.counts["region_code"]["33"], 2u);
}

TEST_F(StatsServiceTest, AMemberRemovedFromTheManifestIsNoLongerCounted) {
  StatsService stats(store_.get(), "00", &directory_);
  ASSERT_TRUE(
      stats.Accept(member("32"), SignStats(Report("32", kNow, 3, 1, "32"), k32_), kNow).ok());
  ASSERT_TRUE(
      stats.Accept(member("33"), SignStats(Report("33", kNow, 2, 0, "33"), k33_), kNow).ok());
  ASSERT_TRUE(protocol::RemoveMember(&manifest_, "33", kNow).ok());
  directory_.Set(std::make_shared<const v1::Manifest>(manifest_));
  NationalStats n = stats.National();
  ASSERT_EQ(n.nodes.size(), 1u);
  EXPECT_EQ(n.nodes[0].node_id, "32");
  EXPECT_EQ(n.total_cases, 3u);
}

TEST_F(StatsServiceTest, ReportsAreKeptOverTimeAndThinnedToOneADayOnceOld) {
  StatsServiceOptions opts;
  opts.keep_hourly_days = 2;
  StatsService stats(store_.get(), "00", &directory_, opts);
  constexpr int64_t kHour = 3600 * 1000;
  // Hourly reports over 5 days, each accepted when made: at the end, those of the last 2 days are
  // all kept, and of each older day (WIB, UTC+7) only its last one.
  const int64_t start = kNow - 5 * kDay;
  for (int64_t t = start; t <= kNow; t += kHour) {
    ASSERT_TRUE(
        stats
            .Accept(member("32"),
                    SignStats(Report("32", t, static_cast<uint64_t>((t - start) / kHour), 0, "32"),
                              k32_),
                    t)
            .ok());
  }
  const std::vector<int64_t> times = Times("32");
  const int64_t cutoff = kNow - 2 * kDay;
  // A WIB day ends at its midnight inclusive: a report dated exactly at midnight is its last.
  auto day_of = [](int64_t t) { return (t - 1 + storage::kStatsDayOffsetMs) / kDay; };
  std::map<int64_t, int> per_old_day;
  size_t recent = 0;
  for (int64_t t : times) {
    if (t < cutoff) {
      ++per_old_day[day_of(t)];
    } else {
      ++recent;
    }
  }
  EXPECT_EQ(recent, static_cast<size_t>(2 * 24 + 1));
  for (const auto& [day, n] : per_old_day) EXPECT_EQ(n, 1) << "day " << day;
  EXPECT_GE(per_old_day.size(), 3u);
  // Each old report kept is the last of its day: the next hour is another day. Here reports fall
  // on the hour, so the one kept is the one at midnight, which a snapshot at that midnight takes.
  for (int64_t t : times) {
    if (t >= cutoff) continue;
    EXPECT_NE(day_of(t + kHour), day_of(t))
        << "a report kept although a later one that day was too";
    EXPECT_EQ((t + storage::kStatsDayOffsetMs) % kDay, 0) << t;
  }
  // A snapshot at every old WIB midnight picks the report dated then, as before the thinning.
  for (int64_t m = start - (start + storage::kStatsDayOffsetMs) % kDay + kDay; m < cutoff;
       m += kDay) {
    EXPECT_EQ(stats.SnapshotAt(m)->reports.at(0).time_ms, m);
  }
  // A snapshot takes each member's latest report at or before its time.
  auto at = stats.SnapshotAt(kNow - kHour / 2);
  ASSERT_TRUE(at.ok());
  ASSERT_EQ(at->reports.size(), 1u);
  EXPECT_EQ(at->reports[0].time_ms, kNow - kHour);
  EXPECT_EQ(at->reports[0].report->total_cases(), static_cast<uint64_t>(5 * 24 - 1));
  EXPECT_TRUE(stats.SnapshotAt(start - 1)->reports.empty());
}

TEST_F(StatsServiceTest, AReportNotNewerThanTheLastOrDatedAheadIsRefused) {
  StatsService stats(store_.get(), "00", &directory_);
  ASSERT_TRUE(
      stats.Accept(member("32"), SignStats(Report("32", kNow, 3, 0, "32"), k32_), kNow).ok());
  for (int64_t t : {kNow, kNow - 1}) {
    Status s = stats.Accept(member("32"), SignStats(Report("32", t, 4, 0, "32"), k32_), kNow);
    EXPECT_EQ(s.code(), Status::Code::kConflict) << t;
    EXPECT_EQ(s.field(), "time_ms");
  }
  Status ahead = stats.Accept(
      member("32"), SignStats(Report("32", kNow + 10 * 60 * 1000, 4, 0, "32"), k32_), kNow);
  EXPECT_EQ(ahead.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ahead.field(), "time_ms");
  EXPECT_EQ(Times("32"), std::vector<int64_t>{kNow});
}

TEST_F(StatsServiceTest, InconsistentCellsAreRefusedAndOldReportsAddNothing) {
  StatsService stats(store_.get(), "00", &directory_);
  auto with_cell = [&](int64_t t, auto edit) {
    v1::StatsReport r = Report("32", t, 2, 0, "32");
    auto* c = r.add_cells();
    c->set_region_code("32");
    c->set_cases(2);
    c->add_statuses(2);
    c->set_verified(1);
    c->set_verified_on_time(1);
    c->add_to_verification(1);
    edit(c);
    return SignStats(r, k32_);
  };
  ASSERT_TRUE(stats.Accept(member("32"), with_cell(kNow - 10, [](auto*) {}), kNow).ok());
  const std::vector<std::pair<const char*, void (*)(v1::StatsReport::Cell*)>> bad = {
      {"statuses short", [](v1::StatsReport::Cell* c) { c->set_statuses(0, 1); }},
      {"more on time than verified", [](v1::StatsReport::Cell* c) { c->set_verified_on_time(2); }},
      {"overdue beyond cases", [](v1::StatsReport::Cell* c) { c->set_overdue(3); }},
      {"durations off", [](v1::StatsReport::Cell* c) { c->set_to_verification(0, 5); }},
      {"huge",
       [](v1::StatsReport::Cell* c) {
         c->set_cases(UINT64_MAX);
         c->set_statuses(0, UINT64_MAX);
       }},
      {"long key", [](v1::StatsReport::Cell* c) { c->set_category(std::string(101, 'x')); }},
  };
  for (const auto& [what, edit] : bad) {
    Status s = stats.Accept(member("32"), with_cell(kNow, edit), kNow);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << what;
    EXPECT_EQ(s.field(), "cells") << what;
  }
  EXPECT_EQ(Times("32"), std::vector<int64_t>{kNow - 10});
  // A report of an older release (no cells) is kept and summed by /federation/v1/stats, but is no
  // part of a snapshot of the national figures.
  v1::StatsReport old = Report("33", kNow, 4, 0, "33");
  old.clear_format();
  ASSERT_TRUE(stats.Accept(member("33"), SignStats(old, k33_), kNow).ok());
  auto snap = stats.SnapshotAt(kNow);
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->reports.size(), 1u);
  EXPECT_EQ(snap->reports[0].node_id, "32");
  EXPECT_EQ(stats.National().total_cases, 6u);
  EXPECT_EQ(stats.SnapshotAt(kNow)->reports.size(), 1u);  // from the cache, the same
}

// The weekly trend's boundaries are summed once they are settled (a WIB midnight an hour past)
// and kept; a report dated before a boundary that arrives late clears what was kept, so the
// totals are always those of the snapshot.
TEST_F(StatsServiceTest, SettledBoundariesAreSummedOnceAndALateReportRedoesThem) {
  StatsService stats(store_.get(), "00", &directory_);
  auto report = [&](const std::string& node, int64_t t, uint32_t cases) {
    v1::StatsReport r = Report(node, t, cases, 0, node);
    auto* c = r.add_cells();
    c->set_region_code(node);
    c->set_cases(cases);
    c->add_statuses(cases);
    return r;
  };
  // Monday 2026-11-30 00:00 WIB, and the hub's clock two days later.
  const int64_t monday = 1795971600000;
  const int64_t now = monday + 2 * kDay;
  ASSERT_TRUE(
      stats.Accept(member("32"), SignStats(report("32", monday - 3600000, 5), k32_), now).ok());
  auto first = stats.TotalsAt(monday, {}, now);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->cases, 5);
  // A report stored without the service (as if by another route) is not seen: the boundary's
  // totals were kept.
  ASSERT_TRUE(
      store_
          ->AddStatsReport(
              {"33", monday - 7200000, now, SignStats(report("33", monday - 7200000, 4), k33_)}, 0)
          .ok());
  EXPECT_EQ(stats.TotalsAt(monday, {}, now)->cases, 5);
  // An unsettled time (not a midnight, or within the hour) is summed afresh.
  EXPECT_EQ(stats.TotalsAt(monday + 1, {}, now)->cases, 9);
  EXPECT_EQ(stats.TotalsAt(now - kDay, {}, now - kDay + 1000)->cases, 9);
  // 32's next report, dated before the boundary but arriving two days later: the kept totals go.
  ASSERT_TRUE(
      stats.Accept(member("32"), SignStats(report("32", monday - 60000, 6), k32_), now).ok());
  EXPECT_EQ(stats.TotalsAt(monday, {}, now)->cases, 10);
  // Filters are kept apart.
  protocol::NationalFilter only33;
  only33.regency = "33";
  EXPECT_EQ(stats.TotalsAt(monday, only33, now)->cases, 4);
  EXPECT_EQ(stats.TotalsAt(monday, {}, now)->cases, 10);
  // The same as summing the snapshot.
  EXPECT_EQ(protocol::SumTotals({}, *stats.SnapshotAt(monday)).cases, 10);
  // A report dated after every boundary summed, even one that arrives two days late, changes
  // none of them: what was kept stays (33's report stored behind the service's back shows it).
  ASSERT_TRUE(
      store_
          ->AddStatsReport(
              {"33", monday - 1000, now, SignStats(report("33", monday - 1000, 7), k33_)}, 0)
          .ok());
  ASSERT_TRUE(
      stats.Accept(member("32"), SignStats(report("32", monday + 3600000, 5), k32_), now).ok());
  EXPECT_EQ(stats.TotalsAt(monday, {}, now)->cases, 10);
  // Another manifest version (33 removed): the snapshot counts its members only, and so do the
  // totals.
  ASSERT_TRUE(protocol::RemoveMember(&manifest_, "33", now).ok());
  directory_.Set(std::make_shared<const v1::Manifest>(manifest_));
  EXPECT_EQ(stats.TotalsAt(monday, {}, now)->cases, 6);
}

TEST_F(StatsServiceTest, WithoutAManifestTheAggregateIsEmpty) {
  protocol::Directory empty;
  StatsService stats(store_.get(), "00", &empty);
  NationalStats n = stats.National();
  EXPECT_TRUE(n.nodes.empty());
  EXPECT_EQ(n.total_cases, 0u);
  EXPECT_TRUE(n.counts.empty());
  StatsService unfederated(store_.get(), "00", nullptr);
  EXPECT_TRUE(unfederated.National().nodes.empty());
}

}  // namespace
}  // namespace lapor::node
