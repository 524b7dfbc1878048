// A running node: every subsystem it is made of, owned in one place, opened in dependency order
// (store -> directory -> replicator -> case service -> log -> witness -> HTTP edge -> loops) and
// stopped in reverse. `lapor-node run` is Open, Start, wait for a stop signal, Stop.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "base/periodic.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "federation/manifest_client.h"
#include "federation/replicator.h"
#include "federation/witness.h"
#include "federation/witness_client.h"
#include "node/case_service.h"
#include "node/data_dir.h"
#include "node/http_api.h"
#include "node/metrics.h"
#include "protocol/directory.h"
#include "storage/store.h"
#include "storage/tree_log.h"

namespace lapor::node {

class NodeContext {
 public:
  // Opens the data folder `dir` (config, keys, store, log, case service); nothing runs yet.
  // `listen_override` replaces the configured host:port if not empty.
  static Result<std::unique_ptr<NodeContext>> Open(const std::string& dir,
                                                   const std::string& listen_override);
  ~NodeContext();
  NodeContext(const NodeContext&) = delete;
  NodeContext& operator=(const NodeContext&) = delete;

  // Takes back this node's own events other nodes hold beyond its log (after a restore), then
  // serves HTTP and starts the loops (SLA, delivery, statistics, manifest, witnesses, log, health).
  // Under systemd (Type=notify) it then says READY=1; the health loop pings the watchdog while
  // the store has not failed, and Stop says STOPPING=1 first.
  Status Start();
  // Stops in the reverse order: the HTTP edge first (in-flight requests get their replies), the
  // loops, a last log integration, the store. An error if the store failed at any time (the
  // process should then exit non-zero so that its supervisor restarts it from disk).
  Status Stop();

 private:
  explicit NodeContext(std::string dir) : data_(std::move(dir)) {}
  // Reloads the stored manifest into directory_ if it changed.
  void LoadManifest() LAPOR_EXCLUDES(manifest_mu_);
  // The reload loop's turn: LoadManifest when the stored manifest may have changed.
  void ReloadManifestIfChanged();
  // The hub: re-signs its manifest, version + 1, once less than a third of its validity is left
  // (protocol::DueForReissue), so members never hold a stale one while they reach the hub.
  void ReissueManifest();
  // Logs once when the manifest in use goes stale, and once when it is fresh again.
  void SayIfManifestExpired();
  void SendStats();
  // The health loop's turn while the store is read-only on a full disk (`why`): says so once, and
  // resumes writes when the data folder has kResumeFreeBytes free.
  void WhileDiskFull(const Status& why);
  // Whether this node's log is whole, i.e. no other node has seen more of it: takes back this
  // node's own events its peers hold beyond its log (catch-up), asks its witnesses the size they
  // cosigned, and tells the case service to sign nothing while the log is behind, or while a
  // folder restored from a backup has not yet heard from the hub or a witness (nothing could
  // then tell how far the log went). Clears the state (and the restore mark) once whole.
  // Runs at start, before the node serves, then every kWholeCheckMs while the log is behind.
  void CheckLogWhole();
  static constexpr int kWholeCheckMs = 3000;
  // The retention loop's turn (CaseService::RunRetention with node.json's retention settings):
  // counts and logs erasures, and warns when the cases due soon change.
  void RunRetention();
  int retention_warned_ = 0;  // retention loop only: cases due soon when it last warned
  // Room the data folder must have before writes resume after a full disk: enough that the next
  // commits and the WAL checkpoint do not fill it again at once.
  static constexpr uint64_t kResumeFreeBytes = 32ull << 20;
  // The log loop's longest sleep (its shortest gap between two checkpoints under load is
  // NodeConfig::checkpoint_interval_ms).
  static constexpr int kIntegrateIdleMs = 5000;
  // A member's reload loop's interval (see Start).
  static constexpr int kMemberReloadMs = 5000;

  DataDir data_;
  NodeConfig config_;
  // First in, last out: the store's commit hook and the HTTP edge report to it.
  std::unique_ptr<NodeMetrics> metrics_ = std::make_unique<NodeMetrics>();
  // The log loop: a new checkpoint soon after the store commits events of this node's log (the
  // commit hook wakes it, so it outlives the store), and every few seconds regardless.
  std::unique_ptr<Periodic> integrator_;
  std::string host_;
  int port_ = 0;
  std::shared_ptr<const crypto::SigningKey> key_;
  std::unique_ptr<storage::Store> store_;
  protocol::Directory directory_;
  Mutex manifest_mu_;
  std::string loaded_manifest_ LAPOR_GUARDED_BY(manifest_mu_);
  // The reload loop only: the store's data version it last looked at.
  uint64_t manifest_data_version_ = 0;
  // The SLA loop only (and Open): holidays.txt as last parsed (FileStamp).
  std::string holidays_stamp_;
  federation::ReplicatorOptions replicator_options_;
  std::unique_ptr<federation::Replicator> replicator_;
  std::unique_ptr<CaseService> service_;
  std::unique_ptr<storage::TreeLog> log_;
  std::unique_ptr<federation::Witness> witness_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<Periodic> sla_, stats_, manifest_reload_, health_, whole_, retention_, reissue_;
  bool manifest_expired_said_ = false;  // SayIfManifestExpired only (the reload loop)
  // The largest size of this node's log a witness said it holds (WitnessClient's on_ahead).
  std::atomic<uint64_t> witness_ahead_{0};
  std::string behind_said_;  // CheckLogWhole only: the reason last logged
  std::unique_ptr<federation::ManifestClient> manifest_client_;
  std::unique_ptr<federation::WitnessClient> witness_client_;
  std::thread resend_;
  // Set by CheckLogWhole when this folder held less of the node's log than others had seen (it
  // came from a backup): every peer is then asked to resend.
  std::atomic<bool> log_was_behind_{false};
  std::atomic<bool> store_failed_{false};
  bool disk_full_logged_ = false;  // health loop only
  bool started_ = false;
};

}  // namespace lapor::node
