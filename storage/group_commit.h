// GroupCommitter: the store's commit queue (CommitQueue in storage/store.h) and its two threads.
// Writers queue writes from any thread; the committer thread ("lapor-commit") takes the unbroken
// run of queued seqs that follows the last committed one, hands it to the store's CommitBatchFn
// (one transaction on the writer connection), then runs each write's callback. The checkpointer
// thread ("lapor-walckpt") copies committed WAL frames into the database file meanwhile.
//
// Guarantees (those of CommitQueue):
// - A write's callback runs with Ok only once the transaction holding it has committed: it is
//   durable (one fsync per batch). If the process dies, every write whose callback ran with Ok is
//   there after restart, and any other write is entirely there or entirely absent.
// - Own writes commit in seq order, never with a gap; a foreign or bookkeeping write commits after
//   every own seq below its after_seq and before own seq after_seq.
// - Once a batch fails (or a seq is queued twice, or a checkpoint or another connection of the
//   store meets an I/O error: after a failed write or fsync nobody knows what reached the disk)
//   the committer is failed: that batch
//   and every later write fail, Health() says why, and nothing more is written; the process must
//   restart and recover from disk.
// - Except when the disk is full (a batch fails with NoSpace: a write got ENOSPC before anything
//   was synced, so nothing of it is on disk and what was committed before is intact): the
//   committer is then read-only. That batch and every write queued until ResumeWrites fail with
//   NoSpace; reads are unaffected. ResumeWrites, once the caller has settled every seq it took,
//   starts again from the first seq not stored.
//
// Background work (the search indexer, storage/case_text.h) runs on the committer thread too, in
// transactions of its own between batches: when no write has been queued for
// StoreOptions::background_idle_ms after a commit, at once (one step between batches) while
// someone waits for it (WaitForBackground), and one step every background_every_ms under writes
// that never pause. A write queued meanwhile waits for one step at most.
// A failed step fails the committer as a failed batch does (or makes it read-only for a full
// disk, after which the work resumes with the writes).
// Internal to storage/ (SqliteStore composes it); callers use the Store interfaces.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "storage/store.h"

namespace lapor::storage {

class GroupCommitter {
 public:
  using Callback = CommitQueue::Callback;
  // Writes `batch` in order in one transaction: Ok once it has committed (durable), else an error
  // and none of it is stored. Runs on the committer thread only, one batch at a time.
  using CommitBatchFn = std::function<Status(const std::vector<Write>& batch)>;
  // One bounded step of background work in a transaction of its own on the writer connection
  // (`urgent`: someone waits for it, a larger step): true if more remains. Runs on the committer
  // thread only; empty for none.
  using BackgroundFn = std::function<Result<bool>(bool urgent)>;

  // Starts both threads. `next_seq`: the first own seq to commit (one past the highest stored);
  // `path`: the database, which the checkpointer opens a connection of its own to. The
  // background work is assumed pending at start (what an earlier run left).
  GroupCommitter(std::string path, const StoreOptions& options, uint64_t next_seq,
                 CommitBatchFn commit_batch, BackgroundFn background = nullptr);
  // Close().
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // CommitQueue::Enqueue. When it returns the write is queued, or refused (the committer is
  // closed, or its seq is already queued: a caller bug that fails the committer) and its
  // callback runs with the error on a thread of its own; callbacks never run inside Enqueue.
  void Enqueue(Write w, Callback on_durable);
  // Ok while writes can commit; the first cause once the committer has failed (IOError,
  // Internal); NoSpace while it is read-only because the disk was full.
  Status Health();
  // Fails the committer for a disk error met outside it (the store's other connections): as a
  // failed batch, every later write fails and Health says `why`.
  void Fail(const std::string& why);
  // Leaves the read-only state: own writes start again at `next_seq` (one past the highest stored
  // seq; the seqs taken while the disk was full were never stored). Unavailable while a write
  // queued before is still waiting (the caller must first settle every seq it took); the failure
  // if the committer has failed; Ok (and nothing changes) if it was not read-only.
  Status ResumeWrites(uint64_t next_seq);
  // Own writes continue at `next_seq`, after events written outside the queue (Store::
  // AppendOffline). Unavailable if a write is queued.
  Status SkipTo(uint64_t next_seq);
  // Waits until the background work has caught up with every batch committed before the call
  // (Ok), until `deadline` (Unavailable, saying so), or until the committer has failed, is
  // read-only or has stopped (Health's error, or Unavailable). Ok at once without background work.
  Status WaitForBackground(std::chrono::steady_clock::time_point deadline);
  // When it returns both threads have stopped: everything that could commit (the unbroken run of
  // queued seqs) has, and writes still queued behind a gap were called back with Unavailable.
  // Later writes are refused. A second call returns at once.
  void Close();

  // The leaf hashes of own writes with seq in [from, from + count) if every one of them is
  // remembered from recent commits (writes that carried one), else nullopt. The integrator reads
  // in order: once they are returned, the hashes before `from` are forgotten.
  std::optional<std::vector<std::string>> RecentLeaves(uint64_t from, uint64_t count);

 private:
  // Writes taken for one transaction, in commit order, with their callbacks.
  struct Batch {
    std::vector<Write> writes;
    std::vector<Callback> callbacks;
    size_t size() const { return writes.size(); }
    bool empty() const { return writes.empty(); }
  };
  struct Pending {
    Write write;
    Callback done;
  };
  // Own writes by (seq, 1, 0); others by (after_seq, 0, arrival), so each commits after every own
  // seq below its after_seq and before own seq after_seq.
  using QueueKey = std::tuple<uint64_t, int, uint64_t>;

  void CommitLoop();
  // A write on the writer connection (or another) failed with `s`: read-only for NoSpace, else
  // failed (the first cause kept); wakes waiting searches. Returns the status writes then get.
  Status NoteWriteFailure(const Status& s) LAPOR_REQUIRES(mu_);
  // Runs one background step; `commits`: batches committed before it (mu_ not held).
  void RunBackground(uint64_t commits, bool urgent);
  // Background work is pending and may run now.
  bool BackgroundDue() LAPOR_REQUIRES(mu_) {
    return background_ && background_more_ && !failed_ && !no_space_;
  }
  void CheckpointLoop();
  // Waits up to commit_gather_us for the batch to reach commit_gather_writes if the previous
  // batch held more than one write (StoreOptions). `lock` holds mu_.
  void Gather(MutexLock& lock, Batch* batch) LAPOR_REQUIRES(mu_);
  // Takes the contiguous run of queued writes starting at next_commit_seq_ (writes may arrive out
  // of order; one whose seq is below it is a caller bug and fails the committer).
  bool TakeBatch(Batch* batch) LAPOR_REQUIRES(mu_);
  // Keeps the leaf hashes of committed writes (seq order, contiguous) for the log's integrator,
  // so it need not read back and hash what was just written. Bounded; older ones are re-read.
  void RememberLeaves(const Batch& batch);
  // Fails whatever is still queued behind a gap when the committer closes.
  void FailStranded();

  const std::string path_;
  const StoreOptions options_;
  const CommitBatchFn commit_batch_;
  const BackgroundFn background_;
  // Held by the committer around each transaction, and by the checkpointer for its catch-up pass.
  Mutex wal_gate_mu_;

  Mutex mu_;
  CondVar cv_;             // wakes the committer
  CondVar checkpoint_cv_;  // wakes the checkpointer (to stop, or after an erasure)
  // An erasure committed: the checkpointer copies the WAL into the database and empties it
  // (TRUNCATE), so no older frame keeps the erased data; it stays set until that succeeds.
  bool truncate_wanted_ LAPOR_GUARDED_BY(mu_) = false;
  // The checkpointer sleeps until the next commit (it found nothing to copy).
  bool checkpointer_idle_ LAPOR_GUARDED_BY(mu_) = false;
  std::map<QueueKey, Pending> queue_ LAPOR_GUARDED_BY(mu_);
  uint64_t other_count_ LAPOR_GUARDED_BY(mu_) = 0;
  // Enqueue wakes the committer at this many queued writes.
  size_t wake_at_ LAPOR_GUARDED_BY(mu_) = 1;
  size_t last_batch_size_ = 0;  // used only by the committer thread
  // When the last background step started (the committer thread only).
  std::chrono::steady_clock::time_point last_background_{};
  uint64_t next_commit_seq_ LAPOR_GUARDED_BY(mu_);
  bool stopping_ LAPOR_GUARDED_BY(mu_) = false;
  bool committer_exited_ LAPOR_GUARDED_BY(mu_) = false;
  bool failed_ LAPOR_GUARDED_BY(mu_) = false;
  std::string failure_ LAPOR_GUARDED_BY(mu_);
  // Read-only after a full disk (see above); why, while it lasts.
  bool no_space_ LAPOR_GUARDED_BY(mu_) = false;
  std::string no_space_why_ LAPOR_GUARDED_BY(mu_);
  // Batches committed; the background work has caught up with the first background_through_.
  uint64_t commits_ LAPOR_GUARDED_BY(mu_) = 0;
  uint64_t background_steps_ LAPOR_GUARDED_BY(mu_) = 0;  // search-index transactions run
  // -1: not even with what an earlier run left.
  int64_t background_through_ LAPOR_GUARDED_BY(mu_) = -1;
  bool background_more_ LAPOR_GUARDED_BY(mu_) = true;
  int background_waiters_ LAPOR_GUARDED_BY(mu_) = 0;
  CondVar background_cv_;  // wakes WaitForBackground
  std::thread committer_;
  std::thread checkpointer_;

  Mutex leaves_mu_;
  std::deque<std::string> leaves_ LAPOR_GUARDED_BY(leaves_mu_);
  uint64_t leaves_first_ LAPOR_GUARDED_BY(leaves_mu_) = 0;  // seq of leaves_.front()
};

}  // namespace lapor::storage
