#include "storage/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
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

// SQLITE_OK, or the error this call fails with.
int Injected(DiskFault::Op op) {
  if (!fault_armed.load(std::memory_order_relaxed)) return SQLITE_OK;
  MutexLock lock(fault_mu);
  if (!fault || fault->op != op) return SQLITE_OK;
  ++fault_calls;
  if (fault_calls < fault->nth || (fault_calls > fault->nth && !fault->sticky)) return SQLITE_OK;
  faults_injected.fetch_add(1);
  if (fault->no_space) return SQLITE_FULL;
  switch (op) {
    case DiskFault::Op::kWrite:
      return SQLITE_IOERR_WRITE;
    case DiskFault::Op::kSync:
      return SQLITE_IOERR_FSYNC;
    case DiskFault::Op::kTruncate:
      return SQLITE_IOERR_TRUNCATE;
  }
  return SQLITE_IOERR;
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
  int rc = f->m()->xWrite(f->real, f->pending->data(), static_cast<int>(f->pending->size()),
                          f->pending_at);
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
  if (int rc = Injected(DiskFault::Op::kWrite); rc != SQLITE_OK) return rc;
  File* f = F(file);
  if (f->pending == nullptr) return f->m()->xWrite(f->real, data, n, at);
  const size_t size = static_cast<size_t>(n);
  if (!f->pending->empty() &&
      (at != f->pending_at + static_cast<sqlite3_int64>(f->pending->size()) ||
       f->pending->size() + size > kMaxWrite)) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (size > kMaxWrite) return f->m()->xWrite(f->real, data, n, at);
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
  if (int rc = Injected(DiskFault::Op::kTruncate); rc != SQLITE_OK) return rc;
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->m()->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  if (int rc = Injected(DiskFault::Op::kSync); rc != SQLITE_OK) return rc;
  File* f = F(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->m()->xSync(f->real, flags);
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
  if (parts.size() < 3 || parts.size() > 4) {
    return Status::InvalidArgument("a disk fault is OP:N:ERROR[:sticky], e.g. write:25:eio", field);
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
  } else {
    return Status::InvalidArgument("the error must be eio or enospc", field);
  }
  if (parts.size() == 4) {
    if (parts[3] != "sticky") return Status::InvalidArgument("the last part may be sticky", field);
    f.sticky = true;
  }
  return f;
}

void SetDiskFault(std::optional<DiskFault> f) {
  MutexLock lock(fault_mu);
  fault = f;
  fault_calls = 0;
  faults_injected.store(0);
  fault_armed.store(f.has_value());
}

uint64_t DiskFaultsInjected() { return faults_injected.load(); }

}  // namespace lapor::storage
