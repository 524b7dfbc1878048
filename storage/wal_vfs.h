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
#pragma once

namespace lapor::storage {

// The VFS's registered name (it is registered on first call; thread-safe).
const char* WalBatchingVfs();

// Write calls the VFS has issued to WAL files in this process (for tests).
unsigned long long WalWriteCalls();

}  // namespace lapor::storage
