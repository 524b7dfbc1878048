// The HTTP server (cpprestsdk listener): turns each request into a node::Request, hands it to the
// routers of node/http_router.h in turn (one per surface) and sends their Response. It owns the
// transport only: content-type and size checks before a body is read, replies from commit
// callbacks on the HTTP pool, refusing new requests and draining in-flight ones at Stop.
// This is the only translation unit that includes cpprestsdk's listener (slow to compile).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "federation/replicator.h"
#include "federation/witness.h"
#include "node/case_service.h"
#include "node/data_dir.h"
#include "protocol/directory.h"
#include "storage/tree_log.h"

namespace lapor::node {

class HttpApi {
 public:
  // Sets cpprestsdk's thread pool size; must run before any listener exists.
  static void InitThreadPool(int threads);

  // `log` serves /log/ (tiles, checkpoints, proofs); `vkey` is its note verifier key.
  HttpApi(CaseService* service, const NodeConfig& config, const storage::TreeLog* log,
          std::string vkey, federation::Witness* witness, storage::Store* store);
  ~HttpApi();
  // Serves the node-to-node endpoints (/federation/v1/events, pull, rewind) with requests
  // verified against `directory`'s manifest, refusing requests signed before `start_ms`. Call
  // before Start.
  void SetFederation(const protocol::Directory* directory, federation::Replicator* replicator,
                     int64_t start_ms);
  // Binds and starts serving on host:port.
  Status Start(const std::string& host, int port);
  // From now on every request is answered 503 without touching the service; waits (at most
  // 30 s) until every request accepted before has had its reply. The listener stays open.
  void Drain();
  // Drain, then close the listener. Closing while clients still hold connections open can crash
  // inside cpprestsdk's asio threads, so a process that is about to exit drains and skips this.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::node
