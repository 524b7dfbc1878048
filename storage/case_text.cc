#include "storage/case_text.h"

#include <utility>

#include "lapor/v1/event.pb.h"
#include "storage/store.h"

namespace lapor::storage {

Status IndexSubmission(Connection* db, uint64_t ref, const std::string& envelope) {
  v1::Envelope env;
  v1::Event ev;
  if (!env.ParseFromString(envelope) || !ev.ParseFromString(env.payload()) ||
      ev.type() != v1::EVENT_SUBMITTED) {
    return Status::Ok();
  }
  const v1::Submission& sub = ev.submission();
  // A confidential case's event carries its content sealed (content_commitment): nothing to index.
  if (sub.confidential() || !sub.content_commitment().empty()) return Status::Ok();
  LAPOR_RETURN_IF_ERROR(UnindexCase(db, ref));
  return db->Run(
      "INSERT INTO case_text(rowid, title, description) VALUES(?,?,?)", [&](Statement& st) {
        st.Bind(1, static_cast<int64_t>(ref)).Bind(2, sub.title()).Bind(3, sub.description());
      });
}

Status QueueForIndex(Connection* db, uint64_t ref) {
  return db->Run("INSERT OR IGNORE INTO search_pending(ref) VALUES(?)",
                 [&](Statement& st) { st.Bind(1, static_cast<int64_t>(ref)); });
}

Result<bool> IndexPending(Connection* db, int max_cases) {
  auto pending = db->Cached("SELECT ref FROM search_pending ORDER BY ref LIMIT ?");
  if (!pending.ok()) return pending.status();
  (*pending)->Bind(1, static_cast<int64_t>(max_cases) + 1);
  std::vector<int64_t> refs;
  LAPOR_RETURN_IF_ERROR(ForEachRow(**pending, [&](Statement& row) {
    refs.push_back(row.Int(0));
    return true;
  }));
  if (refs.empty()) return false;
  const bool more = static_cast<int>(refs.size()) > max_cases;
  if (more) refs.pop_back();
  Status s = InTransaction(db, [&]() -> Status {
    for (int64_t ref : refs) {
      // A case's submission is its first event: for the node's own cases the event with seq =
      // ref, for cases other nodes opened the received event of that case that is a submission.
      const bool foreign = static_cast<uint64_t>(ref) >= kForeignRefBase;
      auto st = db->Cached(foreign ? "SELECT envelope FROM foreign_events WHERE case_ref = ?"
                                   : "SELECT envelope FROM events WHERE seq = ?");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, ref);
      std::vector<std::string> envelopes;
      LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
        envelopes.push_back(row.Blob(0));
        return true;
      }));
      for (const auto& envelope : envelopes) {
        LAPOR_RETURN_IF_ERROR(IndexSubmission(db, static_cast<uint64_t>(ref), envelope));
      }
      LAPOR_RETURN_IF_ERROR(db->Run("DELETE FROM search_pending WHERE ref = ?",
                                    [&](Statement& del) { del.Bind(1, ref); }));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return more;
}

Status UnindexCase(Connection* db, uint64_t ref) {
  LAPOR_RETURN_IF_ERROR(db->Run("DELETE FROM search_pending WHERE ref = ?",
                                [&](Statement& st) { st.Bind(1, static_cast<int64_t>(ref)); }));
  return db->Run("DELETE FROM case_text WHERE rowid = ?",
                 [&](Statement& st) { st.Bind(1, static_cast<int64_t>(ref)); });
}

std::string MatchExpression(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += " AND ";
    out += '"';
    for (char c : w) {
      if (c == '"') out += '"';  // FTS5 strings double their quotes
      out += c;
    }
    out += '"';
  }
  return out;
}

}  // namespace lapor::storage
