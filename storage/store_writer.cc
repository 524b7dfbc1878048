#include "storage/store_writer.h"

#include <chrono>
#include <utility>

#include "storage/case_text.h"

namespace lapor::storage {

StoreWriter::StoreWriter(std::unique_ptr<Connection> db) : db_(std::move(db)) {
  // Checkpoints copy the WAL into the database file and fsync it: done inline by the committer
  // they stall every waiting request for the copy, so the GroupCommitter's checkpointer thread runs
  // them.
  // Best effort: if it fails, SQLite checkpoints inline as well, which is slower, not unsafe.
  [[maybe_unused]] Status no_auto = db_->Exec("PRAGMA wal_autocheckpoint=0");
  // Grow files in 8 MiB steps: fewer size changes means fewer file-system metadata commits
  // inside the committer's fsync.
  int chunk = 8 << 20;
  sqlite3_file_control(db_->raw(), "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
}

Result<int> DeleteSealedOutboxRows(Connection* db, const std::string& case_id,
                                   const std::function<bool(const std::string&)>& match) {
  // Sealed rows carry no case column: an erasure is rare, so it reads them all, in the outbox
  // and among the rows given up on (the dead-letter list keeps a row's payload too).
  int deleted = 0;
  for (const char* table : {"outbox", "dead_letter"}) {
    auto st = db->Cached(std::string("SELECT id, payload FROM ") + table + " WHERE kind = ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, static_cast<int64_t>(OutboxKind::kSealed));
    std::vector<int64_t> ids;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      v1::SealedForNode sealed;
      if (sealed.ParseFromString(row.Blob(1)) && sealed.case_id() == case_id &&
          match(sealed.kind())) {
        ids.push_back(row.Int(0));
      }
      return true;
    }));
    for (int64_t id : ids) {
      LAPOR_RETURN_IF_ERROR(db->Run(std::string("DELETE FROM ") + table + " WHERE id = ?",
                                    [&](Statement& del) { del.Bind(1, id); }));
    }
    deleted += static_cast<int>(ids.size());
  }
  return deleted;
}

Result<bool> StoreWriter::IndexStep(int max_cases) { return IndexPending(db_.get(), max_cases); }

Status StoreWriter::CommitBatch(const std::vector<Write>& batch) {
  return InTransaction(db_.get(), [&]() -> Status {
    for (const auto& w : batch) LAPOR_RETURN_IF_ERROR(Apply(w));
    return Status::Ok();
  });
}

Status StoreWriter::Apply(const Write& w) {
  const auto& e = w.event;
  const uint64_t ref = w.kind == Write::Kind::kOwn ? e.case_ref : w.case_ref;
  if (w.kind == Write::Kind::kOwn) {
    LAPOR_RETURN_IF_ERROR(db_->Run(
        "INSERT INTO events(seq, case_ref, hash, envelope) VALUES(?,?,?,?)", [&](Statement& st) {
          st.Bind(1, static_cast<int64_t>(e.seq))
              .Bind(2, static_cast<int64_t>(e.case_ref))
              .BindBlob(3, e.hash)
              .BindBlob(4, e.envelope);
        }));
  } else if (w.kind == Write::Kind::kForeign) {
    const auto& f = w.foreign;
    LAPOR_RETURN_IF_ERROR(db_->Run(
        "INSERT INTO foreign_events(hash, case_ref, author, author_seq, envelope, received_ms, "
        "evidence) VALUES(?,?,?,?,?,?,?)",
        [&](Statement& st) {
          st.BindBlob(1, f.hash)
              .Bind(2, static_cast<int64_t>(f.case_ref))
              .Bind(3, f.author)
              .Bind(4, static_cast<int64_t>(f.author_seq))
              .BindBlob(5, f.envelope)
              .Bind(6, f.received_ms)
              .BindBlob(7, f.evidence);
        }));
  }

  const auto& s = w.state;
  if (!s.case_id().empty()) {
    auto up = db_->Cached(
        "INSERT INTO cases(ref, case_id, status, report_type, category, region_code, agency, "
        "due_ms, escalated, auto_complete_at_ms, state) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
        "ON CONFLICT(ref) DO UPDATE SET status=?3, agency=?7, due_ms=?8, escalated=?9, "
        "auto_complete_at_ms=?10, state=?11");
    if (!up.ok()) return up.status();
    std::string blob;
    s.SerializeToString(&blob);
    (*up)
        ->Bind(1, static_cast<int64_t>(ref))
        .Bind(2, s.case_id())
        .Bind(3, s.status())
        .Bind(4, s.report_type())
        .Bind(5, s.category())
        .Bind(6, s.region_code())
        .Bind(7, s.agency())
        .Bind(8, w.track_deadlines ? s.due_ms() : 0)
        .Bind(9, s.escalated() ? 1 : 0)
        .Bind(10, w.track_deadlines ? s.auto_complete_at_ms() : 0)
        .BindBlob(11, blob);
    LAPOR_RETURN_IF_ERROR((*up)->Run());
    // The case's first event (its submission) is noted for the search indexer, which reads it
    // back off the commit path (storage/case_text.h).
    if (s.event_count() == 1 && !s.confidential() && w.kind != Write::Kind::kBookkeeping) {
      LAPOR_RETURN_IF_ERROR(QueueForIndex(db_.get(), ref));
    }
  }

  for (const auto& kind : w.erase) LAPOR_RETURN_IF_ERROR(Erase(ref, w.state.case_id(), kind));
  for (const auto& b : w.sealed) {
    LAPOR_RETURN_IF_ERROR(
        db_->Run("INSERT OR REPLACE INTO sealed(case_ref, kind, ciphertext) VALUES(?,?,?)",
                 [&](Statement& st) {
                   st.Bind(1, static_cast<int64_t>(ref)).Bind(2, b.kind).BindBlob(3, b.ciphertext);
                 }));
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (const auto& o : w.outbox) {
    LAPOR_RETURN_IF_ERROR(
        db_->Run("INSERT INTO outbox(destination, kind, payload, created_ms, relayed_for) "
                 "VALUES(?,?,?,?,NULLIF(?,''))",
                 [&](Statement& st) {
                   st.Bind(1, o.destination)
                       .Bind(2, static_cast<int64_t>(o.kind))
                       .BindBlob(3, o.payload)
                       .Bind(4, now_ms)
                       .Bind(5, o.relayed_for);
                 }));
    // Every destination has a delivery row from its first outbox row on, so senders and the
    // status page find destinations without scanning the outbox.
    LAPOR_RETURN_IF_ERROR(
        db_->Run("INSERT OR IGNORE INTO delivery(destination, cursor, last_success_ms, last_error, "
                 "last_error_ms, failing_since_ms) VALUES(?, 0, 0, '', 0, 0)",
                 [&](Statement& st) { st.Bind(1, o.destination); }));
  }
  for (const auto& d : w.deliveries) {
    LAPOR_RETURN_IF_ERROR(db_->Run(
        "INSERT OR REPLACE INTO delivery(destination, cursor, last_success_ms, last_error, "
        "last_error_ms, failing_since_ms) VALUES(?,?,?,?,?,?)",
        [&](Statement& st) {
          st.Bind(1, d.destination)
              .Bind(2, d.cursor)
              .Bind(3, d.last_success_ms)
              .Bind(4, d.last_error)
              .Bind(5, d.last_error_ms)
              .Bind(6, d.failing_since_ms);
        }));
  }
  for (const auto& received : w.received) {
    LAPOR_RETURN_IF_ERROR(
        db_->Run("INSERT INTO received(sender, outbox_id) VALUES(?1,?2) "
                 "ON CONFLICT(sender) DO UPDATE SET outbox_id = MAX(outbox_id, ?2)",
                 [&](Statement& st) { st.Bind(1, received.first).Bind(2, received.second); }));
  }
  for (const auto& d : w.dead_letters) {
    LAPOR_RETURN_IF_ERROR(db_->Run(
        "INSERT OR REPLACE INTO dead_letter(id, destination, kind, payload, created_ms, dead_ms, "
        "reason) SELECT id, destination, kind, payload, created_ms, ?, ? FROM outbox WHERE id = ?",
        [&](Statement& st) { st.Bind(1, d.dead_ms).Bind(2, d.reason).Bind(3, d.id); }));
    LAPOR_RETURN_IF_ERROR(
        db_->Run("DELETE FROM outbox WHERE id = ?", [&](Statement& st) { st.Bind(1, d.id); }));
  }
  for (int64_t id : w.acked_outbox) {
    LAPOR_RETURN_IF_ERROR(db_->Run("UPDATE outbox SET acked = 1 WHERE id = ?",
                                   [&](Statement& st) { st.Bind(1, id); }));
  }
  for (const auto& unacked : w.unacked) {
    LAPOR_RETURN_IF_ERROR(
        db_->Run("UPDATE outbox SET acked = 0 WHERE destination = ? AND id > ? AND acked = 1",
                 [&](Statement& st) { st.Bind(1, unacked.first).Bind(2, unacked.second); }));
  }
  if (w.prune_outbox_before_ms > 0) {
    LAPOR_RETURN_IF_ERROR(
        db_->Run("DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o JOIN delivery d "
                 "ON d.destination = o.destination WHERE (o.id <= d.cursor OR o.acked = 1) "
                 "AND o.created_ms < ? LIMIT ?)",
                 [&](Statement& st) {
                   st.Bind(1, w.prune_outbox_before_ms).Bind(2, w.prune_outbox_limit);
                 }));
  }
  return Status::Ok();
}

Status StoreWriter::Erase(uint64_t ref, const std::string& case_id, const std::string& kind) {
  const bool content = kind == "content";
  // The search index holds no sealed content; whatever it holds of an erased case's content goes.
  if (content) LAPOR_RETURN_IF_ERROR(UnindexCase(db_.get(), ref));
  LAPOR_RETURN_IF_ERROR(db_->Run(
      content ? "DELETE FROM sealed WHERE case_ref = ? AND (kind = 'content' OR kind LIKE 'note:%')"
              : "DELETE FROM sealed WHERE case_ref = ? AND (kind = 'reporter' OR kind LIKE "
                "'attachment:%')",
      [&](Statement& st) { st.Bind(1, static_cast<int64_t>(ref)); }));
  auto deleted = DeleteSealedOutboxRows(db_.get(), case_id, [content](const std::string& k) {
    return content ? k == "content" || k.rfind("note:", 0) == 0 : IsReporterData(k);
  });
  if (!deleted.ok()) return deleted.status();
  return Status::Ok();
}

}  // namespace lapor::storage
