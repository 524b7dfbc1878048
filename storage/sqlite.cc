#include "storage/sqlite.h"

#include "storage/wal_vfs.h"

namespace lapor::storage {
namespace {

// SQLite's error as a Status: a full disk (SQLITE_FULL: a write got ENOSPC, before anything was
// synced) is NoSpace, which the store recovers from once space returns; anything else is IOError.
Status SqliteError(int rc, const std::string& msg) {
  if ((rc & 0xff) == SQLITE_FULL) return Status::NoSpace("the disk is full (" + msg + ")");
  return Status::IOError(msg);
}

}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Statement& Statement::Bind(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindBlob(int i, std::string_view blob) {
  sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, std::string("sqlite: ") + sqlite3_errmsg(db_));
}

Status Statement::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) {
      Reset();
      return r.status();
    }
    if (!*r) break;
  }
  Reset();
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
           : std::string();
}

std::string Statement::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
           : std::string();
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, WalBatchingVfs());
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IOError("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_busy_timeout(db, 10000);
  // WAL + synchronous=FULL: a COMMIT returns only after the WAL is fsynced, so an acknowledged
  // write survives power loss. secure_delete zeroes erased personal data in the file.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON"}) {
    LAPOR_RETURN_IF_ERROR(conn->Exec(pragma));
  }
  return conn;
}

Connection::~Connection() {
  cache_.clear();
  sqlite3_close(db_);
}

void Connection::ResetAll() {
  for (sqlite3_stmt* st = sqlite3_next_stmt(db_, nullptr); st != nullptr;
       st = sqlite3_next_stmt(db_, st)) {
    sqlite3_reset(st);
  }
}

Status Connection::Exec(const std::string& sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return SqliteError(rc, "sqlite: " + msg);
  }
  return Status::Ok();
}

Result<Statement*> Connection::Cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return Error("prepare");
  }
  auto* raw = new Statement(db_, stmt);
  cache_.emplace(sql, std::unique_ptr<Statement>(raw));
  return raw;
}

Status Connection::Error(std::string_view what) const {
  return SqliteError(sqlite3_extended_errcode(db_),
                     "sqlite " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status InTransaction(Connection* db, const std::function<Status()>& body) {
  LAPOR_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (s.ok()) s = db->Exec("COMMIT");
  // A failed ROLLBACK leaves nothing more to undo (SQLite rolled back already, or the connection
  // is gone): the first error is the one to report.
  if (!s.ok()) [[maybe_unused]]
    Status rolled_back = db->Exec("ROLLBACK");
  return s;
}

}  // namespace lapor::storage
