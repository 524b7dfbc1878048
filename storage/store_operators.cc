// OperatorStore over the store's pooled connections: operators, their changes and the access
// record (storage/sqlite_store.h).
#include <functional>
#include <string>
#include <vector>

#include "storage/sqlite_store.h"

namespace lapor::storage {
namespace {

constexpr const char* kOperatorColumns =
    "id, name, role, agency, expires_ms, removed_ms, created_ms";
Operator ReadOperator(Statement& st) {
  return Operator{static_cast<uint64_t>(st.Int(0)),
                  st.Text(1),
                  st.Text(2),
                  st.Text(3),
                  st.Int(4),
                  st.Int(5),
                  st.Int(6)};
}

Status RecordOperatorChange(Connection* db, uint64_t id, const std::string& change,
                            const std::string& detail, int64_t now_ms = 0) {
  return db->Run(
      "INSERT INTO operator_changes(time_ms, operator_id, change, detail) "
      "VALUES(CASE WHEN ? > 0 THEN ? ELSE strftime('%s','now') * 1000 END, ?, ?, ?)",
      [&](Statement& st) {
        st.Bind(1, now_ms)
            .Bind(2, now_ms)
            .Bind(3, static_cast<int64_t>(id))
            .Bind(4, change)
            .Bind(5, detail);
      });
}

// Changes one active operator and records the change, in one transaction.
Status ChangeOperator(ReaderPool& readers, uint64_t id, int64_t now_ms, const std::string& sql,
                      const std::function<void(Statement&)>& bind, const std::string& change,
                      const std::string& detail) {
  return readers
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
          LAPOR_RETURN_IF_ERROR(db->Run(sql, bind));
          if (sqlite3_changes(db->raw()) == 0) {
            return Status::NotFound("no active operator " + std::to_string(id), "id");
          }
          return RecordOperatorChange(db, id, change, detail, now_ms);
        }));
        return true;
      })
      .status();
}

}  // namespace

Result<uint64_t> SqliteStore::AddOperator(const Operator& op, const std::string& token_hash) {
  return readers_.WithReader<uint64_t>([&](Connection* db) -> Result<uint64_t> {
    uint64_t id = 0;
    LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      LAPOR_RETURN_IF_ERROR(
          db->Run("INSERT INTO operators(name, role, agency, token_hash, created_ms, expires_ms) "
                  "VALUES(?, ?, ?, ?, strftime('%s','now') * 1000, ?)",
                  [&](Statement& st) {
                    st.Bind(1, op.name)
                        .Bind(2, op.role)
                        .Bind(3, op.agency)
                        .BindBlob(4, token_hash)
                        .Bind(5, op.expires_ms);
                  }));
      id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db->raw()));
      return RecordOperatorChange(db, id, "added",
                                  op.role + (op.agency.empty() ? "" : " of " + op.agency));
    }));
    return id;
  });
}

Result<std::optional<Operator>> SqliteStore::FindOperator(const std::string& token_hash,
                                                          int64_t now_ms) {
  return readers_.QueryRow<Operator>(
      std::string("SELECT ") + kOperatorColumns +
          " FROM operators WHERE token_hash = ? AND removed_ms = 0 AND "
          "(expires_ms = 0 OR expires_ms > ?)",
      [&](Statement& st) { st.BindBlob(1, token_hash).Bind(2, now_ms); }, ReadOperator);
}

Result<std::vector<Operator>> SqliteStore::ListOperators() {
  return readers_.QueryRows<Operator>(
      std::string("SELECT ") + kOperatorColumns + " FROM operators ORDER BY id", NoBind,
      ReadOperator);
}

Status SqliteStore::RemoveOperator(uint64_t id, int64_t now_ms) {
  return ChangeOperator(
      readers_, id, now_ms, "UPDATE operators SET removed_ms = ? WHERE id = ? AND removed_ms = 0",
      [&](Statement& st) { st.Bind(1, now_ms).Bind(2, static_cast<int64_t>(id)); }, "removed", "");
}

Status SqliteStore::RotateOperator(uint64_t id, const std::string& new_token_hash,
                                   int64_t expires_ms, int64_t now_ms) {
  return ChangeOperator(
      readers_, id, now_ms,
      "UPDATE operators SET token_hash = ?1, "
      "expires_ms = CASE WHEN ?2 < 0 THEN expires_ms ELSE ?2 END "
      "WHERE id = ?3 AND removed_ms = 0",
      [&](Statement& st) {
        st.BindBlob(1, new_token_hash).Bind(2, expires_ms).Bind(3, static_cast<int64_t>(id));
      },
      "rotated",
      expires_ms > 0    ? "expires_ms=" + std::to_string(expires_ms)
      : expires_ms == 0 ? "no expiry"
                        : "expiry kept");
}

Result<std::vector<OperatorChange>> SqliteStore::OperatorChanges() {
  return readers_.QueryRows<OperatorChange>(
      "SELECT id, time_ms, operator_id, change, detail FROM operator_changes ORDER BY id", NoBind,
      [](Statement& st) {
        return OperatorChange{st.Int(0), st.Int(1), static_cast<uint64_t>(st.Int(2)), st.Text(3),
                              st.Text(4)};
      });
}

Status SqliteStore::RecordAccess(const std::vector<AccessRecord>& records) {
  if (records.empty()) return Status::Ok();
  return readers_
      .WithReader<bool>([&](Connection* db) -> Result<bool> {
        LAPOR_RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
          for (const auto& r : records) {
            LAPOR_RETURN_IF_ERROR(
                db->Run("INSERT INTO access_log(time_ms, operator_id, role, case_id, fields) "
                        "VALUES(?, ?, ?, ?, ?)",
                        [&](Statement& st) {
                          st.Bind(1, r.time_ms)
                              .Bind(2, static_cast<int64_t>(r.operator_id))
                              .Bind(3, r.role)
                              .Bind(4, r.case_id)
                              .Bind(5, r.fields);
                        }));
          }
          return Status::Ok();
        }));
        return true;
      })
      .status();
}

Result<std::vector<AccessRecord>> SqliteStore::AccessRecords(const std::string& case_id,
                                                             int64_t after_id, int limit) {
  return readers_.QueryRows<AccessRecord>(
      "SELECT id, time_ms, operator_id, role, case_id, fields FROM access_log "
      "WHERE (? = '' OR case_id = ?) AND id > ? ORDER BY id LIMIT ?",
      [&](Statement& st) {
        st.Bind(1, case_id).Bind(2, case_id).Bind(3, after_id).Bind(4, int64_t{limit});
      },
      [](Statement& st) {
        return AccessRecord{st.Int(0),  st.Int(1),  static_cast<uint64_t>(st.Int(2)),
                            st.Text(3), st.Text(4), st.Text(5)};
      });
}

}  // namespace lapor::storage
