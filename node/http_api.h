// The HTTP server (Boost.Beast on Boost.Asio): turns each request into a node::Request, hands it
// to the routers of node/http_router.h in turn (one per surface) and sends their Response. It owns
// the transport and its bounds (NodeConfig::edge):
//   - headers: at most edge.max_header_bytes (431), complete within edge.header_timeout_ms of the
//     connection's accept or its previous reply, else the connection is closed without a reply;
//   - bodies: a declared length over the limit is refused (413) before a byte of it is read; a
//     chunked body is counted as it streams and cut at the limit (413); the whole body within
//     edge.body_timeout_ms; 415 for a POST of the wrong media type, before its body is read;
//   - connections: at most edge.max_connections (lowered to fit the open-file limit, which is
//     raised to its hard limit at Start); beyond it a 503 before any request. A connection over
//     the last edge.connection_reserve, or beyond edge.max_connections_per_client of its address
//     (trusted proxies are not counted), is "on the reserve": it has
//     edge.reserve_header_timeout_ms (one second) to send its headers and serves only /healthz,
//     operators (Authorization) and members (federation requests naming their node), 503 for the
//     rest;
//   - per-client rate limits on filing and on access-code look-ups (429 with Retry-After;
//     node/rate_limiter.h).
// Replies from commit callbacks are posted to the HTTP threads; Drain refuses new requests (503)
// and waits for the in-flight ones.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "federation/replicator.h"
#include "federation/witness.h"
#include "node/case_service.h"
#include "node/data_dir.h"
#include "node/metrics.h"
#include "protocol/directory.h"
#include "storage/tree_log.h"

namespace lapor::node {

class HttpSession;

class HttpApi {
 public:
  // Sets cpprestsdk's thread pool size (its HTTP client carries node-to-node requests); must run
  // before any client exists. The server runs its own config.http_threads threads.
  static void InitThreadPool(int threads);
  // Raises the soft open-file limit to the hard one and returns how many client connections fit
  // in it beside the node's own files: `wanted`, or fewer.
  static int FitConnectionsToFileLimit(int wanted);

  // `log` serves /log/ (tiles, checkpoints, proofs); `vkey` is its note verifier key.
  HttpApi(CaseService* service, const NodeConfig& config, const storage::TreeLog* log,
          std::string vkey, federation::Witness* witness, storage::Store* store);
  ~HttpApi();
  // Serves the node-to-node endpoints (/federation/v1/events, pull, rewind) with requests
  // verified against `directory`'s manifest, refusing requests signed before `start_ms`. Call
  // before Start.
  void SetFederation(const protocol::Directory* directory, federation::Replicator* replicator,
                     int64_t start_ms);
  // Counts every request in `metrics` (route, status, latency) and serves its scrape at
  // /metrics. Call before Start; `metrics` must outlive the server.
  void SetMetrics(NodeMetrics* metrics);
  // Binds and starts serving on host:port (port 0: any free port, see port()).
  Status Start(const std::string& host, int port);
  int port() const;  // the bound port, 0 before Start
  // From now on every request is answered 503 without touching the service; waits (at most
  // 30 s) until every request accepted before has had its reply. The listener stays open.
  void Drain();
  // Drain, then close the listener and every connection, and join the HTTP threads.
  void Stop();

 private:
  friend class HttpSession;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::node
