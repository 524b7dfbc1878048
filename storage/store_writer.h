// StoreWriter: the SQL of the commit queue's writes, on the store's one writer connection. The
// GroupCommitter (group_commit.h) hands it each batch on its committer thread; nothing else
// writes through this connection. Internal to storage/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/sqlite.h"
#include "storage/store.h"

namespace lapor::storage {

// Deletes the sealed outbox rows (copies of personal data for other nodes) of case `case_id`
// whose kind `match` accepts, inside the caller's transaction; returns how many.
Result<int> DeleteSealedOutboxRows(Connection* db, const std::string& case_id,
                                   const std::function<bool(const std::string&)>& match);

class StoreWriter {
 public:
  // Takes the writer connection (migrated) and tunes it for group commit: no automatic WAL
  // checkpoints (the GroupCommitter's checkpointer runs them), files grown in 8 MiB steps.
  explicit StoreWriter(std::unique_ptr<Connection> db);

  // Writes every write of `batch`, in order, in one transaction (BEGIN IMMEDIATE ... COMMIT,
  // synchronous=FULL): when it returns Ok the batch is durable; on an error it is rolled back and
  // none of it is stored. If the process dies meanwhile, all of it or none of it is there after
  // restart. Not thread-safe: the committer thread only.
  Status CommitBatch(const std::vector<Write>& batch);

  // Indexes up to `max_cases` of the cases noted for search in a transaction of its own
  // (storage/case_text.h IndexPending): true if more are noted. The committer thread only.
  Result<bool> IndexStep(int max_cases);

 private:
  // One write: its event (own or foreign), the case's state, sealed rows, outbox rows with their
  // destinations' delivery rows, delivery progress and received marks.
  Status Apply(const Write& w);
  // Write::erase: deletes the case's sealed records of `kind` and their outbox copies.
  Status Erase(uint64_t ref, const std::string& case_id, const std::string& kind);

  std::unique_ptr<Connection> db_;
};

}  // namespace lapor::storage
