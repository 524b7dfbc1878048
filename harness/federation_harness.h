// A federation of real lapor-node processes for integration tests: the national hub ("00") plus
// province/regency nodes, each on a fixed loopback port that survives restarts, all pinned to the
// hub's key, all members of the hub's signed manifest, each with an admin and an auditor. Links
// between two nodes can be routed through a FaultProxy.
//
// Setup (constructor), in order:
//   1. the hub: `init --jurisdiction 00`, node.json `listen` = its fixed port, started;
//   2. every other node: `init --jurisdiction J --listen 127.0.0.1:<port> --hub-key <hub>
//      --hub-url http://127.0.0.1:<hub port>`, node.json manifest_interval_ms and sla_interval_ms
//      (200, as NodeProcess::Init), then `federation add-member` on the (running) hub;
//   3. an admin and an auditor on every node; every node started;
//   4. waits until every node serves the final manifest version, signed by the hub key.
// The hub is listed in its own manifest: `federation add-member` adds "00" itself (URL
// "http://" + the hub's node.json `listen`) when it publishes the first version, and refuses an
// explicit "00" as already a member, so the harness sets the hub's `listen` before any add.
// The running hub serves its stored manifest (meta "manifest") on every request: members added
// while it runs are served at once, no restart needed.
//
// Throws std::runtime_error (with the command output or the node log's path) if any step fails;
// nodes already started are killed. The data folders stay under root() for post-mortems.
// Tests wait for what the nodes do with Eventually (harness/eventually.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "harness/fault_proxy.h"
#include "harness/node_process.h"

namespace lapor::testing {

struct FederationOptions {
  // The members besides the hub (a "00" here is ignored: the hub is always there).
  std::vector<std::string> jurisdictions = {"32", "33", "33.01"};
  int manifest_interval_ms = 100;  // how often members fetch the manifest from the hub
};

// The hashes (hex) of the events `node` holds of case `id`, sorted (empty if it holds none).
std::vector<std::string> EventHashes(const NodeProcess& node, const std::string& id,
                                     const std::string& token);

class Federation {
 public:
  explicit Federation(FederationOptions opts = {});
  ~Federation();  // kills all nodes (-9), then closes the proxies
  Federation(const Federation&) = delete;
  Federation& operator=(const Federation&) = delete;

  NodeProcess& hub();
  NodeProcess& node(const std::string& jurisdiction);  // "00" returns the hub; throws if unknown
  std::vector<std::string> jurisdictions() const;      // "00" first, then the options' order
  const std::string& admin_token(const std::string& jurisdiction) const;
  const std::string& auditor_token(const std::string& jurisdiction) const;
  // A liaison of `agency` at that node, created on first use with `lapor-node operator add` (the
  // node may be running); later calls return the same token.
  std::string liaison_token(const std::string& jurisdiction, const std::string& agency);
  std::string hub_key_hex() const { return hub_key_hex_; }
  // The manifest version every node served when the constructor returned (1 + members added).
  uint64_t manifest_version() const { return manifest_version_; }
  // The fixed port of a node (the same across restarts; valid even while it is stopped).
  int port(const std::string& jurisdiction) const;
  std::string url(const std::string& jurisdiction) const;  // http://127.0.0.1:<port>
  const std::string& root() const { return root_; }        // holds <jurisdiction>/ data folders

  // Routes what `from` sends to `to` through a FaultProxy (upstream = to's fixed port): merges
  // {to: "http://127.0.0.1:<proxy port>"} into `from`'s node.json "peer_urls" (an object node id
  // -> base URL) and restarts `from` (SIGTERM, same port) if it is running. A second call for the
  // same pair returns the same proxy and changes nothing.
  FaultProxy& Proxy(const std::string& from, const std::string& to);

  // The manifest version `node` serves, if signed by the hub key (0 if none, or not signed by it).
  uint64_t ServedManifestVersion(const std::string& jurisdiction) const;

 private:
  struct Member {
    std::unique_ptr<NodeProcess> process;
    int port = 0;
    std::string admin_token;
    std::string auditor_token;
    std::map<std::string, std::string> liaison_tokens;  // by agency
  };
  Member& member(const std::string& jurisdiction);
  const Member& member(const std::string& jurisdiction) const;

  FederationOptions opts_;
  std::string root_;
  std::string hub_key_hex_;
  uint64_t manifest_version_ = 0;
  std::vector<std::string> order_;  // "00" first
  // Declared before members_ so that they are destroyed after the nodes.
  std::map<std::pair<std::string, std::string>, std::unique_ptr<FaultProxy>> proxies_;
  std::map<std::string, Member> members_;
};

}  // namespace lapor::testing
