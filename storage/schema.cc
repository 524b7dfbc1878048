#include "storage/schema.h"

#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "lapor/v1/event.pb.h"
#include "storage/store.h"

namespace lapor::storage {
namespace {

// Migration i brings the schema from version i to i+1. Never edit a shipped migration: add one.
const char* const kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  case_ref INTEGER NOT NULL,
  hash BLOB NOT NULL,
  envelope BLOB NOT NULL);
CREATE INDEX events_by_case ON events(case_ref, seq);
CREATE TABLE cases(
  ref INTEGER PRIMARY KEY,
  case_id TEXT NOT NULL,  -- no index: the tracking id decodes to ref (protocol/tracking_id.h)
  status TEXT NOT NULL,
  report_type TEXT NOT NULL,
  category TEXT NOT NULL,
  region_code TEXT NOT NULL,
  agency TEXT NOT NULL,
  due_ms INTEGER NOT NULL,
  escalated INTEGER NOT NULL,
  auto_complete_at_ms INTEGER NOT NULL,
  state BLOB NOT NULL);
CREATE INDEX cases_by_status ON cases(status, ref);
CREATE INDEX cases_to_escalate ON cases(due_ms) WHERE due_ms > 0 AND escalated = 0;
CREATE INDEX cases_by_autocomplete ON cases(auto_complete_at_ms) WHERE auto_complete_at_ms > 0;
CREATE TABLE sealed(
  case_ref INTEGER NOT NULL,
  kind TEXT NOT NULL,
  ciphertext BLOB NOT NULL,
  PRIMARY KEY(case_ref, kind)) WITHOUT ROWID;
CREATE TABLE outbox(
  destination TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(destination, seq)) WITHOUT ROWID;
CREATE TABLE operators(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  agency TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL);
)sql",
    // 1 -> 2: the transparency log (storage/tree_log.h). Only nodes whose level is a multiple of
    // the tile height are stored; the rest are recomputed from them or from the envelopes.
    R"sql(
CREATE TABLE tree_nodes(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoints(
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  note BLOB NOT NULL,
  time_ms INTEGER NOT NULL);
)sql",
    // 2 -> 3: witnessing other nodes' logs (federation/witness.h).
    R"sql(
CREATE TABLE witnessed(
  origin TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE alerts(
  id INTEGER PRIMARY KEY,
  origin TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  note_a BLOB NOT NULL,
  note_b BLOB NOT NULL,
  time_ms INTEGER NOT NULL);
)sql",
    // 3 -> 4: federation. Events of other nodes; an outbox that carries what it delivers (so a
    // destination restored from a backup can be sent it again); each destination's cursor; the
    // highest outbox position received from each sender. The v1 outbox (destination, seq) rows
    // were never sent: they move over as envelopes.
    R"sql(
CREATE TABLE foreign_events(
  hash BLOB PRIMARY KEY,
  case_ref INTEGER NOT NULL,
  author TEXT NOT NULL,
  author_seq INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  received_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX foreign_by_case ON foreign_events(case_ref);
CREATE UNIQUE INDEX foreign_by_author ON foreign_events(author, author_seq);
CREATE INDEX cases_by_id ON cases(case_id) WHERE ref >= 4611686018427387904;
ALTER TABLE outbox RENAME TO outbox_v1;
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  destination TEXT NOT NULL,
  kind INTEGER NOT NULL,
  payload BLOB NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE INDEX outbox_by_destination ON outbox(destination, id);
INSERT INTO outbox(destination, kind, payload, created_ms)
  SELECT o.destination, 0, e.envelope, 0 FROM outbox_v1 o JOIN events e ON e.seq = o.seq
  ORDER BY o.seq;
DROP TABLE outbox_v1;
CREATE TABLE delivery(
  destination TEXT PRIMARY KEY,
  cursor INTEGER NOT NULL,
  last_success_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  last_error_ms INTEGER NOT NULL,
  failing_since_ms INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO delivery SELECT DISTINCT destination, 0, 0, '', 0, 0 FROM outbox;
CREATE TABLE received(
  sender TEXT PRIMARY KEY,
  outbox_id INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // 4 -> 5: the leaf hashes of each full tile, written with the checkpoint that covers it.
    R"sql(
CREATE TABLE leaf_tiles(
  idx INTEGER PRIMARY KEY,
  hashes BLOB NOT NULL);
)sql",
    // 5 -> 6: operators can be removed, rotated and expire; every operator change and every read
    // of personal data is kept in an append-only record (triggers refuse UPDATE and DELETE).
    R"sql(
ALTER TABLE operators ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN removed_ms INTEGER NOT NULL DEFAULT 0;
CREATE TABLE operator_changes(
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  operator_id INTEGER NOT NULL,
  change TEXT NOT NULL,
  detail TEXT NOT NULL);
INSERT INTO operator_changes(time_ms, operator_id, change, detail)
  SELECT created_ms, id, 'added', role || CASE agency WHEN '' THEN '' ELSE ' of ' || agency END
  FROM operators ORDER BY id;
CREATE TABLE access_log(
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  operator_id INTEGER NOT NULL,
  role TEXT NOT NULL,
  case_id TEXT NOT NULL,
  fields TEXT NOT NULL);
CREATE INDEX access_log_by_case ON access_log(case_id, id);
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
  BEGIN SELECT RAISE(ABORT, 'the access record is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
  BEGIN SELECT RAISE(ABORT, 'the access record is append-only'); END;
CREATE TRIGGER operator_changes_no_update BEFORE UPDATE ON operator_changes
  BEGIN SELECT RAISE(ABORT, 'the operator record is append-only'); END;
CREATE TRIGGER operator_changes_no_delete BEFORE DELETE ON operator_changes
  BEGIN SELECT RAISE(ABORT, 'the operator record is append-only'); END;
DELETE FROM alerts WHERE id NOT IN
  (SELECT MIN(id) FROM alerts GROUP BY origin, kind, note_a, note_b);
CREATE UNIQUE INDEX alerts_by_evidence ON alerts(origin, kind, note_a, note_b);
)sql",
    // 6 -> 7: outbox rows that migration 3 -> 4 moved over with created_ms 0 get their event's
    // signed time (DateMovedOutboxRows, below). No change to the tables.
    R"sql(
SELECT 1;
)sql",
    // 7 -> 8: the hub remembers for whom it relays a row (a member's relayed backlog is capped);
    // a row its destination settled while an earlier one waits is marked acked (the cursor
    // passes it later); rows a destination kept deferring move to a dead-letter list instead of
    // holding up the destination's queue.
    R"sql(
ALTER TABLE outbox ADD COLUMN relayed_for TEXT;
ALTER TABLE outbox ADD COLUMN acked INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_relayed ON outbox(relayed_for, id) WHERE relayed_for IS NOT NULL;
CREATE TABLE dead_letter(
  id INTEGER PRIMARY KEY,
  destination TEXT NOT NULL,
  kind INTEGER NOT NULL,
  payload BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  dead_ms INTEGER NOT NULL,
  reason TEXT NOT NULL);
CREATE INDEX dead_letter_by_destination ON dead_letter(destination);
)sql",
    // 8 -> 9: another node's event is kept with the proof that it is in its author's log (the
    // author's checkpoint and the inclusion proof), which the node passes on with it.
    R"sql(
ALTER TABLE foreign_events ADD COLUMN evidence BLOB;
)sql",
    // 9 -> 10: search (storage/case_text.h). The title and description of every public case, in
    // an FTS5 table with the trigram tokenizer (it matches any run of 3 characters or more, so
    // "lubang" finds "berlubang"); the cases still to index (search_pending: the indexer fills
    // case_text from it off the commit path, so every stored case starts there); and an index of
    // the sealed content rows (confidential cases), which search opens instead.
    R"sql(
CREATE VIRTUAL TABLE case_text USING fts5(title, description, tokenize = 'trigram');
CREATE TABLE search_pending(ref INTEGER PRIMARY KEY);
INSERT INTO search_pending(ref) SELECT ref FROM cases;
CREATE INDEX sealed_content ON sealed(kind, case_ref) WHERE kind = 'content';
)sql",
    // 10 -> 11: the hub keeps every member's statistics report (thinned to one a day when old),
    // not only the latest (MoveStatsReports moves those over); and when it cosigned each
    // member's checkpoint last.
    R"sql(
CREATE TABLE stats_reports(
  id INTEGER PRIMARY KEY,
  node_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  envelope BLOB NOT NULL);
CREATE UNIQUE INDEX stats_reports_by_node ON stats_reports(node_id, time_ms);
ALTER TABLE witnessed ADD COLUMN witnessed_ms INTEGER NOT NULL DEFAULT 0;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

// Part of migration 3 -> 4: case states gained their origin, owner and parties. Every case stored
// before then is the node's own (the author of its events).
Status AddOwnersToStates(Connection* db) {
  auto node = db->Cached("SELECT envelope FROM events ORDER BY seq LIMIT 1");
  if (!node.ok()) return node.status();
  auto row = (*node)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Ok();
  v1::Envelope env;
  v1::Event first;
  const bool parsed = env.ParseFromString((*node)->Blob(0)) && first.ParseFromString(env.payload());
  (*node)->Reset();
  if (!parsed) return Status::Ok();  // nothing to learn the node id from: fsck reports event 0
  const std::string node_id = first.node_id();
  auto read = db->Cached("SELECT ref, state FROM cases");
  if (!read.ok()) return read.status();
  std::vector<std::pair<int64_t, std::string>> updated;
  LAPOR_RETURN_IF_ERROR(ForEachRow(**read, [&](Statement& row) {
    v1::CaseState state;
    state.ParseFromString(row.Blob(1));
    if (!state.owner_node().empty()) return true;
    state.set_origin_node(node_id);
    state.set_owner_node(node_id);
    state.add_parties(node_id);
    updated.emplace_back(row.Int(0), state.SerializeAsString());
    return true;
  }));
  for (const auto& row : updated) {
    LAPOR_RETURN_IF_ERROR(db->Run("UPDATE cases SET state = ? WHERE ref = ?", [&](Statement& st) {
      st.BindBlob(1, row.second).Bind(2, row.first);
    }));
  }
  return Status::Ok();
}

// Migration 6 -> 7: migration 3 -> 4 moved the v1 outbox rows over with created_ms 0, which the
// outbox's readers take for "nothing waiting" (Deliveries' oldest_pending_ms): /metrics'
// lapor_outbox_oldest_undelivered_age_seconds and the status' lag_seconds read 0 while they wait,
// and since the age is MIN(created_ms) of what waits, they hid the age of every later delivery to
// the same node too, so LaporOutboxStale could not fire. Each is dated with its event's signed
// time, when the old release queued it (tests/migration_test.cc opens the schema-1 to -3
// fixtures, whose release queued a case's events for the hub and another node).
Status DateMovedOutboxRows(Connection* db) {
  auto read = db->Cached("SELECT id, payload FROM outbox WHERE created_ms = 0 AND kind = 0");
  if (!read.ok()) return read.status();
  std::vector<std::pair<int64_t, int64_t>> dated;  // (id, created_ms)
  LAPOR_RETURN_IF_ERROR(ForEachRow(**read, [&](Statement& row) {
    v1::Envelope env;
    v1::Event event;
    if (env.ParseFromString(row.Blob(1)) && event.ParseFromString(env.payload()) &&
        event.time_ms() > 0) {
      dated.emplace_back(row.Int(0), event.time_ms());
    }
    return true;
  }));
  for (const auto& row : dated) {
    // Not a structured binding: clang 14 cannot capture one in the lambda.
    const int64_t id = row.first, time_ms = row.second;
    LAPOR_RETURN_IF_ERROR(db->Run("UPDATE outbox SET created_ms = ? WHERE id = ?",
                                  [&](Statement& st) { st.Bind(1, time_ms).Bind(2, id); }));
  }
  return Status::Ok();
}

// Part of migration 10 -> 11: each member's latest statistics report, kept in meta until then,
// moves to stats_reports, dated with its own signed time (the signature was checked when it came).
Status MoveStatsReports(Connection* db) {
  auto read = db->Cached("SELECT key, value FROM meta WHERE key >= 'stats:' AND key < 'stats;'");
  if (!read.ok()) return read.status();
  std::vector<std::pair<int64_t, std::string>> moved;  // (time_ms, envelope)
  std::vector<std::string> nodes;
  LAPOR_RETURN_IF_ERROR(ForEachRow(**read, [&](Statement& row) {
    v1::Envelope env;
    v1::StatsReport report;
    const std::string blob = row.Blob(1);
    if (env.ParseFromString(blob) && report.ParseFromString(env.payload())) {
      nodes.push_back(row.Text(0).substr(std::string_view(kStatsMetaPrefix).size()));
      moved.emplace_back(report.time_ms(), blob);
    }
    return true;
  }));
  for (size_t i = 0; i < moved.size(); ++i) {
    LAPOR_RETURN_IF_ERROR(db->Run(
        "INSERT INTO stats_reports(node_id, time_ms, received_ms, envelope) VALUES(?,?,?,?)",
        [&](Statement& st) {
          st.Bind(1, nodes[i]).Bind(2, moved[i].first).Bind(3, moved[i].first);
          st.BindBlob(4, moved[i].second);
        }));
  }
  return db->Exec("DELETE FROM meta WHERE key >= 'stats:' AND key < 'stats;'");
}

}  // namespace

Status Migrate(Connection* db) {
  auto st = db->Cached("PRAGMA user_version");
  if (!st.ok()) return st.status();
  auto row = (*st)->Step();
  if (!row.ok()) return row.status();
  int version = static_cast<int>((*st)->Int(0));
  (*st)->Reset();
  if (version > kSchemaVersion) {
    return Status::Corruption("database schema version " + std::to_string(version) +
                              " is newer than this program's " + std::to_string(kSchemaVersion));
  }
  if (version == kSchemaVersion) return Status::Ok();
  return InTransaction(db, [&]() -> Status {
    for (int v = version; v < kSchemaVersion; ++v) {
      LAPOR_RETURN_IF_ERROR(db->Exec(kMigrations[v]));
      if (v == 3) LAPOR_RETURN_IF_ERROR(AddOwnersToStates(db));
      if (v == 6) LAPOR_RETURN_IF_ERROR(DateMovedOutboxRows(db));
      if (v == 10) LAPOR_RETURN_IF_ERROR(MoveStatsReports(db));
    }
    return db->Exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  });
}

}  // namespace lapor::storage
