// RFC 6962 / RFC 9162 Merkle trees over the node's append-only event log: leaf and node hashing,
// tree heads, inclusion and consistency proofs (generation and verification), and an incremental
// builder that reports every full subtree as it completes so storage can persist C2SP tlog-tiles.
//
// Terminology. A "full subtree" (level, index) is the perfect binary tree over leaves
// [index << level, (index + 1) << level); level 0 is a single leaf hash. Storage only ever holds
// full subtrees: the hash of a partial subtree on the right edge of a tree depends on the tree
// size, so it is always recomputed here from the full subtrees it is made of.
//
// All hashes are 32-byte std::string values (kSha256Size). Nothing here throws.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lapor::crypto {

// SHA-256(0x00 || entry): the leaf hash of one log entry (RFC 6962 section 2.1). The 0x00 / 0x01
// prefixes keep leaf and interior hashes in separate domains (no second-preimage splicing).
std::string LeafHash(std::string_view entry);
// SHA-256(0x01 || left || right): the hash of an interior node.
std::string NodeHash(std::string_view left, std::string_view right);
// SHA-256(""): the tree head of the empty tree.
std::string EmptyRoot();
// The nodes `levels` levels above `nodes`, a run of same-level nodes whose count is a multiple of
// 2^levels (each parent is NodeHash of its two children).
std::vector<std::string> FoldUp(std::vector<std::string> nodes, uint32_t levels);

// Source of full-subtree hashes: returns the hash of the full subtree (level, index), i.e. of
// leaves [index << level, (index + 1) << level). The functions below only ever ask for full
// subtrees that lie entirely inside the tree size they were given, so a reader backed by tiles
// never needs a partial tile beyond that size. Errors are propagated unchanged; a returned hash
// that is not 32 bytes is reported as Corruption.
using NodeReader = std::function<Result<std::string>(uint32_t level, uint64_t index)>;

// MTH of leaves [begin, end), computed from the fewest full subtrees. The range must be one that
// RFC 6962's recursion produces: non-empty, and `begin` a multiple of the smallest power of two
// >= end - begin (so [begin, end) is a full subtree or the left-aligned prefix of one).
// InvalidArgument otherwise.
Result<std::string> SubtreeRoot(const NodeReader& reader, uint64_t begin, uint64_t end);

// The tree head of the first `size` leaves (EmptyRoot() for size 0).
Result<std::string> RootAt(const NodeReader& reader, uint64_t size);

// RFC 6962 section 2.1.1 PATH(index, D[size]): sibling hashes from the leaf upwards.
// InvalidArgument if index >= size.
Result<std::vector<std::string>> InclusionProof(const NodeReader& reader, uint64_t index,
                                                uint64_t size);

// RFC 6962 section 2.1.2 PROOF(old_size, D[new_size]). Empty when old_size == new_size, and also
// when old_size == 0: RFC 9162 defines no proof from the empty tree (every tree extends it), so
// the empty proof is returned and VerifyConsistency accepts exactly that. InvalidArgument if
// old_size > new_size.
Result<std::vector<std::string>> ConsistencyProof(const NodeReader& reader, uint64_t old_size,
                                                  uint64_t new_size);

// Number of hashes in a correct inclusion proof / consistency proof for these sizes (0 for the
// trivial cases). Callers may use these to reject an oversized proof before reading it.
// Preconditions: index < size, and old_size <= new_size.
size_t InclusionProofSize(uint64_t index, uint64_t size);
size_t ConsistencyProofSize(uint64_t old_size, uint64_t new_size);

// RFC 9162 section 2.1.3.2: does `proof` show that `leaf_hash` is leaf `index` of the tree of
// `size` leaves whose head is `root`? InvalidArgument for malformed input (a hash that is not 32
// bytes, index >= size, a proof of the wrong length); Corruption if the proof does not lead to
// `root`.
Status VerifyInclusion(std::string_view leaf_hash, uint64_t index, uint64_t size,
                       const std::vector<std::string>& proof, std::string_view root);

// RFC 9162 section 2.1.4.2: is the tree (new_size, new_root) an append-only extension of
// (old_size, old_root)? Cases the RFC leaves undefined are pinned down here:
//   old_size == new_size: the proof must be empty and the roots equal;
//   old_size == 0:        the proof must be empty and old_root must be EmptyRoot().
// InvalidArgument for malformed input (a hash that is not 32 bytes, old_size > new_size, a proof
// of the wrong length); Corruption if the proof does not reproduce both roots.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                         std::string_view new_root, const std::vector<std::string>& proof);

// Incremental tree builder holding O(log n) state: the roots of the maximal full subtrees that
// tile [0, size), left to right (one per set bit of size, largest first). Appending a leaf
// merges equal-sized neighbours, and every full subtree completed along the way (including the
// leaf itself at level 0) is reported to the visitor, so storage can persist each full-node hash
// exactly once, in an order where children precede their parent.
class CompactRange {
 public:
  using NodeVisitor = std::function<void(uint32_t level, uint64_t index, const std::string& hash)>;

  // The empty tree.
  CompactRange() = default;

  // Resumes a tree of `size` leaves from its full-subtree roots, left to right (as roots()
  // returns them). InvalidArgument unless there is exactly one 32-byte hash per set bit of size.
  static Result<CompactRange> FromRoots(uint64_t size, std::vector<std::string> roots);
  // Resumes a tree of `size` leaves by reading its full-subtree roots from storage.
  static Result<CompactRange> FromReader(const NodeReader& reader, uint64_t size);

  // Appends one leaf hash (see LeafHash). InvalidArgument if it is not 32 bytes; Conflict if the
  // tree already holds 2^64 - 1 leaves. The visitor, if set, sees (0, old size, leaf_hash) and
  // then each newly completed parent, bottom-up; it runs before Append returns.
  Status Append(std::string_view leaf_hash, const NodeVisitor& visitor = nullptr);
  // Appends a whole perfect subtree of 2^height leaves given only its root (e.g. a full tile's),
  // which must start at a multiple of 2^height: InvalidArgument if it does not or the root is
  // not 32 bytes. Same tree as appending its leaves one by one.
  Status AppendSubtree(uint32_t height, std::string_view root);

  // The tree head for the current size (EmptyRoot() when empty).
  std::string Root() const;
  uint64_t size() const { return size_; }
  // Full-subtree roots, left to right; what FromRoots takes back.
  const std::vector<std::string>& roots() const { return roots_; }

 private:
  // Adds the node (level, size_ >> level) and merges it with completed left siblings; the caller
  // has checked that it fits.
  void Push(uint32_t level, std::string hash, const NodeVisitor& visitor);

  uint64_t size_ = 0;
  std::vector<std::string> roots_;
};

// Every full-subtree hash of a tree held in memory, level by level. Meant for tests and small
// trees: it stores about 2n hashes for n leaves.
class MemoryTree {
 public:
  // Appends LeafHash(entry).
  void Append(std::string_view entry);
  // Appends a precomputed 32-byte leaf hash (the caller guarantees the length).
  void AppendLeafHash(std::string leaf_hash);

  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // levels()[level][index] is the hash of full subtree (level, index).
  const std::vector<std::vector<std::string>>& levels() const { return levels_; }

  // A reader over the stored full subtrees; NotFound for a subtree that is not complete yet.
  // The reader refers to this object: it sees later appends and must not outlive it.
  NodeReader reader() const;

 private:
  std::vector<std::vector<std::string>> levels_;
};

}  // namespace lapor::crypto
