// The federation surface (/federation/v1/...).
// For other members (signed protobuf requests, federation/request_auth.h): event batches and the
// hub's relay (events), pulls of events and case chains (pull), resend requests (rewind), the
// members' statistics reports to the hub (POST stats), and the manifest this node holds
// (manifest). Every refusal of a member's request is logged with the sender and the reason.
// For this node's operators (JSON, any operator token): delivery status, equivocation alerts, and
// at the hub the national statistics (GET stats).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "federation/replicator.h"
#include "federation/request_auth.h"
#include "node/case_service.h"
#include "node/http_router.h"
#include "node/pull_service.h"
#include "node/stats_service.h"
#include "protocol/directory.h"
#include "storage/store.h"

namespace lapor::node {

// Node-to-node batches are larger than citizens' requests.
inline constexpr size_t kMaxFederationBody = 16 << 20;

class FederationRouter : public Router {
 public:
  // `directory` null: not federated (members' requests are refused as Unavailable);
  // `replicator` null: rewinds are acknowledged and ignored. `start_ms`: requests signed before
  // it are refused (federation::RequestVerifier). `on_pool` runs replies that come from commit
  // callbacks. `log`: this node's log, for the proofs of its own events in pulls (null: none).
  // `stats`: the hub's statistics reports, shared with the NationalRouter (outlives the router).
  // `request_window_ms`: how far a member's request may be signed from this node's clock.
  FederationRouter(CaseService* service, storage::Store* store, const storage::TreeLog* log,
                   const protocol::Directory* directory, federation::Replicator* replicator,
                   int64_t start_ms, Executor on_pool, StatsService* stats,
                   int64_t request_window_ms = federation::kRequestWindowMs);
  bool Handle(const Request& req, const Reply& reply) override;

 private:
  // POST events, pull, rewind, stats: from another member.
  bool FromMember(const Request& req, const Reply& reply);
  bool DeliveryStatus(const Request& req, const Reply& reply);
  bool EquivocationAlerts(const Request& req, const Reply& reply);
  bool National(const Request& req, const Reply& reply);

  CaseService* service_;
  storage::Store* store_;
  const protocol::Directory* directory_;
  federation::Replicator* replicator_;
  federation::RequestVerifier verifier_;
  Executor on_pool_;
  StatsService* stats_;
  PullService pulls_;
};

}  // namespace lapor::node
