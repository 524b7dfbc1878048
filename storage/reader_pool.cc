#include "storage/reader_pool.h"

namespace lapor::storage {

Result<std::unique_ptr<Connection>> ReaderPool::Acquire() {
  {
    MutexLock lock(mu_);
    if (!pool_.empty()) {
      std::unique_ptr<Connection> conn = std::move(pool_.back());
      pool_.pop_back();
      return conn;
    }
  }
  return Connection::Open(path_, false);
}

void ReaderPool::Release(std::unique_ptr<Connection> conn) {
  conn->ResetAll();  // a pooled connection must not pin an old snapshot
  MutexLock lock(mu_);
  pool_.push_back(std::move(conn));
}

v1::CaseState ParseState(const std::string& blob) {
  v1::CaseState state;
  state.ParseFromString(blob);
  return state;
}

Result<std::vector<std::string>> ReadBlobs(Statement* st) {
  std::vector<std::string> out;
  LAPOR_RETURN_IF_ERROR(ForEachRow(*st, [&](Statement& row) {
    out.push_back(row.Blob(0));
    return true;
  }));
  return out;
}

Result<std::vector<v1::CaseState>> ReadStates(Statement* st) {
  std::vector<v1::CaseState> out;
  LAPOR_RETURN_IF_ERROR(ForEachRow(*st, [&](Statement& row) {
    out.push_back(ParseState(row.Blob(0)));
    return true;
  }));
  return out;
}

Result<std::vector<StoredEvent>> ReadEvents(Statement* st) {
  std::vector<StoredEvent> out;
  LAPOR_RETURN_IF_ERROR(ForEachRow(*st, [&](Statement& row) {
    out.push_back(StoredEvent{static_cast<uint64_t>(row.Int(0)),
                              static_cast<uint64_t>(row.Int(1)),
                              row.Blob(2),
                              row.Blob(3),
                              {}});
    return true;
  }));
  return out;
}

}  // namespace lapor::storage
