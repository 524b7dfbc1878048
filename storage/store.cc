// Store::Open and the composition of SqliteStore (storage/sqlite_store.h), with its commit queue,
// EventLog, CaseIndex and MetaStore; the other roles are in store_operators.cc,
// store_federation.cc and store_log.cc.
#include "storage/store.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/merkle.h"
#include "storage/case_text.h"
#include "storage/schema.h"
#include "storage/sqlite.h"
#include "storage/sqlite_store.h"
#include "storage/store_writer.h"

namespace lapor::storage {

// Cases the search indexer reads per step (one transaction; ~100 us each): a write arriving
// meanwhile waits for one step at most. Larger while a search waits, to catch up with writes
// arriving in batches meanwhile.
constexpr int kSearchIndexStep = 32;
constexpr int kUrgentSearchIndexStep = 256;

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Connection> writer, uint64_t next_seq,
                         const StoreOptions& options)
    : path_(std::move(path)),
      writer_(std::move(writer)),
      readers_(path_),
      committer_(
          path_, options, next_seq,
          [this](const std::vector<Write>& batch) { return writer_.CommitBatch(batch); },
          options.background_work ? GroupCommitter::BackgroundFn([this](bool urgent) {
            return writer_.IndexStep(urgent ? kUrgentSearchIndexStep : kSearchIndexStep);
          })
                                  : nullptr) {
  readers_.SetOnDiskError([this](const std::string& why) {
    committer_.Fail("a disk error outside the commit queue: " + why);
  });
}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Enqueue(Write w, Callback on_durable) {
  committer_.Enqueue(std::move(w), std::move(on_durable));
}

Status SqliteStore::Health() { return committer_.Health(); }
Status SqliteStore::ResumeWrites(uint64_t next_seq) { return committer_.ResumeWrites(next_seq); }

void SqliteStore::Close() { committer_.Close(); }

Result<uint64_t> SqliteStore::NextSeq() {
  auto r = readers_.QueryInt("SELECT MAX(seq) + 1 FROM events", NoBind, 0);
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(*r);
}

Status SqliteStore::ScanEvents(uint64_t from, const std::function<bool(const StoredEvent&)>& fn) {
  // A dedicated connection: a full scan must not hold a pooled reader for long.
  auto conn = Connection::Open(path_, false);
  if (!conn.ok()) return conn.status();
  auto st = (*conn)->Cached(
      "SELECT seq, case_ref, hash, envelope FROM events WHERE seq >= ? ORDER BY seq");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, static_cast<int64_t>(from));
  LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
    StoredEvent e{static_cast<uint64_t>(row.Int(0)),
                  static_cast<uint64_t>(row.Int(1)),
                  row.Blob(2),
                  row.Blob(3),
                  {}};
    return fn(e);
  }));
  return Status::Ok();
}

Result<std::vector<std::string>> SqliteStore::LeafHashes(uint64_t from, uint64_t count) {
  if (auto recent = committer_.RecentLeaves(from, count)) return std::move(*recent);
  auto envelopes = Envelopes(from, count);
  if (!envelopes.ok()) return envelopes.status();
  std::vector<std::string> out;
  out.reserve(envelopes->size());
  for (const auto& e : *envelopes) out.push_back(crypto::LeafHash(e));
  return out;
}

Result<std::vector<std::string>> SqliteStore::Envelopes(uint64_t from, uint64_t count) {
  using R = std::vector<std::string>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached("SELECT envelope FROM events WHERE seq >= ? AND seq < ? ORDER BY seq");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(from + count));
    return ReadBlobs(*st);
  });
}

Status SqliteStore::AppendOffline(const std::vector<StoredEvent>& events,
                                  const std::vector<std::pair<std::string, std::string>>& meta) {
  if (events.empty()) return Status::Ok();
  LAPOR_RETURN_IF_ERROR(AppendOfflineRows(events, meta));
  return committer_.SkipTo(events.back().seq + 1);  // the queue's own writes follow them
}

Status SqliteStore::AppendOfflineRows(
    const std::vector<StoredEvent>& events,
    const std::vector<std::pair<std::string, std::string>>& meta) {
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
          auto max = db->Cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM events");
          if (!max.ok()) return max.status();
          auto row = (*max)->Step();
          if (!row.ok()) return row.status();
          uint64_t next = *row ? static_cast<uint64_t>((*max)->Int(0)) : 0;
          (*max)->Reset();
          for (const auto& e : events) {
            if (e.seq != next) {
              return Status::Conflict("event " + std::to_string(e.seq) +
                                      " does not follow the log's last seq (next " +
                                      std::to_string(next) + ")");
            }
            LAPOR_RETURN_IF_ERROR(
                db->Run("INSERT INTO events(seq, case_ref, hash, envelope) VALUES(?,?,?,?)",
                        [&](Statement& st) {
                          st.Bind(1, static_cast<int64_t>(e.seq))
                              .Bind(2, static_cast<int64_t>(e.case_ref))
                              .BindBlob(3, e.hash)
                              .BindBlob(4, e.envelope);
                        }));
            ++next;
          }
          for (const auto& kv : meta) {
            LAPOR_RETURN_IF_ERROR(
                db->Run("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
                        [&](Statement& st) { st.Bind(1, kv.first).BindBlob(2, kv.second); }));
          }
          return Status::Ok();
        }));
        return true;
      })
      .status();
}

Result<std::optional<v1::CaseState>> SqliteStore::GetCase(uint64_t ref) {
  return readers_.QueryRow<v1::CaseState>(
      "SELECT state FROM cases WHERE ref = ?",
      [&](Statement& st) { st.Bind(1, static_cast<int64_t>(ref)); },
      [](Statement& st) { return ParseState(st.Blob(0)); });
}

Result<std::vector<StoredEvent>> SqliteStore::CaseEvents(uint64_t case_ref) {
  using R = std::vector<StoredEvent>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT seq, case_ref, hash, envelope FROM events WHERE case_ref = ? ORDER BY seq");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, static_cast<int64_t>(case_ref));
    return ReadEvents(*st);
  });
}

namespace {

// The WHERE conditions of a CaseFilter's fields on `cases` (alias c), its cursor and order on
// `key` (the case's ref as the query's driving table holds it: newest first, or by the deadline
// key storage::DueKey then `key`) and its limit, bound in the order they were added.
class FilterSql {
 public:
  FilterSql(const CaseFilter& f, const std::string& key) : f_(f) {
    add("c.status", f.status);
    add("c.report_type", f.report_type);
    add("c.category", f.category);
    add("c.region_code", f.region_code);
    add("c.agency", f.agency);
    if (f.overdue.has_value()) {
      where_ += *f.overdue ? " AND c.due_ms > 0 AND c.due_ms < ?"
                           : " AND NOT (c.due_ms > 0 AND c.due_ms < ?)";
    }
    // No index serves the deadline order: the rows the filters select are sorted (a
    // workbench's queue, a page at a time).
    const std::string due_key =
        "(CASE WHEN c.due_ms > 0 THEN c.due_ms ELSE 9223372036854775807 END)";
    if (f.by_deadline) {
      if (f.by_deadline_after) where_ += " AND (" + due_key + ", " + key + ") > (?, ?)";
      order_ = " ORDER BY " + due_key + ", " + key + " LIMIT ?";
    } else {
      if (f.before_ref > 0) where_ += " AND " + key + " < ?";
      order_ = " ORDER BY " + key + " DESC LIMIT ?";
    }
  }
  const std::string& where() const { return where_; }
  // ORDER BY and LIMIT.
  const std::string& order() const { return order_; }
  // Binds the filter's values from parameter `first` on, then the limit.
  void Bind(Statement* st, int first) const {
    int i = first;
    for (const auto& v : text_) st->Bind(i++, v);
    if (f_.overdue.has_value()) st->Bind(i++, f_.now_ms);
    if (f_.by_deadline && f_.by_deadline_after) {
      st->Bind(i++, f_.after_due);
      st->Bind(i++, static_cast<int64_t>(f_.after_ref));
    } else if (!f_.by_deadline && f_.before_ref > 0) {
      st->Bind(i++, static_cast<int64_t>(f_.before_ref));
    }
    st->Bind(i++, static_cast<int64_t>(f_.limit));
  }

 private:
  void add(const std::string& col, const std::string& v) {
    if (v.empty()) return;
    where_ += " AND " + col + " = ?";
    text_.push_back(v);
  }
  const CaseFilter& f_;
  std::string where_, order_;
  std::vector<std::string> text_;
};

}  // namespace

Result<std::vector<v1::CaseState>> SqliteStore::ListCases(const CaseFilter& f) {
  using R = std::vector<v1::CaseState>;
  if (!f.words.empty()) {
    // Catching up still, or the store failed, closed or is read-only (a full disk: new cases
    // cannot be indexed, so a search would miss them): the caller is told which.
    LAPOR_RETURN_IF_ERROR(committer_.WaitForBackground(std::chrono::steady_clock::now() +
                                                       std::chrono::milliseconds(500)));
  }
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    if (f.words.empty()) {
      FilterSql sql(f, "c.ref");
      auto st = db->Cached("SELECT c.state FROM cases c WHERE 1" + sql.where() + sql.order());
      if (!st.ok()) return st.status();
      sql.Bind(*st, 1);
      return ReadStates(*st);
    }
    // The index drives (CROSS JOIN keeps it outside): FTS5 yields its matches by rowid, newest
    // first, from the cursor on, and each is looked up in `cases` for the other conditions.
    FilterSql sql(f, "case_text.rowid");
    auto st = db->Cached(
        "SELECT c.state FROM case_text CROSS JOIN cases c ON c.ref = case_text.rowid "
        "WHERE case_text MATCH ?" +
        sql.where() + sql.order());
    if (!st.ok()) return st.status();
    (*st)->Bind(1, MatchExpression(f.words));
    sql.Bind(*st, 2);
    return ReadStates(*st);
  });
}

Result<std::vector<std::pair<v1::CaseState, std::string>>> SqliteStore::ListSealedContent(
    const CaseFilter& f) {
  using R = std::vector<std::pair<v1::CaseState, std::string>>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    FilterSql sql(f, "s.case_ref");
    auto st = db->Cached(
        "SELECT c.state, s.ciphertext FROM sealed s INDEXED BY sealed_content "
        "CROSS JOIN cases c ON c.ref = s.case_ref WHERE s.kind = 'content'" +
        sql.where() + sql.order());
    if (!st.ok()) return st.status();
    sql.Bind(*st, 1);
    R out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      out.emplace_back(ParseState(row.Blob(0)), row.Blob(1));
      return true;
    }));
    return out;
  });
}

Result<std::vector<v1::CaseState>> SqliteStore::DueCases(int64_t now_ms, int limit) {
  using R = std::vector<v1::CaseState>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT state FROM cases WHERE due_ms > 0 AND escalated = 0 AND due_ms <= ?1 "
        "UNION SELECT state FROM cases "
        "WHERE auto_complete_at_ms > 0 AND auto_complete_at_ms <= ?1 LIMIT ?2");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
    return ReadStates(*st);
  });
}

Status SqliteStore::ScanCases(const std::function<bool(const v1::CaseState&)>& fn) {
  auto conn = Connection::Open(path_, false);
  if (!conn.ok()) return conn.status();
  auto st = (*conn)->Cached("SELECT state FROM cases ORDER BY ref");
  if (!st.ok()) return st.status();
  LAPOR_RETURN_IF_ERROR(
      ForEachRow(**st, [&](Statement& row) { return fn(ParseState(row.Blob(0))); }));
  return Status::Ok();
}

Result<std::optional<std::string>> SqliteStore::GetSealed(uint64_t case_ref,
                                                          const std::string& kind) {
  return readers_.QueryRow<std::string>(
      "SELECT ciphertext FROM sealed WHERE case_ref = ? AND kind = ?",
      [&](Statement& st) { st.Bind(1, static_cast<int64_t>(case_ref)).Bind(2, kind); },
      [](Statement& st) { return st.Blob(0); });
}

Result<bool> SqliteStore::HasSealed(uint64_t case_ref, const std::string& kind) {
  auto row = readers_.QueryRow<int64_t>(
      "SELECT 1 FROM sealed WHERE case_ref = ? AND kind = ?",
      [&](Statement& st) { st.Bind(1, static_cast<int64_t>(case_ref)).Bind(2, kind); },
      [](Statement& st) { return st.Int(0); });
  if (!row.ok()) return row.status();
  return row->has_value();
}

Status SqliteStore::EraseSealed(uint64_t case_ref, const std::string& kind) {
  auto r = readers_.WithReader<bool>([&](Connection* db) -> Result<bool> {
    LAPOR_RETURN_IF_ERROR(db->Run(
        kind == "reporter" ? "DELETE FROM sealed WHERE case_ref = ? AND (kind = ? OR kind LIKE "
                             "'attachment:%')"
                           : "DELETE FROM sealed WHERE case_ref = ? AND kind = ?",
        [&](Statement& st) { st.Bind(1, static_cast<int64_t>(case_ref)).Bind(2, kind); }));
    return sqlite3_changes(db->raw()) > 0;
  });
  if (!r.ok()) return r.status();
  if (!*r) return Status::NotFound("no sealed " + kind + " record for this case");
  return Status::Ok();
}

Status SqliteStore::TruncateWal() {
  auto r = readers_.WithReader<bool>([&](Connection* db) -> Result<bool> {
    // While it waits for readers it holds the write lock: a short wait, so a running node's
    // committer (whose own wait is longer) is never the one that gives up.
    sqlite3_busy_timeout(db->raw(), 500);
    auto st = db->Cached("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st.ok()) return st.status();
    bool busy = false;
    Status stepped = ForEachRow(**st, [&](Statement& row) {
      busy = row.Int(0) != 0;
      return false;
    });
    sqlite3_busy_timeout(db->raw(), 10000);  // back to Connection::Open's
    if (!stepped.ok()) return stepped;
    return busy;
  });
  if (!r.ok()) return r.status();
  if (*r) {
    return Status::Unavailable(
        "the write-ahead log could not be emptied now (a reader or writer was busy)");
  }
  return Status::Ok();
}

Result<int> SqliteStore::EraseOutboxSealed(const std::string& case_id, const std::string& kind) {
  return readers_.WithReader<int>([&](Connection* db) -> Result<int> {
    int erased = 0;
    LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      auto deleted = DeleteSealedOutboxRows(db, case_id, [&](const std::string& k) {
        return k == kind || (kind == "reporter" && IsReporterData(k));
      });
      if (!deleted.ok()) return deleted.status();
      erased = *deleted;
      return Status::Ok();
    }));
    return erased;
  });
}

Result<uint64_t> SqliteStore::DataVersion() {
  MutexLock lock(version_mu_);
  if (version_conn_ == nullptr) {
    auto conn = Connection::Open(path_, false);
    if (!conn.ok()) return conn.status();
    version_conn_ = std::move(*conn);
  }
  auto st = version_conn_->Cached("PRAGMA data_version");
  if (!st.ok()) return st.status();
  auto row = (*st)->Step();
  const uint64_t version = row.ok() && *row ? static_cast<uint64_t>((*st)->Int(0)) : 0;
  (*st)->Reset();
  if (!row.ok()) return row.status();
  return version;
}

Result<std::optional<std::string>> SqliteStore::GetMeta(const std::string& key) {
  return readers_.QueryRow<std::string>(
      "SELECT value FROM meta WHERE key = ?", [&](Statement& st) { st.Bind(1, key); },
      [](Statement& st) { return st.Blob(0); });
}

Status SqliteStore::SetMeta(const std::string& key, const std::string& value) {
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(db->Run("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
                                      [&](Statement& st) { st.Bind(1, key).BindBlob(2, value); }));
        return true;
      })
      .status();
}

Status SqliteStore::ReplaceMeta(const std::string& key, const std::string& expected,
                                const std::string& value) {
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(db->Run(
            "UPDATE meta SET value = ? WHERE key = ? AND value = ?",
            [&](Statement& st) { st.BindBlob(1, value).Bind(2, key).BindBlob(3, expected); }));
        if (sqlite3_changes(db->raw()) != 1) {
          return Status::Conflict("meta " + key + " changed meanwhile", key);
        }
        return true;
      })
      .status();
}

std::future<Status> CommitQueue::Enqueue(Write w) {
  auto done = std::make_shared<std::promise<Status>>();
  auto fut = done->get_future();
  Enqueue(std::move(w), [done](const Status& s) { done->set_value(s); });
  return fut;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  auto writer = Connection::Open(path, true);
  if (!writer.ok()) return writer.status();
  LAPOR_RETURN_IF_ERROR(Migrate(writer->get()));
  auto st = (*writer)->Cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM events");
  if (!st.ok()) return st.status();
  auto row = (*st)->Step();
  if (!row.ok()) return row.status();
  uint64_t next = static_cast<uint64_t>((*st)->Int(0));
  (*st)->Reset();
  return std::unique_ptr<Store>(new SqliteStore(path, std::move(*writer), next, options));
}

}  // namespace lapor::storage
