// TreeLog: the node's events as an RFC 6962 Merkle tree (leaf i = the envelope of seq i, the
// exact stored bytes; for a seq declared lost, its stored placeholder, protocol::LostEntry),
// published as C2SP tlog-tiles with signed C2SP checkpoints.
//
// Guarantees:
// - Integrate() only covers events the store has committed (they are read back from it), so a
//   checkpoint never covers anything that is not durable.
// - The tree nodes a checkpoint needs and the checkpoint itself are stored in one transaction,
//   and a checkpoint is never smaller than the one before, across restarts and kill -9.
// - Only nodes at levels that are multiples of the tile height (8) are stored; the others are
//   recomputed from those below them, or from the envelopes at level 0.
// Thread-safe: one thread integrates while any number read.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/mutex.h"
#include "base/status.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "storage/store.h"

namespace lapor::storage {

class TreeLog {
 public:
  static constexpr uint32_t kTileHeight = crypto::kTileHeight;
  static constexpr uint64_t kTileWidth = crypto::kTileWidth;
  // Signs a checkpoint body, returning the whole signed note.
  using Signer = std::function<Result<std::string>(const std::string& body)>;

  // Resumes from the latest stored checkpoint (or the empty tree, which it signs and stores).
  // (Not analysed for locking: it fills the fields of a log no other thread can see yet, and
  // reading the stored tree takes mu_ through checkpoint().)
  static Result<std::unique_ptr<TreeLog>> Open(Store* store, std::string origin,
                                               Signer sign) LAPOR_NO_THREAD_SAFETY_ANALYSIS;

  // Adds every committed event beyond the current checkpoint and stores a new signed checkpoint.
  // Returns the new size (unchanged if there was nothing new).
  Result<uint64_t> Integrate();

  CheckpointRow checkpoint() const;
  // Signs the current checkpoint again (same size and root) with the signer, dropping its
  // cosignatures: after the node's key changed (`key activate`), so that what it serves verifies
  // with its key of now. Witnesses cosign it again when it is next sent to them.
  Status Resign();
  // Adds a witness's cosignature line to the checkpoint of `size`, if it is still the latest
  // (a cosignature of an older checkpoint is dropped: the newer one will be cosigned too).
  // A line from the same witness name replaces the previous one.
  Status AddCosignature(uint64_t size, const std::string& line);
  // When a cosignature was last added (ms, this process's clock; 0: none since the node started).
  int64_t last_cosignature_ms() const { return last_cosignature_ms_.load(); }
  // Hashes of the tree as of the current checkpoint (requests beyond it fail).
  crypto::NodeReader Reader() const;
  // The bytes of a tile or entry bundle. NotFound if the current checkpoint does not cover it.
  Result<std::string> Tile(const crypto::TileRef& tile) const;

 private:
  TreeLog(Store* store, std::string origin, Signer sign)
      : store_(store), origin_(std::move(origin)), sign_(std::move(sign)) {}
  // `count` hashes at tree level `level` starting at `first`, for a tree of `size` leaves.
  Result<std::vector<std::string>> Nodes(uint32_t level, uint64_t first, uint64_t count,
                                         uint64_t size) const;
  // Leaf hashes [first, first + count): from the stored full tiles, else from the envelopes.
  Result<std::vector<std::string>> Leaves(uint64_t first, uint64_t count) const;

  Store* const store_;
  const std::string origin_;
  const Signer sign_;
  Mutex integrate_mu_;  // one integration at a time
  crypto::CompactRange range_ LAPOR_GUARDED_BY(integrate_mu_);
  // The leaf hashes of the tile range_ is filling, from its first leaf: each tile is stored once
  // full.
  std::string tile_leaves_ LAPOR_GUARDED_BY(integrate_mu_);
  mutable Mutex mu_;
  CheckpointRow checkpoint_ LAPOR_GUARDED_BY(mu_);
  std::atomic<int64_t> last_cosignature_ms_{0};
};

}  // namespace lapor::storage
