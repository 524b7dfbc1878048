// ReaderPool: the store's pooled connections for everything but the commit queue: reads, and the
// role interfaces' own small write transactions (operators, checkpoints, meta, ...). A connection
// is opened on demand; the pool grows to the number of threads that use it at once. Each use
// resets every statement of the connection before it goes back, so a pooled connection never
// pins an old snapshot: a read sees what was committed when it ran.
// Also the row readers the store's queries share. Internal to storage/.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "lapor/v1/event.pb.h"
#include "storage/sqlite.h"
#include "storage/store.h"

namespace lapor::storage {

class ReaderPool {
 public:
  explicit ReaderPool(std::string path) : path_(std::move(path)) {}
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Called with SQLite's message when a use of a pooled connection fails with an I/O error
  // (SQLITE_IOERR: a failed read, write or fsync): the store then fails as for a failed commit,
  // since after a failed write or fsync nobody knows what reached the disk. Set before any use.
  void SetOnDiskError(std::function<void(const std::string&)> fn) {
    on_disk_error_ = std::move(fn);
  }

  // Runs `fn(Connection*)` (returning Result<T>) with a pooled connection.
  template <typename T, typename Fn>
  Result<T> WithReader(Fn fn) {
    auto conn = Acquire();
    if (!conn.ok()) return conn.status();
    Result<T> r = fn(conn->get());
    if (!r.ok() && on_disk_error_ && (sqlite3_errcode((*conn)->raw()) & 0xff) == SQLITE_IOERR) {
      on_disk_error_(r.status().message());
    }
    Release(std::move(*conn));
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

 private:
  // A pooled connection, or a new one if none is free.
  Result<std::unique_ptr<Connection>> Acquire();
  // Resets every statement of `conn` and returns it to the pool.
  void Release(std::unique_ptr<Connection> conn);

  const std::string path_;
  std::function<void(const std::string&)> on_disk_error_;
  Mutex mu_;
  std::vector<std::unique_ptr<Connection>> pool_ LAPOR_GUARDED_BY(mu_);
};

// The `bind` of a query without parameters.
inline void NoBind(Statement&) {}

v1::CaseState ParseState(const std::string& blob);
// Column 0 of every row as a blob.
Result<std::vector<std::string>> ReadBlobs(Statement* st);
// Column 0 of every row as a CaseState.
Result<std::vector<v1::CaseState>> ReadStates(Statement* st);
// Rows of (seq, case_ref, hash, envelope) as events (without leaf hashes).
Result<std::vector<StoredEvent>> ReadEvents(Statement* st);

}  // namespace lapor::storage
