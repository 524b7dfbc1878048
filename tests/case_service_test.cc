// CaseService in-process with a fake clock: SLA escalation and auto-completion over working days,
// concurrent sequencing without gaps, and fsck over what the service wrote (clean, then tampered).
#include "node/case_service.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "harness/node_process.h"
#include "node/case_figures.h"
#include "node/fsck.h"
#include "node/stats.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"
#include "protocol/national.h"

namespace lapor::node {
namespace {

// 2026-11-30 (a Monday) 09:00 WIB = 02:00 UTC.
constexpr int64_t kMonday0900 = 1796004000000;
constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

class CaseServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("lapor-svc");
    auto store = storage::Store::Open(dir_ + "/lapor.db");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    key_ = std::make_shared<const crypto::SigningKey>(crypto::SigningKey::Generate());
    sealing_ = crypto::RandomBytes(32);
    // A federation of the hub, 32 (this node) and 33.
    v1::Manifest m;
    ASSERT_TRUE(protocol::AddMember(&m, "00", "http://127.0.0.1:1",
                                    crypto::SigningKey::Generate().public_key(), 0)
                    .ok());
    ASSERT_TRUE(protocol::AddMember(&m, "32", "http://127.0.0.1:2", key_->public_key(), 0).ok());
    ASSERT_TRUE(protocol::AddMember(&m, "33", "http://127.0.0.1:3",
                                    crypto::SigningKey::Generate().public_key(), 0)
                    .ok());
    directory_.Set(std::make_shared<const v1::Manifest>(m));
    OpenService();
    admin_.op = storage::Operator{1, "admin", "admin", ""};
    liaison_.op = storage::Operator{2, "liaison", "liaison", "dinas-pu"};
  }

  void OpenService() {
    CaseServiceOptions o;
    o.node_id = "32";
    o.jurisdiction = "32";
    o.key = key_;
    o.sealing_key = sealing_;
    o.clock = &clock_;
    o.directory = &directory_;
    auto cal = std::make_shared<protocol::WorkingCalendar>();
    cal->AddHoliday(protocol::WorkingCalendar::DayNumber(2026, 12, 2));  // a Wednesday holiday
    auto svc = CaseService::Open(o, store_.get(), cal);
    ASSERT_TRUE(svc.ok());
    svc_ = std::move(*svc);
  }

  SubmitResult File(const std::string& region = "32.04") {
    SubmitRequest r;
    r.title = "Sampah menumpuk";
    r.description = "Sampah tidak diangkut dua minggu.";
    r.category = "kebersihan";
    r.report_type = "pengaduan";
    r.region_code = region;
    r.reporter.name = "Dewi";
    r.reporter.phone = "+628111111";
    auto res = svc_->Submit(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return *res;
  }

  v1::CaseState Do(const std::string& id, const std::string& action, const Credentials& who,
                   const std::string& note = "", const std::string& agency = "") {
    ActionRequest a;
    a.action = action;
    a.note = note;
    a.agency = agency;
    auto r = svc_->Act(id, a, who);
    EXPECT_TRUE(r.ok()) << action << ": " << r.status().ToString();
    return r.ok() ? *r : v1::CaseState();
  }

  FsckReport RunFsck() {
    auto r = Fsck(store_.get(), "32", {key_->public_key()}, sealing_);
    EXPECT_TRUE(r.ok());
    return *r;
  }

  std::string dir_;
  FakeClock clock_{kMonday0900};
  std::unique_ptr<storage::Store> store_;
  std::shared_ptr<const crypto::SigningKey> key_;
  std::string sealing_;
  protocol::Directory directory_;
  std::unique_ptr<CaseService> svc_;
  Credentials admin_, liaison_;
};

TEST_F(CaseServiceTest, TrackingIdsAreUnguessableAndPrefixed) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto id = File().tracking_id;
    ASSERT_EQ(id.size(), 13u);
    EXPECT_EQ(id.substr(0, 3), "32-");
    EXPECT_EQ(id.substr(3).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
              std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 50u);
}

TEST_F(CaseServiceTest, VerificationDeadlineSkipsHolidayAndEscalatesOnce) {
  auto c = File();
  // Monday + 3 working days with Wednesday a holiday: the end of Friday 2026-12-04 WIB.
  EXPECT_EQ(c.state.due_ms(), 1796403599999);
  EXPECT_EQ(*svc_->RunSla(), 0);
  clock_.Set(1796403599999);
  EXPECT_EQ(*svc_->RunSla(), 0);  // due, not yet missed
  clock_.Advance(1);
  EXPECT_EQ(*svc_->RunSla(), 1);
  EXPECT_EQ(*svc_->RunSla(), 0);  // recorded once
  auto v = svc_->View(c.tracking_id, admin_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->state.escalated());
  EXPECT_EQ(v->history.back().event.type(), v1::EVENT_ESCALATED);
  EXPECT_EQ(v->history.back().event.action().missed_deadline(), "verification");
  storage::CaseFilter overdue;
  overdue.overdue = true;
  EXPECT_EQ(svc_->List(overdue, admin_)->size(), 1u);

  // Verifying late starts the response clock (5 working days) and clears the escalation.
  auto s = Do(c.tracking_id, "verify", admin_, "", "dinas-pu");
  EXPECT_FALSE(s.escalated());
  EXPECT_EQ(s.due_kind(), "response");
  EXPECT_EQ(svc_->List(overdue, admin_)->size(), 0u);
  EXPECT_TRUE(RunFsck().ok());
}

TEST_F(CaseServiceTest, ResponseWithoutReplyAutoCompletesAfterTenWorkingDays) {
  auto c = File();
  Do(c.tracking_id, "verify", admin_, "", "dinas-pu");
  auto r = Do(c.tracking_id, "respond", liaison_, "Sudah diangkut hari ini.");
  // Monday + 10 working days, Wednesday 2 Dec a holiday: the end of Tuesday 2026-12-15 WIB.
  EXPECT_EQ(r.auto_complete_at_ms(), 1797353999999);
  clock_.Set(r.auto_complete_at_ms() - 1);
  EXPECT_EQ(*svc_->RunSla(), 0);
  clock_.Set(r.auto_complete_at_ms());
  EXPECT_EQ(*svc_->RunSla(), 1);
  auto v = svc_->View(c.tracking_id, admin_);
  EXPECT_EQ(v->state.status(), "selesai");
  EXPECT_EQ(v->history.back().event.type(), v1::EVENT_AUTO_COMPLETED);
  EXPECT_EQ(v->history.back().event.actor().kind(), v1::ACTOR_SYSTEM);
  EXPECT_TRUE(RunFsck().ok());
}

TEST_F(CaseServiceTest, CitizenReplyStopsTheAutoCompleteClock) {
  auto c = File();
  Do(c.tracking_id, "verify", admin_, "", "dinas-pu");
  auto r = Do(c.tracking_id, "respond", liaison_, "Dijadwalkan.");
  Credentials citizen;
  citizen.access_code = c.access_code;
  clock_.Advance(kDay);
  auto after_reply = Do(c.tracking_id, "reply", citizen, "Belum diangkut!");
  EXPECT_EQ(after_reply.auto_complete_at_ms(), 0);
  EXPECT_EQ(after_reply.due_kind(), "response");
  clock_.Set(r.auto_complete_at_ms() + kDay);
  // Not auto-completed; the agency's new response deadline was missed instead.
  EXPECT_EQ(*svc_->RunSla(), 1);
  auto v = svc_->View(c.tracking_id, admin_);
  EXPECT_EQ(v->state.status(), "diproses");
  EXPECT_EQ(v->history.back().event.type(), v1::EVENT_ESCALATED);
  // The agency must answer the reply before completing.
  ActionRequest complete;
  complete.action = "complete";
  EXPECT_EQ(svc_->Act(c.tracking_id, complete, liaison_).status().code(), Status::Code::kConflict);
  EXPECT_TRUE(RunFsck().ok());
}

// The reporter rates a done case once; the node's signed statistics report counts the ratings of
// the public cases it owns (a confidential case's rating is content: its owner reads it, the
// published report does not count it), and the signed event of a confidential case carries the
// rating sealed, not in plain.
TEST_F(CaseServiceTest, RatingsAreGivenOnceAndCountedInTheStatisticsReport) {
  auto rate = [&](const SubmitResult& c, int rating, Status::Code want) {
    Credentials citizen;
    citizen.access_code = c.access_code;
    ActionRequest a;
    a.action = "rate";
    a.rating = rating;
    a.note = "Terima kasih atas penanganannya.";
    auto r = svc_->Act(c.tracking_id, a, citizen);
    EXPECT_EQ(r.status().code(), want) << r.status().ToString();
    return r.ok() ? *r : v1::CaseState();
  };
  auto done = [&](bool confidential) {
    SubmitRequest r;
    r.title = "Lampu jalan mati";
    r.description = "Lampu jalan di gang kami mati sebulan.";
    r.category = "infrastruktur";
    r.report_type = "pengaduan";
    r.region_code = "32.04";
    r.confidential = confidential;
    auto c = svc_->Submit(r);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    rate(*c, 4, Status::Code::kConflict);  // not done yet
    Do(c->tracking_id, "verify", admin_, "", "dinas-pu");
    Do(c->tracking_id, "respond", liaison_, "Sudah diganti.");
    Do(c->tracking_id, "complete", liaison_);
    return *c;
  };
  auto open = done(false);
  auto secret = done(true);
  rate(open, 0, Status::Code::kInvalidArgument);
  rate(open, 6, Status::Code::kInvalidArgument);
  Credentials wrong;
  wrong.access_code = "AAAAAAAAAAAAAAAA";
  ActionRequest by_admin;
  by_admin.action = "rate";
  by_admin.rating = 5;
  EXPECT_EQ(svc_->Act(open.tracking_id, by_admin, admin_).status().code(),
            Status::Code::kPermissionDenied);
  EXPECT_EQ(svc_->Act(open.tracking_id, by_admin, wrong).status().code(),
            Status::Code::kUnauthenticated);
  ActionRequest reply_with_rating;
  reply_with_rating.action = "reopen";
  reply_with_rating.rating = 3;
  Credentials reporter;
  reporter.access_code = open.access_code;
  EXPECT_EQ(svc_->Act(open.tracking_id, reply_with_rating, reporter).status().code(),
            Status::Code::kInvalidArgument);

  auto rated = rate(open, 4, Status::Code::kOk);
  EXPECT_EQ(rated.rating(), 4);
  EXPECT_EQ(rated.rated_ms(), clock_.NowMs());
  rate(open, 5, Status::Code::kConflict);  // once
  rate(secret, 2, Status::Code::kOk);

  auto v = svc_->View(secret.tracking_id, admin_);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->state.rating(), 2);
  EXPECT_EQ(v->history.back().event.type(), v1::EVENT_RATED);
  EXPECT_EQ(v->history.back().note, "Terima kasih atas penanganannya.");
  auto events = store_->CaseEvents(v->state.first_seq());
  ASSERT_TRUE(events.ok());
  v1::Envelope env;
  v1::Event signed_event;
  ASSERT_TRUE(env.ParseFromString(events->back().envelope));
  ASSERT_TRUE(signed_event.ParseFromString(env.payload()));
  EXPECT_EQ(signed_event.type(), v1::EVENT_RATED);
  EXPECT_EQ(signed_event.action().rating(), 0);  // sealed
  EXPECT_TRUE(signed_event.action().note().empty());
  EXPECT_FALSE(signed_event.action().note_commitment().empty());

  auto report = BuildStats(store_.get(), "32", clock_.NowMs());
  ASSERT_TRUE(report.ok());
  std::map<std::string, uint64_t> ratings;
  for (const auto& c : report->counts()) {
    if (c.dimension() == "rating") ratings[c.value()] = c.count();
  }
  EXPECT_EQ(ratings, (std::map<std::string, uint64_t>{{"4", 1}}));
  EXPECT_TRUE(RunFsck().ok());
}

// The statistics report cross-tabulates the node's own cases: one cell per region, report type,
// category, agency and status, with the SLA figures; a confidential case's content is "rahasia"
// in it, and nothing in it names a case or a reporter.
TEST_F(CaseServiceTest, TheStatsReportCrossTabulatesCasesWithTheirSlaFigures) {
  auto late = File();
  auto quick = File();
  auto idle = File();  // never verified
  SubmitRequest conf;
  conf.title = "Pungutan liar di kantor desa";
  conf.description = "Kepala desa meminta uang untuk surat keterangan.";
  conf.category = "pungli";
  conf.report_type = "pengaduan";
  conf.region_code = "32.04";
  conf.confidential = true;
  conf.reporter.name = "Budi";
  auto secret = svc_->Submit(conf);
  ASSERT_TRUE(secret.ok());
  Do(quick.tracking_id, "verify", admin_, "", "dinas-pu");  // within the hour
  Do(secret->tracking_id, "verify", admin_, "", "dinas-pu");
  clock_.Advance(6 * 24 * 3600 * 1000LL);  // Sunday: past the 3 working days
  Do(late.tracking_id, "verify", admin_, "", "dinas-pu");
  Do(late.tracking_id, "respond", liaison_, "Sudah diangkut.");  // on time
  clock_.Advance(3 * 24 * 3600 * 1000LL);  // Wednesday: past quick's 5 working days
  Do(quick.tracking_id, "respond", liaison_, "Sudah diangkut.");

  auto report = BuildStats(store_.get(), "32", clock_.NowMs());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->format(), protocol::kStatsFormatCells);
  EXPECT_EQ(report->total_cases(), 4u);
  std::map<std::string, v1::StatsReport::Cell> by;
  for (const auto& c : report->cells()) {
    by[c.region_code() + "|" + c.category() + "|" + c.agency()] = c;
  }
  ASSERT_EQ(by.size(), 3u) << report->ShortDebugString();
  auto in = [](const v1::StatsReport::Cell& c, std::string_view status) {
    return c.statuses(static_cast<int>(protocol::ReportStatusIndex(status)));
  };
  const auto& processing = by.at("32.04|kebersihan|dinas-pu");
  EXPECT_EQ(processing.cases(), 2u);
  EXPECT_EQ(in(processing, "diproses"), 2u);
  EXPECT_EQ(processing.verified(), 2u);
  EXPECT_EQ(processing.verified_on_time(), 1u);
  EXPECT_EQ(processing.responded(), 2u);
  EXPECT_EQ(processing.responded_on_time(), 1u);
  ASSERT_EQ(processing.to_verification_size(), static_cast<int>(protocol::kDurationBuckets));
  EXPECT_EQ(processing.to_verification(0), 1u);  // within an hour
  EXPECT_EQ(processing.to_verification(protocol::DurationBucket(6 * 24 * 3600 * 1000LL)), 1u);
  const auto& waiting = by.at("32.04|kebersihan|");
  EXPECT_EQ(waiting.cases(), 1u);
  EXPECT_EQ(in(waiting, "belum_terverifikasi"), 1u);
  EXPECT_EQ(waiting.overdue(), 1u);
  EXPECT_TRUE(waiting.to_verification().empty());
  const auto& hidden = by.at("rahasia|rahasia|rahasia");
  EXPECT_EQ(hidden.report_type(), "rahasia");
  EXPECT_EQ(in(hidden, "terdisposisi"), 1u);
  EXPECT_EQ(hidden.cases(), 1u);
  EXPECT_EQ(hidden.verified_on_time(), 1u);
  EXPECT_EQ(hidden.overdue(), 1u);  // its response deadline passed
  // Nothing of the confidential case's content, nor any tracking id or reporter.
  const std::string bytes = report->SerializeAsString();
  for (const std::string& secret_text :
       {std::string("pungli"), std::string("Budi"), std::string("Pungutan"), late.tracking_id,
        secret->tracking_id}) {
    EXPECT_EQ(bytes.find(secret_text), std::string::npos) << secret_text;
  }
  for (const auto& c : report->counts()) {
    EXPECT_NE(c.value(), "pungli");
  }
  EXPECT_TRUE(RunFsck().ok());
}

// Cases folded before the figures existed get them once, from a replay of their chains.
TEST_F(CaseServiceTest, StoredCasesWithoutFiguresAreFilledInOnce) {
  auto c = File();
  Do(c.tracking_id, "verify", admin_, "", "dinas-pu");
  Do(c.tracking_id, "respond", liaison_, "Sudah diangkut.");
  const uint64_t ref = CaseRef(svc_->View(c.tracking_id, admin_)->state);
  // As an older release stored it: no figures.
  v1::CaseState old = **store_->GetCase(ref);
  const v1::CaseState folded = old;
  old.clear_verified_ms();
  old.clear_verified_on_time();
  old.clear_responded_ms();
  old.clear_responded_on_time();
  storage::Write w;
  w.kind = storage::Write::Kind::kBookkeeping;
  w.after_seq = *store_->NextSeq();
  w.case_ref = ref;
  w.state = old;
  ASSERT_TRUE(store_->Enqueue(std::move(w)).get().ok());
  EXPECT_FALSE(RunFsck().ok());  // the replay has figures the stored state lacks

  auto filled = BackfillCaseFigures(store_.get(), "32");
  ASSERT_TRUE(filled.ok()) << filled.status().ToString();
  EXPECT_EQ(*filled, 1u);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(**store_->GetCase(ref), folded))
      << (*store_->GetCase(ref))->ShortDebugString();
  EXPECT_TRUE(RunFsck().ok());
  // Once only; and a second pass would find nothing to change.
  EXPECT_EQ(*BackfillCaseFigures(store_.get(), "32"), 0u);
  ASSERT_TRUE(store_->SetMeta(kCaseFiguresMetaKey, "").ok());
  EXPECT_EQ(*BackfillCaseFigures(store_.get(), "32"), 0u);
}

TEST_F(CaseServiceTest, ConcurrentSubmissionsAndActionsGetGaplessSequence) {
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> ids;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto c = File(i % 2 ? "32" : "33.01");  // some cross-jurisdiction cases
        std::lock_guard<std::mutex> lock(mu);
        ids.push_back(c.tracking_id);
      }
    });
  }
  for (auto& t : threads) t.join();
  size_t local = 0;
  while (svc_->View(ids[local], admin_)->state.owner_node() != "32") ++local;
  size_t remote = 0;
  for (const auto& id : ids) remote += svc_->View(id, admin_)->state.owner_node() == "33" ? 1 : 0;
  // Everyone acts on the same case at once: exactly one verify wins, the rest see the new state.
  std::atomic<int> won{0}, conflicted{0};
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      ActionRequest a;
      a.action = "verify";
      a.agency = "dinas-pu";
      auto r = svc_->Act(ids[local], a, admin_);
      if (r.ok()) ++won;
      if (r.status().code() == Status::Code::kConflict) ++conflicted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicted.load(), kThreads - 1);
  EXPECT_EQ(svc_->next_seq(), static_cast<uint64_t>(kThreads * kEach + 1));
  auto report = RunFsck();
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_EQ(report.events, static_cast<uint64_t>(kThreads * kEach + 1));
  // A case about region 33.01 filed at node 32 is owned by node 33 from the start: its submission
  // goes to 33 and the hub, and the reporter's record to 33 only, sealed to its key. Local cases
  // stay here.
  EXPECT_EQ(remote, static_cast<size_t>(kThreads * kEach / 2));
  EXPECT_EQ(*store_->CountOutbox(), static_cast<int64_t>(remote * 3));
}

TEST_F(CaseServiceTest, RestartContinuesTheSequence) {
  File();
  File();
  svc_.reset();
  OpenService();
  EXPECT_EQ(svc_->next_seq(), 2u);
  File();
  EXPECT_TRUE(RunFsck().ok());
}

// fsck finds tampering: an altered envelope, a broken state, altered sealed data.
TEST_F(CaseServiceTest, FsckReportsTamperingPrecisely) {
  auto a = File();
  auto b = File();
  Do(a.tracking_id, "verify", admin_, "", "dinas-pu");
  ASSERT_TRUE(RunFsck().ok());
  svc_.reset();
  store_.reset();
  auto exec = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open((dir_ + "/lapor.db").c_str(), &db);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  };
  auto reopen_and_check = [&](const std::string& expect) {
    store_ = std::move(*storage::Store::Open(dir_ + "/lapor.db"));
    auto r = RunFsck();
    bool found = false;
    for (const auto& p : r.problems) found = found || p.find(expect) != std::string::npos;
    EXPECT_TRUE(found) << "expected a problem mentioning '" << expect << "'";
    store_.reset();
  };
  // 1. One byte of the case's stored state changes: the replay differs.
  exec(
      "UPDATE cases SET state = CAST(REPLACE(CAST(state AS TEXT), 'terdisposisi', "
      "'selesai_____') AS BLOB) WHERE case_id = '" +
      a.tracking_id + "'");
  reopen_and_check("stored state differs from replay");
  // 2. A sealed reporter record is swapped for another case's.
  exec(
      "UPDATE sealed SET ciphertext = (SELECT ciphertext FROM sealed WHERE case_ref = 1) "
      "WHERE case_ref = 0");
  reopen_and_check("does not match its commitment");
  // 3. An envelope byte flips: its hash and signature no longer hold.
  exec(
      "UPDATE events SET envelope = CAST(REPLACE(CAST(envelope AS TEXT), 'dinas-pu', "
      "'dinas-px') AS BLOB) WHERE seq = 2");
  reopen_and_check("event seq 2: stored hash does not match");
  // 4. An event disappears: a sequence gap.
  exec("DELETE FROM events WHERE seq = 1");
  reopen_and_check("sequence gap");
}

// Lost seqs (`lapor-node log continue`): placeholders and the signed EVENT_LOG_GAP after them are
// appended in one transaction; fsck accepts exactly that shape; the service goes on after them.
std::vector<storage::StoredEvent> LostRows(uint64_t first, uint64_t gap_seq,
                                           uint64_t declared_first, const crypto::SigningKey& key) {
  std::vector<storage::StoredEvent> rows;
  for (uint64_t s = first; s < gap_seq; ++s) {
    std::string e = protocol::LostEntry(s);
    rows.push_back({s, gap_seq, crypto::Sha256(e), e, {}});
  }
  v1::Event ev;
  ev.set_node_id("32");
  ev.set_seq(gap_seq);
  ev.set_time_ms(kMonday0900);
  ev.mutable_actor()->set_kind(v1::ACTOR_SYSTEM);
  ev.set_type(v1::EVENT_LOG_GAP);
  ev.mutable_log_gap()->set_first_lost(declared_first);
  ev.mutable_log_gap()->set_previous_origin("lapor.go.id/node/32");
  ev.mutable_log_gap()->set_origin("lapor.go.id/node/e2/32");
  std::string bytes = protocol::SignEnvelope(protocol::kEventPayloadType, ev, key);
  rows.push_back({gap_seq, gap_seq, crypto::Sha256(bytes), bytes, {}});
  return rows;
}

TEST_F(CaseServiceTest, LostSeqsAreDeclaredInOneWriteAndTheServiceGoesOnAfterThem) {
  const std::string first = File().tracking_id;  // seq 0
  svc_.reset();
  // Not after the log's last seq: refused, nothing written.
  const std::vector<std::pair<std::string, std::string>> record = {{"log_gap_test", "1 3"}};
  EXPECT_EQ(store_->AppendOffline(LostRows(2, 4, 2, *key_), record).code(),
            Status::Code::kConflict);
  EXPECT_EQ(*store_->NextSeq(), 1u);
  EXPECT_FALSE(store_->GetMeta("log_gap_test")->has_value());  // none of it
  ASSERT_TRUE(store_->AppendOffline(LostRows(1, 3, 1, *key_), record).ok());
  EXPECT_EQ(*store_->NextSeq(), 4u);
  EXPECT_EQ(**store_->GetMeta("log_gap_test"), "1 3");
  FsckReport clean = RunFsck();
  EXPECT_TRUE(clean.ok()) << clean.problems.front();
  EXPECT_EQ(clean.lost_ranges, 1u);
  OpenService();
  const auto next = File();
  EXPECT_EQ(svc_->next_seq(), 5u);
  EXPECT_NE(next.tracking_id, first);
  EXPECT_TRUE(svc_->View(first, admin_).ok());
  EXPECT_TRUE(RunFsck().ok());
}

TEST_F(CaseServiceTest, FsckNamesPlaceholdersNoDeclarationMatches) {
  auto problems = [&](const std::vector<storage::StoredEvent>& rows) {
    auto store = storage::Store::Open(testing::MakeTempDir("lapor-lost") + "/lapor.db");
    EXPECT_TRUE(store.ok());
    EXPECT_TRUE((*store)->AppendOffline(rows, {}).ok());
    auto r = Fsck(store->get(), "32", {key_->public_key()}, sealing_);
    EXPECT_TRUE(r.ok());
    std::string all;
    for (const auto& p : r->problems) all += p + "\n";
    return all;
  };
  auto undeclared = LostRows(0, 2, 0, *key_);
  undeclared.pop_back();
  EXPECT_NE(problems(undeclared).find("that no EVENT_LOG_GAP declares"), std::string::npos);
  EXPECT_NE(
      problems(LostRows(0, 2, 1, *key_)).find("but the placeholders before it start at seq 0"),
      std::string::npos);
  auto misnumbered = LostRows(0, 1, 0, *key_);
  misnumbered[0].envelope = protocol::LostEntry(7);
  misnumbered[0].hash = crypto::Sha256(misnumbered[0].envelope);
  EXPECT_NE(problems(misnumbered).find("placeholder names seq 7"), std::string::npos);
  const crypto::SigningKey other = crypto::SigningKey::Generate();
  EXPECT_NE(problems(LostRows(0, 1, 0, other)).find("no valid signature"), std::string::npos);
}

// Recovery from peers (after a restore) takes the node's own events signed by a retired key only
// below the seq the node had reached when it retired that key (`key activate` records it): a
// retired key may be a stolen one, and must not feed the node "own" events after it.
TEST_F(CaseServiceTest, RecoveryTakesEventsOfARetiredKeyOnlyBelowItsRetirementSeq) {
  for (int i = 0; i < 3; ++i) File();  // seq 0-2, signed by key_
  auto signed_by_old = store_->Envelopes(0, 3);
  ASSERT_TRUE(signed_by_old.ok());
  ASSERT_EQ(signed_by_old->size(), 3u);
  auto recovering = [&](uint64_t retired_before_seq) {
    auto store = storage::Store::Open(testing::MakeTempDir("lapor-recover") + "/lapor.db");
    EXPECT_TRUE(store.ok());
    CaseServiceOptions o;
    o.node_id = "32";
    o.jurisdiction = "32";
    o.key = std::make_shared<const crypto::SigningKey>(crypto::SigningKey::Generate());
    o.sealing_key = sealing_;
    o.clock = &clock_;
    o.directory = &directory_;
    o.retired_before_seq = {{key_->public_key(), retired_before_seq}};
    auto svc = CaseService::Open(o, store->get(), std::make_shared<protocol::WorkingCalendar>());
    EXPECT_TRUE(svc.ok());
    return std::make_pair(std::move(*store), std::move(*svc));
  };
  {
    auto [store, svc] = recovering(2);
    auto below = svc->RecoverOwnEvents({(*signed_by_old)[0], (*signed_by_old)[1]});
    ASSERT_TRUE(below.ok()) << below.status().ToString();
    EXPECT_EQ(*below, 2);
    auto at = svc->RecoverOwnEvents({(*signed_by_old)[2]});
    EXPECT_EQ(at.status().code(), Status::Code::kPermissionDenied) << at.status().ToString();
    EXPECT_EQ(svc->next_seq(), 2u);
    svc.reset();
  }
  {
    auto [store, svc] = recovering(3);  // retired later: all three are its
    auto all = svc->RecoverOwnEvents(*signed_by_old);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(*all, 3);
    svc.reset();
  }
}

}  // namespace
}  // namespace lapor::node
