#include "storage/store.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "base/mutex.h"
#include "base/thread_name.h"
#include "crypto/merkle.h"
#include "storage/schema.h"
#include "storage/sqlite.h"

namespace lapor::storage {
namespace {

v1::CaseState ParseState(const std::string& blob) {
  v1::CaseState state;
  state.ParseFromString(blob);
  return state;
}

class SqliteStore : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<Connection> writer, uint64_t next_seq,
              const StoreOptions& options)
      : path_(std::move(path)), options_(options), writer_(std::move(writer)) {
    next_commit_seq_ = next_seq;
    // Checkpoints copy the WAL into the database file and fsync it: done inline by the committer
    // they stall every waiting request for the copy, so a separate thread runs them.
    // Best effort: if it fails, SQLite checkpoints inline as well, which is slower, not unsafe.
    [[maybe_unused]] Status no_auto = writer_->Exec("PRAGMA wal_autocheckpoint=0");
    // Grow files in 8 MiB steps: fewer size changes means fewer file-system metadata commits
    // inside the committer's fsync.
    int chunk = 8 << 20;
    sqlite3_file_control(writer_->raw(), "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
    committer_ = std::thread([this] { CommitLoop(); });
    SetThreadName(committer_, "lapor-commit");
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
    SetThreadName(checkpointer_, "lapor-walckpt");
  }
  ~SqliteStore() override { Close(); }
  using CommitQueue::Enqueue;

  void Enqueue(Write w, Callback on_durable) override {
    Status refused = Status::Unavailable("store is closed");
    {
      MutexLock lock(mu_);
      if (!committer_exited_) {
        const bool own = w.kind == Write::Kind::kOwn;
        const QueueKey key{own ? w.event.seq : w.after_seq, own ? 1 : 0, own ? 0 : ++other_count_};
        if (queue_.count(key) == 0) {
          queue_.emplace(key, Pending{std::move(w), std::move(on_durable)});
          if (queue_.size() >= wake_at_) cv_.NotifyOne();
          return;
        }
        // The same seq queued twice is a caller bug: refuse it and stop accepting writes.
        failed_ = true;
        const std::string why = "seq " + std::to_string(std::get<0>(key)) + " queued twice";
        if (failure_.empty()) failure_ = why;  // Health reports the first cause
        refused = Status::Internal(why);
      }
    }
    // Never call back from inside Enqueue (the caller may hold a lock the callback takes).
    std::thread([cb = std::move(on_durable), refused] { cb(refused); }).detach();
  }

  Status Health() override {
    MutexLock lock(mu_);
    if (failed_) return Status::IOError("the store failed: " + failure_);
    return Status::Ok();
  }

  void Close() override {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.NotifyOne();
    checkpoint_cv_.NotifyOne();
    if (committer_.joinable()) committer_.join();
    if (checkpointer_.joinable()) checkpointer_.join();
    FailStranded();
  }

  Result<uint64_t> NextSeq() override {
    auto r = QueryInt("SELECT MAX(seq) + 1 FROM events", NoBind, 0);
    if (!r.ok()) return r.status();
    return static_cast<uint64_t>(*r);
  }

  Result<std::optional<v1::CaseState>> GetCase(uint64_t ref) override {
    return QueryRow<v1::CaseState>(
        "SELECT state FROM cases WHERE ref = ?",
        [&](Statement& st) { st.Bind(1, static_cast<int64_t>(ref)); },
        [](Statement& st) { return ParseState(st.Blob(0)); });
  }

  Result<std::vector<StoredEvent>> CaseEvents(uint64_t case_ref) override {
    using R = std::vector<StoredEvent>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT seq, case_ref, hash, envelope FROM events WHERE case_ref = ? ORDER BY seq");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, static_cast<int64_t>(case_ref));
      return ReadEvents(*st);
    });
  }

  Result<std::vector<v1::CaseState>> ListCases(const CaseFilter& f) override {
    using R = std::vector<v1::CaseState>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      std::string sql = "SELECT state FROM cases WHERE 1";
      std::vector<std::string> text;
      auto add = [&](const std::string& col, const std::string& v) {
        if (v.empty()) return;
        sql += " AND " + col + " = ?";
        text.push_back(v);
      };
      add("status", f.status);
      add("report_type", f.report_type);
      add("category", f.category);
      add("region_code", f.region_code);
      add("agency", f.agency);
      if (f.overdue.has_value()) {
        sql +=
            *f.overdue ? " AND due_ms > 0 AND due_ms < ?" : " AND NOT (due_ms > 0 AND due_ms < ?)";
      }
      if (f.before_ref > 0) sql += " AND ref < ?";
      sql += " ORDER BY ref DESC LIMIT ?";
      auto st = db->Cached(sql);
      if (!st.ok()) return st.status();
      int i = 1;
      for (const auto& v : text) (*st)->Bind(i++, v);
      if (f.overdue.has_value()) (*st)->Bind(i++, f.now_ms);
      if (f.before_ref > 0) (*st)->Bind(i++, static_cast<int64_t>(f.before_ref));
      (*st)->Bind(i++, static_cast<int64_t>(f.limit));
      return ReadStates(*st);
    });
  }

  Result<std::vector<v1::CaseState>> DueCases(int64_t now_ms, int limit) override {
    using R = std::vector<v1::CaseState>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT state FROM cases WHERE due_ms > 0 AND escalated = 0 AND due_ms <= ?1 "
          "UNION SELECT state FROM cases "
          "WHERE auto_complete_at_ms > 0 AND auto_complete_at_ms <= ?1 LIMIT ?2");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
      return ReadStates(*st);
    });
  }

  Status ScanEvents(uint64_t from, const std::function<bool(const StoredEvent&)>& fn) override {
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

  Status ScanCases(const std::function<bool(const v1::CaseState&)>& fn) override {
    auto conn = Connection::Open(path_, false);
    if (!conn.ok()) return conn.status();
    auto st = (*conn)->Cached("SELECT state FROM cases ORDER BY ref");
    if (!st.ok()) return st.status();
    LAPOR_RETURN_IF_ERROR(
        ForEachRow(**st, [&](Statement& row) { return fn(ParseState(row.Blob(0))); }));
    return Status::Ok();
  }

  Result<std::optional<std::string>> GetSealed(uint64_t case_ref,
                                               const std::string& kind) override {
    return QueryRow<std::string>(
        "SELECT ciphertext FROM sealed WHERE case_ref = ? AND kind = ?",
        [&](Statement& st) { st.Bind(1, static_cast<int64_t>(case_ref)).Bind(2, kind); },
        [](Statement& st) { return st.Blob(0); });
  }

  Status EraseSealed(uint64_t case_ref, const std::string& kind) override {
    auto r = WithReader<bool>([&](Connection* db) -> Result<bool> {
      LAPOR_RETURN_IF_ERROR(db->Run(
          "DELETE FROM sealed WHERE case_ref = ? AND kind = ?",
          [&](Statement& st) { st.Bind(1, static_cast<int64_t>(case_ref)).Bind(2, kind); }));
      return sqlite3_changes(db->raw()) > 0;
    });
    if (!r.ok()) return r.status();
    if (!*r) return Status::NotFound("no sealed " + kind + " record for this case");
    return Status::Ok();
  }

  Status TruncateWal() override {
    auto r = WithReader<bool>([&](Connection* db) -> Result<bool> {
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

  Result<int> EraseOutboxSealed(const std::string& case_id, const std::string& kind) override {
    return WithReader<int>([&](Connection* db) -> Result<int> {
      int erased = 0;
      LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
        // Sealed rows carry no case column: an erasure is rare, so it reads them all.
        auto st = db->Cached("SELECT id, payload FROM outbox WHERE kind = ?");
        if (!st.ok()) return st.status();
        (*st)->Bind(1, static_cast<int64_t>(OutboxKind::kSealed));
        std::vector<int64_t> ids;
        LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
          v1::SealedForNode sealed;
          if (sealed.ParseFromString(row.Blob(1)) && sealed.case_id() == case_id &&
              sealed.kind() == kind) {
            ids.push_back(row.Int(0));
          }
          return true;
        }));
        for (int64_t id : ids) {
          LAPOR_RETURN_IF_ERROR(
              db->Run("DELETE FROM outbox WHERE id = ?", [&](Statement& st) { st.Bind(1, id); }));
        }
        erased = static_cast<int>(ids.size());
        return Status::Ok();
      }));
      return erased;
    });
  }

  Result<uint64_t> AddOperator(const Operator& op, const std::string& token_hash) override {
    return WithReader<uint64_t>([&](Connection* db) -> Result<uint64_t> {
      uint64_t id = 0;
      LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
        LAPOR_RETURN_IF_ERROR(
            db->Run("INSERT INTO operators(name, role, agency, token_hash, created_ms, expires_ms) "
                    "VALUES(?, ?, ?, ?, strftime('%s','now') * 1000, ?)",
                    [&](Statement& st) {
                      st.Bind(1, op.name)
                          .Bind(2, op.role)
                          .Bind(3, op.agency)
                          .BindBlob(4, token_hash)
                          .Bind(5, op.expires_ms);
                    }));
        id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db->raw()));
        return RecordOperatorChange(db, id, "added",
                                    op.role + (op.agency.empty() ? "" : " of " + op.agency));
      }));
      return id;
    });
  }

  static constexpr const char* kOperatorColumns =
      "id, name, role, agency, expires_ms, removed_ms, created_ms";
  static Operator ReadOperator(Statement& st) {
    return Operator{static_cast<uint64_t>(st.Int(0)),
                    st.Text(1),
                    st.Text(2),
                    st.Text(3),
                    st.Int(4),
                    st.Int(5),
                    st.Int(6)};
  }

  Result<std::optional<Operator>> FindOperator(const std::string& token_hash,
                                               int64_t now_ms) override {
    return QueryRow<Operator>(
        std::string("SELECT ") + kOperatorColumns +
            " FROM operators WHERE token_hash = ? AND removed_ms = 0 AND "
            "(expires_ms = 0 OR expires_ms > ?)",
        [&](Statement& st) { st.BindBlob(1, token_hash).Bind(2, now_ms); }, ReadOperator);
  }

  Result<std::vector<Operator>> ListOperators() override {
    return QueryRows<Operator>(
        std::string("SELECT ") + kOperatorColumns + " FROM operators ORDER BY id", NoBind,
        ReadOperator);
  }

  // Changes one active operator and records the change, in one transaction.
  Status ChangeOperator(uint64_t id, int64_t now_ms, const std::string& sql,
                        const std::function<void(Statement&)>& bind, const std::string& change,
                        const std::string& detail) {
    return WithReader<bool>([&](Connection* db) -> Result<bool> {
             LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
               LAPOR_RETURN_IF_ERROR(db->Run(sql, bind));
               if (sqlite3_changes(db->raw()) == 0) {
                 return Status::NotFound("no active operator " + std::to_string(id), "id");
               }
               return RecordOperatorChange(db, id, change, detail, now_ms);
             }));
             return true;
           })
        .status();
  }

  Status RemoveOperator(uint64_t id, int64_t now_ms) override {
    return ChangeOperator(
        id, now_ms, "UPDATE operators SET removed_ms = ? WHERE id = ? AND removed_ms = 0",
        [&](Statement& st) { st.Bind(1, now_ms).Bind(2, static_cast<int64_t>(id)); }, "removed",
        "");
  }

  Status RotateOperator(uint64_t id, const std::string& new_token_hash, int64_t expires_ms,
                        int64_t now_ms) override {
    return ChangeOperator(
        id, now_ms,
        "UPDATE operators SET token_hash = ?1, "
        "expires_ms = CASE WHEN ?2 < 0 THEN expires_ms ELSE ?2 END "
        "WHERE id = ?3 AND removed_ms = 0",
        [&](Statement& st) {
          st.BindBlob(1, new_token_hash).Bind(2, expires_ms).Bind(3, static_cast<int64_t>(id));
        },
        "rotated",
        expires_ms > 0    ? "expires_ms=" + std::to_string(expires_ms)
        : expires_ms == 0 ? "no expiry"
                          : "expiry kept");
  }

  static Status RecordOperatorChange(Connection* db, uint64_t id, const std::string& change,
                                     const std::string& detail, int64_t now_ms = 0) {
    return db->Run(
        "INSERT INTO operator_changes(time_ms, operator_id, change, detail) "
        "VALUES(CASE WHEN ? > 0 THEN ? ELSE strftime('%s','now') * 1000 END, ?, ?, ?)",
        [&](Statement& st) {
          st.Bind(1, now_ms)
              .Bind(2, now_ms)
              .Bind(3, static_cast<int64_t>(id))
              .Bind(4, change)
              .Bind(5, detail);
        });
  }

  Result<std::vector<OperatorChange>> OperatorChanges() override {
    return QueryRows<OperatorChange>(
        "SELECT id, time_ms, operator_id, change, detail FROM operator_changes ORDER BY id", NoBind,
        [](Statement& st) {
          return OperatorChange{st.Int(0), st.Int(1), static_cast<uint64_t>(st.Int(2)), st.Text(3),
                                st.Text(4)};
        });
  }

  Status RecordAccess(const std::vector<AccessRecord>& records) override {
    if (records.empty()) return Status::Ok();
    return WithReader<bool>([&](Connection* db) -> Result<bool> {
             LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
               for (const auto& r : records) {
                 LAPOR_RETURN_IF_ERROR(
                     db->Run("INSERT INTO access_log(time_ms, operator_id, role, case_id, fields) "
                             "VALUES(?, ?, ?, ?, ?)",
                             [&](Statement& st) {
                               st.Bind(1, r.time_ms)
                                   .Bind(2, static_cast<int64_t>(r.operator_id))
                                   .Bind(3, r.role)
                                   .Bind(4, r.case_id)
                                   .Bind(5, r.fields);
                             }));
               }
               return Status::Ok();
             }));
             return true;
           })
        .status();
  }

  Result<std::vector<AccessRecord>> AccessRecords(const std::string& case_id, int64_t after_id,
                                                  int limit) override {
    return QueryRows<AccessRecord>(
        "SELECT id, time_ms, operator_id, role, case_id, fields FROM access_log "
        "WHERE (? = '' OR case_id = ?) AND id > ? ORDER BY id LIMIT ?",
        [&](Statement& st) {
          st.Bind(1, case_id).Bind(2, case_id).Bind(3, after_id).Bind(4, int64_t{limit});
        },
        [](Statement& st) {
          return AccessRecord{st.Int(0),  st.Int(1),  static_cast<uint64_t>(st.Int(2)),
                              st.Text(3), st.Text(4), st.Text(5)};
        });
  }

  Result<std::optional<std::pair<uint64_t, v1::CaseState>>> FindForeignCase(
      const std::string& case_id) override {
    return QueryRow<std::pair<uint64_t, v1::CaseState>>(
        "SELECT ref, state FROM cases WHERE case_id = ? AND ref >= " +
            std::to_string(kForeignRefBase),
        [&](Statement& st) { st.Bind(1, case_id); },
        [](Statement& st) {
          return std::make_pair(static_cast<uint64_t>(st.Int(0)), ParseState(st.Blob(1)));
        });
  }

  Result<uint64_t> MaxForeignRef() override {
    auto r = QueryInt("SELECT MAX(ref) FROM cases WHERE ref >= " + std::to_string(kForeignRefBase),
                      NoBind, static_cast<int64_t>(kForeignRefBase - 1));
    if (!r.ok()) return r.status();
    return static_cast<uint64_t>(*r);
  }

  Result<std::vector<ForeignEvent>> ForeignCaseEvents(uint64_t case_ref) override {
    using R = std::vector<ForeignEvent>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT hash, envelope, author, author_seq, received_ms FROM foreign_events "
          "WHERE case_ref = ? ORDER BY received_ms, author, author_seq");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, static_cast<int64_t>(case_ref));
      R out;
      LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
        out.push_back(ForeignEvent{row.Blob(0), row.Blob(1), row.Text(2),
                                   static_cast<uint64_t>(row.Int(3)), case_ref, row.Int(4)});
        return true;
      }));
      return out;
    });
  }

  Result<bool> HasForeignEvent(const std::string& hash) override {
    auto r = QueryInt(
        "SELECT 1 FROM foreign_events WHERE hash = ?", [&](Statement& st) { st.BindBlob(1, hash); },
        0);
    if (!r.ok()) return r.status();
    return *r == 1;
  }

  Result<std::optional<std::string>> ForeignHashAt(const std::string& author,
                                                   uint64_t seq) override {
    return QueryRow<std::string>(
        "SELECT hash FROM foreign_events WHERE author = ? AND author_seq = ?",
        [&](Statement& st) { st.Bind(1, author).Bind(2, static_cast<int64_t>(seq)); },
        [](Statement& st) { return st.Blob(0); });
  }

  Result<std::vector<std::string>> ForeignEnvelopesBy(const std::string& author, uint64_t from,
                                                      int limit) override {
    using R = std::vector<std::string>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT envelope FROM foreign_events WHERE author = ? AND author_seq >= ? "
          "ORDER BY author_seq LIMIT ?");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, author).Bind(2, static_cast<int64_t>(from)).Bind(3, limit);
      return ReadBlobs(*st);
    });
  }

  Result<uint64_t> ForeignNextSeq(const std::string& author) override {
    auto r = QueryInt(
        "SELECT MAX(author_seq) + 1 FROM foreign_events WHERE author = ?",
        [&](Statement& st) { st.Bind(1, author); }, 0);
    if (!r.ok()) return r.status();
    return static_cast<uint64_t>(*r);
  }

  Result<std::vector<OutboxRow>> OutboxAfter(const std::string& destination, int64_t after_id,
                                             int limit) override {
    using R = std::vector<OutboxRow>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT id, kind, payload, created_ms FROM outbox WHERE destination = ? AND id > ? "
          "ORDER BY id LIMIT ?");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, destination).Bind(2, after_id).Bind(3, limit);
      R out;
      LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
        out.push_back(
            OutboxRow{row.Int(0), static_cast<OutboxKind>(row.Int(1)), row.Blob(2), row.Int(3)});
        return true;
      }));
      return out;
    });
  }

  Result<std::vector<DeliveryRow>> Deliveries() override {
    using R = std::vector<DeliveryRow>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "WITH d AS (SELECT destination FROM delivery) "
          "SELECT d.destination, COALESCE(v.cursor, 0), COALESCE(v.last_success_ms, 0), "
          "COALESCE(v.last_error, ''), COALESCE(v.last_error_ms, 0), "
          "COALESCE(v.failing_since_ms, 0), "
          "(SELECT COUNT(*) FROM outbox o WHERE o.destination = d.destination AND o.id > "
          "COALESCE(v.cursor, 0)), "
          "(SELECT MIN(created_ms) FROM outbox o WHERE o.destination = d.destination AND o.id > "
          "COALESCE(v.cursor, 0)) "
          "FROM d LEFT JOIN delivery v ON v.destination = d.destination ORDER BY d.destination");
      if (!st.ok()) return st.status();
      R out;
      LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
        DeliveryRow d;
        d.destination = row.Text(0);
        d.cursor = row.Int(1);
        d.last_success_ms = row.Int(2);
        d.last_error = row.Text(3);
        d.last_error_ms = row.Int(4);
        d.failing_since_ms = row.Int(5);
        d.backlog = row.Int(6);
        d.oldest_pending_ms = row.IsNull(7) ? 0 : row.Int(7);
        out.push_back(std::move(d));
        return true;
      }));
      return out;
    });
  }

  Result<int64_t> ReceivedFrom(const std::string& sender) override {
    return QueryInt(
        "SELECT outbox_id FROM received WHERE sender = ?",
        [&](Statement& st) { st.Bind(1, sender); }, 0);
  }

  Result<int64_t> CountOutbox() override {
    return QueryInt("SELECT COUNT(*) FROM outbox", NoBind, 0);
  }

 private:
  struct Pending {
    Write write;
    Callback done;
  };

  Result<std::vector<std::string>> Envelopes(uint64_t from, uint64_t count) override {
    using R = std::vector<std::string>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached("SELECT envelope FROM events WHERE seq >= ? AND seq < ? ORDER BY seq");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, static_cast<int64_t>(from)).Bind(2, static_cast<int64_t>(from + count));
      return ReadBlobs(*st);
    });
  }

  Result<std::vector<std::string>> TreeNodes(uint32_t level, uint64_t first,
                                             uint64_t count) override {
    using R = std::vector<std::string>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT hash FROM tree_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx");
      if (!st.ok()) return st.status();
      (*st)
          ->Bind(1, static_cast<int64_t>(level))
          .Bind(2, static_cast<int64_t>(first))
          .Bind(3, static_cast<int64_t>(first + count));
      return ReadBlobs(*st);
    });
  }

  Result<std::optional<CheckpointRow>> LatestCheckpoint() override {
    using R = std::optional<CheckpointRow>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached(
          "SELECT size, root, note, time_ms FROM checkpoints ORDER BY size DESC LIMIT 1");
      if (!st.ok()) return st.status();
      auto row = (*st)->Step();
      if (!row.ok()) return row.status();
      R out;
      if (*row) {
        out = CheckpointRow{static_cast<uint64_t>((*st)->Int(0)), (*st)->Blob(1), (*st)->Blob(2),
                            (*st)->Int(3)};
      }
      return out;
    });
  }

  Result<std::optional<std::string>> LeafTile(uint64_t index) override {
    return QueryRow<std::string>(
        "SELECT hashes FROM leaf_tiles WHERE idx = ?",
        [&](Statement& st) { st.Bind(1, static_cast<int64_t>(index)); },
        [](Statement& st) { return st.Blob(0); });
  }

  Status SaveCheckpoint(const std::vector<TreeNodeRow>& nodes, const CheckpointRow& cp,
                        const std::vector<LeafTileRow>& leaf_tiles) override {
    auto r = WithReader<bool>([&](Connection* db) -> Result<bool> {
      LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
        auto latest = db->Cached("SELECT COALESCE(MAX(size), 0) FROM checkpoints");
        if (!latest.ok()) return latest.status();
        auto row = (*latest)->Step();
        if (!row.ok()) return row.status();
        const uint64_t latest_size = static_cast<uint64_t>((*latest)->Int(0));
        (*latest)->Reset();
        if (latest_size > cp.size) return Status::Conflict("checkpoint would go backwards");
        for (const auto& n : nodes) {
          LAPOR_RETURN_IF_ERROR(
              db->Run("INSERT OR IGNORE INTO tree_nodes(level, idx, hash) VALUES(?,?,?)",
                      [&](Statement& st) {
                        st.Bind(1, static_cast<int64_t>(n.level))
                            .Bind(2, static_cast<int64_t>(n.index))
                            .BindBlob(3, n.hash);
                      }));
        }
        for (const auto& t : leaf_tiles) {
          LAPOR_RETURN_IF_ERROR(db->Run(
              "INSERT OR IGNORE INTO leaf_tiles(idx, hashes) VALUES(?,?)", [&](Statement& st) {
                st.Bind(1, static_cast<int64_t>(t.index)).BindBlob(2, t.hashes);
              }));
        }
        return db->Run(
            "INSERT OR REPLACE INTO checkpoints(size, root, note, time_ms) VALUES(?,?,?,?)",
            [&](Statement& st) {
              st.Bind(1, static_cast<int64_t>(cp.size))
                  .BindBlob(2, cp.root)
                  .BindBlob(3, cp.note)
                  .Bind(4, cp.time_ms);
            });
      }));
      return true;
    });
    return r.status();
  }

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    return QueryRow<std::string>(
        "SELECT value FROM meta WHERE key = ?", [&](Statement& st) { st.Bind(1, key); },
        [](Statement& st) { return st.Blob(0); });
  }

  Status SetMeta(const std::string& key, const std::string& value) override {
    return WithReader<bool>([&](Connection* db) -> Result<bool> {
             LAPOR_RETURN_IF_ERROR(
                 db->Run("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
                         [&](Statement& st) { st.Bind(1, key).BindBlob(2, value); }));
             return true;
           })
        .status();
  }

  Status UpdateCheckpointNote(uint64_t size, const std::string& note) override {
    return WithReader<bool>([&](Connection* db) -> Result<bool> {
             LAPOR_RETURN_IF_ERROR(db->Run(
                 "UPDATE checkpoints SET note = ? WHERE size = ?",
                 [&](Statement& st) { st.BindBlob(1, note).Bind(2, static_cast<int64_t>(size)); }));
             return true;
           })
        .status();
  }

  Result<std::optional<WitnessedRow>> GetWitnessed(const std::string& origin) override {
    using R = std::optional<WitnessedRow>;
    return WithReader<R>([&](Connection* db) -> Result<R> {
      auto st = db->Cached("SELECT size, root, note FROM witnessed WHERE origin = ?");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, origin);
      auto row = (*st)->Step();
      if (!row.ok()) return row.status();
      R out;
      if (*row) {
        out = WitnessedRow{origin, static_cast<uint64_t>((*st)->Int(0)), (*st)->Blob(1),
                           (*st)->Blob(2)};
      }
      return out;
    });
  }

  Status AdvanceWitnessed(const WitnessedRow& row, uint64_t expected_size) override {
    auto r = WithReader<bool>([&](Connection* db) -> Result<bool> {
      LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
        auto cur = db->Cached("SELECT size FROM witnessed WHERE origin = ?");
        if (!cur.ok()) return cur.status();
        (*cur)->Bind(1, row.origin);
        auto found = (*cur)->Step();
        if (!found.ok()) return found.status();
        const uint64_t size = *found ? static_cast<uint64_t>((*cur)->Int(0)) : 0;
        (*cur)->Reset();
        if (size != expected_size) return Status::Conflict(std::to_string(size));
        return db->Run("INSERT OR REPLACE INTO witnessed(origin, size, root, note) VALUES(?,?,?,?)",
                       [&](Statement& st) {
                         st.Bind(1, row.origin)
                             .Bind(2, static_cast<int64_t>(row.size))
                             .BindBlob(3, row.root)
                             .BindBlob(4, row.note);
                       });
      }));
      return true;
    });
    return r.status();
  }

  Status AddAlert(const AlertRow& a) override {
    return WithReader<bool>([&](Connection* db) -> Result<bool> {
             // Kept only while the origin has fewer than kMaxAlertsPerOrigin of this kind (the
             // first ones are the evidence; a member cannot grow the table without bound), and
             // only once per piece of evidence (a replayed pair cannot use up the slots).
             LAPOR_RETURN_IF_ERROR(db->Run(
                 "INSERT OR IGNORE INTO alerts(origin, kind, detail, note_a, note_b, time_ms) "
                 "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE (SELECT COUNT(*) FROM alerts "
                 "WHERE origin = ?1 AND kind = ?2) < ?7",
                 [&](Statement& st) {
                   st.Bind(1, a.origin)
                       .Bind(2, a.kind)
                       .Bind(3, a.detail)
                       .BindBlob(4, a.note_a)
                       .BindBlob(5, a.note_b)
                       .Bind(6, a.time_ms)
                       .Bind(7, int64_t{kMaxAlertsPerOrigin});
                 }));
             return true;
           })
        .status();
  }

  Result<std::vector<AlertRow>> Alerts(int64_t after_id, int limit) override {
    return QueryRows<AlertRow>(
        "SELECT id, origin, kind, detail, note_a, note_b, time_ms FROM alerts WHERE id > ? "
        "ORDER BY id LIMIT ?",
        [&](Statement& st) { st.Bind(1, after_id).Bind(2, int64_t{limit}); },
        [](Statement& st) {
          return AlertRow{st.Int(0),  st.Text(1), st.Text(2), st.Text(3),
                          st.Blob(4), st.Blob(5), st.Int(6)};
        });
  }

  static Result<std::vector<std::string>> ReadBlobs(Statement* st) {
    std::vector<std::string> out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(*st, [&](Statement& row) {
      out.push_back(row.Blob(0));
      return true;
    }));
    return out;
  }

  // Reads column 0 of every row as a CaseState.
  static Result<std::vector<v1::CaseState>> ReadStates(Statement* st) {
    std::vector<v1::CaseState> out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(*st, [&](Statement& row) {
      out.push_back(ParseState(row.Blob(0)));
      return true;
    }));
    return out;
  }

  static Result<std::vector<StoredEvent>> ReadEvents(Statement* st) {
    std::vector<StoredEvent> out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(*st, [&](Statement& row) {
      out.push_back(StoredEvent{static_cast<uint64_t>(row.Int(0)),
                                static_cast<uint64_t>(row.Int(1)),
                                row.Blob(2),
                                row.Blob(3),
                                {}});
      return true;
    }));
    return out;
  }

  // Runs `fn` with a pooled reader connection (opened on demand; a pool grows to the number of
  // threads that read at once).
  template <typename T, typename Fn>
  Result<T> WithReader(Fn fn) {
    std::unique_ptr<Connection> conn;
    {
      MutexLock lock(pool_mu_);
      if (!pool_.empty()) {
        conn = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!conn) {
      auto opened = Connection::Open(path_, false);
      if (!opened.ok()) return opened.status();
      conn = std::move(*opened);
    }
    Result<T> r = fn(conn.get());
    conn->ResetAll();  // a pooled connection must not pin an old snapshot
    MutexLock lock(pool_mu_);
    pool_.push_back(std::move(conn));
    return r;
  }

  // Runs `sql` on a pooled reader with `bind` applied and returns `read` of its first row, or
  // nullopt when there is none.
  template <typename T, typename Bind, typename Read>
  Result<std::optional<T>> QueryRow(const std::string& sql, Bind bind, Read read) {
    return WithReader<std::optional<T>>([&](Connection* db) -> Result<std::optional<T>> {
      auto st = db->Cached(sql);
      if (!st.ok()) return st.status();
      bind(**st);
      auto row = (*st)->Step();
      if (!row.ok()) return row.status();
      std::optional<T> out;
      if (*row) out = read(**st);
      (*st)->Reset();
      return out;
    });
  }
  // Runs `sql` on a pooled reader with `bind` applied and returns `read` of every row.
  template <typename T, typename Bind, typename Read>
  Result<std::vector<T>> QueryRows(const std::string& sql, Bind bind, Read read) {
    return WithReader<std::vector<T>>([&](Connection* db) -> Result<std::vector<T>> {
      auto st = db->Cached(sql);
      if (!st.ok()) return st.status();
      bind(**st);
      std::vector<T> out;
      LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
        out.push_back(read(row));
        return true;
      }));
      return out;
    });
  }
  // A single integer (COUNT, MAX, ...) with `fallback` when the row or value is missing.
  template <typename Bind>
  Result<int64_t> QueryInt(const std::string& sql, Bind bind, int64_t fallback) {
    auto r = QueryRow<int64_t>(sql, bind,
                               [&](Statement& st) { return st.IsNull(0) ? fallback : st.Int(0); });
    if (!r.ok()) return r.status();
    return r->value_or(fallback);
  }
  static void NoBind(Statement&) {}

  Status Apply(const Write& w) {
    const auto& e = w.event;
    const uint64_t ref = w.kind == Write::Kind::kOwn ? e.case_ref : w.case_ref;
    if (w.kind == Write::Kind::kOwn) {
      LAPOR_RETURN_IF_ERROR(writer_->Run(
          "INSERT INTO events(seq, case_ref, hash, envelope) VALUES(?,?,?,?)", [&](Statement& st) {
            st.Bind(1, static_cast<int64_t>(e.seq))
                .Bind(2, static_cast<int64_t>(e.case_ref))
                .BindBlob(3, e.hash)
                .BindBlob(4, e.envelope);
          }));
    } else if (w.kind == Write::Kind::kForeign) {
      const auto& f = w.foreign;
      LAPOR_RETURN_IF_ERROR(writer_->Run(
          "INSERT INTO foreign_events(hash, case_ref, author, author_seq, envelope, received_ms) "
          "VALUES(?,?,?,?,?,?)",
          [&](Statement& st) {
            st.BindBlob(1, f.hash)
                .Bind(2, static_cast<int64_t>(f.case_ref))
                .Bind(3, f.author)
                .Bind(4, static_cast<int64_t>(f.author_seq))
                .BindBlob(5, f.envelope)
                .Bind(6, f.received_ms);
          }));
    }

    const auto& s = w.state;
    if (!s.case_id().empty()) {
      auto up = writer_->Cached(
          "INSERT INTO cases(ref, case_id, status, report_type, category, region_code, agency, "
          "due_ms, escalated, auto_complete_at_ms, state) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
          "ON CONFLICT(ref) DO UPDATE SET status=?3, agency=?7, due_ms=?8, escalated=?9, "
          "auto_complete_at_ms=?10, state=?11");
      if (!up.ok()) return up.status();
      std::string blob;
      s.SerializeToString(&blob);
      (*up)
          ->Bind(1, static_cast<int64_t>(ref))
          .Bind(2, s.case_id())
          .Bind(3, s.status())
          .Bind(4, s.report_type())
          .Bind(5, s.category())
          .Bind(6, s.region_code())
          .Bind(7, s.agency())
          .Bind(8, w.track_deadlines ? s.due_ms() : 0)
          .Bind(9, s.escalated() ? 1 : 0)
          .Bind(10, w.track_deadlines ? s.auto_complete_at_ms() : 0)
          .BindBlob(11, blob);
      LAPOR_RETURN_IF_ERROR((*up)->Run());
    }

    for (const auto& b : w.sealed) {
      LAPOR_RETURN_IF_ERROR(writer_->Run(
          "INSERT OR REPLACE INTO sealed(case_ref, kind, ciphertext) VALUES(?,?,?)",
          [&](Statement& st) {
            st.Bind(1, static_cast<int64_t>(ref)).Bind(2, b.kind).BindBlob(3, b.ciphertext);
          }));
    }
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    for (const auto& o : w.outbox) {
      LAPOR_RETURN_IF_ERROR(
          writer_->Run("INSERT INTO outbox(destination, kind, payload, created_ms) VALUES(?,?,?,?)",
                       [&](Statement& st) {
                         st.Bind(1, o.destination)
                             .Bind(2, static_cast<int64_t>(o.kind))
                             .BindBlob(3, o.payload)
                             .Bind(4, now_ms);
                       }));
      // Every destination has a delivery row from its first outbox row on, so senders and the
      // status page find destinations without scanning the outbox.
      LAPOR_RETURN_IF_ERROR(writer_->Run(
          "INSERT OR IGNORE INTO delivery(destination, cursor, last_success_ms, last_error, "
          "last_error_ms, failing_since_ms) VALUES(?, 0, 0, '', 0, 0)",
          [&](Statement& st) { st.Bind(1, o.destination); }));
    }
    for (const auto& d : w.deliveries) {
      LAPOR_RETURN_IF_ERROR(writer_->Run(
          "INSERT OR REPLACE INTO delivery(destination, cursor, last_success_ms, last_error, "
          "last_error_ms, failing_since_ms) VALUES(?,?,?,?,?,?)",
          [&](Statement& st) {
            st.Bind(1, d.destination)
                .Bind(2, d.cursor)
                .Bind(3, d.last_success_ms)
                .Bind(4, d.last_error)
                .Bind(5, d.last_error_ms)
                .Bind(6, d.failing_since_ms);
          }));
    }
    for (const auto& received : w.received) {
      LAPOR_RETURN_IF_ERROR(writer_->Run(
          "INSERT INTO received(sender, outbox_id) VALUES(?1,?2) "
          "ON CONFLICT(sender) DO UPDATE SET outbox_id = MAX(outbox_id, ?2)",
          [&](Statement& st) { st.Bind(1, received.first).Bind(2, received.second); }));
    }
    return Status::Ok();
  }

  Status CommitBatch(const std::deque<Pending>& batch) {
    return InTransaction(writer_.get(), [&]() -> Status {
      for (const auto& p : batch) LAPOR_RETURN_IF_ERROR(Apply(p.write));
      return Status::Ok();
    });
  }

  // Waits up to commit_gather_us for the batch to reach commit_gather_writes if the previous
  // batch held more than one write (StoreOptions). `lock` holds mu_.
  void Gather(MutexLock& lock, std::deque<Pending>* batch) LAPOR_REQUIRES(mu_) {
    const size_t want = static_cast<size_t>(std::max(options_.commit_gather_writes, 0));
    const bool concurrent = last_batch_size_ > 1;
    if (!concurrent || batch->size() >= want || options_.commit_gather_us <= 0) return;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::microseconds(options_.commit_gather_us);
    while (!stopping_ && batch->size() < want) {
      wake_at_ = want - batch->size();
      const bool timeout = !cv_.WaitUntil(lock, deadline);
      TakeBatch(batch);
      if (timeout) break;
    }
    wake_at_ = 1;
  }

  // Takes the contiguous run of queued writes starting at next_commit_seq_ (writes may arrive out
  // of order; one whose seq is below it is a caller bug and fails the store).
  bool TakeBatch(std::deque<Pending>* batch) LAPOR_REQUIRES(mu_) {
    static constexpr size_t kMaxBatch = 4096;
    while (!queue_.empty() && batch->size() < kMaxBatch) {
      auto it = queue_.begin();
      const auto [seq, own, n] = it->first;
      if (!own) {  // another node's event or bookkeeping: after every own seq below `seq`
        if (seq > next_commit_seq_) break;
        batch->push_back(std::move(it->second));
        queue_.erase(it);
        continue;
      }
      if (seq > next_commit_seq_) break;  // a gap: its writer has not queued yet
      if (seq < next_commit_seq_) {
        failed_ = true;
        if (failure_.empty()) failure_ = "seq " + std::to_string(seq) + " queued twice";
      } else {
        ++next_commit_seq_;
      }
      batch->push_back(std::move(it->second));
      queue_.erase(it);
    }
    return !batch->empty();
  }

  void CommitLoop() {
    for (;;) {
      std::deque<Pending> batch;
      Status failed_earlier;  // read under mu_ with the batch
      {
        MutexLock lock(mu_);
        cv_.Wait(lock, [&]() LAPOR_REQUIRES(mu_) { return TakeBatch(&batch) || stopping_; });
        if (batch.empty()) {  // stopping: nothing left that can commit (Close fails the rest)
          committer_exited_ = true;
          return;
        }
        Gather(lock, &batch);
        last_batch_size_ = batch.size();
        if (failed_) failed_earlier = Status::IOError("store failed earlier: " + failure_);
      }
      Status s;
      if (!failed_earlier.ok()) {
        s = failed_earlier;
      } else {
        MutexLock gate(wal_gate_mu_);
        s = CommitBatch(batch);
      }
      if (!s.ok()) {
        MutexLock lock(mu_);
        failed_ = true;
        if (failure_.empty()) failure_ = s.message();
      }
      if (s.ok()) RememberLeaves(batch);
      for (auto& p : batch) p.done(s);
    }
  }

  // Copies committed WAL frames into the database (see StoreOptions for when and why it holds the
  // committer off for a last pass). Errors are not fatal: the next pass tries again, and the WAL
  // only grows meanwhile.
  void CheckpointLoop() {
    auto conn = Connection::Open(path_, false);
    if (!conn.ok()) return;
    int wal_frames = 0;
    auto pass = [&] {
      int backfilled = 0;
      sqlite3_wal_checkpoint_v2((*conn)->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                &backfilled);
    };
    MutexLock lock(mu_);
    while (!stopping_) {
      checkpoint_cv_.WaitFor(lock, std::chrono::milliseconds(options_.wal_checkpoint_interval_ms));
      if (stopping_) break;
      lock.Unlock();
      pass();
      if (wal_frames >= options_.wal_restart_frames) {
        pass();  // the frames committed during the first pass: a shorter tail for the gated one
        MutexLock gate(wal_gate_mu_);
        pass();
      }
      lock.Lock();
    }
  }

  // Keeps the leaf hashes of committed writes (seq order, contiguous) for the log's integrator,
  // so it need not read back and hash what was just written. Bounded; older ones are re-read.
  void RememberLeaves(const std::deque<Pending>& batch) {
    static constexpr size_t kMaxLeaves = 1 << 20;
    MutexLock lock(leaves_mu_);
    for (const auto& p : batch) {
      if (p.write.kind != Write::Kind::kOwn) continue;
      const auto& e = p.write.event;
      if (e.leaf_hash.empty() || (!leaves_.empty() && e.seq != leaves_first_ + leaves_.size())) {
        leaves_.clear();  // a gap in what we know: start over from here
        if (e.leaf_hash.empty()) continue;
      }
      if (leaves_.empty()) leaves_first_ = e.seq;
      leaves_.push_back(e.leaf_hash);
    }
    while (leaves_.size() > kMaxLeaves) {
      leaves_.pop_front();
      ++leaves_first_;
    }
  }

  Result<std::vector<std::string>> LeafHashes(uint64_t from, uint64_t count) override {
    {
      MutexLock lock(leaves_mu_);
      if (!leaves_.empty() && from >= leaves_first_ &&
          from + count <= leaves_first_ + leaves_.size()) {
        auto begin = leaves_.begin() + static_cast<std::ptrdiff_t>(from - leaves_first_);
        std::vector<std::string> out(begin, begin + static_cast<std::ptrdiff_t>(count));
        // The integrator consumes in order: what it has taken is not needed again.
        leaves_.erase(leaves_.begin(), begin);
        leaves_first_ = from;
        return out;
      }
    }
    auto envelopes = Envelopes(from, count);
    if (!envelopes.ok()) return envelopes.status();
    std::vector<std::string> out;
    out.reserve(envelopes->size());
    for (const auto& e : *envelopes) out.push_back(crypto::LeafHash(e));
    return out;
  }

  // Fails whatever is still queued behind a gap when the store closes.
  void FailStranded() {
    std::map<QueueKey, Pending> stranded;
    {
      MutexLock lock(mu_);
      stranded.swap(queue_);
    }
    for (auto& [key, p] : stranded)
      p.done(Status::Unavailable("store closed before seq " + std::to_string(std::get<0>(key)) +
                                 " could commit"));
  }

  const std::string path_;
  const StoreOptions options_;
  std::unique_ptr<Connection> writer_;  // used only by the committer thread
  // Held by the committer around each transaction, and by the checkpointer for its catch-up pass.
  Mutex wal_gate_mu_;

  Mutex mu_;
  CondVar cv_;             // wakes the committer
  CondVar checkpoint_cv_;  // wakes the checkpointer (only to stop)
  // Own writes by (seq, 1, 0); others by (after_seq, 0, arrival), so each commits after every own
  // seq below its after_seq and before own seq after_seq.
  using QueueKey = std::tuple<uint64_t, int, uint64_t>;
  std::map<QueueKey, Pending> queue_ LAPOR_GUARDED_BY(mu_);
  uint64_t other_count_ LAPOR_GUARDED_BY(mu_) = 0;
  size_t wake_at_ LAPOR_GUARDED_BY(mu_) =
      1;                        // Enqueue wakes the committer at this many queued writes
  size_t last_batch_size_ = 0;  // used only by the committer thread
  uint64_t next_commit_seq_ LAPOR_GUARDED_BY(mu_);
  bool stopping_ LAPOR_GUARDED_BY(mu_) = false;
  bool committer_exited_ LAPOR_GUARDED_BY(mu_) = false;
  bool failed_ LAPOR_GUARDED_BY(mu_) = false;
  std::string failure_ LAPOR_GUARDED_BY(mu_);
  std::thread committer_;
  std::thread checkpointer_;

  Mutex leaves_mu_;
  std::deque<std::string> leaves_ LAPOR_GUARDED_BY(leaves_mu_);
  uint64_t leaves_first_ LAPOR_GUARDED_BY(leaves_mu_) = 0;  // seq of leaves_.front()

  Mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> pool_ LAPOR_GUARDED_BY(pool_mu_);
};

}  // namespace

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
