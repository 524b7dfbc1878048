#include "storage/group_commit.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/thread_name.h"
#include "storage/sqlite.h"

namespace lapor::storage {

GroupCommitter::GroupCommitter(std::string path, const StoreOptions& options, uint64_t next_seq,
                               CommitBatchFn commit_batch, BackgroundFn background)
    : path_(std::move(path)),
      options_(options),
      commit_batch_(std::move(commit_batch)),
      background_(std::move(background)) {
  next_commit_seq_ = next_seq;
  last_background_ = std::chrono::steady_clock::now();
  committer_ = std::thread([this] { CommitLoop(); });
  SetThreadName(committer_, "lapor-commit");
  checkpointer_ = std::thread([this] { CheckpointLoop(); });
  SetThreadName(checkpointer_, "lapor-walckpt");
}

GroupCommitter::~GroupCommitter() { Close(); }

void GroupCommitter::Enqueue(Write w, Callback on_durable) {
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

Status GroupCommitter::Health() {
  MutexLock lock(mu_);
  if (failed_) return Status::IOError("the store failed: " + failure_);
  if (no_space_) return Status::NoSpace(no_space_why_);
  return Status::Ok();
}

void GroupCommitter::Fail(const std::string& why) {
  MutexLock lock(mu_);
  (void)NoteWriteFailure(Status::IOError(why));
  cv_.NotifyOne();
}

Status GroupCommitter::NoteWriteFailure(const Status& s) {
  Status out = s;
  if (s.code() == Status::Code::kNoSpace) {
    // Nothing of it reached the disk: refuse writes until space returns.
    no_space_ = true;
    no_space_why_ = "the disk is full: this node takes no changes until space is freed";
    out = Status::NoSpace(no_space_why_);
  } else {
    failed_ = true;
    if (failure_.empty()) failure_ = s.message();  // Health reports the first cause
  }
  background_cv_.NotifyAll();  // a waiting search learns why at once
  return out;
}

Status GroupCommitter::ResumeWrites(uint64_t next_seq) {
  MutexLock lock(mu_);
  if (failed_) return Status::IOError("the store failed: " + failure_);
  if (!no_space_) return Status::Ok();
  if (!queue_.empty())
    return Status::Unavailable("writes refused for a full disk are still queued");
  no_space_ = false;
  no_space_why_.clear();
  next_commit_seq_ = next_seq;
  cv_.NotifyOne();  // background work held off while read-only may run again
  return Status::Ok();
}

Status GroupCommitter::SkipTo(uint64_t next_seq) {
  MutexLock lock(mu_);
  if (!queue_.empty()) return Status::Unavailable("writes are queued");
  next_commit_seq_ = std::max(next_commit_seq_, next_seq);
  return Status::Ok();
}

Status GroupCommitter::WaitForBackground(std::chrono::steady_clock::time_point deadline) {
  MutexLock lock(mu_);
  if (!background_) return Status::Ok();
  const auto target = static_cast<int64_t>(commits_);
  ++background_waiters_;
  cv_.NotifyOne();  // an idle committer runs the work now
  background_cv_.WaitUntil(lock, deadline, [&]() LAPOR_REQUIRES(mu_) {
    return background_through_ >= target || failed_ || no_space_ || committer_exited_;
  });
  --background_waiters_;
  if (background_through_ >= target) return Status::Ok();
  if (failed_) return Status::IOError("the store failed: " + failure_);
  if (no_space_) return Status::NoSpace(no_space_why_);
  if (committer_exited_) return Status::Unavailable("store is closed");
  return Status::Unavailable("the search index is still catching up; try again shortly");
}

void GroupCommitter::RunBackground(uint64_t commits, bool urgent) {
  last_background_ = std::chrono::steady_clock::now();
  Result<bool> more = false;
  {
    MutexLock gate(wal_gate_mu_);
    more = background_(urgent);
  }
  MutexLock lock(mu_);
  ++background_steps_;  // WAL frames the checkpointer must copy, as a commit's
  if (checkpointer_idle_) checkpoint_cv_.NotifyOne();
  if (!more.ok()) {
    // A transaction on the writer connection failed: as a batch's failure.
    (void)NoteWriteFailure(more.status());
  } else if (!*more) {
    // Batches commit on this thread only: none has since `commits` was read.
    background_more_ = false;
    background_through_ = std::max(background_through_, static_cast<int64_t>(commits));
  }
  background_cv_.NotifyAll();
}

void GroupCommitter::Close() {
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

void GroupCommitter::Gather(MutexLock& lock, Batch* batch) {
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

bool GroupCommitter::TakeBatch(Batch* batch) {
  static constexpr size_t kMaxBatch = 4096;
  auto take = [&](auto it) LAPOR_REQUIRES(mu_) {
    batch->writes.push_back(std::move(it->second.write));
    batch->callbacks.push_back(std::move(it->second.done));
    queue_.erase(it);
  };
  while (!queue_.empty() && batch->size() < kMaxBatch) {
    auto it = queue_.begin();
    const auto [seq, own, n] = it->first;
    if (!own) {  // another node's event or bookkeeping: after every own seq below `seq`
      if (seq > next_commit_seq_) break;
      take(it);
      continue;
    }
    if (seq > next_commit_seq_) break;  // a gap: its writer has not queued yet
    if (seq < next_commit_seq_) {
      failed_ = true;
      if (failure_.empty()) failure_ = "seq " + std::to_string(seq) + " queued twice";
    } else {
      ++next_commit_seq_;
    }
    take(it);
  }
  return !batch->empty();
}

void GroupCommitter::CommitLoop() {
  bool just_committed = true;  // background work waits for a lull after writes
  for (;;) {
    Batch batch;
    Status failed_earlier;  // read under mu_ with the batch
    uint64_t commits = 0;
    bool background = false, urgent = false;
    {
      MutexLock lock(mu_);
      cv_.Wait(lock, [&]() LAPOR_REQUIRES(mu_) {
        return TakeBatch(&batch) || stopping_ || BackgroundDue();
      });
      if (batch.empty() && !stopping_ && just_committed && background_waiters_ == 0 &&
          options_.background_idle_ms > 0) {
        // Idle: background work waits a moment for writes to stop coming (nobody waits for it).
        cv_.WaitFor(lock, std::chrono::milliseconds(options_.background_idle_ms),
                    [&]() LAPOR_REQUIRES(mu_) {
                      return TakeBatch(&batch) || stopping_ || background_waiters_ > 0;
                    });
      }
      if (batch.empty()) {
        if (stopping_) {  // nothing left that can commit (Close fails the rest)
          committer_exited_ = true;
          background_cv_.NotifyAll();
          return;
        }
        background = BackgroundDue();
        urgent = background_waiters_ > 0;
        commits = commits_;
      } else {
        Gather(lock, &batch);
        last_batch_size_ = batch.size();
        if (failed_)
          failed_earlier = Status::IOError("store failed earlier: " + failure_);
        else if (no_space_)
          failed_earlier = Status::NoSpace(no_space_why_);
      }
    }
    if (batch.empty()) {
      if (background) RunBackground(commits, urgent);
      just_committed = false;
      continue;
    }
    just_committed = true;
    Status s;
    if (!failed_earlier.ok()) {
      s = failed_earlier;
    } else {
      MutexLock gate(wal_gate_mu_);
      const auto start = std::chrono::steady_clock::now();
      s = commit_batch_(batch.writes);
      if (options_.on_commit) {
        StoreOptions::CommitReport report;
        report.writes = batch.size();
        for (const auto& w : batch.writes) {
          if (w.kind == Write::Kind::kOwn) ++report.own_events;
          if (w.kind == Write::Kind::kForeign) ++report.foreign_events;
        }
        report.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        report.ok = s.ok();
        options_.on_commit(report);
      }
    }
    if (!s.ok() && failed_earlier.ok()) {
      MutexLock lock(mu_);
      s = NoteWriteFailure(s);
    }
    bool background_now = false, background_urgent = false;
    if (s.ok()) {
      RememberLeaves(batch);
      bool erased = false;
      for (const auto& w : batch.writes) erased = erased || !w.erase.empty();
      MutexLock lock(mu_);
      ++commits_;
      background_more_ = true;
      if (erased) truncate_wanted_ = true;
      if (erased || checkpointer_idle_) checkpoint_cv_.NotifyOne();
      // Someone waits for the background work: a step between batches even under load; and
      // under writes that never pause, a small one every background_every_ms.
      const auto now = std::chrono::steady_clock::now();
      background_urgent = background_waiters_ > 0;
      background_now =
          BackgroundDue() &&
          (background_urgent ||
           (options_.background_every_ms > 0 &&
            now - last_background_ >= std::chrono::milliseconds(options_.background_every_ms)));
      commits = commits_;
    }
    for (auto& done : batch.callbacks) done(s);
    if (background_now) RunBackground(commits, background_urgent);
  }
}

// Copies committed WAL frames into the database (see StoreOptions for when and why it holds the
// committer off for a last pass). A busy database or a full disk is not fatal: the next pass
// tries again, and the WAL only grows meanwhile. An I/O error is: after a failed write or fsync
// nobody knows what reached the disk, so the committer fails as for a failed commit and the node
// restarts from what is durable.
void GroupCommitter::CheckpointLoop() {
  auto conn = Connection::Open(path_, false);
  if (!conn.ok()) return;
  int wal_frames = 0;
  std::string io_error;  // the first I/O error of this round's passes
  auto check = [&](int rc) {
    if ((rc & 0xff) == SQLITE_IOERR && io_error.empty()) {
      io_error = std::string("a WAL checkpoint failed: ") + sqlite3_errstr(rc);
    }
  };
  int backfilled = 0;
  auto pass = [&] {
    check(sqlite3_wal_checkpoint_v2((*conn)->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                    &backfilled));
  };
  // Idle (nothing written on the committer's thread since the last pass, which copied every
  // frame), it sleeps until the committer's next commit or search-index step wakes it. Other
  // connections' writes (checkpoints, meta values, another process) are copied within
  // kIdlePasses intervals.
  constexpr int kIdlePasses = 25;
  const auto interval = std::chrono::milliseconds(options_.wal_checkpoint_interval_ms);
  uint64_t passed_at = ~uint64_t{0};
  auto written = [&]() LAPOR_REQUIRES(mu_) { return commits_ + background_steps_; };
  MutexLock lock(mu_);
  while (!stopping_) {
    checkpoint_cv_.WaitFor(lock, interval);
    // A failed pass reports -1 frames: not idle.
    if (!truncate_wanted_ && written() == passed_at && wal_frames >= 0 &&
        backfilled == wal_frames) {
      checkpointer_idle_ = true;
      checkpoint_cv_.WaitFor(lock, interval * (kIdlePasses - 1), [&]() LAPOR_REQUIRES(mu_) {
        return stopping_ || truncate_wanted_ || written() != passed_at;
      });
      checkpointer_idle_ = false;
    }
    if (stopping_) break;
    const bool truncate = truncate_wanted_;
    passed_at = written();
    lock.Unlock();
    pass();
    bool truncated = false;
    if (truncate) {
      // Commits wait meanwhile; readers holding an old snapshot make it BUSY after a short
      // wait, and the next pass tries again.
      MutexLock gate(wal_gate_mu_);
      sqlite3_busy_timeout((*conn)->raw(), 200);
      const int rc = sqlite3_wal_checkpoint_v2((*conn)->raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                               &wal_frames, &backfilled);
      check(rc);
      truncated = rc == SQLITE_OK;
      sqlite3_busy_timeout((*conn)->raw(), 10000);
    } else if (wal_frames >= options_.wal_restart_frames) {
      pass();  // the frames committed during the first pass: a shorter tail for the gated one
      MutexLock gate(wal_gate_mu_);
      pass();
    }
    lock.Lock();
    if (truncated) truncate_wanted_ = false;
    if (!io_error.empty()) {
      (void)NoteWriteFailure(Status::IOError(io_error));
      io_error.clear();
    }
  }
}

void GroupCommitter::RememberLeaves(const Batch& batch) {
  static constexpr size_t kMaxLeaves = 1 << 20;
  MutexLock lock(leaves_mu_);
  for (const auto& w : batch.writes) {
    if (w.kind != Write::Kind::kOwn) continue;
    const auto& e = w.event;
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

std::optional<std::vector<std::string>> GroupCommitter::RecentLeaves(uint64_t from,
                                                                     uint64_t count) {
  MutexLock lock(leaves_mu_);
  if (leaves_.empty() || from < leaves_first_ || from + count > leaves_first_ + leaves_.size()) {
    return std::nullopt;
  }
  auto begin = leaves_.begin() + static_cast<std::ptrdiff_t>(from - leaves_first_);
  std::vector<std::string> out(begin, begin + static_cast<std::ptrdiff_t>(count));
  // The integrator consumes in order: what it has taken is not needed again.
  leaves_.erase(leaves_.begin(), begin);
  leaves_first_ = from;
  return out;
}

void GroupCommitter::FailStranded() {
  std::map<QueueKey, Pending> stranded;
  {
    MutexLock lock(mu_);
    stranded.swap(queue_);
  }
  for (auto& [key, p] : stranded)
    p.done(Status::Unavailable("store closed before seq " + std::to_string(std::get<0>(key)) +
                               " could commit"));
}

}  // namespace lapor::storage
