#include "storage/tree_log.h"

#include <chrono>

#include "base/clock.h"
#include "base/mutex.h"

namespace lapor::storage {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t NodesAtLevel(uint64_t size, uint32_t level) { return level >= 64 ? 0 : size >> level; }

}  // namespace

Result<std::unique_ptr<TreeLog>> TreeLog::Open(Store* store, std::string origin, Signer sign) {
  std::unique_ptr<TreeLog> log(new TreeLog(store, std::move(origin), std::move(sign)));
  auto latest = store->LatestCheckpoint();
  if (!latest.ok()) return latest.status();
  if (latest->has_value()) {
    log->checkpoint_ = **latest;
    auto range = crypto::CompactRange::FromReader(log->Reader(), log->checkpoint_.size);
    if (!range.ok()) return range.status();
    if (range->Root() != log->checkpoint_.root) {
      return Status::Corruption("stored tree does not match the latest checkpoint's root");
    }
    log->range_ = std::move(*range);
  } else {
    // The empty tree gets a checkpoint too, so there is always one to serve.
    crypto::Checkpoint cp{log->origin_, 0, crypto::EmptyRoot(), {}};
    auto note = log->sign_(cp.Body());
    if (!note.ok()) return note.status();
    CheckpointRow row{0, cp.root_hash, *note, NowMs()};
    LAPOR_RETURN_IF_ERROR(store->SaveCheckpoint({}, row));
    log->checkpoint_ = row;
  }
  return log;
}

CheckpointRow TreeLog::checkpoint() const {
  MutexLock lock(mu_);
  return checkpoint_;
}

Status TreeLog::Resign() {
  MutexLock integrating(integrate_mu_);
  CheckpointRow cp = checkpoint();
  auto note = sign_(crypto::Checkpoint{origin_, cp.size, cp.root, {}}.Body());
  if (!note.ok()) return note.status();
  LAPOR_RETURN_IF_ERROR(store_->UpdateCheckpointNote(cp.size, *note));
  MutexLock lock(mu_);
  if (checkpoint_.size == cp.size) checkpoint_.note = *note;
  return Status::Ok();
}

Status TreeLog::AddCosignature(uint64_t size, const std::string& line) {
  // "— <name> <base64>\n": the name is the second field.
  const std::string dash = "\xE2\x80\x94 ";
  if (line.rfind(dash, 0) != 0 || line.back() != '\n') {
    return Status::InvalidArgument("not a signature line");
  }
  const std::string name = line.substr(dash.size(), line.find(' ', dash.size()) - dash.size());
  MutexLock integrating(integrate_mu_);  // no new checkpoint meanwhile
  CheckpointRow cp = checkpoint();
  if (cp.size != size) return Status::Ok();
  std::string note;
  size_t at = 0;
  while (at < cp.note.size()) {  // keep every line except this witness's older one
    size_t end = cp.note.find('\n', at);
    end = end == std::string::npos ? cp.note.size() : end + 1;
    std::string l = cp.note.substr(at, end - at);
    if (l.rfind(dash + name + " ", 0) != 0) note += l;
    at = end;
  }
  note += line;
  LAPOR_RETURN_IF_ERROR(store_->UpdateCheckpointNote(size, note));
  last_cosignature_ms_.store(Clock::Real()->NowMs());
  MutexLock lock(mu_);
  if (checkpoint_.size == size) checkpoint_.note = note;
  return Status::Ok();
}

Result<uint64_t> TreeLog::Integrate() {
  MutexLock integrating(integrate_mu_);
  auto committed = store_->NextSeq();
  if (!committed.ok()) return committed.status();
  const uint64_t from = range_.size();
  if (*committed <= from) return from;

  crypto::CompactRange next = range_;
  std::string leaves = tile_leaves_;
  if (leaves.size() != (from % kTileWidth) * crypto::kSha256Size) {
    // Resuming mid-tile (after a restart): the tile's first leaves, so it can be stored whole.
    auto start = Leaves(from - from % kTileWidth, from % kTileWidth);
    if (!start.ok()) return start.status();
    leaves.clear();
    for (const auto& h : *start) leaves += h;
  }
  std::vector<TreeNodeRow> stored;
  std::vector<LeafTileRow> full_tiles;
  auto keep = [&](uint32_t level, uint64_t index, const std::string& hash) {
    crypto::KeepForTiles(
        level, index, hash, &leaves,
        [&](uint64_t tile, std::string* hashes) {
          full_tiles.push_back({tile, std::move(*hashes)});
        },
        [&](uint32_t l, uint64_t i, const std::string& h) {
          stored.push_back({l, i, h});
        });
  };
  for (uint64_t at = from; at < *committed;) {
    auto batch = store_->LeafHashes(at, std::min<uint64_t>(4096, *committed - at));
    if (!batch.ok()) return batch.status();
    if (batch->empty()) return Status::Corruption("event " + std::to_string(at) + " is missing");
    for (const auto& leaf : *batch) LAPOR_RETURN_IF_ERROR(next.Append(leaf, keep));
    at += batch->size();
  }
  crypto::Checkpoint cp{origin_, next.size(), next.Root(), {}};
  auto note = sign_(cp.Body());
  if (!note.ok()) return note.status();
  CheckpointRow row{cp.size, cp.root_hash, *note, NowMs()};
  // Step 1: nodes and checkpoint become durable together. If the process dies before this
  // commits, the next start resumes from the previous checkpoint and integrates again.
  LAPOR_RETURN_IF_ERROR(store_->SaveCheckpoint(stored, row, full_tiles));
  // Step 2: publish.
  range_ = std::move(next);
  tile_leaves_ = std::move(leaves);
  MutexLock lock(mu_);
  checkpoint_ = row;
  return row.size;
}

Result<std::vector<std::string>> TreeLog::Leaves(uint64_t first, uint64_t count) const {
  std::vector<std::string> out;
  out.reserve(count);
  for (uint64_t at = first; at < first + count;) {
    const uint64_t tile = at / kTileWidth;
    const uint64_t end = std::min(first + count, (tile + 1) * kTileWidth);
    auto stored = store_->LeafTile(tile);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      const std::string& hashes = **stored;
      if (hashes.size() != kTileWidth * crypto::kSha256Size) {
        return Status::Corruption("stored leaf tile " + std::to_string(tile) + " has " +
                                  std::to_string(hashes.size()) + " bytes");
      }
      for (uint64_t i = at; i < end; ++i) {
        out.push_back(
            hashes.substr((i - tile * kTileWidth) * crypto::kSha256Size, crypto::kSha256Size));
      }
    } else {
      auto envelopes = store_->Envelopes(at, end - at);
      if (!envelopes.ok()) return envelopes.status();
      if (envelopes->size() != end - at) return Status::Corruption("events missing from the log");
      for (const auto& e : *envelopes) out.push_back(crypto::LeafHash(e));
    }
    at = end;
  }
  return out;
}

Result<std::vector<std::string>> TreeLog::Nodes(uint32_t level, uint64_t first, uint64_t count,
                                                uint64_t size) const {
  if (count == 0) return std::vector<std::string>();
  if (first + count > NodesAtLevel(size, level)) {
    return Status::NotFound("tree level " + std::to_string(level) + " has no node " +
                            std::to_string(first + count - 1) + " at size " + std::to_string(size));
  }
  if (level == 0) return Leaves(first, count);
  if (level % kTileHeight == 0) {
    auto nodes = store_->TreeNodes(level, first, count);
    if (!nodes.ok()) return nodes.status();
    if (nodes->size() != count) return Status::Corruption("tree nodes missing from the log");
    return nodes;
  }
  // Fold up from the nearest stored level below.
  const uint32_t base = level - level % kTileHeight;
  const uint32_t up = level - base;
  auto below = Nodes(base, first << up, count << up, size);
  if (!below.ok()) return below.status();
  return crypto::FoldUp(std::move(*below), up);
}

crypto::NodeReader TreeLog::Reader() const {
  const uint64_t size = checkpoint().size;
  return [this, size](uint32_t level, uint64_t index) -> Result<std::string> {
    auto nodes = Nodes(level, index, 1, size);
    if (!nodes.ok()) return nodes.status();
    return std::move((*nodes)[0]);
  };
}

Result<std::string> TreeLog::Tile(const crypto::TileRef& tile) const {
  const uint64_t size = checkpoint().size;
  const uint64_t width = tile.width == 0 ? kTileWidth : tile.width;
  const uint32_t level = tile.level * kTileHeight;
  if (level >= 64 || tile.index > (UINT64_MAX >> 8)) return Status::NotFound("no such tile");
  const uint64_t first = tile.index * kTileWidth;
  const uint64_t available = tile.entries ? size : NodesAtLevel(size, level);
  if (first + width > available) {
    return Status::NotFound("the current checkpoint (size " + std::to_string(size) +
                            ") does not cover this tile");
  }
  std::string out;
  if (tile.entries) {
    auto envelopes = store_->Envelopes(first, width);
    if (!envelopes.ok()) return envelopes.status();
    return crypto::EncodeEntryBundle(*envelopes);
  }
  auto nodes = Nodes(level, first, width, size);
  if (!nodes.ok()) return nodes.status();
  out.reserve(width * 32);
  for (const auto& h : *nodes) out += h;
  return out;
}

}  // namespace lapor::storage
