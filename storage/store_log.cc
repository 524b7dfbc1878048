// TreeStore and WitnessState over the store's pooled connections: this node's transparency log
// (tree nodes, leaf tiles, checkpoints) and what it has witnessed of other logs (witnessed
// checkpoints, alerts) (storage/sqlite_store.h).
#include <optional>
#include <string>
#include <vector>

#include "storage/sqlite_store.h"

namespace lapor::storage {

Result<std::vector<std::string>> SqliteStore::TreeNodes(uint32_t level, uint64_t first,
                                                        uint64_t count) {
  using R = std::vector<std::string>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached(
        "SELECT hash FROM tree_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx");
    if (!st.ok()) return st.status();
    (*st)
        ->Bind(1, static_cast<int64_t>(level))
        .Bind(2, static_cast<int64_t>(first))
        .Bind(3, static_cast<int64_t>(first + count));
    return ReadBlobs(*st);
  });
}

Result<std::optional<std::string>> SqliteStore::LeafTile(uint64_t index) {
  return readers_.QueryRow<std::string>(
      "SELECT hashes FROM leaf_tiles WHERE idx = ?",
      [&](Statement& st) { st.Bind(1, static_cast<int64_t>(index)); },
      [](Statement& st) { return st.Blob(0); });
}

Result<std::optional<CheckpointRow>> SqliteStore::LatestCheckpoint() {
  using R = std::optional<CheckpointRow>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st =
        db->Cached("SELECT size, root, note, time_ms FROM checkpoints ORDER BY size DESC LIMIT 1");
    if (!st.ok()) return st.status();
    auto row = (*st)->Step();
    if (!row.ok()) return row.status();
    R out;
    if (*row) {
      out = CheckpointRow{static_cast<uint64_t>((*st)->Int(0)), (*st)->Blob(1), (*st)->Blob(2),
                          (*st)->Int(3)};
    }
    return out;
  });
}

Status SqliteStore::SaveCheckpoint(const std::vector<TreeNodeRow>& nodes, const CheckpointRow& cp,
                                   const std::vector<LeafTileRow>& leaf_tiles) {
  auto r = readers_.WithReader<bool>([&](Connection* db) -> Result<bool> {
    LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      auto latest = db->Cached("SELECT COALESCE(MAX(size), 0) FROM checkpoints");
      if (!latest.ok()) return latest.status();
      auto row = (*latest)->Step();
      if (!row.ok()) return row.status();
      const uint64_t latest_size = static_cast<uint64_t>((*latest)->Int(0));
      (*latest)->Reset();
      if (latest_size > cp.size) return Status::Conflict("checkpoint would go backwards");
      for (const auto& n : nodes) {
        LAPOR_RETURN_IF_ERROR(db->Run(
            "INSERT OR IGNORE INTO tree_nodes(level, idx, hash) VALUES(?,?,?)", [&](Statement& st) {
              st.Bind(1, static_cast<int64_t>(n.level))
                  .Bind(2, static_cast<int64_t>(n.index))
                  .BindBlob(3, n.hash);
            }));
      }
      for (const auto& t : leaf_tiles) {
        LAPOR_RETURN_IF_ERROR(db->Run(
            "INSERT OR IGNORE INTO leaf_tiles(idx, hashes) VALUES(?,?)", [&](Statement& st) {
              st.Bind(1, static_cast<int64_t>(t.index)).BindBlob(2, t.hashes);
            }));
      }
      return db->Run(
          "INSERT OR REPLACE INTO checkpoints(size, root, note, time_ms) VALUES(?,?,?,?)",
          [&](Statement& st) {
            st.Bind(1, static_cast<int64_t>(cp.size))
                .BindBlob(2, cp.root)
                .BindBlob(3, cp.note)
                .Bind(4, cp.time_ms);
          });
    }));
    return true;
  });
  return r.status();
}

Status SqliteStore::UpdateCheckpointNote(uint64_t size, const std::string& note) {
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(db->Run(
            "UPDATE checkpoints SET note = ? WHERE size = ?",
            [&](Statement& st) { st.BindBlob(1, note).Bind(2, static_cast<int64_t>(size)); }));
        return true;
      })
      .status();
}

Result<std::optional<WitnessedRow>> SqliteStore::GetWitnessed(const std::string& origin) {
  using R = std::optional<WitnessedRow>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st = db->Cached("SELECT size, root, note, witnessed_ms FROM witnessed WHERE origin = ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, origin);
    auto row = (*st)->Step();
    if (!row.ok()) return row.status();
    R out;
    if (*row) {
      out = WitnessedRow{origin, static_cast<uint64_t>((*st)->Int(0)), (*st)->Blob(1),
                         (*st)->Blob(2), (*st)->Int(3)};
    }
    return out;
  });
}

Status SqliteStore::AdvanceWitnessed(const WitnessedRow& row, uint64_t expected_size) {
  auto r = readers_.WithReader<bool>([&](Connection* db) -> Result<bool> {
    LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      auto cur = db->Cached("SELECT size FROM witnessed WHERE origin = ?");
      if (!cur.ok()) return cur.status();
      (*cur)->Bind(1, row.origin);
      auto found = (*cur)->Step();
      if (!found.ok()) return found.status();
      const uint64_t size = *found ? static_cast<uint64_t>((*cur)->Int(0)) : 0;
      (*cur)->Reset();
      if (size != expected_size) return Status::Conflict(std::to_string(size));
      return db->Run(
          "INSERT OR REPLACE INTO witnessed(origin, size, root, note, witnessed_ms) "
          "VALUES(?,?,?,?,?)",
          [&](Statement& st) {
            st.Bind(1, row.origin)
                .Bind(2, static_cast<int64_t>(row.size))
                .BindBlob(3, row.root)
                .BindBlob(4, row.note)
                .Bind(5, row.time_ms);
          });
    }));
    return true;
  });
  return r.status();
}

Status SqliteStore::AddAlert(const AlertRow& a) {
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        // Kept only while the origin has fewer than kMaxAlertsPerOrigin of this kind (the
        // first ones are the evidence; a member cannot grow the table without bound), and
        // only once per piece of evidence (a replayed pair cannot use up the slots).
        LAPOR_RETURN_IF_ERROR(
            db->Run("INSERT OR IGNORE INTO alerts(origin, kind, detail, note_a, note_b, time_ms) "
                    "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE (SELECT COUNT(*) FROM alerts "
                    "WHERE origin = ?1 AND kind = ?2) < ?7",
                    [&](Statement& st) {
                      st.Bind(1, a.origin)
                          .Bind(2, a.kind)
                          .Bind(3, a.detail)
                          .BindBlob(4, a.note_a)
                          .BindBlob(5, a.note_b)
                          .Bind(6, a.time_ms)
                          .Bind(7, int64_t{kMaxAlertsPerOrigin});
                    }));
        return true;
      })
      .status();
}

Result<std::vector<AlertRow>> SqliteStore::Alerts(int64_t after_id, int limit) {
  return readers_.QueryRows<AlertRow>(
      "SELECT id, origin, kind, detail, note_a, note_b, time_ms FROM alerts WHERE id > ? "
      "ORDER BY id LIMIT ?",
      [&](Statement& st) { st.Bind(1, after_id).Bind(2, int64_t{limit}); },
      [](Statement& st) {
        return AlertRow{st.Int(0),  st.Text(1), st.Text(2), st.Text(3),
                        st.Blob(4), st.Blob(5), st.Int(6)};
      });
}

Result<std::vector<WitnessedRow>> SqliteStore::ListWitnessed() {
  return readers_.QueryRows<WitnessedRow>(
      "SELECT origin, size, root, note, witnessed_ms FROM witnessed ORDER BY origin",
      [](Statement&) {},
      [](Statement& st) {
        return WitnessedRow{st.Text(0), static_cast<uint64_t>(st.Int(1)), st.Blob(2), st.Blob(3),
                            st.Int(4)};
      });
}

Status SqliteStore::AddStatsReport(const StatsReportRow& row, int64_t thin_before_ms) {
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
          auto latest = db->Cached(
              "SELECT time_ms, envelope FROM stats_reports WHERE node_id = ? "
              "ORDER BY time_ms DESC LIMIT 1");
          if (!latest.ok()) return latest.status();
          (*latest)->Bind(1, row.node_id);
          auto found = (*latest)->Step();
          if (!found.ok()) return found.status();
          const bool any = *found;
          const int64_t newest = any ? (*latest)->Int(0) : 0;
          const bool same = any && newest == row.time_ms && (*latest)->Blob(1) == row.envelope;
          (*latest)->Reset();
          if (same) return Status::Ok();  // sent again (its reply was lost): kept already
          if (any && row.time_ms <= newest) {
            return Status::Conflict("a report dated at or after this one is kept already",
                                    "time_ms");
          }
          LAPOR_RETURN_IF_ERROR(db->Run(
              "INSERT INTO stats_reports(node_id, time_ms, received_ms, envelope) VALUES(?,?,?,?)",
              [&](Statement& st) {
                st.Bind(1, row.node_id).Bind(2, row.time_ms).Bind(3, row.received_ms);
                st.BindBlob(4, row.envelope);
              }));
          // Thinning: an older report goes when a later one of the same day is kept. A day ends
          // at its midnight inclusive (a report dated exactly at midnight is the day's last), so
          // that the report a snapshot at any midnight picks is never thinned.
          return db->Run(
              "DELETE FROM stats_reports AS a WHERE node_id = ?1 AND time_ms < ?2 AND EXISTS ("
              "SELECT 1 FROM stats_reports AS b WHERE b.node_id = ?1 AND b.time_ms > a.time_ms "
              "AND b.time_ms <= ((a.time_ms - 1 + ?3) / 86400000 + 1) * 86400000 - ?3)",
              [&](Statement& st) {
                st.Bind(1, row.node_id).Bind(2, thin_before_ms).Bind(3, kStatsDayOffsetMs);
              });
        }));
        return true;
      })
      .status();
}

Result<std::optional<StatsReportRow>> SqliteStore::StatsReportAt(const std::string& node_id,
                                                                 int64_t at_ms) {
  auto rows = readers_.QueryRows<StatsReportRow>(
      "SELECT node_id, time_ms, received_ms, envelope FROM stats_reports "
      "WHERE node_id = ? AND time_ms <= ? ORDER BY time_ms DESC LIMIT 1",
      [&](Statement& st) { st.Bind(1, node_id).Bind(2, at_ms); },
      [](Statement& st) {
        return StatsReportRow{st.Text(0), st.Int(1), st.Int(2), st.Blob(3)};
      });
  if (!rows.ok()) return rows.status();
  std::optional<StatsReportRow> out;
  if (!rows->empty()) out = std::move(rows->front());
  return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> SqliteStore::StatsReportTimesAt(
    const std::vector<std::string>& node_ids, int64_t at_ms) {
  using R = std::vector<std::pair<std::string, int64_t>>;
  return readers_.WithReader<R>([&](Connection* db) -> Result<R> {
    auto st =
        db->Cached("SELECT MAX(time_ms) FROM stats_reports WHERE node_id = ? AND time_ms <= ?");
    if (!st.ok()) return st.status();
    R out;
    for (const auto& node : node_ids) {
      (*st)->Bind(1, node).Bind(2, at_ms);
      auto row = (*st)->Step();
      if (!row.ok()) return row.status();
      if (*row && !(*st)->IsNull(0)) out.emplace_back(node, (*st)->Int(0));
      (*st)->Reset();
    }
    return out;
  });
}

Result<std::vector<int64_t>> SqliteStore::StatsReportTimes(const std::string& node_id) {
  return readers_.QueryRows<int64_t>(
      "SELECT time_ms FROM stats_reports WHERE node_id = ? ORDER BY time_ms",
      [&](Statement& st) { st.Bind(1, node_id); }, [](Statement& st) { return st.Int(0); });
}

}  // namespace lapor::storage
