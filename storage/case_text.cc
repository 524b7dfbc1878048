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

Status IndexStoredCases(Connection* db) {
  // A case's submission is its first event: for the node's own cases the event with seq = ref,
  // for cases other nodes opened the received event of that case that is a submission.
  auto cases = db->Cached("SELECT ref FROM cases ORDER BY ref");
  if (!cases.ok()) return cases.status();
  std::vector<int64_t> refs;
  LAPOR_RETURN_IF_ERROR(ForEachRow(**cases, [&](Statement& row) {
    refs.push_back(row.Int(0));
    return true;
  }));
  for (int64_t ref : refs) {
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
  }
  return Status::Ok();
}

Status UnindexCase(Connection* db, uint64_t ref) {
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
