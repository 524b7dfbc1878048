// An SQLite VFS over the platform's default one that gathers the writes SQLite makes to a WAL
// file and issues each run of contiguous bytes as one write call.
//
// SQLite writes every WAL frame with two calls (its 24-byte header, then the page), so a group
// commit of ~20 frames costs ~40 system calls. This VFS keeps contiguous WAL writes in memory and
// writes them out, in one call, before anything that could observe them: a sync (with
// synchronous=FULL every commit syncs the WAL before the commit becomes visible to any reader),
// the release of the WAL write lock (a transaction that rolled back after spilling pages), a
// read, a truncate, a size query, a file control, a non-contiguous write, or 120 KiB of pending
// bytes; bytes left at close belong to no commit and are dropped. Durability is unchanged:
// nothing is acknowledged before the sync, and a write error surfaces from the sync, which fails
// the commit. `PRAGMA synchronous` below FULL is refused on databases opened through it. The files
// on disk are plain SQLite files; database and shared-memory files pass through untouched, and
// locking is the default VFS's, so other processes (the sqlite3 shell, fsck) can open the database
// as usual.
//
// It is also the storage seam where tests inject disk faults (DiskFault below): every file the
// store opens goes through it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/status.h"

namespace lapor::storage {

// The VFS's registered name (it is registered on first call; thread-safe).
const char* WalBatchingVfs();

// Write calls the VFS has issued to WAL files in this process (for tests).
unsigned long long WalWriteCalls();

// A disk fault for tests that prove what survives one (tests/disk_fault_test.cc): the `nth`
// call (1-based, counted from when the fault is set, over every file opened through this VFS:
// database and WAL) of one kind fails with EIO (SQLITE_IOERR_WRITE / _TRUNCATE) or ENOSPC
// (SQLITE_FULL, which the store recovers from: storage/store.h); with `sticky`, every later call
// of that kind fails too (a full disk stays full, a dead disk stays dead). A failed sync is
// always an I/O error (SQLITE_IOERR_FSYNC), whatever its errno: after a failed fsync nobody knows
// what reached the disk. With `power_loss`, the power goes at that call instead: every byte
// written through this VFS since its file's last sync is dropped (each file is put back as it
// was when last synced) and the process is killed with SIGKILL at once. The node takes one from
// LAPOR_TEST_DISK_FAULT at start and logs loudly that it is set; nothing else sets one.
struct DiskFault {
  enum class Op { kWrite, kSync, kTruncate };
  Op op = Op::kWrite;
  uint64_t nth = 1;
  bool no_space = false;  // ENOSPC rather than EIO
  bool sticky = false;
  bool power_loss = false;
  // Only calls on WAL files count (the commits'): a fault on the database file during a WAL
  // checkpoint is retried by the next checkpoint and never seen, which would make a sweep miss.
  bool wal_only = false;
};
// "write:25:eio", "write:3:enospc:sticky", "truncate:1:eio", "sync:40:powerloss",
// "write:8:enospc:wal", "sync:3:eio:sticky:wal".
// InvalidArgument names the part.
Result<DiskFault> ParseDiskFault(std::string_view spec);
// Sets (or with nullopt clears) the fault and restarts the counts. Thread-safe.
void SetDiskFault(std::optional<DiskFault> fault);
// How many calls have failed by the fault since it was set.
uint64_t DiskFaultsInjected();

}  // namespace lapor::storage
