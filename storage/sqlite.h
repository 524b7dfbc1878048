// Thin RAII wrappers over the SQLite C API. Not thread-safe: one Connection per thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lapor::storage {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Bind by 1-based index. Text and blobs are copied by SQLite (SQLITE_TRANSIENT).
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, std::string_view text);
  Statement& BindBlob(int i, std::string_view blob);
  Statement& BindNull(int i);
  // Steps once: true if a row is available, false when done. Errors become a Status.
  Result<bool> Step();
  // Runs to completion, ignoring rows.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const;
  std::string Blob(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// The row loop: calls `fn(st)` for each row until it returns false or the rows end, then resets
// the statement (also on error). Errors of a step become the Status.
template <typename Fn>
Status ForEachRow(Statement& st, Fn&& fn) {
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) {
      st.Reset();
      return row.status();
    }
    if (!*row || !fn(st)) break;
  }
  st.Reset();
  return Status::Ok();
}

class Connection;
// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back if it or the commit fails.
Status InTransaction(Connection* db, const std::function<Status()>& body);

class Connection {
 public:
  // Opens (creating if asked) the database at `path` with WAL, synchronous=FULL and a busy timeout.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool create);
  ~Connection();

  Status Exec(const std::string& sql);
  // Prepared statement cached for the life of the connection; reset before it is returned.
  Result<Statement*> Cached(const std::string& sql);
  // Runs the cached statement `sql` once to completion, after `bind(Statement&)` has set its
  // parameters.
  template <typename Bind>
  Status Run(const std::string& sql, Bind&& bind) {
    auto st = Cached(sql);
    if (!st.ok()) return st.status();
    bind(**st);
    return (*st)->Run();
  }
  // Resets every statement of this connection, ending any read transaction a statement left open
  // (a statement stepped to a row and not reset pins its snapshot).
  void ResetAll();
  sqlite3* raw() { return db_; }
  Status Error(std::string_view what) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace lapor::storage
