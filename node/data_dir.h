// The node's data folder: what `lapor-node init` writes and every other command reads.
//
//   node.json      configuration (jurisdiction, listen address, origin, SLA settings)
//   node.key       Ed25519 secret key, hex, mode 0600, replaced only by `key activate`
//   node.key.next  the key the node changes to (`lapor-node key new`), hex, mode 0600
//   node.key.retired-<ms>  an earlier node.key, kept by `key activate` (at that time, ms since
//                  the epoch): its events, checkpoints and sealed boxes are still this node's
//   sealing.key    secretbox key for personal data at rest, hex, mode 0600
//   holidays.txt   the holiday calendar (YYYY-MM-DD per line), edited by the operator
//   lapor.db       SQLite database (+ -wal, -shm)
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "federation/request_auth.h"
#include "protocol/manifest.h"

namespace lapor::node {

// The HTTP edge's bounds (node/http_api.h), node.json's "edge" object. A rate of 0 turns that
// limit off.
struct EdgeLimits {
  int max_connections = 1000;   // open client connections; beyond it a 503 before any request
  int connection_reserve = 32;  // of those, the last ones serve only /healthz and operators
  // Connections one client address may hold before its further ones are treated as on the
  // reserve (trusted proxies are not counted).
  int max_connections_per_client = 128;
  int header_timeout_ms = 15000;  // from accept (or the last reply) until a request's headers end
  // The same for a connection on the reserve (at most header_timeout_ms): short, so that slow
  // clients cannot hold the reserve that /healthz and operators need.
  int reserve_header_timeout_ms = 1000;
  int body_timeout_ms = 60000;          // to read a request's body once its headers are in
  size_t max_header_bytes = 16 * 1024;  // the request line and headers (431 above)
  int filings_per_minute = 30;          // complaints one client may file (429 beyond, Retry-After)
  int access_per_minute = 60;           // requests carrying an access code one client may make
  // Peers (IP addresses, e.g. a TLS proxy on loopback) whose X-Forwarded-For names the client
  // that rate limits count; any other peer is the client itself.
  std::vector<std::string> trusted_proxies;
  // How long an operator's browser session lasts (POST /api/v1/session), whatever it does.
  int session_hours = 8;
};

struct NodeConfig {
  std::string node_id;       // the jurisdiction code: one node per jurisdiction
  std::string jurisdiction;  // "00" (hub), "32" (province) or "32.04" (regency/city)
  std::string listen = "127.0.0.1:8080";
  std::string origin;  // log origin / key name, default lapor.go.id/node/<jurisdiction>
  int utc_offset_minutes = 7 * 60;
  int sla_interval_ms = 60000;
  int http_threads = 4;
  // Group commit under concurrency (storage::StoreOptions): wait up to commit_gather_us for
  // commit_gather_writes writes before committing.
  int commit_gather_writes = 24;
  int commit_gather_us = 1000;
  // Background cadences. The defaults suit a node with its own machine; a machine hosting
  // hundreds of nodes (the national simulation) spaces them out, since each pass of each node
  // costs a wake-up and, for the first two, an fdatasync.
  int checkpoint_interval_ms = 250;      // shortest gap between two signed log checkpoints
  int wal_checkpoint_interval_ms = 200;  // WAL frames copied into the database (StoreOptions)
  int discovery_interval_ms = 2000;      // outbox rows looked for without a commit's wake-up
  size_t max_body_bytes = 64 * 1024;
  EdgeLimits edge;
  bool log_requires_auditor = false;  // /log/ endpoints public (default) or auditor/admin only
  std::string hub_key;  // hex Ed25519 key of the national hub, pinned at init (--hub-key)
  std::string hub_url;  // where the manifest is fetched from (--hub-url)
  int manifest_interval_ms = 60000;
  // The hub: how long each manifest it issues stays fresh (it re-issues with a third left).
  int64_t manifest_validity_ms = protocol::kDefaultManifestValidityMs;
  std::vector<std::string> witness_of;  // verifier keys of the logs this node cosigns
  // Witnesses of this node's log: {"url": base URL, "vkey": cosigner key}.
  std::vector<std::pair<std::string, std::string>> witnesses;
  // Event delivery to other nodes (federation/replicator.h).
  std::map<std::string, std::string> peer_urls;  // node id -> base URL, overriding the manifest
  // PEM certificates of the CA that https peers' (and the hub's, witnesses') certificates must
  // chain to; empty: the system's CAs (federation/peer_client.h). A relative path is in the folder.
  std::string tls_ca_file;
  int delivery_batch = 256;
  int retry_initial_ms = 200;
  int retry_max_ms = 30000;
  int relay_after_ms = 60000;  // store-and-forward through the hub after this long failing
  // A row a destination keeps deferring moves to the dead-letter list after this long (0: never).
  int64_t dead_letter_after_ms = 24LL * 3600 * 1000;
  // Rows a destination acknowledged are deleted this many days after they were queued (0: kept):
  // a destination restored from a backup younger than this is sent again what followed it.
  double outbox_retention_days = 30;
  int64_t relay_backlog_max_bytes = 64LL << 20;  // the hub: what one member may have waiting
  double receive_busy_share = 0.1;  // a large batch's share of the time while local requests come
  int64_t receive_pace_above_bytes = 1 << 20;  // batches up to this size are not paced
  int64_t receive_batch_max_ms = 5000;         // how long one batch may take before the rest waits
  int request_timeout_ms = 10000;              // one delivery request to another node
  // How far another node's signed request may be stamped from this node's clock (and how long its
  // nonce is remembered): 5 minutes. Longer only for a clock run faster than real time (the
  // national simulation), where a request can wait in a queue for simulated hours.
  int64_t request_window_ms = federation::kRequestWindowMs;
  int delivery_threads = 8;         // concurrent deliveries to other nodes (one destination each)
  int stats_interval_ms = 3600000;  // statistics report to the hub
  // Retention (CaseService::RunRetention): a closed (selesai) or archived (arsip) case this node
  // owns has its personal data erased everywhere this many days after its last event; 0 keeps it
  // until someone erases it. Operators are warned retention_warn_days before. Fractions allowed.
  double retention_days = 365;
  double retention_warn_days = 14;
  int retention_interval_ms = 3600000;  // how often the rule runs
};

// The store's meta key holding the first seq an earlier key of the node did not sign (decimal),
// written by `key activate` before it retires the key.
inline std::string RetiredKeyMetaKey(const std::string& public_key) {
  return "retired_key_next_seq:" + crypto::HexEncode(public_key);
}

// A file name `key activate` gives an earlier key: node.key.retired-<digits>.
inline bool IsRetiredKeyName(std::string_view name) {
  constexpr std::string_view kPrefix = "node.key.retired-";
  return name.size() > kPrefix.size() && name.substr(0, kPrefix.size()) == kPrefix &&
         name.find_first_not_of("0123456789", kPrefix.size()) == std::string_view::npos;
}

class DataDir {
 public:
  explicit DataDir(std::string path) : path_(std::move(path)) {}

  // Creates the folder if needed and writes config, keys and an empty holiday calendar. Refuses
  // (AlreadyExists) if a config or key is already there. Returns the new signing key.
  Result<crypto::SigningKey> Init(const NodeConfig& config);
  Result<NodeConfig> LoadConfig() const;
  Result<crypto::SigningKey> LoadSigningKey() const;
  Result<std::string> LoadSealingKey() const;
  // The key the node changes to: the one in node.key.next, or a new one written there (0600)
  // if there is none yet. `made` says which.
  Result<crypto::SigningKey> NextSigningKey(bool* made) const;
  // node.key.next if there is one (nullopt if not), without making one.
  Result<std::optional<crypto::SigningKey>> HeldNextKey() const;
  // The node's earlier keys (node.key.retired-*), newest first.
  Result<std::vector<crypto::SigningKey>> RetiredSigningKeys() const;
  // Makes node.key.next the node's key: node.key is kept as node.key.retired-<now_ms> (a hard
  // link, so node.key is never missing), then node.key.next is renamed over node.key; the folder
  // is fsynced after each step. Interrupted, it can be run again. The caller holds the folder's
  // lock (no node runs on it). Returns the retired file's path.
  Result<std::string> ActivateNextKey(int64_t now_ms) const;

  std::string ConfigPath() const { return path_ + "/node.json"; }
  std::string KeyPath() const { return path_ + "/node.key"; }
  std::string NextKeyPath() const { return path_ + "/node.key.next"; }
  std::string SealingKeyPath() const { return path_ + "/sealing.key"; }
  std::string HolidaysPath() const { return path_ + "/holidays.txt"; }
  std::string DatabasePath() const { return path_ + "/lapor.db"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// node.json's "edge" object: written whole by init; read key by key (unknown keys and values out of
// range are refused, naming the setting).
nlohmann::json EdgeJson(const EdgeLimits& e);
Status ReadEdge(const nlohmann::json& j, EdgeLimits* e);
bool IsIpAddress(const std::string& s);

// Parses "HOST:PORT" (port 1-65535). InvalidArgument names `field`.
Status ParseListen(const std::string& listen, std::string* host, int* port, const char* field);

// Creates `path` and its missing parents (`mkdir -p`; parents 0755 less the umask) and sets `path`
// itself to `mode`, also when it already existed. Fails if `path` exists and is not a folder.
Status MakeDirs(const std::string& path, mode_t mode);

// One process per data folder: an exclusive lock on DIR/lock, taken without waiting, which the
// file descriptor returned holds until it is closed or the process exits (the kernel drops it
// when the process dies, kill -9 included). The file holds the holder's pid; Conflict naming it
// if another process holds the lock.
Result<int> LockDataDir(const std::string& dir);

}  // namespace lapor::node
