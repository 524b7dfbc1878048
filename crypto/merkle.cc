#include "crypto/merkle.h"

#include <algorithm>
#include <bit>
#include <iterator>
#include <utility>

#include "crypto/crypto.h"
#include "crypto/encoding.h"

namespace lapor::crypto {
namespace {

constexpr uint64_t kOne = 1;

bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// RFC 6962's split point for n >= 2 leaves: the largest power of two strictly less than n.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

std::string NodeName(uint32_t level, uint64_t index) {
  return "(level " + std::to_string(level) + ", index " + std::to_string(index) + ")";
}

std::string RangeName(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// Reads one full subtree and checks the one property every caller relies on: a 32-byte hash.
Result<std::string> ReadNode(const NodeReader& reader, uint32_t level, uint64_t index) {
  Result<std::string> hash = reader(level, index);
  if (!hash.ok()) return hash.status();
  if (hash->size() != kSha256Size) {
    return Status::Corruption("node reader returned a " + std::to_string(hash->size()) +
                              "-byte hash for subtree " + NodeName(level, index));
  }
  return hash;
}

Status CheckHash(std::string_view hash, const char* what) {
  if (hash.size() != kSha256Size) {
    return Status::InvalidArgument(std::string(what) + " must be 32 bytes, got " +
                                   std::to_string(hash.size()));
  }
  return Status::Ok();
}

Status CheckProofHashes(const std::vector<std::string>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kSha256Size) {
      return Status::InvalidArgument("proof hash " + std::to_string(i) + " must be 32 bytes, got " +
                                     std::to_string(proof[i].size()));
    }
  }
  return Status::Ok();
}

// Length of the audit path of node `index` in a level whose last node is `last` (both at the same
// level): `inner` steps below the point where the path joins the right edge of the tree, plus one
// step per left sibling on the way up from there (`border`: the set bits of index above `inner`).
size_t PathSize(uint64_t index, uint64_t last) {
  const int inner = static_cast<int>(std::bit_width(index ^ last));
  const int border = inner >= 64 ? 0 : std::popcount(index >> inner);
  return static_cast<size_t>(inner + border);
}

}  // namespace

std::string LeafHash(std::string_view entry) {
  return Sha256Parts({std::string_view("\x00", 1), entry});
}

std::string NodeHash(std::string_view left, std::string_view right) {
  return Sha256Parts({"\x01", left, right});
}

std::string EmptyRoot() { return Sha256(""); }

Result<std::string> SubtreeRoot(const NodeReader& reader, uint64_t begin, uint64_t end) {
  if (begin >= end) return Status::InvalidArgument("empty leaf range " + RangeName(begin, end));
  const uint64_t count = end - begin;
  // Only ranges RFC 6962's recursion produces have a defined hash: begin must be aligned to the
  // smallest power of two >= count (2^64 when count > 2^63, which only begin == 0 satisfies).
  const bool aligned =
      count > (kOne << 63) ? begin == 0 : (begin & (std::bit_ceil(count) - 1)) == 0;
  if (!aligned) {
    return Status::InvalidArgument("leaf range " + RangeName(begin, end) +
                                   " is not a subtree of an RFC 6962 tree");
  }
  // The recursion splits off the largest power of two each time, so the range is tiled by one
  // full subtree per set bit of count, largest first, and its hash is the right fold of those.
  std::vector<std::string> parts;
  uint64_t pos = begin;
  for (int level = 63; level >= 0; --level) {
    if (((count >> level) & 1) == 0) continue;
    Result<std::string> part = ReadNode(reader, static_cast<uint32_t>(level), pos >> level);
    if (!part.ok()) return part.status();
    parts.push_back(std::move(part).value());
    pos += kOne << level;
  }
  std::string hash = std::move(parts.back());
  for (size_t i = parts.size() - 1; i-- > 0;) hash = NodeHash(parts[i], hash);
  return hash;
}

Result<std::string> RootAt(const NodeReader& reader, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return SubtreeRoot(reader, 0, size);
}

Result<std::vector<std::string>> InclusionProof(const NodeReader& reader, uint64_t index,
                                                uint64_t size) {
  if (index >= size) {
    return Status::InvalidArgument("leaf index " + std::to_string(index) +
                                   " is not in a tree of size " + std::to_string(size));
  }
  // Walk RFC 6962's PATH recursion top-down, collecting the sibling at each split; the proof
  // lists them bottom-up. Only the first right sibling can be a partial subtree: once the walk
  // goes left, [begin, end) is full and so is everything under it.
  std::vector<std::string> proof;
  uint64_t begin = 0;
  uint64_t end = size;
  while (end - begin > 1) {
    const uint64_t mid = begin + SplitPoint(end - begin);
    const bool left = index < mid;
    Result<std::string> sibling =
        left ? SubtreeRoot(reader, mid, end) : SubtreeRoot(reader, begin, mid);
    if (!sibling.ok()) return sibling.status();
    proof.push_back(std::move(sibling).value());
    if (left) {
      end = mid;
    } else {
      begin = mid;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Result<std::vector<std::string>> ConsistencyProof(const NodeReader& reader, uint64_t old_size,
                                                  uint64_t new_size) {
  if (old_size > new_size) {
    return Status::InvalidArgument("old tree size " + std::to_string(old_size) +
                                   " exceeds new tree size " + std::to_string(new_size));
  }
  if (old_size == 0 || old_size == new_size) return std::vector<std::string>{};
  // RFC 6962's SUBPROOF(m, D[begin:end], b), unrolled top-down. `old_size` stays an absolute
  // position; `complete` is the flag b (still inside the subtree whose root is the old root).
  std::vector<std::string> siblings;
  uint64_t begin = 0;
  uint64_t end = new_size;
  bool complete = true;
  while (old_size < end) {
    const uint64_t mid = begin + SplitPoint(end - begin);
    if (old_size <= mid) {
      Result<std::string> right = SubtreeRoot(reader, mid, end);
      if (!right.ok()) return right.status();
      siblings.push_back(std::move(right).value());
      end = mid;
    } else {
      Result<std::string> left = SubtreeRoot(reader, begin, mid);
      if (!left.ok()) return left.status();
      siblings.push_back(std::move(left).value());
      begin = mid;
      complete = false;
    }
  }
  // The loop only stops after a step to the left half, so [begin, old_size) is a full subtree:
  // SUBPROOF(m, D[m], false) = {MTH(D[m])}. When b is still true it is the old root itself,
  // which the verifier already holds, and it is left out.
  std::vector<std::string> proof;
  proof.reserve(siblings.size() + 1);
  if (!complete) {
    const uint32_t level = static_cast<uint32_t>(std::countr_zero(old_size - begin));
    Result<std::string> seed = ReadNode(reader, level, begin >> level);
    if (!seed.ok()) return seed.status();
    proof.push_back(std::move(seed).value());
  }
  proof.insert(proof.end(), std::make_move_iterator(siblings.rbegin()),
               std::make_move_iterator(siblings.rend()));
  return proof;
}

size_t InclusionProofSize(uint64_t index, uint64_t size) { return PathSize(index, size - 1); }

size_t ConsistencyProofSize(uint64_t old_size, uint64_t new_size) {
  if (old_size == 0 || old_size == new_size) return 0;
  // The proof is the audit path, in the new tree, of the last full subtree of the old tree (at
  // level = trailing zeros of old_size), preceded by that subtree's hash unless it is the whole
  // old tree (old_size a power of two).
  const int level = std::countr_zero(old_size);
  const size_t path = PathSize((old_size - 1) >> level, (new_size - 1) >> level);
  return path + (IsPowerOfTwo(old_size) ? 0 : 1);
}

Status VerifyInclusion(std::string_view leaf_hash, uint64_t index, uint64_t size,
                       const std::vector<std::string>& proof, std::string_view root) {
  LAPOR_RETURN_IF_ERROR(CheckHash(leaf_hash, "leaf hash"));
  LAPOR_RETURN_IF_ERROR(CheckHash(root, "root hash"));
  LAPOR_RETURN_IF_ERROR(CheckProofHashes(proof));
  // Step 1.
  if (index >= size) {
    return Status::InvalidArgument("leaf index " + std::to_string(index) +
                                   " is not in a tree of size " + std::to_string(size));
  }
  // Not an RFC step: the length is fixed by (index, size), so a wrong one is malformed input
  // rather than a proof that fails to match. The RFC's own length checks below stay as a guard.
  const size_t want = InclusionProofSize(index, size);
  if (proof.size() != want) {
    return Status::InvalidArgument("inclusion proof for leaf " + std::to_string(index) +
                                   " in a tree of size " + std::to_string(size) + " must have " +
                                   std::to_string(want) + " hashes, got " +
                                   std::to_string(proof.size()));
  }
  // Steps 2-3.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  // Step 4.
  for (const std::string& p : proof) {
    if (sn == 0) return Status::Corruption("inclusion proof is longer than the path to the root");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 5.
  if (sn != 0) return Status::Corruption("inclusion proof is shorter than the path to the root");
  if (r != root) {
    return Status::Corruption("inclusion proof for leaf " + std::to_string(index) +
                              " in a tree of size " + std::to_string(size) + " leads to root " +
                              HexEncode(r) + ", not " + HexEncode(root));
  }
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                         std::string_view new_root, const std::vector<std::string>& proof) {
  LAPOR_RETURN_IF_ERROR(CheckHash(old_root, "old root hash"));
  LAPOR_RETURN_IF_ERROR(CheckHash(new_root, "new root hash"));
  LAPOR_RETURN_IF_ERROR(CheckProofHashes(proof));
  if (old_size > new_size) {
    return Status::InvalidArgument("old tree size " + std::to_string(old_size) +
                                   " exceeds new tree size " + std::to_string(new_size));
  }
  // Cases outside RFC 9162's 0 < first < second: nothing to prove, so the proof must be empty
  // and the old root must be the only root a tree of that size can have.
  if (old_size == 0 || old_size == new_size) {
    if (!proof.empty()) {
      return Status::InvalidArgument("consistency proof from size " + std::to_string(old_size) +
                                     " to " + std::to_string(new_size) + " must be empty, got " +
                                     std::to_string(proof.size()) + " hashes");
    }
    if (old_size == 0 && old_root != EmptyRoot()) {
      return Status::Corruption("root of the empty tree must be SHA-256(\"\"), got " +
                                HexEncode(old_root));
    }
    if (old_size == new_size && old_root != new_root) {
      return Status::Corruption("two tree heads of size " + std::to_string(old_size) +
                                " have different roots " + HexEncode(old_root) + " and " +
                                HexEncode(new_root));
    }
    return Status::Ok();
  }
  // Not an RFC step (see VerifyInclusion); it also makes step 1 unreachable, kept for fidelity.
  const size_t want = ConsistencyProofSize(old_size, new_size);
  if (proof.size() != want) {
    return Status::InvalidArgument("consistency proof from size " + std::to_string(old_size) +
                                   " to " + std::to_string(new_size) + " must have " +
                                   std::to_string(want) + " hashes, got " +
                                   std::to_string(proof.size()));
  }
  // Step 1.
  if (proof.empty()) return Status::InvalidArgument("consistency proof is empty");
  // Step 2.
  std::vector<std::string_view> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  // Step 3.
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  // Step 4.
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // Step 5.
  std::string fr(path[0]);
  std::string sr(path[0]);
  // Step 6.
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string_view c = path[i];
    if (sn == 0) return Status::Corruption("consistency proof is longer than the path to the root");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 7.
  if (sn != 0) return Status::Corruption("consistency proof is shorter than the path to the root");
  const std::string sizes =
      " (sizes " + std::to_string(old_size) + " -> " + std::to_string(new_size) + ")";
  if (fr != old_root) {
    return Status::Corruption("consistency proof" + sizes + " yields old root " + HexEncode(fr) +
                              ", not " + HexEncode(old_root));
  }
  if (sr != new_root) {
    return Status::Corruption("consistency proof" + sizes + " yields new root " + HexEncode(sr) +
                              ", not " + HexEncode(new_root));
  }
  return Status::Ok();
}

Result<CompactRange> CompactRange::FromRoots(uint64_t size, std::vector<std::string> roots) {
  const size_t want = static_cast<size_t>(std::popcount(size));
  if (roots.size() != want) {
    return Status::InvalidArgument("a tree of size " + std::to_string(size) + " has " +
                                   std::to_string(want) + " full-subtree roots, got " +
                                   std::to_string(roots.size()));
  }
  for (size_t i = 0; i < roots.size(); ++i) {
    if (roots[i].size() != kSha256Size) {
      return Status::InvalidArgument("full-subtree root " + std::to_string(i) +
                                     " must be 32 bytes, got " + std::to_string(roots[i].size()));
    }
  }
  CompactRange range;
  range.size_ = size;
  range.roots_ = std::move(roots);
  return range;
}

Result<CompactRange> CompactRange::FromReader(const NodeReader& reader, uint64_t size) {
  std::vector<std::string> roots;
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    if (((size >> level) & 1) == 0) continue;
    Result<std::string> root = ReadNode(reader, static_cast<uint32_t>(level), begin >> level);
    if (!root.ok()) return root.status();
    roots.push_back(std::move(root).value());
    begin += kOne << level;
  }
  return FromRoots(size, std::move(roots));
}

Status CompactRange::Append(std::string_view leaf_hash, const NodeVisitor& visitor) {
  LAPOR_RETURN_IF_ERROR(CheckHash(leaf_hash, "leaf hash"));
  if (size_ == UINT64_MAX) return Status::Conflict("tree already holds 2^64 - 1 leaves");
  Push(0, std::string(leaf_hash), visitor);
  return Status::Ok();
}

Status CompactRange::AppendSubtree(uint32_t height, std::string_view root) {
  LAPOR_RETURN_IF_ERROR(CheckHash(root, "subtree root"));
  if (height >= 64) return Status::InvalidArgument("subtree height " + std::to_string(height));
  const uint64_t width = uint64_t{1} << height;
  if (size_ % width != 0) {
    return Status::InvalidArgument("a subtree of " + std::to_string(width) +
                                   " leaves cannot start at " + std::to_string(size_));
  }
  if (UINT64_MAX - size_ < width) return Status::Conflict("tree would exceed 2^64 - 1 leaves");
  Push(height, std::string(root), nullptr);
  return Status::Ok();
}

void CompactRange::Push(uint32_t level, std::string hash, const NodeVisitor& visitor) {
  uint64_t index = size_ >> level;
  size_ += uint64_t{1} << level;
  if (visitor) visitor(level, index, hash);
  // A set low bit of the index at this level means the new node is a right child: its left
  // sibling is the last stored root, and together they complete the parent.
  while ((index & 1) != 0) {
    hash = NodeHash(roots_.back(), hash);
    roots_.pop_back();
    index >>= 1;
    ++level;
    if (visitor) visitor(level, index, hash);
  }
  roots_.push_back(std::move(hash));
}

std::vector<std::string> FoldUp(std::vector<std::string> nodes, uint32_t levels) {
  for (uint32_t l = 0; l < levels; ++l) {
    for (size_t i = 0; i < nodes.size() / 2; ++i)
      nodes[i] = NodeHash(nodes[2 * i], nodes[2 * i + 1]);
    nodes.resize(nodes.size() / 2);
  }
  return nodes;
}

std::string CompactRange::Root() const {
  if (roots_.empty()) return EmptyRoot();
  std::string hash = roots_.back();
  for (size_t i = roots_.size() - 1; i-- > 0;) hash = NodeHash(roots_[i], hash);
  return hash;
}

void MemoryTree::Append(std::string_view entry) { AppendLeafHash(LeafHash(entry)); }

void MemoryTree::AppendLeafHash(std::string leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(std::move(leaf_hash));
  // An even count at a level means its last two nodes just became a complete pair.
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    const std::vector<std::string>& row = levels_[level];
    std::string parent = NodeHash(row[row.size() - 2], row.back());
    if (levels_.size() == level + 1) levels_.emplace_back();  // invalidates `row`
    levels_[level + 1].push_back(std::move(parent));
  }
}

NodeReader MemoryTree::reader() const {
  return [this](uint32_t level, uint64_t index) -> Result<std::string> {
    if (level >= levels_.size() || index >= levels_[level].size()) {
      return Status::NotFound("no full subtree " + NodeName(level, index));
    }
    return levels_[level][index];
  };
}

}  // namespace lapor::crypto
