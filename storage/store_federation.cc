// FederationLedger over the store's pooled connections: other nodes' events and cases, the outbox
// and its delivery cursors (storage/sqlite_store.h). Their writes go through the commit queue.
#include <string>
#include <utility>
#include <vector>

#include "storage/sqlite_store.h"

namespace lapor::storage {

Result<int64_t> SqliteStore::CountOutbox() {
  return readers_.QueryInt("SELECT COUNT(*) FROM outbox", NoBind, 0);
}

Result<std::optional<std::pair<uint64_t, v1::CaseState>>> SqliteStore::FindForeignCase(
    const std::string& case_id) {
  return readers_.QueryRow<std::pair<uint64_t, v1::CaseState>>(
      "SELECT ref, state FROM cases WHERE case_id = ? AND ref >= " +
          std::to_string(kForeignRefBase),
      [&](Statement& st) { st.Bind(1, case_id); },
      [](Statement& st) {
        return std::make_pair(static_cast<uint64_t>(st.Int(0)), ParseState(st.Blob(1)));
      });
}

Result<uint64_t> SqliteStore::MaxForeignRef() {
  auto r = readers_.QueryInt(
      "SELECT MAX(ref) FROM cases WHERE ref >= " + std::to_string(kForeignRefBase), NoBind,
      static_cast<int64_t>(kForeignRefBase - 1));
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(*r);
}

Result<std::vector<ForeignEvent>> SqliteStore::ForeignCaseEvents(uint64_t case_ref) {
  using R = std::vector<ForeignEvent>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT hash, envelope, author, author_seq, received_ms, coalesce(evidence, x'') "
        "FROM foreign_events WHERE case_ref = ? ORDER BY received_ms, author, author_seq");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, static_cast<int64_t>(case_ref));
    R out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      out.push_back(ForeignEvent{row.Blob(0), row.Blob(1), row.Text(2),
                                 static_cast<uint64_t>(row.Int(3)), case_ref, row.Int(4),
                                 row.Blob(5)});
      return true;
    }));
    return out;
  });
}

Result<std::optional<std::string>> SqliteStore::ForeignEvidence(const std::string& hash) {
  return readers_.QueryRow<std::string>(
      "SELECT evidence FROM foreign_events WHERE hash = ? AND length(evidence) > 0",
      [&](Statement& st) { st.BindBlob(1, hash); }, [](Statement& st) { return st.Blob(0); });
}

Result<std::optional<std::string>> SqliteStore::ForeignHashAt(const std::string& author,
                                                              uint64_t seq) {
  return readers_.QueryRow<std::string>(
      "SELECT hash FROM foreign_events WHERE author = ? AND author_seq = ?",
      [&](Statement& st) { st.Bind(1, author).Bind(2, static_cast<int64_t>(seq)); },
      [](Statement& st) { return st.Blob(0); });
}

Result<std::vector<std::string>> SqliteStore::ForeignEnvelopesBy(const std::string& author,
                                                                 uint64_t from, int limit) {
  using R = std::vector<std::string>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT envelope FROM foreign_events WHERE author = ? AND author_seq >= ? "
        "ORDER BY author_seq LIMIT ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, author).Bind(2, static_cast<int64_t>(from)).Bind(3, limit);
    return ReadBlobs(*st);
  });
}

Result<std::pair<std::optional<int64_t>, std::optional<int64_t>>> SqliteStore::ForeignTimesAround(
    const std::string& author, uint64_t seq) {
  using R = std::pair<std::optional<int64_t>, std::optional<int64_t>>;
  auto time_of = [&](const char* sql) -> Result<std::optional<int64_t>> {
    auto envelope = readers_.QueryRow<std::string>(
        sql, [&](Statement& st) { st.Bind(1, author).Bind(2, static_cast<int64_t>(seq)); },
        [](Statement& st) { return st.Blob(0); });
    if (!envelope.ok()) return envelope.status();
    if (!envelope->has_value()) return std::optional<int64_t>();
    v1::Envelope env;
    v1::Event ev;
    if (!env.ParseFromString(**envelope) || !ev.ParseFromString(env.payload())) {
      return Status::Corruption("a stored event of node " + author + " does not parse");
    }
    return std::optional<int64_t>(ev.time_ms());
  };
  auto before = time_of(
      "SELECT envelope FROM foreign_events WHERE author = ? AND author_seq < ? "
      "ORDER BY author_seq DESC LIMIT 1");
  if (!before.ok()) return before.status();
  auto after = time_of(
      "SELECT envelope FROM foreign_events WHERE author = ? AND author_seq > ? "
      "ORDER BY author_seq LIMIT 1");
  if (!after.ok()) return after.status();
  return R(*before, *after);
}

Result<uint64_t> SqliteStore::ForeignNextSeq(const std::string& author) {
  auto r = readers_.QueryInt(
      "SELECT MAX(author_seq) + 1 FROM foreign_events WHERE author = ?",
      [&](Statement& st) { st.Bind(1, author); }, 0);
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(*r);
}

Result<std::vector<OutboxRow>> SqliteStore::OutboxAfter(const std::string& destination,
                                                        int64_t after_id, int limit) {
  using R = std::vector<OutboxRow>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT id, kind, payload, created_ms, acked FROM outbox WHERE destination = ? AND id > ? "
        "ORDER BY id LIMIT ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, destination).Bind(2, after_id).Bind(3, limit);
    R out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      out.push_back(OutboxRow{row.Int(0), static_cast<OutboxKind>(row.Int(1)), row.Blob(2),
                              row.Int(3), row.Int(4) != 0});
      return true;
    }));
    return out;
  });
}

Result<std::vector<DeliveryRow>> SqliteStore::Deliveries() {
  using R = std::vector<DeliveryRow>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "WITH d AS (SELECT destination FROM delivery) "
        "SELECT d.destination, COALESCE(v.cursor, 0), COALESCE(v.last_success_ms, 0), "
        "COALESCE(v.last_error, ''), COALESCE(v.last_error_ms, 0), "
        "COALESCE(v.failing_since_ms, 0), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.destination = d.destination AND o.id > "
        "COALESCE(v.cursor, 0) AND o.acked = 0), "
        "(SELECT MIN(created_ms) FROM outbox o WHERE o.destination = d.destination AND o.id > "
        "COALESCE(v.cursor, 0) AND o.acked = 0), "
        "(SELECT COUNT(*) FROM dead_letter x WHERE x.destination = d.destination) "
        "FROM d LEFT JOIN delivery v ON v.destination = d.destination ORDER BY d.destination");
    if (!st.ok()) return st.status();
    R out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      DeliveryRow d;
      d.destination = row.Text(0);
      d.cursor = row.Int(1);
      d.last_success_ms = row.Int(2);
      d.last_error = row.Text(3);
      d.last_error_ms = row.Int(4);
      d.failing_since_ms = row.Int(5);
      d.backlog = row.Int(6);
      d.oldest_pending_ms = row.IsNull(7) ? 0 : row.Int(7);
      d.dead_letters = row.Int(8);
      out.push_back(std::move(d));
      return true;
    }));
    return out;
  });
}

Result<int64_t> SqliteStore::ReceivedFrom(const std::string& sender) {
  return readers_.QueryInt(
      "SELECT outbox_id FROM received WHERE sender = ?", [&](Statement& st) { st.Bind(1, sender); },
      0);
}

Result<std::vector<std::pair<std::string, bool>>> SqliteStore::DeliveryOf(
    const std::string& envelope) {
  using Rows = std::vector<std::pair<std::string, bool>>;
  return readers_.WithReader<Rows>([&](Connection* db) -> Result<Rows> {
    auto st = db->Cached(
        "SELECT o.destination, o.id <= COALESCE(d.cursor, 0) OR o.acked = 1 FROM outbox o "
        "LEFT JOIN delivery d ON d.destination = o.destination "
        "WHERE o.kind = ?1 AND o.payload = ?2 "
        "UNION ALL SELECT destination, 0 FROM dead_letter WHERE kind = ?1 AND payload = ?2 "
        "ORDER BY 1");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, static_cast<int64_t>(OutboxKind::kEnvelope)).BindBlob(2, envelope);
    Rows rows;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      rows.emplace_back(row.Text(0), row.Int(1) != 0);
      return true;
    }));
    return rows;
  });
}

Result<std::vector<DeadLetterRow>> SqliteStore::DeadLetters(int limit) {
  using R = std::vector<DeadLetterRow>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT id, destination, kind, payload, created_ms, dead_ms, reason FROM dead_letter "
        "ORDER BY dead_ms DESC, id DESC LIMIT ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, limit);
    R out;
    LAPOR_RETURN_IF_ERROR(ForEachRow(**st, [&](Statement& row) {
      out.push_back(DeadLetterRow{row.Int(0), row.Text(1), static_cast<OutboxKind>(row.Int(2)),
                                  row.Blob(3), row.Int(4), row.Int(5), row.Text(6)});
      return true;
    }));
    return out;
  });
}

Result<int64_t> SqliteStore::RelayBacklogBytes(const std::string& sender) {
  return readers_.QueryInt(
      "SELECT COALESCE(SUM(LENGTH(o.payload)), 0) FROM outbox o LEFT JOIN delivery d "
      "ON d.destination = o.destination WHERE o.relayed_for = ? AND o.id > COALESCE(d.cursor, 0) "
      "AND o.acked = 0",
      [&](Statement& st) { st.Bind(1, sender); }, 0);
}

}  // namespace lapor::storage
