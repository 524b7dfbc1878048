// Storage tests: schema migrations, the group-commit write path, reads, sealed data, operators,
// and the failure contract (a failed commit stores nothing and fails every later write).
#include "storage/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "harness/node_process.h"
#include "storage/sqlite.h"
#include "storage/wal_vfs.h"

namespace lapor::storage {
namespace {

Write MakeWrite(uint64_t seq, const std::string& case_id, uint64_t first_seq,
                const std::string& status = "belum_terverifikasi") {
  Write w;
  w.event.seq = seq;
  w.event.case_ref = first_seq;
  w.event.envelope = "envelope-" + std::to_string(seq);
  w.event.hash = crypto::Sha256(w.event.envelope);
  w.state.set_case_id(case_id);
  w.state.set_first_seq(first_seq);
  w.state.set_status(status);
  w.state.set_report_type("pengaduan");
  w.state.set_category("jalan");
  w.state.set_region_code("32.04");
  w.state.set_last_seq(seq);
  return w;
}

// The first column of the first row of `sql`, read through a plain connection (the default
// "unix" VFS, not the store's), as text; "" if there is no row.
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, "unix");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

int UserVersion(const std::string& path) {
  return std::stoi(QueryText(path, "PRAGMA user_version"));
}

void ExecRaw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = testing::MakeTempDir("lapor-store") + "/lapor.db"; }
  std::string path_;
};

TEST_F(StoreTest, MigratesFreshDatabaseAndReopens) {
  {
    auto store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*(*store)->NextSeq(), 0u);
  }
  EXPECT_EQ(UserVersion(path_), kSchemaVersion);
  auto again = Store::Open(path_);  // migrations are idempotent
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(UserVersion(path_), kSchemaVersion);
}

TEST_F(StoreTest, DataVersionMovesWithEveryCommitFromAnyConnectionOnly) {
  auto store = std::move(*Store::Open(path_));
  auto version = [&] {
    auto v = store->DataVersion();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : 0;
  };
  uint64_t v = version();
  EXPECT_EQ(version(), v);  // nothing committed
  ASSERT_TRUE(store->GetMeta("manifest").ok());
  EXPECT_EQ(version(), v);  // a read is no commit
  ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok());
  EXPECT_NE(version(), v);  // the committer's
  v = version();
  ASSERT_TRUE(store->SetMeta("manifest", "one").ok());
  EXPECT_NE(version(), v);  // a pooled connection's
  v = version();
  ExecRaw(path_, "INSERT OR REPLACE INTO meta(key, value) VALUES('manifest', 'two')");
  EXPECT_NE(version(), v);  // another process's (a `lapor-node federation` command)
  v = version();
  EXPECT_EQ(version(), v);
}

TEST_F(StoreTest, MigratesVersion1ForwardKeepingData) {
  {
    auto store = std::move(*Store::Open(path_));
    ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok());
  }
  // Make it a version-1 database: without the tables of migrations 2 to 9, and with the v1 outbox
  // (destination, seq) holding one row.
  ExecRaw(path_,
          "DROP TABLE stats_reports; "
          "DROP TABLE case_text; DROP TABLE search_pending; DROP INDEX sealed_content; "
          "DROP TABLE tree_nodes; DROP TABLE checkpoints; DROP TABLE witnessed; DROP TABLE alerts; "
          "DROP TABLE foreign_events; DROP TABLE delivery; DROP TABLE received; "
          "DROP TABLE leaf_tiles; DROP TABLE access_log; DROP TABLE operator_changes; "
          "DROP TABLE dead_letter; "
          "ALTER TABLE operators DROP COLUMN expires_ms; "
          "ALTER TABLE operators DROP COLUMN removed_ms; "
          "INSERT INTO operators(name, role, agency, token_hash, created_ms) "
          "VALUES('Budi', 'liaison', 'dinas-pu', x'01', 5); "
          "DROP INDEX cases_by_id; DROP TABLE outbox; "
          "CREATE TABLE outbox(destination TEXT NOT NULL, seq INTEGER NOT NULL, "
          "PRIMARY KEY(destination, seq)) WITHOUT ROWID; INSERT INTO outbox VALUES('00', 0); "
          "PRAGMA user_version=1");
  auto store = Store::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(UserVersion(path_), kSchemaVersion);
  EXPECT_EQ(*(*store)->NextSeq(), 1u);
  // The v1 outbox row now carries the envelope it delivers.
  auto rows = (*store)->OutboxAfter("00", 0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].payload, "envelope-0");
  auto deliveries = (*store)->Deliveries();
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].destination, "00");
  EXPECT_EQ((*deliveries)[0].backlog, 1);
  EXPECT_FALSE((*store)->LatestCheckpoint()->has_value());
  EXPECT_TRUE((*store)
                  ->SaveCheckpoint({{8, 0, std::string(32, 'h')}}, {1, "r", "n", 5},
                                   {{3, std::string(8192, 'l')}})
                  .ok());
  EXPECT_EQ((*(*store)->LatestCheckpoint())->size, 1u);
  EXPECT_EQ(*(*store)->LeafTile(3), std::string(8192, 'l'));
  EXPECT_FALSE((*store)->LeafTile(2)->has_value());
  // Checkpoints never go backwards.
  EXPECT_EQ((*store)->SaveCheckpoint({}, {0, "r", "n", 6}).code(), Status::Code::kConflict);
  // Operators from before schema 6 are active, without expiry, and their addition is recorded.
  auto op = (*store)->FindOperator(std::string(1, '\x01'), 1000);
  ASSERT_TRUE(op.ok() && op->has_value());
  EXPECT_EQ((*op)->agency, "dinas-pu");
  auto changes = (*store)->OperatorChanges();
  ASSERT_TRUE(changes.ok() && changes->size() == 1u);
  EXPECT_EQ((*changes)[0].change, "added");
  EXPECT_EQ((*changes)[0].detail, "liaison of dinas-pu");
  EXPECT_EQ((*changes)[0].time_ms, 5);
}

// Under a load that never lets the committer idle, passive checkpoints alone never catch up and
// the WAL grows for as long as the load lasts. The gated last pass lets SQLite start the WAL over:
// its header's checkpoint counter moves and the file stays a fraction of what was written.
TEST_F(StoreTest, WalStartsOverUnderSteadyLoad) {
  StoreOptions options;
  options.wal_checkpoint_interval_ms = 5;
  options.wal_restart_frames = 64;
  auto store = std::move(*Store::Open(path_, options));
  auto wal_counter = [&] {  // WAL header bytes 12-15: the checkpoint sequence number
    FILE* f = fopen((path_ + "-wal").c_str(), "rb");
    unsigned char h[16] = {};
    if (f) {
      EXPECT_EQ(fread(h, 1, sizeof h, f), sizeof h);
      fclose(f);
    }
    return (uint32_t{h[12]} << 24) | (uint32_t{h[13]} << 16) | (uint32_t{h[14]} << 8) | h[15];
  };
  const std::string payload(2048, 'p');
  constexpr uint64_t kWrites = 12000;  // ~25 MB of envelopes
  std::mutex mu;
  std::condition_variable cv;
  uint64_t durable = 0, failed = 0;
  uint32_t first_counter = 0;
  for (uint64_t seq = 0; seq < kWrites; ++seq) {
    {  // keep up to 512 writes queued, so the committer never waits for work
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return seq - durable - failed < 512; });
    }
    if (seq == 512) first_counter = wal_counter();
    Write w = MakeWrite(seq, "32-AAAAAAAAAA", seq);
    w.event.envelope = payload + std::to_string(seq);
    store->Enqueue(std::move(w), [&](const Status& s) {
      std::lock_guard<std::mutex> lock(mu);
      ++(s.ok() ? durable : failed);
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return durable + failed == kWrites; });
  }
  EXPECT_EQ(failed, 0u);
  EXPECT_GE(wal_counter(), first_counter + 2);
  // Without the catch-up the WAL ends at ~54 MB here; with it, it starts over long before.
  EXPECT_LT(std::filesystem::file_size(path_ + "-wal"), uint64_t{24} << 20);
  EXPECT_EQ(*store->NextSeq(), kWrites);
}

// SQLite writes each WAL frame with two calls; the store's VFS gathers a commit's frames into
// one write (two after the WAL starts over: its header is synced on its own).
TEST_F(StoreTest, WalFramesOfACommitGoOutInOneWrite) {
  auto store = std::move(*Store::Open(path_));
  constexpr uint64_t kCommits = 100;
  const unsigned long long before = WalWriteCalls();
  for (uint64_t seq = 0; seq < kCommits; ++seq) {  // one commit each: every write waits
    Write w = MakeWrite(seq, "32-AAAAAAAAAA", seq);
    w.sealed.push_back({"reporter", std::string(300, 's')});
    w.event.envelope = std::string(900, 'e') + std::to_string(seq);
    ASSERT_TRUE(store->Enqueue(std::move(w)).get().ok());
  }
  EXPECT_LE(WalWriteCalls() - before, 2 * kCommits + 2);
  store.reset();
  // The database reads back through a plain connection (no VFS of ours).
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM events"), std::to_string(kCommits));
  EXPECT_GT(std::stoll(QueryText(path_, "SELECT SUM(LENGTH(envelope)) FROM events")),
            int64_t{900 * kCommits});
}

// Under concurrency (the previous commit held two writes) the committer waits for
// commit_gather_writes writes and commits them together; writes one at a time never wait.
TEST_F(StoreTest, GathersWritesUnderConcurrencyOnly) {
  StoreOptions options;
  options.commit_gather_writes = 8;
  options.commit_gather_us = 2'000'000;
  auto store = std::move(*Store::Open(path_, options));
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seq = 0; seq < 5; ++seq) {  // one at a time: each commit holds one write
    ASSERT_TRUE(store->Enqueue(MakeWrite(seq, "32-AAAAAAAAAA", 0)).get().ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));

  // Seq 6 before seq 5: both commit in one transaction (seq 6 waits behind the gap).
  auto later = store->Enqueue(MakeWrite(6, "32-AAAAAAAAAA", 0));
  ASSERT_TRUE(store->Enqueue(MakeWrite(5, "32-AAAAAAAAAA", 0)).get().ok());
  ASSERT_TRUE(later.get().ok());

  // Now 8 writes trickle in: they wait for each other and share one commit (one WAL write).
  const unsigned long long before = WalWriteCalls();
  std::vector<std::future<Status>> done;
  for (uint64_t seq = 7; seq < 15; ++seq) {
    done.push_back(store->Enqueue(MakeWrite(seq, "32-AAAAAAAAAA", 0)));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // apart, on purpose
  }
  for (auto& d : done) EXPECT_TRUE(d.get().ok());
  EXPECT_EQ(WalWriteCalls() - before, 1u);
  EXPECT_EQ(*store->NextSeq(), 15u);
}

// A transaction that spills pages to the WAL and rolls back leaves them in the VFS's buffer; they
// must never land over frames that another connection commits afterwards.
TEST_F(StoreTest, WalBytesOfARolledBackTransactionNeverOverwriteLaterCommits) {
  auto a = std::move(*Connection::Open(path_, true));
  auto b = std::move(*Connection::Open(path_, false));
  ASSERT_TRUE(a->Exec("CREATE TABLE t(v BLOB); CREATE TABLE u(v TEXT)").ok());
  ASSERT_TRUE(a->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  ASSERT_TRUE(a->Exec("PRAGMA cache_size=10").ok());  // so that the insert below spills
  ASSERT_TRUE(a->Exec("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(a->Exec("INSERT INTO t(v) SELECT zeroblob(1000) FROM (WITH RECURSIVE c(x) AS "
                      "(VALUES(1) UNION ALL SELECT x + 1 FROM c WHERE x < 60) SELECT x FROM c)")
                  .ok());
  ASSERT_TRUE(a->Exec("ROLLBACK").ok());
  ASSERT_TRUE(b->Exec("BEGIN IMMEDIATE").ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(b->Exec("INSERT INTO u(v) VALUES('" + std::string(900, 'a' + i) + "')").ok());
  }
  ASSERT_TRUE(b->Exec("COMMIT").ok());
  ASSERT_TRUE(a->Exec("SELECT COUNT(*) FROM t").ok());  // a read flushes whatever a buffered
  a.reset();
  b.reset();
  EXPECT_EQ(QueryText(path_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM u"), "20");
}

// Commits become visible only after the sync that writes their frames, so the VFS refuses a
// synchronous level that skips it.
TEST_F(StoreTest, SynchronousBelowFullIsRefused) {
  auto db = std::move(*Connection::Open(path_, true));
  for (const char* level : {"OFF", "0", "NORMAL", "1", "on"}) {
    EXPECT_FALSE(db->Exec(std::string("PRAGMA synchronous=") + level).ok()) << level;
  }
  EXPECT_TRUE(db->Exec("PRAGMA synchronous=EXTRA").ok());
  EXPECT_TRUE(db->Exec("PRAGMA synchronous=FULL").ok());
  EXPECT_TRUE(db->Exec("PRAGMA synchronous").ok());
}

TEST_F(StoreTest, RefusesDatabaseFromANewerVersion) {
  { ASSERT_TRUE(Store::Open(path_).ok()); }
  ExecRaw(path_, "PRAGMA user_version=" + std::to_string(kSchemaVersion + 1));
  auto store = Store::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST_F(StoreTest, CommitsEventStateSealedAndOutboxTogether) {
  auto store = std::move(*Store::Open(path_));
  Write w = MakeWrite(0, "32-AAAAAAAAAA", 0);
  w.sealed.push_back({"reporter", "ciphertext"});
  w.outbox = {{"00", OutboxKind::kEnvelope, "envelope-0"},
              {"33", OutboxKind::kEnvelope, "envelope-0"}};
  ASSERT_TRUE(store->Enqueue(std::move(w)).get().ok());
  Write w2 = MakeWrite(1, "32-AAAAAAAAAA", 0, "terdisposisi");
  w2.state.set_agency("dinas-pu");
  w2.state.set_due_ms(1000);
  ASSERT_TRUE(store->Enqueue(std::move(w2)).get().ok());

  EXPECT_EQ(*store->NextSeq(), 2u);
  auto c = store->GetCase(0);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->status(), "terdisposisi");
  auto events = store->CaseEvents(0);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].envelope, "envelope-1");
  EXPECT_EQ(*store->GetSealed(0, "reporter"), std::optional<std::string>("ciphertext"));
  EXPECT_EQ(*store->CountOutbox(), 2);

  CaseFilter f;
  f.agency = "dinas-pu";
  EXPECT_EQ(store->ListCases(f)->size(), 1u);
  f.agency = "dinas-lain";
  EXPECT_EQ(store->ListCases(f)->size(), 0u);
  CaseFilter overdue;
  overdue.overdue = true;
  overdue.now_ms = 2000;
  EXPECT_EQ(store->ListCases(overdue)->size(), 1u);
  overdue.now_ms = 500;
  EXPECT_EQ(store->ListCases(overdue)->size(), 0u);
  EXPECT_EQ(store->DueCases(2000, 10)->size(), 1u);

  EXPECT_TRUE(store->EraseSealed(0, "reporter").ok());
  EXPECT_FALSE(store->GetSealed(0, "reporter")->has_value());
  EXPECT_EQ(store->EraseSealed(0, "reporter").code(), Status::Code::kNotFound);
}

// A case's submission (an envelope the writer parses), as its first write.
Write Submission(uint64_t seq, const std::string& case_id, const std::string& title,
                 const std::string& description, bool confidential) {
  v1::Event ev;
  ev.set_type(v1::EVENT_SUBMITTED);
  ev.set_seq(seq);
  ev.set_case_id(case_id);
  auto* sub = ev.mutable_submission();
  sub->set_confidential(confidential);
  if (confidential) {
    sub->set_content_commitment("commitment");  // the content travels sealed
  } else {
    sub->set_title(title);
    sub->set_description(description);
  }
  v1::Envelope env;
  env.set_payload(ev.SerializeAsString());
  Write w = MakeWrite(seq, case_id, seq);
  w.event.envelope = env.SerializeAsString();
  w.event.hash = crypto::Sha256(w.event.envelope);
  w.state.set_event_count(1);
  w.state.set_confidential(confidential);
  if (confidential) w.sealed.push_back({"content", "sealed-" + title});
  return w;
}

std::vector<std::string> Found(Store* store, std::vector<std::string> words) {
  CaseFilter f;
  f.words = std::move(words);
  std::vector<std::string> ids;
  auto listed = store->ListCases(f);
  EXPECT_TRUE(listed.ok()) << listed.status().ToString();
  if (!listed.ok()) return ids;
  for (const auto& s : *listed) ids.push_back(s.case_id());
  return ids;
}

// The search index (schema 10): the title and description of public submissions, own and
// received; words found inside words and in any case; never a confidential case's content, whose
// sealed row ListSealedContent gives until an erasure deletes it; and the migration to schema 10
// notes the cases stored before, which the indexer then reads.
TEST_F(StoreTest, SearchIndexHoldsPublicSubmissionsOnlyAndFollowsErasure) {
  {
    auto store = std::move(*Store::Open(path_));
    ASSERT_TRUE(
        store->Enqueue(Submission(0, "32-AAAAAAAAAA", "Jalan berlubang", "Sudah lama.", false))
            .get()
            .ok());
    ASSERT_TRUE(store
                    ->Enqueue(Submission(1, "32-BBBBBBBBBB", "Pungutan liar",
                                         "Rahasia di loket berlubang.", true))
                    .get()
                    .ok());
    // A case another node opened, received: indexed under this node's key for it.
    Write foreign = Submission(0, "33-CCCCCCCCCC", "Jembatan putus", "Tiang BERLUBANG.", false);
    foreign.kind = Write::Kind::kForeign;
    foreign.case_ref = kForeignRefBase;
    foreign.state.set_local_ref(kForeignRefBase);
    foreign.foreign = {foreign.event.hash, foreign.event.envelope, "33", 0, kForeignRefBase, 1, ""};
    foreign.after_seq = 2;
    ASSERT_TRUE(store->Enqueue(std::move(foreign)).get().ok());
    // Later events of a case add nothing to the index.
    Write later = MakeWrite(2, "32-AAAAAAAAAA", 0, "terdisposisi");
    later.state.set_event_count(2);
    ASSERT_TRUE(store->Enqueue(std::move(later)).get().ok());

    EXPECT_EQ(Found(store.get(), {"lubang"}),
              (std::vector<std::string>{"33-CCCCCCCCCC", "32-AAAAAAAAAA"}));
    EXPECT_EQ(Found(store.get(), {"LUBANG", "jalan"}), (std::vector<std::string>{"32-AAAAAAAAAA"}));
    EXPECT_TRUE(Found(store.get(), {"pungutan"}).empty());
    EXPECT_TRUE(Found(store.get(), {"loket"}).empty());
    EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM case_text"), "2");
    auto sealed = store->ListSealedContent(CaseFilter{});
    ASSERT_TRUE(sealed.ok());
    ASSERT_EQ(sealed->size(), 1u);
    EXPECT_EQ((*sealed)[0].first.case_id(), "32-BBBBBBBBBB");
    EXPECT_EQ((*sealed)[0].second, "sealed-Pungutan liar");
    CaseFilter other_status;
    other_status.status = "terdisposisi";
    EXPECT_TRUE(store->ListSealedContent(other_status)->empty());

    // An erasure of the content: the sealed row goes, so search opens nothing of it.
    Write erase = MakeWrite(3, "32-BBBBBBBBBB", 1);
    erase.state.set_event_count(2);
    erase.state.set_confidential(true);
    erase.erase = {"content"};
    ASSERT_TRUE(store->Enqueue(std::move(erase)).get().ok());
    EXPECT_TRUE(store->ListSealedContent(CaseFilter{})->empty());
  }
  // Back to schema 9 without the index, then opened again: the migration notes every case.
  ExecRaw(path_,
          "DROP TABLE case_text; DROP TABLE search_pending; DROP INDEX sealed_content; "
          "DROP TABLE stats_reports; ALTER TABLE witnessed DROP COLUMN witnessed_ms; "
          "PRAGMA user_version=9");
  auto store = std::move(*Store::Open(path_));
  EXPECT_EQ(UserVersion(path_), kSchemaVersion);
  EXPECT_EQ(Found(store.get(), {"lubang"}),
            (std::vector<std::string>{"33-CCCCCCCCCC", "32-AAAAAAAAAA"}));
  EXPECT_TRUE(Found(store.get(), {"pungutan"}).empty());
}

// Migration 10 -> 11: the member reports the hub kept in meta (the latest of each) move into the
// history, dated with their own time; the meta rows go.
TEST_F(StoreTest, MigrationMovesTheHubsStatsReportsIntoTheHistory) {
  v1::StatsReport report;
  report.set_node_id("32");
  report.set_time_ms(1796004000000);
  report.set_total_cases(7);
  v1::Envelope env;
  env.set_payload_type("application/vnd.lapor.stats.v1+protobuf");
  env.set_payload(report.SerializeAsString());
  const std::string blob = env.SerializeAsString();
  {
    auto store = std::move(*Store::Open(path_));
    ASSERT_TRUE(store->SetMeta(std::string(kStatsMetaPrefix) + "32", blob).ok());
    ASSERT_TRUE(store->SetMeta(std::string(kStatsMetaPrefix) + "33", "not an envelope").ok());
    store->Close();
  }
  ExecRaw(path_,
          "DROP TABLE stats_reports; ALTER TABLE witnessed DROP COLUMN witnessed_ms; "
          "PRAGMA user_version=10");
  auto store = std::move(*Store::Open(path_));
  EXPECT_EQ(UserVersion(path_), kSchemaVersion);
  auto row = store->StatsReportAt("32", INT64_MAX);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->time_ms, 1796004000000);
  EXPECT_EQ((*row)->envelope, blob);
  EXPECT_FALSE(store->GetMeta(std::string(kStatsMetaPrefix) + "32")->has_value());
  // One that did not parse is not kept (it could not have been a verified report).
  EXPECT_FALSE(store->StatsReportAt("33", INT64_MAX)->has_value());
  EXPECT_FALSE(store->GetMeta(std::string(kStatsMetaPrefix) + "33")->has_value());
  // The history goes on from it: an older report is refused, the same one again is fine.
  EXPECT_EQ(store->AddStatsReport({"32", 1796004000000 - 1, 0, blob}, 0).code(),
            Status::Code::kConflict);
  EXPECT_TRUE(store->AddStatsReport({"32", 1796004000000, 0, blob}, 0).ok());
}

// The index is written off the commit path: a commit only notes the case (search_pending), the
// committer indexes noted cases once writes pause or at once when a search waits, and what a
// stopped node had not indexed yet is indexed after it opens again without any search.
TEST_F(StoreTest, TheSearchIndexIsWrittenAfterTheCommitAndCatchesUpForASearch) {
  StoreOptions never_idle;
  never_idle.background_idle_ms = 600000;  // no lull is long enough: only a search runs it
  never_idle.background_every_ms = 0;
  {
    auto store = std::move(*Store::Open(path_, never_idle));
    for (uint64_t i = 0; i < 40; ++i) {
      const std::string id = "32-AAAAAAAA" + std::string(1, static_cast<char>('A' + i / 26)) +
                             std::string(1, static_cast<char>('A' + i % 26));
      ASSERT_TRUE(store
                      ->Enqueue(Submission(i, id, "Lampu mati " + std::to_string(i),
                                           "Gelap di gang.", false))
                      .get()
                      .ok());
    }
    // Acknowledged, but not in the index yet: the commits noted them only.
    EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM case_text"), "0");
    EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM search_pending"), "40");
    // A search waits for the indexer, which runs at once (two steps here) and finds all 40.
    CaseFilter all;
    all.words = {"gelap"};
    all.limit = 100;
    auto found = store->ListCases(all);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(found->size(), 40u);
    EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM search_pending"), "0");
    // More cases, left noted when the store closes.
    for (uint64_t i = 40; i < 45; ++i) {
      ASSERT_TRUE(store
                      ->Enqueue(Submission(i, "32-AAAAAAAAZ" + std::string(1, 'A' + (i - 40)),
                                           "Sampah", "Di pasar.", false))
                      .get()
                      .ok());
    }
  }
  EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM search_pending"), "5");
  // Opened again with the default lull: the indexer reads them without any search asking.
  auto store = std::move(*Store::Open(path_));
  std::string pending;
  for (int i = 0; i < 200 && pending != "0"; ++i) {
    pending = QueryText(path_, "SELECT count(*) FROM search_pending");
    if (pending != "0") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(pending, "0");
  EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM case_text WHERE case_text MATCH 'pasar'"), "5");
}

// Writes that never pause for the idle lull still let the indexer take a step now and then
// (background_every_ms), so the index does not fall behind without bound.
TEST_F(StoreTest, TheSearchIndexKeepsUpSomewhatUnderWritesThatNeverPause) {
  StoreOptions busy;
  busy.background_idle_ms = 600000;
  busy.background_every_ms = 50;
  auto store = std::move(*Store::Open(path_, busy));
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
  uint64_t seq = 0;
  while (std::chrono::steady_clock::now() < until) {
    const std::string id = "32-" + std::string(6, 'A') + std::to_string(1000 + seq);
    ASSERT_TRUE(store->Enqueue(Submission(seq, id, "Lampu", "Gelap.", false)).get().ok());
    ++seq;
  }
  // No search has asked, and the writes left no lull of 600 s: what is indexed came from the
  // steps taken between commits.
  EXPECT_GT(std::stoi(QueryText(path_, "SELECT count(*) FROM case_text")), 0) << seq << " cases";
}

TEST_F(StoreTest, ConcurrentWritersShareGroupCommitsInQueueOrder) {
  auto store = std::move(*Store::Open(path_));
  constexpr int kThreads = 8, kPerThread = 200;
  std::mutex seq_mu;
  uint64_t next = 0;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::future<Status> f;
        {
          std::lock_guard<std::mutex> lock(seq_mu);  // queue order = seq order, as the node does
          uint64_t seq = next++;
          f = store->Enqueue(
              MakeWrite(seq, "32-T" + std::to_string(t) + "N" + std::to_string(i), seq));
        }
        if (!f.get().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*store->NextSeq(), static_cast<uint64_t>(kThreads * kPerThread));
  uint64_t expect = 0;
  ASSERT_TRUE(store
                  ->ScanEvents(0,
                               [&](const StoredEvent& e) {
                                 EXPECT_EQ(e.seq, expect++);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(expect, static_cast<uint64_t>(kThreads * kPerThread));
}

// Writes queued together commit in one transaction. Here the batch is three writes: seq 1 (with
// sealed data and an outbox row), seq 2, and another node's event, which commits after them.
// Another connection has taken that event's hash behind the store's back, so the batch's last
// INSERT violates the primary key, after the two writes before it inserted their events, case
// rows, sealed data and outbox rows. The whole transaction rolls back: nothing of the batch is
// visible, and every write of it fails with the violation. The store still answers reads, says
// why it failed, and refuses every later write (so that no gap can ever be committed); reopened
// from disk, as the node does on restart, it is usable again and seq 1 is free.
TEST_F(StoreTest, FailedCommitStoresNothingAndFailsLaterWrites) {
  auto store = std::move(*Store::Open(path_));
  ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok());
  EXPECT_TRUE(store->Health().ok());

  Write first = MakeWrite(1, "32-BBBBBBBBBB", 1);
  first.sealed.push_back({"reporter", "ciphertext-1"});
  first.outbox = {{"00", OutboxKind::kEnvelope, "envelope-1"}};
  Write foreign;
  foreign.kind = Write::Kind::kForeign;
  foreign.after_seq = 3;  // after own seqs 1 and 2: last in their batch
  foreign.foreign.envelope = "envelope-of-33";
  foreign.foreign.hash = crypto::Sha256(foreign.foreign.envelope);
  foreign.foreign.author = "33";
  foreign.foreign.author_seq = 7;
  foreign.foreign.case_ref = kForeignRefBase;
  foreign.case_ref = kForeignRefBase;
  foreign.state.set_case_id("33-FFFFFFFFFF");
  foreign.state.set_status("belum_terverifikasi");
  ExecRaw(path_,
          "INSERT INTO foreign_events(hash, case_ref, author, author_seq, envelope, received_ms) "
          "VALUES(x'" +
              crypto::HexEncode(foreign.foreign.hash) + "', 1, '35', 1, x'00', 0)");

  // Queued so that they commit together: the foreign event and seq 2 wait behind seq 1.
  auto third_done = store->Enqueue(std::move(foreign));
  auto second_done = store->Enqueue(MakeWrite(2, "32-CCCCCCCCCC", 2));
  auto first_done = store->Enqueue(std::move(first));
  for (auto* done : {&first_done, &second_done, &third_done}) {
    Status s = done->get();
    EXPECT_FALSE(s.ok());
    // The batch's own error, not "failed earlier": the three were one transaction.
    EXPECT_NE(s.message().find("UNIQUE"), std::string::npos) << s.ToString();
  }

  // Nothing of the batch is visible: the case rows, events, sealed data and outbox rows of seqs 1
  // and 2 rolled back with the failed insert.
  EXPECT_FALSE(store->GetCase(1)->has_value());  // the case row of that write rolled back too
  EXPECT_FALSE(store->GetCase(2)->has_value());
  EXPECT_FALSE(store->GetCase(kForeignRefBase)->has_value());
  EXPECT_TRUE(store->CaseEvents(1)->empty());
  EXPECT_TRUE(store->CaseEvents(2)->empty());
  EXPECT_FALSE(store->GetSealed(1, "reporter")->has_value());
  EXPECT_EQ(*store->CountOutbox(), 0);
  EXPECT_EQ(*store->NextSeq(), 1u);
  EXPECT_EQ((*store->GetCase(0))->case_id(), "32-AAAAAAAAAA");
  // From now on every write is refused, so no gap can ever be committed, and the store says so.
  EXPECT_FALSE(store->Enqueue(MakeWrite(3, "32-DDDDDDDDDD", 3)).get().ok());
  EXPECT_FALSE(store->GetCase(3)->has_value());
  Status health = store->Health();
  EXPECT_EQ(health.code(), Status::Code::kIOError);
  EXPECT_NE(health.message().find("UNIQUE"), std::string::npos) << health.ToString();

  // On disk, too, only seq 0 is there; reopened, the store takes seq 1.
  store->Close();
  store.reset();
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM events"), "1");
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM cases"), "1");
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM sealed"), "0");
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM outbox"), "0");
  auto reopened = Store::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store = std::move(*reopened);
  EXPECT_TRUE(store->Health().ok());
  EXPECT_EQ(*store->NextSeq(), 1u);
  ASSERT_TRUE(store->Enqueue(MakeWrite(1, "32-BBBBBBBBBB", 1)).get().ok());
  EXPECT_EQ((*store->GetCase(1))->case_id(), "32-BBBBBBBBBB");
}

// A full disk is the one failure the queue recovers from: the write that got ENOSPC stored
// nothing, so the queue refuses writes (NoSpace) and serves reads until the caller resumes it
// from the first seq not stored.
TEST_F(StoreTest, AFullDiskMakesTheQueueReadOnlyUntilResumed) {
  auto store = std::move(*Store::Open(path_));
  ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok());
  ASSERT_TRUE(store->Enqueue(MakeWrite(1, "32-BBBBBBBBBB", 1)).get().ok());

  SetDiskFault(DiskFault{DiskFault::Op::kWrite, 1, /*no_space=*/true, /*sticky=*/false});
  Status full = store->Enqueue(MakeWrite(2, "32-CCCCCCCCCC", 2)).get();
  SetDiskFault(std::nullopt);
  EXPECT_EQ(full.code(), Status::Code::kNoSpace) << full.ToString();
  EXPECT_EQ(store->Health().code(), Status::Code::kNoSpace);
  // The disk has room again, but nothing commits until the caller resumes: seq 3 would follow a
  // seq that was never stored.
  Status refused = store->Enqueue(MakeWrite(3, "32-DDDDDDDDDD", 3)).get();
  EXPECT_EQ(refused.code(), Status::Code::kNoSpace) << refused.ToString();
  // Reads go on and see what was committed before.
  EXPECT_EQ((*store->GetCase(1))->case_id(), "32-BBBBBBBBBB");
  EXPECT_FALSE(store->GetCase(2)->has_value());
  EXPECT_EQ(*store->NextSeq(), 2u);

  ASSERT_TRUE(store->ResumeWrites(*store->NextSeq()).ok());
  EXPECT_TRUE(store->Health().ok());
  ASSERT_TRUE(store->Enqueue(MakeWrite(2, "32-EEEEEEEEEE", 2)).get().ok());
  ASSERT_TRUE(store->Enqueue(MakeWrite(3, "32-FFFFFFFFFF", 3)).get().ok());
  EXPECT_TRUE(store->ResumeWrites(4).ok());  // not read-only: nothing changes
  ASSERT_TRUE(store->Enqueue(MakeWrite(4, "32-GGGGGGGGGG", 4)).get().ok());

  store->Close();
  store.reset();
  EXPECT_EQ(QueryText(path_, "SELECT COUNT(*) FROM events"), "5");
  EXPECT_EQ(QueryText(path_,
                      "SELECT group_concat(case_id) FROM (SELECT case_id FROM cases "
                      "ORDER BY ref)"),
            "32-AAAAAAAAAA,32-BBBBBBBBBB,32-EEEEEEEEEE,32-FFFFFFFFFF,32-GGGGGGGGGG");
  EXPECT_EQ(QueryText(path_, "PRAGMA integrity_check"), "ok");
}

// A failed sync is never the recoverable "disk full", whatever its errno: after a failed fsync
// nobody knows what reached the disk, so the store fails and the node restarts from disk.
TEST_F(StoreTest, AFailedSyncFailsTheStoreEvenWithNoSpace) {
  auto store = std::move(*Store::Open(path_));
  ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok());
  SetDiskFault(*ParseDiskFault("sync:1:enospc"));
  Status s = store->Enqueue(MakeWrite(1, "32-BBBBBBBBBB", 1)).get();
  SetDiskFault(std::nullopt);
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_EQ(store->Health().code(), Status::Code::kIOError);
  EXPECT_EQ(store->ResumeWrites(1).code(), Status::Code::kIOError);
}

// The power-loss simulation drops what was written but not synced: a child process commits seq 0,
// then loses power at the sync of seq 1's commit, after its WAL frames (the commit frame
// included) were written. Had they stayed, recovery would find seq 1 committed.
TEST_F(StoreTest, PowerLossDropsWhatWasNotSynced) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StoreOptions no_checkpoints;  // the only syncs are the commits'
    no_checkpoints.wal_checkpoint_interval_ms = 3600 * 1000;
    auto store = std::move(*Store::Open(path_, no_checkpoints));
    if (!store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok()) _exit(2);
    SetDiskFault(*ParseDiskFault("sync:1:powerloss"));
    [[maybe_unused]] Status s = store->Enqueue(MakeWrite(1, "32-BBBBBBBBBB", 1)).get();
    _exit(3);  // not reached: the power went during that commit
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  auto store = std::move(*Store::Open(path_));
  EXPECT_EQ(*store->NextSeq(), 1u);
  EXPECT_TRUE(store->GetCase(0)->has_value());
  EXPECT_FALSE(store->GetCase(1)->has_value());
  store->Close();
  EXPECT_EQ(QueryText(path_, "PRAGMA integrity_check"), "ok");
}

TEST(DiskFaultSpecTest, ParsesEachPartAndNamesWhatIsWrong) {
  auto f = ParseDiskFault("write:25:enospc:sticky");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->op, DiskFault::Op::kWrite);
  EXPECT_EQ(f->nth, 25u);
  EXPECT_TRUE(f->no_space && f->sticky && !f->power_loss);
  f = ParseDiskFault("sync:9:powerloss");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->op, DiskFault::Op::kSync);
  EXPECT_TRUE(f->power_loss && !f->sticky);
  f = ParseDiskFault("write:8:enospc:wal");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->no_space && f->wal_only && !f->sticky);
  f = ParseDiskFault("sync:3:eio:sticky:wal");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->sticky && f->wal_only);
  for (const char* bad :
       {"", "write", "write:0:eio", "write:x:eio", "read:1:eio", "write:1:ebusy",
        "write:1:eio:forever", "sync:1:powerloss:sticky", "write:1:eio:sticky:more"}) {
    auto r = ParseDiskFault(bad);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().field(), "LAPOR_TEST_DISK_FAULT") << bad;
  }
}

TEST_F(StoreTest, TheSameSeqQueuedTwiceFailsTheStore) {
  auto store = std::move(*Store::Open(path_));
  ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-AAAAAAAAAA", 0)).get().ok());
  EXPECT_FALSE(store->Enqueue(MakeWrite(0, "32-BBBBBBBBBB", 0)).get().ok());
  EXPECT_EQ((*store->GetCase(0))->case_id(), "32-AAAAAAAAAA");  // not replaced
  EXPECT_FALSE(store->Enqueue(MakeWrite(1, "32-CCCCCCCCCC", 1)).get().ok());
  EXPECT_EQ(*store->NextSeq(), 1u);
  EXPECT_FALSE(store->Health().ok());
}

TEST_F(StoreTest, CloseDrainsQueueAndRefusesAfterwards) {
  auto store = std::move(*Store::Open(path_));
  std::vector<std::future<Status>> pending;
  for (uint64_t i = 0; i < 100; ++i) {
    pending.push_back(store->Enqueue(MakeWrite(i, "32-C" + std::to_string(i), i)));
  }
  store->Close();
  for (auto& f : pending) EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(store->Enqueue(MakeWrite(100, "32-LATE", 100)).get().code(),
            Status::Code::kUnavailable);
  EXPECT_EQ(*store->NextSeq(), 100u);
}

// A write queued behind a seq that never comes cannot commit: Close fails it instead of waiting.
TEST_F(StoreTest, CloseFailsWritesBehindAGap) {
  auto store = std::move(*Store::Open(path_));
  ASSERT_TRUE(store->Enqueue(MakeWrite(0, "32-G0", 0)).get().ok());
  auto stranded = store->Enqueue(MakeWrite(2, "32-G2", 2));  // seq 1 is never queued
  auto closed = std::async(std::launch::async, [&] { store->Close(); });
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(stranded.get().code(), Status::Code::kUnavailable);
  EXPECT_EQ(*store->NextSeq(), 1u);
}

TEST_F(StoreTest, LeafHashesComeFromMemoryOrFromTheEnvelopes) {
  auto store = std::move(*Store::Open(path_));
  for (uint64_t i = 0; i < 6; ++i) {
    Write w = MakeWrite(i, "32-L" + std::to_string(i), i);
    if (i != 3) w.event.leaf_hash = crypto::LeafHash(w.event.envelope);  // seq 3 carries none
    ASSERT_TRUE(store->Enqueue(std::move(w)).get().ok());
  }
  auto leaves = store->LeafHashes(0, 6);
  ASSERT_TRUE(leaves.ok());
  ASSERT_EQ(leaves->size(), 6u);
  for (uint64_t i = 0; i < 6; ++i) {
    EXPECT_EQ((*leaves)[i], crypto::LeafHash("envelope-" + std::to_string(i))) << i;
  }
  auto tail = store->LeafHashes(4, 2);  // from memory after the gap at 3
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ((*tail)[1], crypto::LeafHash("envelope-5"));
}

TEST_F(StoreTest, OperatorsAreFoundByTokenHashOnly) {
  auto store = std::move(*Store::Open(path_));
  auto id = store->AddOperator({0, "Budi", "liaison", "dinas-pu"}, crypto::Sha256("token-1"));
  ASSERT_TRUE(id.ok());
  auto op = store->FindOperator(crypto::Sha256("token-1"), 1000);
  ASSERT_TRUE(op.ok() && op->has_value());
  EXPECT_EQ((*op)->agency, "dinas-pu");
  EXPECT_EQ((*op)->id, *id);
  EXPECT_FALSE(store->FindOperator(crypto::Sha256("token-2"), 1000)->has_value());
  // The same token twice is refused (UNIQUE), never silently shared.
  EXPECT_FALSE(store->AddOperator({0, "Ani", "admin", ""}, crypto::Sha256("token-1")).ok());
}

TEST_F(StoreTest, RemovedRotatedAndExpiredTokensAreRefusedAndEveryChangeIsRecorded) {
  auto store = std::move(*Store::Open(path_));
  const int64_t now = 1'800'000'000'000;
  auto a = store->AddOperator({0, "Budi", "admin", ""}, crypto::Sha256("a-1"));
  Operator expiring{0, "Sari", "auditor", ""};
  expiring.expires_ms = now + 1000;
  auto b = store->AddOperator(expiring, crypto::Sha256("b-1"));
  ASSERT_TRUE(a.ok() && b.ok());
  // Expiry: valid before, refused at and after it.
  EXPECT_TRUE(store->FindOperator(crypto::Sha256("b-1"), now + 999)->has_value());
  EXPECT_FALSE(store->FindOperator(crypto::Sha256("b-1"), now + 1000)->has_value());
  // Rotation: the old token dies, the new one works.
  ASSERT_TRUE(store->RotateOperator(*a, crypto::Sha256("a-2"), 0, now).ok());
  EXPECT_FALSE(store->FindOperator(crypto::Sha256("a-1"), now)->has_value());
  auto rotated = store->FindOperator(crypto::Sha256("a-2"), now);
  ASSERT_TRUE(rotated.ok() && rotated->has_value());
  EXPECT_EQ((*rotated)->id, *a);
  // Rotating with a negative expiry keeps the one the operator has.
  ASSERT_TRUE(store->RotateOperator(*b, crypto::Sha256("b-2"), -1, now).ok());
  auto kept = store->FindOperator(crypto::Sha256("b-2"), now);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->expires_ms, now + 1000);
  // Removal: refused from now on, kept in the list (events name operator ids), not twice.
  ASSERT_TRUE(store->RemoveOperator(*a, now + 5).ok());
  EXPECT_FALSE(store->FindOperator(crypto::Sha256("a-2"), now + 5)->has_value());
  EXPECT_EQ(store->RemoveOperator(*a, now + 6).code(), Status::Code::kNotFound);
  EXPECT_EQ(store->RotateOperator(*a, crypto::Sha256("a-3"), 0, now + 6).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(store->RemoveOperator(999, now).code(), Status::Code::kNotFound);
  auto ops = store->ListOperators();
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[0].removed_ms, now + 5);
  EXPECT_EQ((*ops)[1].expires_ms, now + 1000);
  auto changes = store->OperatorChanges();
  ASSERT_TRUE(changes.ok());
  std::vector<std::string> seen;
  for (const auto& c : *changes) seen.push_back(std::to_string(c.operator_id) + ":" + c.change);
  const std::string ia = std::to_string(*a), ib = std::to_string(*b);
  EXPECT_EQ(seen, (std::vector<std::string>{ia + ":added", ib + ":added", ia + ":rotated",
                                            ib + ":rotated", ia + ":removed"}));
}

TEST_F(StoreTest, TheAccessRecordIsAppendOnly) {
  {
    auto store = std::move(*Store::Open(path_));
    for (int i = 0; i < 3; ++i) {
      AccessRecord r{0, 1000 + i, 7, "admin", i == 1 ? "32-B" : "32-A", "reporter_identity"};
      ASSERT_TRUE(store->RecordAccess({r}).ok());
    }
    auto all = store->AccessRecords("", 0, 10);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 3u);
    auto of_a = store->AccessRecords("32-A", 0, 10);
    ASSERT_TRUE(of_a.ok());
    ASSERT_EQ(of_a->size(), 2u);
    EXPECT_EQ((*of_a)[1].time_ms, 1002);
    ASSERT_TRUE(store->AddOperator({0, "Budi", "admin", ""}, crypto::Sha256("t")).ok());
    auto paged = store->AccessRecords("", (*all)[0].id, 1);
    ASSERT_TRUE(paged.ok() && paged->size() == 1u);
    EXPECT_EQ((*paged)[0].id, (*all)[1].id);
    store->Close();
  }
  // Not even a direct SQL connection can rewrite or drop a record.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM access_log", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE access_log SET operator_id = 1", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM operator_changes", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(StoreTest, AlertsArePagedAndCappedPerOrigin) {
  auto store = std::move(*Store::Open(path_));
  for (int i = 0; i < kMaxAlertsPerOrigin + 20; ++i) {
    AlertRow a{
        0, "33", "event_equivocation", "seq " + std::to_string(i), "a", "b" + std::to_string(i), i};
    ASSERT_TRUE(store->AddAlert(a).ok());
  }
  // The same evidence again (a replay) takes no second slot.
  ASSERT_TRUE(store->AddAlert({0, "32", "event_equivocation", "other origin", "a", "b", 7}).ok());
  ASSERT_TRUE(store->AddAlert({0, "32", "event_equivocation", "replayed", "a", "b", 9}).ok());
  ASSERT_TRUE(store->AddAlert({0, "33", "equivocation", "other kind", "a", "b", 8}).ok());
  std::vector<AlertRow> all;
  for (int64_t after = 0;;) {
    auto page = store->Alerts(after, 50);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    after = page->back().id;
    all.insert(all.end(), page->begin(), page->end());
  }
  // The first kMaxAlertsPerOrigin of 33's kind are kept, in order; the others' are not capped.
  ASSERT_EQ(all.size(), static_cast<size_t>(kMaxAlertsPerOrigin) + 2);
  EXPECT_EQ(all.front().detail, "seq 0");
  EXPECT_EQ(all[kMaxAlertsPerOrigin - 1].detail, "seq " + std::to_string(kMaxAlertsPerOrigin - 1));
  EXPECT_EQ(all[kMaxAlertsPerOrigin].detail, "other origin");
  EXPECT_EQ(all.back().detail, "other kind");
}

}  // namespace
}  // namespace lapor::storage
