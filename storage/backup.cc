#include "storage/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "storage/wal_vfs.h"

namespace lapor::storage {
namespace {

constexpr char kFilesTable[] = "lapor_backup_file";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

Status SqliteFailed(sqlite3* db, const std::string& what) {
  return Status::IOError(what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

Result<Db> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, WalBatchingVfs());
  Db db(raw);
  if (rc != SQLITE_OK) return SqliteFailed(raw, "cannot open " + path);
  sqlite3_busy_timeout(raw, 10000);
  return db;
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError(sql + ": " + msg);
  }
  return Status::Ok();
}

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync of " + path + " failed");
  return Status::Ok();
}

std::string FolderOf(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

}  // namespace

Status WriteBackup(const std::string& db_path, const std::vector<BackupFile>& files,
                   const std::string& out_path, bool overwrite) {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(out_path, ec)) {
    return Status::AlreadyExists(out_path + " exists (a backup is never written over another)");
  }
  const std::string tmp = out_path + ".tmp";
  std::filesystem::remove(tmp, ec);
  {
    // Read-write (nothing is written through it): a folder left by a killed node may need its
    // WAL index rebuilt, which a read-only connection cannot do.
    auto src = OpenDb(db_path, SQLITE_OPEN_READWRITE);
    if (!src.ok()) return src.status();
    // Created 0600 before SQLite opens it: the copy holds keys and personal data.
    int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError("cannot create " + tmp);
    ::close(fd);
    auto dst = OpenDb(tmp, SQLITE_OPEN_READWRITE);
    if (!dst.ok()) return dst.status();
    sqlite3_backup* b = sqlite3_backup_init(dst->get(), "main", src->get(), "main");
    if (b == nullptr) return SqliteFailed(dst->get(), "cannot start the backup");
    // All pages in one step: one read transaction over the source, so the copy is one
    // consistent snapshot (in WAL mode the node's writers go on meanwhile).
    int rc;
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) return SqliteFailed(dst->get(), "backup of " + db_path);
    // A standalone file: no -wal beside it to lose when it is copied elsewhere.
    LAPOR_RETURN_IF_ERROR(Exec(dst->get(), "PRAGMA journal_mode=DELETE"));
    LAPOR_RETURN_IF_ERROR(Exec(dst->get(), "PRAGMA synchronous=FULL"));
    LAPOR_RETURN_IF_ERROR(Exec(dst->get(), std::string("CREATE TABLE ") + kFilesTable +
                                               " (name TEXT PRIMARY KEY, mode INTEGER NOT NULL,"
                                               " content BLOB NOT NULL)"));
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(
            dst->get(), (std::string("INSERT INTO ") + kFilesTable + " VALUES (?, ?, ?)").c_str(),
            -1, &st, nullptr) != SQLITE_OK) {
      return SqliteFailed(dst->get(), "backup files table");
    }
    for (const auto& f : files) {
      sqlite3_bind_text(st, 1, f.name.data(), static_cast<int>(f.name.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, static_cast<int64_t>(f.mode));
      sqlite3_bind_blob(st, 3, f.content.data(), static_cast<int>(f.content.size()),
                        SQLITE_TRANSIENT);
      rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return SqliteFailed(dst->get(), "storing " + f.name + " in the backup");
      }
    }
    sqlite3_finalize(st);
  }
  LAPOR_RETURN_IF_ERROR(SyncPath(tmp, O_RDONLY));
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    return Status::IOError("cannot rename " + tmp + " to " + out_path);
  }
  return SyncPath(FolderOf(out_path), O_RDONLY | O_DIRECTORY);
}

Result<std::vector<BackupFile>> ReadBackup(const std::string& backup_path,
                                           const std::string& db_out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(backup_path, ec)) {
    return Status::NotFound("no backup file at " + backup_path);
  }
  if (std::filesystem::exists(db_out, ec)) return Status::AlreadyExists(db_out + " exists");
  {
    int fd = ::open(db_out.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError("cannot create " + db_out);
    ::close(fd);
  }
  std::filesystem::copy_file(backup_path, db_out, std::filesystem::copy_options::overwrite_existing,
                             ec);
  if (ec) return Status::IOError("cannot copy " + backup_path + ": " + ec.message());
  std::vector<BackupFile> files;
  {
    auto db = OpenDb(db_out, SQLITE_OPEN_READWRITE);
    if (!db.ok()) return db.status();
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db->get(),
                           (std::string("SELECT name, mode, content FROM ") + kFilesTable).c_str(),
                           -1, &st, nullptr) != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db->get());
      std::filesystem::remove(db_out, ec);
      return Status::Corruption(backup_path + " is not a lapor-node backup (" + msg + ")");
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      BackupFile f;
      f.name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      f.mode = static_cast<mode_t>(sqlite3_column_int64(st, 1));
      const void* p = sqlite3_column_blob(st, 2);
      f.content.assign(p != nullptr ? static_cast<const char*>(p) : "",
                       static_cast<size_t>(sqlite3_column_bytes(st, 2)));
      if (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "." ||
          f.name == "..") {
        sqlite3_finalize(st);
        return Status::Corruption("backup file name '" + f.name + "' is not a plain file name");
      }
      files.push_back(std::move(f));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return SqliteFailed(db->get(), "reading " + backup_path);
    LAPOR_RETURN_IF_ERROR(Exec(db->get(), std::string("DROP TABLE ") + kFilesTable));
    LAPOR_RETURN_IF_ERROR(Exec(db->get(), "PRAGMA journal_mode=WAL"));
  }
  LAPOR_RETURN_IF_ERROR(SyncPath(db_out, O_RDONLY));
  return files;
}

}  // namespace lapor::storage
