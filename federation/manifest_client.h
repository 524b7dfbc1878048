// Fetches the federation manifest from the hub at start and every manifest_interval_ms, accepts
// it only if signed by the pinned hub key, not older than the one held (no rollback), and every
// member key it adds to the held one is vouched for by that member (protocol::VerifyKeyChanges),
// and keeps the last good one in the store (meta "manifest"), so the node works on while the hub
// is unreachable or serves a manifest it refuses.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "storage/store.h"

namespace lapor::federation {

// Meta key: why the last manifest the hub served was refused ("" or absent: it was not). Kept
// until the hub serves one the node accepts (or the one it holds), so that the status and the
// metrics show it across restarts.
inline constexpr char kManifestRefusedMetaKey[] = "manifest_refused";

class ManifestClient {
 public:
  // `on_accept` runs after a new manifest is stored.
  ManifestClient(storage::Store* store, std::string hub_url, std::string hub_key, int interval_ms,
                 std::function<void()> on_accept = {});
  ~ManifestClient();
  void Start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::federation
