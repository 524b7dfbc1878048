#include "storage/wal_vfs.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "base/mutex.h"

namespace lapor::storage {
namespace {

// The default VFS writes at most 0x1ffff bytes per call (its seekAndWrite masks the length):
// one gathered write stays below that.
constexpr size_t kMaxWrite = 120 << 10;
std::atomic<unsigned long long> wal_write_calls{0};

sqlite3_vfs* Real() {
  static sqlite3_vfs* const real = sqlite3_vfs_find(nullptr);
  return real;
}

// SQLite allocates szOsFile bytes per open file and never constructs them: File is plain data.
// The default VFS's own file lives in the same allocation, just after it.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  std::string* pending;  // WAL files only: bytes not yet written, from `pending_at` on
  sqlite3_int64 pending_at;
  const char* path;  // SQLite keeps the name valid until xClose; null for temporary files

  const sqlite3_io_methods* m() const { return real->pMethods; }
};

File* F(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

// The injected fault (DiskFault): set rarely, read on every write, sync and truncate. `armed`
// lets the common case (no fault) cost one relaxed load.
std::atomic<bool> fault_armed{false};
Mutex fault_mu;
std::optional<DiskFault> fault LAPOR_GUARDED_BY(fault_mu);
uint64_t fault_calls LAPOR_GUARDED_BY(fault_mu) = 0;  // calls of the fault's kind since set
std::atomic<uint64_t> faults_injected{0};

// Returned by Injected when this call is the one at which the power goes.
constexpr int kLosePower = -1;

// SQLITE_OK, kLosePower, or the error this call fails with.
int Injected(DiskFault::Op op, bool wal) {
  if (!fault_armed.load(std::memory_order_relaxed)) return SQLITE_OK;
  MutexLock lock(fault_mu);
  if (!fault || fault->op != op || (fault->wal_only && !wal)) return SQLITE_OK;
  ++fault_calls;
  if (fault_calls < fault->nth || (fault_calls > fault->nth && !fault->sticky)) return SQLITE_OK;
  faults_injected.fetch_add(1);
  if (fault->power_loss) return kLosePower;
  // A failed fsync leaves unknown what reached the disk, whatever errno said: it is an I/O error,
  // never the recoverable "disk full" (which only a write that got ENOSPC is).
  if (op == DiskFault::Op::kSync) return SQLITE_IOERR_FSYNC;
  if (fault->no_space) return SQLITE_FULL;
  return op == DiskFault::Op::kWrite ? SQLITE_IOERR_WRITE : SQLITE_IOERR_TRUNCATE;
}

// Power-loss simulation (a DiskFault with power_loss): while one is set, every byte written
// through this VFS since its file's last successful sync can be taken back. Each write first
// saves what it overwrites; a sync forgets the file's saved bytes; when the power goes, each
// file gets its saved bytes back (newest first) and its size at its last sync, and the process
// is killed at once. Writes, syncs and truncates are serialized while this is on (tests only).
std::atomic<bool> track_unsynced{false};
Mutex power_mu;
struct Unsynced {
  sqlite3_int64 synced_size = -1;                           // -1: no write seen yet
  std::vector<std::pair<sqlite3_int64, std::string>> undo;  // (offset, bytes before)
};
std::map<std::string, Unsynced> unsynced LAPOR_GUARDED_BY(power_mu);

// Saves what [at, at + n) of `f` holds now (the part inside the file), and its size if it is the
// file's first write since it was synced.
void SaveUnsynced(sqlite3_file* real, const char* path, sqlite3_int64 at, sqlite3_int64 n)
    LAPOR_REQUIRES(power_mu) {
  Unsynced& u = unsynced[path];
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK) size = 0;
  if (u.synced_size < 0) u.synced_size = size;
  const sqlite3_int64 end = std::min(at + n, size);
  if (end <= at) return;
  std::string before(static_cast<size_t>(end - at), '\0');
  real->pMethods->xRead(real, before.data(), static_cast<int>(before.size()), at);
  u.undo.emplace_back(at, std::move(before));
}

void Synced(sqlite3_file* real, const char* path) LAPOR_REQUIRES(power_mu) {
  Unsynced& u = unsynced[path];
  u.undo.clear();
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) == SQLITE_OK) u.synced_size = size;
}

// The power goes: every file is put back as it was at its last sync, and the process dies.
[[noreturn]] void LosePower() {
  MutexLock lock(power_mu);  // never released: no thread writes again
  for (auto& [path, u] : unsynced) {
    if (u.synced_size < 0) continue;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;  // deleted since
    for (auto it = u.undo.rbegin(); it != u.undo.rend(); ++it) {
      [[maybe_unused]] ssize_t w = ::pwrite(fd, it->second.data(), it->second.size(), it->first);
    }
    [[maybe_unused]] int t = ::ftruncate(fd, u.synced_size);
    ::close(fd);
  }
  std::fprintf(stderr, "LAPOR_TEST_DISK_FAULT: power lost; unsynced writes dropped\n");
  ::raise(SIGKILL);
  std::abort();
}

// The default VFS's write, saving what it overwrites while power loss is simulated.
int RealWrite(File* f, const void* data, int n, sqlite3_int64 at) {
  if (!track_unsynced.load(std::memory_order_relaxed) || f->path == nullptr) {
    return f->m()->xWrite(f->real, data, n, at);
  }
  MutexLock lock(power_mu);
  SaveUnsynced(f->real, f->path, at, n);
  return f->m()->xWrite(f->real, data, n, at);
}

// The WAL files with buffered bytes that this thread wrote (a connection is used by one thread
// at a time, and a write transaction starts and ends on the same thread).
thread_local std::vector<File*> buffered_here;

void Forget(File* f) {
  buffered_here.erase(std::remove(buffered_here.begin(), buffered_here.end(), f),
                      buffered_here.end());
}

int Flush(File* f) {
  if (f->pending == nullptr || f->pending->empty()) return SQLITE_OK;
  wal_write_calls.fetch_add(1, std::memory_order_relaxed);
  int rc = RealWrite(f, f->pending->data(), static_cast<int>(f->pending->size()), f->pending_at);
  f->pending->clear();
  return rc;
}

// Bytes still buffered at close belong to no commit (a commit flushes at its sync, a rolled-back
// transaction at its write lock's release): they are dropped, never written.
int Close(sqlite3_file* file) {
  File* f = F(file);
  if (f->pending != nullptr) Forget(f);
  int closed = f->m()->xClose(f->real);
  delete f->pending;
  f->pending = nullptr;
  return closed;
}

int Read(sqlite3_file* file, void* out, int n, sqlite3_int64 at) {
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->m()->xRead(f->real, out, n, at);
}

int Write(sqlite3_file* file, const void* data, int n, sqlite3_int64 at) {
  if (int rc = Injected(DiskFault::Op::kWrite, F(file)->pending != nullptr); rc != SQLITE_OK) {
    if (rc == kLosePower) LosePower();
    return rc;
  }
  File* f = F(file);
  if (f->pending == nullptr) return RealWrite(f, data, n, at);
  const size_t size = static_cast<size_t>(n);
  if (!f->pending->empty() &&
      (at != f->pending_at + static_cast<sqlite3_int64>(f->pending->size()) ||
       f->pending->size() + size > kMaxWrite)) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (size > kMaxWrite) return RealWrite(f, data, n, at);
  if (f->pending->empty()) {
    f->pending_at = at;
    if (std::find(buffered_here.begin(), buffered_here.end(), f) == buffered_here.end()) {
      buffered_here.push_back(f);
    }
  }
  f->pending->append(static_cast<const char*>(data), size);
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = Injected(DiskFault::Op::kTruncate, F(file)->pending != nullptr); rc != SQLITE_OK) {
    if (rc == kLosePower) LosePower();
    return rc;
  }
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  if (!track_unsynced.load(std::memory_order_relaxed) || f->path == nullptr) {
    return f->m()->xTruncate(f->real, size);
  }
  MutexLock lock(power_mu);
  sqlite3_int64 now = 0;
  if (f->m()->xFileSize(f->real, &now) == SQLITE_OK && now > size) {
    SaveUnsynced(f->real, f->path, size, now - size);
  }
  return f->m()->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  // The fault strikes after the gathered bytes are written: what the sync would have made
  // durable is in the page cache, where a power loss takes it.
  if (int rc = Injected(DiskFault::Op::kSync, f->pending != nullptr); rc != SQLITE_OK) {
    if (rc == kLosePower) LosePower();
    return rc;
  }
  if (!track_unsynced.load(std::memory_order_relaxed) || f->path == nullptr) {
    return f->m()->xSync(f->real, flags);
  }
  MutexLock lock(power_mu);
  int rc = f->m()->xSync(f->real, flags);
  if (rc == SQLITE_OK) Synced(f->real, f->path);
  return rc;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->m()->xFileSize(f->real, size);
}

int Lock(sqlite3_file* f, int level) { return F(f)->m()->xLock(F(f)->real, level); }
int Unlock(sqlite3_file* f, int level) { return F(f)->m()->xUnlock(F(f)->real, level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return F(f)->m()->xCheckReservedLock(F(f)->real, out);
}
// Case-insensitive equality with a lower-case word.
bool Is(const char* s, const char* word) { return s != nullptr && sqlite3_stricmp(s, word) == 0; }

int FileControl(sqlite3_file* file, int op, void* arg) {
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  if (op == SQLITE_FCNTL_PRAGMA) {
    // Without a sync at every commit, a commit would become visible before its buffered frames
    // are written: only FULL and EXTRA are allowed.
    char** a = static_cast<char**>(arg);
    if (Is(a[1], "synchronous") && a[2] != nullptr && !Is(a[2], "full") && !Is(a[2], "extra") &&
        !Is(a[2], "2") && !Is(a[2], "3")) {
      a[0] = sqlite3_mprintf("this database requires synchronous=FULL or EXTRA");
      return SQLITE_ERROR;
    }
  }
  return f->m()->xFileControl(f->real, op, arg);
}
int SectorSize(sqlite3_file* f) { return F(f)->m()->xSectorSize(F(f)->real); }
int DeviceCharacteristics(sqlite3_file* f) { return F(f)->m()->xDeviceCharacteristics(F(f)->real); }
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return F(f)->m()->xShmMap(F(f)->real, page, size, extend, out);
}
// Releasing slot 0 exclusively ends a write transaction (slot 0 is the WAL write lock). A
// transaction that rolled back after SQLite spilled pages to the WAL leaves them buffered here:
// they are written out while the lock is still held, because once it is released another
// connection may commit frames at the same offsets, which a later flush would overwrite.
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if (offset == 0 && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
    std::vector<File*> files;
    files.swap(buffered_here);
    for (File* wal : files) Flush(wal);  // an error loses only frames of no commit
  }
  return F(f)->m()->xShmLock(F(f)->real, offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { F(f)->m()->xShmBarrier(F(f)->real); }
int ShmUnmap(sqlite3_file* f, int del) { return F(f)->m()->xShmUnmap(F(f)->real, del); }
int Fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  return F(f)->m()->xFetch(F(f)->real, at, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  return F(f)->m()->xUnfetch(F(f)->real, at, p);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = F(file);
  f->base.pMethods = nullptr;  // SQLite calls xClose only when pMethods is set
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->pending = nullptr;
  f->pending_at = 0;
  f->path = name;
  int rc = Real()->xOpen(Real(), name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  if (f->real->pMethods->iVersion < 3) {  // every method above must be there to forward to
    f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  if (flags & SQLITE_OPEN_WAL) f->pending = new std::string();
  f->base.pMethods = &kMethods;
  return rc;
}

sqlite3_vfs MakeVfs() {
  sqlite3_vfs* real = Real();
  if (real == nullptr || real->iVersion < 3) {
    std::fprintf(stderr, "fatal: SQLite's default VFS is missing or too old\n");
    std::abort();
  }
  sqlite3_vfs v{};
  v.iVersion = 3;
  v.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
  v.mxPathname = real->mxPathname;
  v.zName = "lapor-wal-batching";
  v.xOpen = Open;
  v.xDelete = [](sqlite3_vfs*, const char* n, int d) { return Real()->xDelete(Real(), n, d); };
  v.xAccess = [](sqlite3_vfs*, const char* n, int fl, int* o) {
    return Real()->xAccess(Real(), n, fl, o);
  };
  v.xFullPathname = [](sqlite3_vfs*, const char* n, int k, char* o) {
    return Real()->xFullPathname(Real(), n, k, o);
  };
  v.xDlOpen = [](sqlite3_vfs*, const char* n) { return Real()->xDlOpen(Real(), n); };
  v.xDlError = [](sqlite3_vfs*, int k, char* o) { Real()->xDlError(Real(), k, o); };
  v.xDlSym = [](sqlite3_vfs*, void* h, const char* s) { return Real()->xDlSym(Real(), h, s); };
  v.xDlClose = [](sqlite3_vfs*, void* h) { Real()->xDlClose(Real(), h); };
  v.xRandomness = [](sqlite3_vfs*, int k, char* o) { return Real()->xRandomness(Real(), k, o); };
  v.xSleep = [](sqlite3_vfs*, int us) { return Real()->xSleep(Real(), us); };
  v.xCurrentTime = [](sqlite3_vfs*, double* t) { return Real()->xCurrentTime(Real(), t); };
  v.xGetLastError = [](sqlite3_vfs*, int k, char* o) {
    return Real()->xGetLastError(Real(), k, o);
  };
  v.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* t) {
    return Real()->xCurrentTimeInt64(Real(), t);
  };
  v.xSetSystemCall = [](sqlite3_vfs*, const char* n, sqlite3_syscall_ptr p) {
    return Real()->xSetSystemCall(Real(), n, p);
  };
  v.xGetSystemCall = [](sqlite3_vfs*, const char* n) { return Real()->xGetSystemCall(Real(), n); };
  v.xNextSystemCall = [](sqlite3_vfs*, const char* n) {
    return Real()->xNextSystemCall(Real(), n);
  };
  return v;
}

}  // namespace

const char* WalBatchingVfs() {
  static sqlite3_vfs vfs = MakeVfs();
  static const int registered = sqlite3_vfs_register(&vfs, 0);
  if (registered != SQLITE_OK) {
    std::fprintf(stderr, "fatal: cannot register the SQLite VFS %s\n", vfs.zName);
    std::abort();
  }
  return vfs.zName;
}

unsigned long long WalWriteCalls() { return wal_write_calls.load(); }

Result<DiskFault> ParseDiskFault(std::string_view spec) {
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    size_t colon = spec.find(':', at);
    parts.push_back(spec.substr(at, colon == std::string_view::npos ? colon : colon - at));
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  const std::string field = "LAPOR_TEST_DISK_FAULT";
  if (parts.size() < 3 || parts.size() > 5) {
    return Status::InvalidArgument(
        "a disk fault is OP:N:ERROR[:sticky][:wal], e.g. write:25:eio or sync:9:powerloss", field);
  }
  DiskFault f;
  if (parts[0] == "write") {
    f.op = DiskFault::Op::kWrite;
  } else if (parts[0] == "sync") {
    f.op = DiskFault::Op::kSync;
  } else if (parts[0] == "truncate") {
    f.op = DiskFault::Op::kTruncate;
  } else {
    return Status::InvalidArgument("the operation must be write, sync or truncate", field);
  }
  uint64_t n = 0;
  if (parts[1].empty() || parts[1].size() > 18) {
    return Status::InvalidArgument("N must be a number from 1", field);
  }
  for (char c : parts[1]) {
    if (c < '0' || c > '9') return Status::InvalidArgument("N must be a number from 1", field);
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0) return Status::InvalidArgument("N must be a number from 1", field);
  f.nth = n;
  if (parts[2] == "eio") {
    f.no_space = false;
  } else if (parts[2] == "enospc") {
    f.no_space = true;
  } else if (parts[2] == "powerloss") {
    f.power_loss = true;
  } else {
    return Status::InvalidArgument("the error must be eio, enospc or powerloss", field);
  }
  for (size_t i = 3; i < parts.size(); ++i) {
    if (parts[i] == "sticky" && !f.sticky && !f.wal_only) {
      if (f.power_loss) return Status::InvalidArgument("the power goes only once", field);
      f.sticky = true;
    } else if (parts[i] == "wal" && !f.wal_only) {
      f.wal_only = true;
    } else {
      return Status::InvalidArgument("after the error may come sticky, then wal", field);
    }
  }
  return f;
}

void SetDiskFault(std::optional<DiskFault> f) {
  MutexLock lock(fault_mu);
  fault = f;
  fault_calls = 0;
  faults_injected.store(0);
  fault_armed.store(f.has_value());
  if (f && f->power_loss) track_unsynced.store(true);  // stays on: the saved bytes must stay right
}

uint64_t DiskFaultsInjected() { return faults_injected.load(); }

}  // namespace lapor::storage
