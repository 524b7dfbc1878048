// SqliteStore: Store (storage/store.h) over one SQLite database, composed of
// - StoreWriter (store_writer.h): the SQL of the commit queue's writes, on the writer connection;
// - GroupCommitter (group_commit.h): the commit queue, its committer and checkpointer threads;
// - ReaderPool (reader_pool.h): pooled connections for reads and the roles' own transactions.
// Its methods are defined by role: store.cc (the commit queue, EventLog, CaseIndex, MetaStore and
// Store::Open), store_operators.cc (OperatorStore), store_federation.cc (FederationLedger),
// store_log.cc (TreeStore, WitnessState). Internal to storage/: callers use Store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/group_commit.h"
#include "storage/reader_pool.h"
#include "storage/sqlite.h"
#include "storage/store.h"
#include "storage/store_writer.h"

namespace lapor::storage {

class SqliteStore : public Store {
 public:
  // `writer`: a migrated connection to `path`; `next_seq`: one past the highest stored seq.
  // Starts the committer and checkpointer threads.
  SqliteStore(std::string path, std::unique_ptr<Connection> writer, uint64_t next_seq,
              const StoreOptions& options);
  ~SqliteStore() override;

  // CommitQueue
  using CommitQueue::Enqueue;
  void Enqueue(Write w, Callback on_durable) override;
  void Close() override;
  Status Health() override;
  Status ResumeWrites(uint64_t next_seq) override;

  // EventLog
  Result<uint64_t> NextSeq() override;
  Status ScanEvents(uint64_t from, const std::function<bool(const StoredEvent&)>& fn) override;
  Result<std::vector<std::string>> LeafHashes(uint64_t from, uint64_t count) override;
  Result<std::vector<std::string>> Envelopes(uint64_t from, uint64_t count) override;
  Status AppendOffline(const std::vector<StoredEvent>& events,
                       const std::vector<std::pair<std::string, std::string>>& meta) override;

  // CaseIndex
  Result<std::optional<v1::CaseState>> GetCase(uint64_t ref) override;
  Result<std::vector<StoredEvent>> CaseEvents(uint64_t case_ref) override;
  Result<std::vector<v1::CaseState>> ListCases(const CaseFilter& f) override;
  Result<std::vector<std::pair<v1::CaseState, std::string>>> ListSealedContent(
      const CaseFilter& f) override;
  Result<std::vector<v1::CaseState>> DueCases(int64_t now_ms, int limit) override;
  Status ScanCases(const std::function<bool(const v1::CaseState&)>& fn) override;
  Result<std::optional<std::string>> GetSealed(uint64_t case_ref, const std::string& kind) override;
  Result<bool> HasSealed(uint64_t case_ref, const std::string& kind) override;
  Status EraseSealed(uint64_t case_ref, const std::string& kind) override;
  Status TruncateWal() override;
  Result<int> EraseOutboxSealed(const std::string& case_id, const std::string& kind) override;

  // OperatorStore (store_operators.cc)
  Result<uint64_t> AddOperator(const Operator& op, const std::string& token_hash) override;
  Result<std::optional<Operator>> FindOperator(const std::string& token_hash,
                                               int64_t now_ms) override;
  Result<std::vector<Operator>> ListOperators() override;
  Status RemoveOperator(uint64_t id, int64_t now_ms) override;
  Status RotateOperator(uint64_t id, const std::string& new_token_hash, int64_t expires_ms,
                        int64_t now_ms) override;
  Result<std::vector<OperatorChange>> OperatorChanges() override;
  Status RecordAccess(const std::vector<AccessRecord>& records) override;
  Result<std::vector<AccessRecord>> AccessRecords(const std::string& case_id, int64_t after_id,
                                                  int limit) override;

  // FederationLedger (store_federation.cc)
  Result<int64_t> CountOutbox() override;
  Result<std::optional<std::pair<uint64_t, v1::CaseState>>> FindForeignCase(
      const std::string& case_id) override;
  Result<uint64_t> MaxForeignRef() override;
  Result<std::vector<ForeignEvent>> ForeignCaseEvents(uint64_t case_ref) override;
  Result<std::optional<std::string>> ForeignEvidence(const std::string& hash) override;
  Result<std::optional<std::string>> ForeignHashAt(const std::string& author,
                                                   uint64_t seq) override;
  Result<std::vector<std::string>> ForeignEnvelopesBy(const std::string& author, uint64_t from,
                                                      int limit) override;
  Result<uint64_t> ForeignNextSeq(const std::string& author) override;
  Result<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ForeignTimesAround(
      const std::string& author, uint64_t seq) override;
  Result<std::vector<OutboxRow>> OutboxAfter(const std::string& destination, int64_t after_id,
                                             int limit) override;
  Result<std::vector<DeliveryRow>> Deliveries() override;
  Result<int64_t> ReceivedFrom(const std::string& sender) override;
  Result<std::vector<std::pair<std::string, bool>>> DeliveryOf(
      const std::string& envelope) override;
  Result<std::vector<DeadLetterRow>> DeadLetters(int limit) override;
  Result<int64_t> RelayBacklogBytes(const std::string& sender) override;

  // TreeStore (store_log.cc)
  Result<std::vector<std::string>> TreeNodes(uint32_t level, uint64_t first,
                                             uint64_t count) override;
  Result<std::optional<std::string>> LeafTile(uint64_t index) override;
  Result<std::optional<CheckpointRow>> LatestCheckpoint() override;
  Status SaveCheckpoint(const std::vector<TreeNodeRow>& nodes, const CheckpointRow& cp,
                        const std::vector<LeafTileRow>& leaf_tiles) override;
  Status UpdateCheckpointNote(uint64_t size, const std::string& note) override;

  Result<uint64_t> DataVersion() override;

  // MetaStore
  Result<std::optional<std::string>> GetMeta(const std::string& key) override;
  Status SetMeta(const std::string& key, const std::string& value) override;
  Status ReplaceMeta(const std::string& key, const std::string& expected,
                     const std::string& value) override;

  // WitnessState (store_log.cc)
  Result<std::optional<WitnessedRow>> GetWitnessed(const std::string& origin) override;
  Status AdvanceWitnessed(const WitnessedRow& row, uint64_t expected_size) override;
  Status AddAlert(const AlertRow& a) override;
  Result<std::vector<AlertRow>> Alerts(int64_t after_id, int limit) override;
  Result<std::vector<WitnessedRow>> ListWitnessed() override;

  // StatsHistory (store_log.cc)
  Status AddStatsReport(const StatsReportRow& row, int64_t thin_before_ms) override;
  Result<std::optional<StatsReportRow>> StatsReportAt(const std::string& node_id,
                                                      int64_t at_ms) override;
  Result<std::vector<int64_t>> StatsReportTimes(const std::string& node_id) override;
  Result<std::vector<std::pair<std::string, int64_t>>> StatsReportTimesAt(
      const std::vector<std::string>& node_ids, int64_t at_ms) override;

 private:
  Status AppendOfflineRows(const std::vector<StoredEvent>& events,
                           const std::vector<std::pair<std::string, std::string>>& meta);
  const std::string path_;  // full scans open a connection of their own
  // Members are destroyed in reverse: the committer's threads stop first (they use the writer),
  // and the writer's connection closes last.
  StoreWriter writer_;  // used only by the committer thread
  ReaderPool readers_;
  // DataVersion's own connection: it never writes, so its data_version moves with every commit.
  Mutex version_mu_;
  std::unique_ptr<Connection> version_conn_ LAPOR_GUARDED_BY(version_mu_);
  GroupCommitter committer_;
};

}  // namespace lapor::storage
