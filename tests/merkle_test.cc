// Unit tests for crypto/merkle.h: the RFC 6962 reference tree published with Certificate
// Transparency (roots, every full-subtree hash, inclusion and consistency proofs), exhaustive
// checks against a naive RFC 6962 implementation for every tree size up to 70 (proof contents,
// verification, tamper rejection), the storage contract of NodeReader (only full subtrees inside
// the requested size are read), CompactRange's emitted nodes and restore, trees of ~2^64 leaves,
// and the rejection of malformed input.

#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "tests/hex.h"

namespace lapor::crypto {
namespace {

using Code = Status::Code;

using lapor::kat::Unhex;

std::vector<std::string> UnhexAll(const std::vector<const char*>& hexes) {
  std::vector<std::string> out;
  for (const char* h : hexes) out.push_back(Unhex(h));
  return out;
}

std::vector<std::string> HexAll(const std::vector<std::string>& hashes) {
  std::vector<std::string> out;
  for (const std::string& h : hashes) out.push_back(HexEncode(h));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Published vectors: the eight-leaf reference tree of google/certificate-transparency,
// cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs). The
// same values are in transparency-dev/merkle testonly/constants.go (LeafInputs, RootHashes,
// NodeHashes) and proof/verify_test.go (inclusionProofs, consistencyProofs, roots). Certificate
// Transparency numbers leaves from 1; the indices below are 0-based. Every hash here was
// recomputed with an independent Python hashlib implementation of RFC 6962 MTH/PATH/PROOF.

constexpr const char* kEmptyRootHex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Leaf inputs (kInputs / LeafInputs()).
const std::vector<const char*> kInputsHex = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

// Tree heads for sizes 1..8 (kSHA256Roots / RootHashes()[1:]).
const std::vector<const char*> kRootsHex = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// Every full-subtree hash of the 8-leaf tree, [level][index] (transparency-dev NodeHashes()).
const std::vector<std::vector<const char*>> kNodeHashesHex = {
    {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    },
    {
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    },
    {
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    },
    {
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    },
};

struct InclusionVector {
  uint64_t index;
  uint64_t size;
  std::vector<const char*> proof;
};

// kSHA256Paths / inclusionProofs (CT's leaf 1, 6, 3, 2 are indices 0, 5, 2, 1).
const std::vector<InclusionVector> kInclusionVectors = {
    {0, 1, {}},
    {0,
     8,
     {
         "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
     }},
    {5,
     8,
     {
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
         "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     }},
    {2,
     3,
     {
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     }},
    {1,
     5,
     {
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     }},
};

struct ConsistencyVector {
  uint64_t old_size;
  uint64_t new_size;
  std::vector<const char*> proof;
};

// kSHA256Proofs / consistencyProofs; 6 -> 7 is only in transparency-dev's consistencyProofs.
const std::vector<ConsistencyVector> kConsistencyVectors = {
    {1, 1, {}},
    {1,
     8,
     {
         "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
     }},
    {6,
     8,
     {
         "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
         "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     }},
    {2,
     5,
     {
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     }},
    {6,
     7,
     {
         "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
         "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     }},
};

// ---------------------------------------------------------------------------------------------
// Not published: values computed by the same independent Python hashlib implementation for the
// 70-leaf tree of Entry(i) = "entry <i>", so sizes past 8 (deeper right edges, several partial
// levels) also have a cross-language known answer.

std::string Entry(uint64_t i) { return "entry " + std::to_string(i); }

struct SizedRoot {
  uint64_t size;
  const char* root;
};

const std::vector<SizedRoot> kEntryRootsHex = {
    {13, "c0c1289f00605f8d7d8780b9f4264c736ccfb84ce91708c2b27e6426bfc7d8a8"},
    {32, "1a03bd9e0d1e263be168ea07a6b2e7d34c564bda3b73da6a0c8da42fb56d2760"},
    {70, "e6e3e845c0aa23367d8fe1498ba9733b4dffa3df21362d42401dcbbfb3909c12"},
};

const std::vector<InclusionVector> kEntryInclusionVectors = {
    {37,
     70,
     {
         "b1b3f5d712f262d62acd3abeb78410f3effb9a29af54bbfaeb7aba2a50508043",
         "cc1e62b544742f49d179b0bfd99bb649747082c11538585d9fd3e6fe2e238d56",
         "ba49a594b8eaddcdebb44a4fc06acac780126a4d5efa31fe25eb18f22e96e0bf",
         "8c30f2f0df81b58ab5e997d3b35282ac8713ca2d73f5df464c92cdbbb044fe32",
         "ebaf99abdcbaf1e80d48514a4b0efd4a8246ecb0d83440a691aa8c3d9deb9edb",
         "1a03bd9e0d1e263be168ea07a6b2e7d34c564bda3b73da6a0c8da42fb56d2760",
         "ddc353973849c47e93bd6e80d98f5a5d4c9ffbb71d979deecb56c415b212539b",
     }},
    {69,
     70,
     {
         "6e40c06725fda040b47d874a35d172a91ab6d0b1e1cd3d80a8bdbd97765b08f2",
         "b58776b36991fcbb9223df89f9639742e28a335015ca6d8aab05bbf97ac71372",
         "5cbcc083e8000afd157308cca3eb54947a391878cc03736b0fc471bdcd9c4c1c",
     }},
    {12,
     13,
     {
         "c146a781cf32be4b9c22deac1fac55bf8f2f3cfe7cf0f081a95fa74ce2d9d3fc",
         "b69732ce5c914162ca9accfaf4e95d3f9874d68805437088aaff184a4db96773",
     }},
};

const std::vector<ConsistencyVector> kEntryConsistencyVectors = {
    {13,
     70,
     {
         "59152c64f690fe6e9940b3ac5c85c37e1ddbd525f817bf99e0e4e2d823d3cf0f",
         "3690d1709a372b003ec8a8652bd055bb189ddc9d5c4096ffca878f43d7012630",
         "dcd5b258be851fec53293ba6f0942e576b825b83ab97526dae04e177291c7926",
         "c146a781cf32be4b9c22deac1fac55bf8f2f3cfe7cf0f081a95fa74ce2d9d3fc",
         "b69732ce5c914162ca9accfaf4e95d3f9874d68805437088aaff184a4db96773",
         "14ac03bb1a8b799a7e1ca3571c7e82732b87134edd4c169a232c049c664053f6",
         "4c93ece1f7ff5b6630eaf7f4431b915a1fe36fafee15ad9d7be2a5eca3d3c95d",
         "ddc353973849c47e93bd6e80d98f5a5d4c9ffbb71d979deecb56c415b212539b",
     }},
    {32,
     70,
     {
         "4c93ece1f7ff5b6630eaf7f4431b915a1fe36fafee15ad9d7be2a5eca3d3c95d",
         "ddc353973849c47e93bd6e80d98f5a5d4c9ffbb71d979deecb56c415b212539b",
     }},
    {64,
     70,
     {
         "ddc353973849c47e93bd6e80d98f5a5d4c9ffbb71d979deecb56c415b212539b",
     }},
};

// ---------------------------------------------------------------------------------------------
// Helpers.

// A naive, literal transcription of RFC 6962 section 2.1 over a vector of leaf hashes; the
// module under test must agree with it everywhere.
uint64_t RefSplit(uint64_t n) {
  uint64_t k = 1;
  while (k < n - k) k *= 2;  // k * 2 < n, without overflow for n > 2^63
  return k;
}

std::string RefMth(const std::vector<std::string>& leaves, size_t begin, size_t end) {
  if (end == begin) return Sha256("");
  if (end - begin == 1) return leaves[begin];
  const size_t k = RefSplit(end - begin);
  return NodeHash(RefMth(leaves, begin, begin + k), RefMth(leaves, begin + k, end));
}

std::vector<std::string> RefPath(size_t m, const std::vector<std::string>& leaves, size_t begin,
                                 size_t end) {
  if (end - begin <= 1) return {};
  const size_t k = RefSplit(end - begin);
  std::vector<std::string> path;
  if (m < k) {
    path = RefPath(m, leaves, begin, begin + k);
    path.push_back(RefMth(leaves, begin + k, end));
  } else {
    path = RefPath(m - k, leaves, begin + k, end);
    path.push_back(RefMth(leaves, begin, begin + k));
  }
  return path;
}

std::vector<std::string> RefSubproof(size_t m, const std::vector<std::string>& leaves, size_t begin,
                                     size_t end, bool b) {
  const size_t n = end - begin;
  if (m == n) {
    if (b) return {};
    return {RefMth(leaves, begin, end)};
  }
  const size_t k = RefSplit(n);
  std::vector<std::string> proof;
  if (m <= k) {
    proof = RefSubproof(m, leaves, begin, begin + k, b);
    proof.push_back(RefMth(leaves, begin + k, end));
  } else {
    proof = RefSubproof(m - k, leaves, begin + k, end, false);
    proof.push_back(RefMth(leaves, begin, begin + k));
  }
  return proof;
}

std::vector<std::string> RefConsistency(size_t m, size_t n,
                                        const std::vector<std::string>& leaves) {
  if (m == 0 || m == n) return {};
  return RefSubproof(m, leaves, 0, n, true);
}

// Proof lengths from the same recursion, counting only (works for sizes too big to hash).
size_t RefPathSize(uint64_t m, uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t k = RefSplit(n);
  return 1 + (m < k ? RefPathSize(m, k) : RefPathSize(m - k, n - k));
}

size_t RefSubproofSize(uint64_t m, uint64_t n, bool b) {
  if (m == n) return b ? 0 : 1;
  const uint64_t k = RefSplit(n);
  return 1 + (m <= k ? RefSubproofSize(m, k, b) : RefSubproofSize(m - k, n - k, false));
}

// Wraps a reader with the storage contract: every request must be a full subtree inside the
// first `size` leaves. Violations are recorded and also fail the read.
struct ReadLog {
  uint64_t reads = 0;
  std::vector<std::string> violations;
};

NodeReader Bounded(NodeReader inner, uint64_t size, ReadLog* log) {
  return
      [inner = std::move(inner), size, log](uint32_t level, uint64_t index) -> Result<std::string> {
        ++log->reads;
        // (index + 1) << level <= size, written so that it cannot overflow.
        if (level >= 64 || index >= (size >> level)) {
          log->violations.push_back("level " + std::to_string(level) + " index " +
                                    std::to_string(index) + " in a tree of size " +
                                    std::to_string(size));
          return Status::Internal("read outside the tree");
        }
        return inner(level, index);
      };
}

std::string FlipByte(std::string s, size_t i) {
  s[i] = static_cast<char>(s[i] ^ 0x5a);
  return s;
}

MemoryTree ReferenceTree() {
  MemoryTree tree;
  for (const char* hex : kInputsHex) tree.Append(Unhex(hex));
  return tree;
}

// ---------------------------------------------------------------------------------------------
// Hashing.

TEST(MerkleHashTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(HexEncode(EmptyRoot()), kEmptyRootHex);
  MemoryTree tree;
  Result<std::string> root = RootAt(tree.reader(), 0);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(HexEncode(*root), kEmptyRootHex);
  EXPECT_EQ(HexEncode(CompactRange().Root()), kEmptyRootHex);
  EXPECT_EQ(CompactRange().size(), 0u);
}

TEST(MerkleHashTest, LeafAndNodeHashesAreDomainSeparated) {
  EXPECT_EQ(LeafHash("abc"), Sha256(std::string("\x00", 1) + "abc"));
  const std::string a(32, 'a');
  const std::string b(32, 'b');
  EXPECT_EQ(NodeHash(a, b), Sha256("\x01" + a + b));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
  // A leaf whose content is "left || right" must not collide with the node over them.
  EXPECT_NE(LeafHash(a + b), NodeHash(a, b));
}

// ---------------------------------------------------------------------------------------------
// Published reference tree.

TEST(MerkleReferenceTest, RootsForEverySize) {
  MemoryTree tree;
  CompactRange range;
  for (size_t i = 0; i < kInputsHex.size(); ++i) {
    const std::string leaf = LeafHash(Unhex(kInputsHex[i]));
    tree.AppendLeafHash(leaf);
    ASSERT_TRUE(range.Append(leaf).ok());
    EXPECT_EQ(HexEncode(range.Root()), kRootsHex[i]) << "size " << i + 1;
    // Every earlier size, read back from the grown tree.
    for (size_t size = 1; size <= i + 1; ++size) {
      Result<std::string> root = RootAt(tree.reader(), size);
      ASSERT_TRUE(root.ok()) << root.status().ToString();
      EXPECT_EQ(HexEncode(*root), kRootsHex[size - 1]) << "size " << size;
    }
  }
}

TEST(MerkleReferenceTest, FullSubtreeHashes) {
  const MemoryTree tree = ReferenceTree();
  ASSERT_EQ(tree.levels().size(), kNodeHashesHex.size());
  for (size_t level = 0; level < kNodeHashesHex.size(); ++level) {
    EXPECT_EQ(HexAll(tree.levels()[level]),
              std::vector<std::string>(kNodeHashesHex[level].begin(), kNodeHashesHex[level].end()))
        << "level " << level;
  }
}

TEST(MerkleReferenceTest, InclusionProofs) {
  const MemoryTree tree = ReferenceTree();
  for (const InclusionVector& v : kInclusionVectors) {
    SCOPED_TRACE("leaf " + std::to_string(v.index) + " size " + std::to_string(v.size));
    ReadLog log;
    Result<std::vector<std::string>> proof =
        InclusionProof(Bounded(tree.reader(), v.size, &log), v.index, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(HexAll(*proof), std::vector<std::string>(v.proof.begin(), v.proof.end()));
    EXPECT_TRUE(log.violations.empty());
    const std::string leaf = LeafHash(Unhex(kInputsHex[v.index]));
    const std::string root = Unhex(kRootsHex[v.size - 1]);
    const Status st = VerifyInclusion(leaf, v.index, v.size, UnhexAll(v.proof), root);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

TEST(MerkleReferenceTest, ConsistencyProofs) {
  const MemoryTree tree = ReferenceTree();
  for (const ConsistencyVector& v : kConsistencyVectors) {
    SCOPED_TRACE(std::to_string(v.old_size) + " -> " + std::to_string(v.new_size));
    ReadLog log;
    Result<std::vector<std::string>> proof =
        ConsistencyProof(Bounded(tree.reader(), v.new_size, &log), v.old_size, v.new_size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(HexAll(*proof), std::vector<std::string>(v.proof.begin(), v.proof.end()));
    EXPECT_TRUE(log.violations.empty());
    const Status st = VerifyConsistency(v.old_size, v.new_size, Unhex(kRootsHex[v.old_size - 1]),
                                        Unhex(kRootsHex[v.new_size - 1]), UnhexAll(v.proof));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

// The probes of Certificate Transparency's VerifierCheck / VerifierConsistencyCheck, applied to
// the published proofs.
TEST(MerkleReferenceTest, PublishedProofsRejectTampering) {
  const std::string wrong_leaf = "WrongLeaf";
  const std::string empty_root = Unhex(kEmptyRootHex);
  for (const InclusionVector& v : kInclusionVectors) {
    SCOPED_TRACE("leaf " + std::to_string(v.index) + " size " + std::to_string(v.size));
    const std::string leaf = LeafHash(Unhex(kInputsHex[v.index]));
    const std::string root = Unhex(kRootsHex[v.size - 1]);
    const std::vector<std::string> proof = UnhexAll(v.proof);
    EXPECT_FALSE(VerifyInclusion(leaf, v.index - 1, v.size, proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaf, v.index + 1, v.size, proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaf, v.index ^ 2, v.size, proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size * 2, proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size / 2, proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(wrong_leaf, v.index, v.size, proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size, proof, empty_root).ok());
    for (size_t j = 0; j < proof.size(); ++j) {
      std::vector<std::string> bad = proof;
      bad[j] = empty_root;
      EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size, bad, root).ok());
    }
    for (const std::string& extra : {std::string(), root}) {
      std::vector<std::string> longer = proof;
      longer.push_back(extra);
      EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size, longer, root).ok());
      longer = proof;
      longer.insert(longer.begin(), extra);
      EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size, longer, root).ok());
    }
    if (!proof.empty()) {
      std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
      EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size, shorter, root).ok());
    }
  }
  for (const ConsistencyVector& v : kConsistencyVectors) {
    if (v.proof.empty()) continue;  // probes are for non-trivial proofs, as in CT
    SCOPED_TRACE(std::to_string(v.old_size) + " -> " + std::to_string(v.new_size));
    const std::string root1 = Unhex(kRootsHex[v.old_size - 1]);
    const std::string root2 = Unhex(kRootsHex[v.new_size - 1]);
    const std::vector<std::string> proof = UnhexAll(v.proof);
    const uint64_t m = v.old_size;
    const uint64_t n = v.new_size;
    EXPECT_FALSE(VerifyConsistency(m - 1, n, root1, root2, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m + 1, n, root1, root2, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m ^ 2, n, root1, root2, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m, n * 2, root1, root2, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m, n / 2, root1, root2, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m, n, root1, "WrongRoot", proof).ok());
    EXPECT_FALSE(VerifyConsistency(m, n, "WrongRoot", root2, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m, n, root2, root1, proof).ok());
    EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, {}).ok());
    for (size_t j = 0; j < proof.size(); ++j) {
      std::vector<std::string> bad = proof;
      bad[j] = empty_root;
      EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, bad).ok());
    }
    for (const std::string& extra : {std::string(), proof.front(), proof.back()}) {
      std::vector<std::string> longer = proof;
      longer.push_back(extra);
      EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, longer).ok());
      longer = proof;
      longer.insert(longer.begin(), extra);
      EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, longer).ok());
    }
    std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
    EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, shorter).ok());
  }
}

TEST(MerkleReferenceTest, PythonComputedLargerTree) {
  MemoryTree tree;
  for (uint64_t i = 0; i < 70; ++i) tree.Append(Entry(i));
  for (const SizedRoot& r : kEntryRootsHex) {
    Result<std::string> root = RootAt(tree.reader(), r.size);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(HexEncode(*root), r.root) << "size " << r.size;
  }
  for (const InclusionVector& v : kEntryInclusionVectors) {
    Result<std::vector<std::string>> proof = InclusionProof(tree.reader(), v.index, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(HexAll(*proof), std::vector<std::string>(v.proof.begin(), v.proof.end()))
        << "leaf " << v.index << " size " << v.size;
  }
  for (const ConsistencyVector& v : kEntryConsistencyVectors) {
    Result<std::vector<std::string>> proof =
        ConsistencyProof(tree.reader(), v.old_size, v.new_size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(HexAll(*proof), std::vector<std::string>(v.proof.begin(), v.proof.end()))
        << v.old_size << " -> " << v.new_size;
  }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive properties for every tree size up to kMaxSize, all proofs generated from one stored
// tree of kMaxSize leaves (so nodes beyond the requested size exist and must not be used).

constexpr uint64_t kMaxSize = 70;

class MerklePropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t i = 0; i < kMaxSize; ++i) {
      tree_.Append(Entry(i));
      leaves_.push_back(LeafHash(Entry(i)));
    }
    for (uint64_t size = 0; size <= kMaxSize; ++size) roots_.push_back(RefMth(leaves_, 0, size));
  }

  // A reader for the tree of `size` leaves that records contract violations in log_.
  NodeReader ReaderFor(uint64_t size) { return Bounded(tree_.reader(), size, &log_); }

  // Every read is a full subtree; a proof or root needs one read per sibling plus, for the one
  // partial sibling on the right edge, one per set bit of its size: at most 3 per level.
  void ExpectReadsWithinContract(uint64_t size, uint64_t reads_before) {
    EXPECT_TRUE(log_.violations.empty()) << log_.violations.front();
    EXPECT_LE(log_.reads - reads_before, 3u * std::bit_width(size) + 1) << "size " << size;
  }

  MemoryTree tree_;
  std::vector<std::string> leaves_;
  std::vector<std::string> roots_;  // roots_[size], from the reference implementation
  ReadLog log_;
};

TEST_F(MerklePropertyTest, RootsMatchReferenceForEverySize) {
  CompactRange range;
  for (uint64_t size = 0; size <= kMaxSize; ++size) {
    const uint64_t before = log_.reads;
    Result<std::string> root = RootAt(ReaderFor(size), size);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(*root, roots_[size]) << "size " << size;
    ExpectReadsWithinContract(size, before);
    EXPECT_EQ(range.size(), size);
    EXPECT_EQ(range.Root(), roots_[size]) << "size " << size;
    if (size < kMaxSize) {
      ASSERT_TRUE(range.Append(leaves_[size]).ok());
    }
  }
}

TEST_F(MerklePropertyTest, ProofSizesMatchTheRecursion) {
  // Sizes well past the hashed trees: only the structure is compared here.
  for (uint64_t size = 1; size <= 300; ++size) {
    for (uint64_t index = 0; index < size; ++index) {
      ASSERT_EQ(InclusionProofSize(index, size), RefPathSize(index, size))
          << "leaf " << index << " size " << size;
    }
    for (uint64_t old_size = 1; old_size <= size; ++old_size) {
      ASSERT_EQ(ConsistencyProofSize(old_size, size),
                old_size == size ? 0 : RefSubproofSize(old_size, size, true))
          << old_size << " -> " << size;
    }
  }
  EXPECT_EQ(ConsistencyProofSize(0, 5), 0u);
}

TEST_F(MerklePropertyTest, InclusionProofsVerifyAndRejectTampering) {
  for (uint64_t size = 1; size <= kMaxSize; ++size) {
    const std::string& root = roots_[size];
    for (uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("leaf " + std::to_string(index) + " size " + std::to_string(size));
      const uint64_t before = log_.reads;
      Result<std::vector<std::string>> generated = InclusionProof(ReaderFor(size), index, size);
      ASSERT_TRUE(generated.ok()) << generated.status().ToString();
      ExpectReadsWithinContract(size, before);
      const std::vector<std::string>& proof = *generated;
      ASSERT_EQ(proof, RefPath(index, leaves_, 0, size));
      const std::string& leaf = leaves_[index];
      const Status ok = VerifyInclusion(leaf, index, size, proof, root);
      ASSERT_TRUE(ok.ok()) << ok.ToString();

      // Any changed byte of any proof hash breaks the chain to the root.
      for (size_t j = 0; j < proof.size(); ++j) {
        for (size_t byte = 0; byte < kSha256Size; ++byte) {
          std::vector<std::string> bad = proof;
          bad[j] = FlipByte(bad[j], byte);
          ASSERT_EQ(VerifyInclusion(leaf, index, size, bad, root).code(), Code::kCorruption)
              << "proof[" << j << "] byte " << byte;
        }
      }
      // Wrong leaf, or the right leaf claimed at another index.
      for (uint64_t other = 0; other < size; ++other) {
        if (other == index) continue;
        EXPECT_FALSE(VerifyInclusion(leaves_[other], index, size, proof, root).ok());
        EXPECT_FALSE(VerifyInclusion(leaf, other, size, proof, root).ok()) << "index " << other;
      }
      // Another tree size, checked against that size's true root. (Against this size's root a
      // different size can legitimately verify when the path shape is identical, e.g. leaf 0 of
      // sizes 7 and 8: the verifier cannot know that root is not a size-7 root.)
      for (uint64_t other = 1; other <= kMaxSize; ++other) {
        if (other == size) continue;
        EXPECT_FALSE(VerifyInclusion(leaf, index, other, proof, roots_[other]).ok())
            << "size " << other;
      }
      // Wrong root.
      EXPECT_EQ(VerifyInclusion(leaf, index, size, proof, FlipByte(root, 31)).code(),
                Code::kCorruption);
      EXPECT_FALSE(VerifyInclusion(leaf, index, size, proof, EmptyRoot()).ok());
      // Wrong length.
      std::vector<std::string> longer = proof;
      longer.push_back(root);
      EXPECT_EQ(VerifyInclusion(leaf, index, size, longer, root).code(), Code::kInvalidArgument);
      if (!proof.empty()) {
        std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
        EXPECT_EQ(VerifyInclusion(leaf, index, size, shorter, root).code(), Code::kInvalidArgument);
      }
    }
  }
}

TEST_F(MerklePropertyTest, ConsistencyProofsVerifyAndRejectTampering) {
  for (uint64_t new_size = 0; new_size <= kMaxSize; ++new_size) {
    for (uint64_t old_size = 0; old_size <= new_size; ++old_size) {
      SCOPED_TRACE(std::to_string(old_size) + " -> " + std::to_string(new_size));
      const uint64_t before = log_.reads;
      Result<std::vector<std::string>> generated =
          ConsistencyProof(ReaderFor(new_size), old_size, new_size);
      ASSERT_TRUE(generated.ok()) << generated.status().ToString();
      ExpectReadsWithinContract(new_size, before);
      const std::vector<std::string>& proof = *generated;
      ASSERT_EQ(proof, RefConsistency(old_size, new_size, leaves_));
      const std::string& root1 = roots_[old_size];
      const std::string& root2 = roots_[new_size];
      const Status ok = VerifyConsistency(old_size, new_size, root1, root2, proof);
      ASSERT_TRUE(ok.ok()) << ok.ToString();
      if (proof.empty()) continue;  // trivial cases: see MerkleVerifyTest

      for (size_t j = 0; j < proof.size(); ++j) {
        for (size_t byte = 0; byte < kSha256Size; ++byte) {
          std::vector<std::string> bad = proof;
          bad[j] = FlipByte(bad[j], byte);
          ASSERT_EQ(VerifyConsistency(old_size, new_size, root1, root2, bad).code(),
                    Code::kCorruption)
              << "proof[" << j << "] byte " << byte;
        }
      }
      // Other sizes, each with its own true root.
      for (uint64_t other = 0; other <= new_size; ++other) {
        if (other == old_size) continue;
        EXPECT_FALSE(VerifyConsistency(other, new_size, roots_[other], root2, proof).ok())
            << "old size " << other;
      }
      for (uint64_t other = old_size; other <= kMaxSize; ++other) {
        if (other == new_size) continue;
        EXPECT_FALSE(VerifyConsistency(old_size, other, root1, roots_[other], proof).ok())
            << "new size " << other;
      }
      // Wrong or swapped roots.
      EXPECT_EQ(VerifyConsistency(old_size, new_size, FlipByte(root1, 0), root2, proof).code(),
                Code::kCorruption);
      EXPECT_EQ(VerifyConsistency(old_size, new_size, root1, FlipByte(root2, 0), proof).code(),
                Code::kCorruption);
      EXPECT_FALSE(VerifyConsistency(old_size, new_size, root2, root1, proof).ok());
      // Wrong length.
      std::vector<std::string> longer = proof;
      longer.push_back(proof.back());
      EXPECT_EQ(VerifyConsistency(old_size, new_size, root1, root2, longer).code(),
                Code::kInvalidArgument);
      std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
      EXPECT_EQ(VerifyConsistency(old_size, new_size, root1, root2, shorter).code(),
                Code::kInvalidArgument);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CompactRange.

TEST_F(MerklePropertyTest, CompactRangeEmitsExactlyTheStoredNodes) {
  std::map<std::pair<uint32_t, uint64_t>, std::string> emitted;
  std::vector<std::string> errors;
  auto visitor = [&](uint32_t level, uint64_t index, const std::string& hash) {
    const std::pair<uint32_t, uint64_t> id{level, index};
    if (emitted.count(id) != 0) errors.push_back("emitted twice: " + std::to_string(level));
    // Storage may rely on children being reported before their parent.
    if (level > 0 && (emitted.count({level - 1, 2 * index}) == 0 ||
                      emitted.count({level - 1, 2 * index + 1}) == 0)) {
      errors.push_back("parent before children at level " + std::to_string(level));
    }
    emitted[id] = hash;
  };
  CompactRange range;
  for (uint64_t i = 0; i < kMaxSize; ++i) ASSERT_TRUE(range.Append(leaves_[i], visitor).ok());
  EXPECT_TRUE(errors.empty()) << errors.front();

  std::map<std::pair<uint32_t, uint64_t>, std::string> stored;
  for (size_t level = 0; level < tree_.levels().size(); ++level) {
    for (size_t index = 0; index < tree_.levels()[level].size(); ++index) {
      stored[{static_cast<uint32_t>(level), index}] = tree_.levels()[level][index];
    }
  }
  EXPECT_EQ(emitted, stored);
  // Each stored node is also the reference MTH of the leaves it covers.
  for (const auto& [id, hash] : stored) {
    const uint64_t begin = id.second << id.first;
    EXPECT_EQ(hash, RefMth(leaves_, begin, begin + (uint64_t{1} << id.first)));
  }
}

TEST_F(MerklePropertyTest, CompactRangeRestoresAndContinues) {
  CompactRange original;
  for (uint64_t size = 0; size <= kMaxSize; ++size) {
    SCOPED_TRACE("restored at size " + std::to_string(size));
    Result<CompactRange> from_roots = CompactRange::FromRoots(size, original.roots());
    ASSERT_TRUE(from_roots.ok()) << from_roots.status().ToString();
    const uint64_t before = log_.reads;
    Result<CompactRange> from_reader = CompactRange::FromReader(ReaderFor(size), size);
    ASSERT_TRUE(from_reader.ok()) << from_reader.status().ToString();
    EXPECT_TRUE(log_.violations.empty());
    EXPECT_EQ(log_.reads - before, static_cast<uint64_t>(std::popcount(size)));
    EXPECT_EQ(from_reader->roots(), original.roots());

    CompactRange restored = std::move(from_roots).value();
    EXPECT_EQ(restored.size(), size);
    EXPECT_EQ(restored.Root(), roots_[size]);
    for (uint64_t next = size; next < kMaxSize; ++next) {
      ASSERT_TRUE(restored.Append(leaves_[next]).ok());
      ASSERT_EQ(restored.Root(), roots_[next + 1]) << "after appending leaf " << next;
    }
    if (size < kMaxSize) {
      ASSERT_TRUE(original.Append(leaves_[size]).ok());
    }
  }
}

// Appending whole aligned subtrees by their roots (as the auditor does with full tiles) gives the
// same tree as appending their leaves, mixed in any order with single leaves.
TEST_F(MerklePropertyTest, CompactRangeAppendsAlignedSubtrees) {
  for (uint32_t height = 1; height <= 3; ++height) {
    const uint64_t width = uint64_t{1} << height;
    CompactRange range;
    for (uint64_t next = 0; next < kMaxSize;) {
      SCOPED_TRACE("height " + std::to_string(height) + " at " + std::to_string(next));
      // A subtree wherever one fits (and every third time a single leaf instead).
      if (next % width == 0 && next + width <= kMaxSize && (next / width) % 3 != 2) {
        ASSERT_TRUE(range.AppendSubtree(height, RefMth(leaves_, next, next + width)).ok());
        next += width;
      } else {
        if (next % width != 0) {
          EXPECT_EQ(range.AppendSubtree(height, leaves_[next]).code(), Code::kInvalidArgument);
        }
        ASSERT_TRUE(range.Append(leaves_[next]).ok());
        ++next;
      }
      ASSERT_EQ(range.size(), next);
      ASSERT_EQ(range.Root(), roots_[next]);
    }
  }
  CompactRange range;
  EXPECT_EQ(range.AppendSubtree(8, std::string(31, 'x')).code(), Code::kInvalidArgument);
  EXPECT_EQ(range.AppendSubtree(64, std::string(32, 'x')).code(), Code::kInvalidArgument);
  EXPECT_EQ(range.size(), 0u);
}

// FoldUp gives the nodes `levels` above a run: each is the reference MTH of the leaves it covers.
TEST_F(MerklePropertyTest, FoldUpGivesTheNodesAbove) {
  for (uint32_t levels = 0; levels <= 5; ++levels) {
    const uint64_t width = uint64_t{1} << levels;
    const uint64_t runs = kMaxSize / width;
    std::vector<std::string> run(leaves_.begin(), leaves_.begin() + runs * width);
    auto up = FoldUp(run, levels);
    ASSERT_EQ(up.size(), runs) << levels;
    for (uint64_t i = 0; i < runs; ++i) {
      EXPECT_EQ(up[i], RefMth(leaves_, i * width, (i + 1) * width)) << levels << " " << i;
    }
  }
}

TEST(MerkleCompactRangeTest, RejectsMalformedInput) {
  const std::string h(32, 'h');
  // Size 5 = 4 + 1 needs exactly two roots.
  EXPECT_EQ(CompactRange::FromRoots(5, {h}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromRoots(5, {h, h, h}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromRoots(5, {h, std::string(31, 'x')}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromRoots(0, {h}).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(CompactRange::FromRoots(0, {}).ok());
  EXPECT_TRUE(CompactRange::FromRoots(5, {h, h}).ok());

  CompactRange range;
  EXPECT_EQ(range.Append(std::string(31, 'x')).code(), Code::kInvalidArgument);
  EXPECT_EQ(range.Append("").code(), Code::kInvalidArgument);
  EXPECT_EQ(range.size(), 0u);

  // A full tree cannot grow: the size would wrap.
  std::vector<std::string> roots(64, h);
  Result<CompactRange> full = CompactRange::FromRoots(UINT64_MAX, roots);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->Append(h).code(), Code::kConflict);
  EXPECT_EQ(full->size(), UINT64_MAX);

  // Reader failures reach the caller unchanged.
  NodeReader failing = [](uint32_t, uint64_t) -> Result<std::string> {
    return Status::Unavailable("storage offline");
  };
  EXPECT_EQ(CompactRange::FromReader(failing, 3).status().code(), Code::kUnavailable);
}

// ---------------------------------------------------------------------------------------------
// Generation: argument checks and reader failures.

TEST(MerkleProofTest, RejectsBadArguments) {
  const MemoryTree tree = ReferenceTree();
  const NodeReader reader = tree.reader();
  EXPECT_EQ(InclusionProof(reader, 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(InclusionProof(reader, 8, 8).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(InclusionProof(reader, 2, 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(reader, 5, 4).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(reader, 1, 0).status().code(), Code::kInvalidArgument);

  // Empty proofs for the cases with nothing to prove, without touching storage.
  NodeReader unused = [](uint32_t, uint64_t) -> Result<std::string> {
    ADD_FAILURE() << "reader called";
    return Status::Internal("unused");
  };
  for (const auto& [m, n] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 0}, {0, 1}, {0, 8}, {1, 1}, {5, 5}, {UINT64_MAX, UINT64_MAX}}) {
    Result<std::vector<std::string>> proof = ConsistencyProof(unused, m, n);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_TRUE(proof->empty());
  }
  Result<std::vector<std::string>> single = InclusionProof(unused, 0, 1);
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(single->empty());

  // Only ranges produced by the RFC 6962 recursion have a hash.
  EXPECT_EQ(SubtreeRoot(reader, 3, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SubtreeRoot(reader, 5, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SubtreeRoot(reader, 1, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SubtreeRoot(reader, 2, 5).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SubtreeRoot(reader, 2, 6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SubtreeRoot(reader, 1, UINT64_MAX).status().code(), Code::kInvalidArgument);
  Result<std::string> right = SubtreeRoot(reader, 4, 7);  // the right half of the size-7 tree
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_EQ(*right, NodeHash(Unhex(kNodeHashesHex[1][2]), Unhex(kNodeHashesHex[0][6])));
  Result<std::string> leaf = SubtreeRoot(reader, 5, 6);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(HexEncode(*leaf), kNodeHashesHex[0][5]);
}

TEST(MerkleProofTest, PropagatesReaderFailures) {
  const MemoryTree tree = ReferenceTree();
  // A tree of 9 leaves whose storage only holds 8: the missing leaf surfaces as NotFound.
  EXPECT_EQ(RootAt(tree.reader(), 9).status().code(), Code::kNotFound);
  EXPECT_EQ(InclusionProof(tree.reader(), 0, 9).status().code(), Code::kNotFound);
  EXPECT_EQ(ConsistencyProof(tree.reader(), 3, 9).status().code(), Code::kNotFound);

  NodeReader offline = [](uint32_t, uint64_t) -> Result<std::string> {
    return Status::Unavailable("storage offline");
  };
  EXPECT_EQ(RootAt(offline, 5).status().code(), Code::kUnavailable);
  EXPECT_EQ(InclusionProof(offline, 3, 5).status().code(), Code::kUnavailable);
  EXPECT_EQ(ConsistencyProof(offline, 3, 5).status().code(), Code::kUnavailable);

  // Storage returning something that is not a SHA-256 hash is corrupt, not a short proof.
  NodeReader truncated = [](uint32_t, uint64_t) -> Result<std::string> {
    return std::string(31, 'x');
  };
  EXPECT_EQ(RootAt(truncated, 5).status().code(), Code::kCorruption);
  EXPECT_EQ(InclusionProof(truncated, 3, 5).status().code(), Code::kCorruption);
  EXPECT_EQ(ConsistencyProof(truncated, 3, 5).status().code(), Code::kCorruption);
}

// ---------------------------------------------------------------------------------------------
// Verification: malformed input and the trivial cases (transparency-dev TestVerifyConsistency,
// TestVerifyInclusionSingleEntry).

TEST(MerkleVerifyTest, InclusionRejectsMalformedInput) {
  const std::string h(32, 'h');
  const std::string short_hash(31, 'h');
  EXPECT_TRUE(VerifyInclusion(h, 0, 1, {}, h).ok());  // a single leaf is its own root
  EXPECT_EQ(VerifyInclusion(h, 0, 1, {}, NodeHash(h, h)).code(), Code::kCorruption);
  EXPECT_EQ(VerifyInclusion(short_hash, 0, 1, {}, h).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 0, 1, {}, short_hash).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 0, 1, {}, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 0, 2, {short_hash}, h).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 0, 0, {}, h).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 1, 1, {}, h).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 2, 1, {}, h).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 0, 2, {}, h).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(h, 0, 1, {h}, h).code(), Code::kInvalidArgument);
}

TEST(MerkleVerifyTest, ConsistencyTrivialCasesAndMalformedInput) {
  const std::string a(32, 'a');
  const std::string b(32, 'b');
  const std::string empty = EmptyRoot();
  // Nothing to prove: same size with equal roots, or growth from the empty tree.
  EXPECT_TRUE(VerifyConsistency(0, 0, empty, empty, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 7, empty, a, {}).ok());
  EXPECT_TRUE(VerifyConsistency(3, 3, a, a, {}).ok());
  EXPECT_EQ(VerifyConsistency(3, 3, a, b, {}).code(), Code::kCorruption);
  EXPECT_EQ(VerifyConsistency(0, 0, empty, a, {}).code(), Code::kCorruption);
  EXPECT_EQ(VerifyConsistency(0, 7, a, a, {}).code(), Code::kCorruption);
  // ... but then the proof must be empty.
  EXPECT_EQ(VerifyConsistency(0, 0, empty, empty, {empty}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(0, 1, empty, a, {empty}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 1, a, a, {a}).code(), Code::kInvalidArgument);
  // Time travel.
  EXPECT_EQ(VerifyConsistency(1, 0, a, b, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(2, 1, a, b, {}).code(), Code::kInvalidArgument);
  // A real extension needs a proof.
  EXPECT_EQ(VerifyConsistency(1, 2, a, b, {}).code(), Code::kInvalidArgument);
  // Hash lengths.
  EXPECT_EQ(VerifyConsistency(1, 2, std::string(31, 'a'), b, {b}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 2, a, "", {b}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 2, a, b, {std::string(33, 'b')}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(3, 3, a, std::string(31, 'a'), {}).code(), Code::kInvalidArgument);
  // The smallest real proof: the size-2 tree over leaves a, b extends the size-1 tree a.
  EXPECT_TRUE(VerifyConsistency(1, 2, a, NodeHash(a, b), {b}).ok());
  EXPECT_EQ(VerifyConsistency(1, 2, a, NodeHash(b, a), {b}).code(), Code::kCorruption);
}

// ---------------------------------------------------------------------------------------------
// Trees far too large to hash: every leaf is the same, so the full subtree at level L has the
// same hash h[L] everywhere and a NodeReader is O(1). This checks the 64-bit index arithmetic
// (sizes up to 2^64 - 1) and the storage contract at scale; tamper rejection is covered above.

class MerkleHugeTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    level_hashes_.push_back(LeafHash("same"));
    for (int level = 1; level < 64; ++level) {
      level_hashes_.push_back(NodeHash(level_hashes_.back(), level_hashes_.back()));
    }
  }

  NodeReader ReaderFor(uint64_t size) {
    NodeReader uniform = [this](uint32_t level, uint64_t) -> Result<std::string> {
      return level_hashes_[level];
    };
    return Bounded(std::move(uniform), size, &log_);
  }

  std::vector<std::string> level_hashes_;
  ReadLog log_;
};

TEST_F(MerkleHugeTreeTest, ProofsVerifyNearTheTopOfTheIndexSpace) {
  const uint64_t k2to40 = uint64_t{1} << 40;
  const uint64_t k2to63 = uint64_t{1} << 63;
  for (const uint64_t size : {k2to40 + 12345, k2to63 - 1, k2to63, k2to63 + 1,
                              k2to63 + (k2to63 >> 1) + 7, UINT64_MAX - 1, UINT64_MAX}) {
    SCOPED_TRACE("size " + std::to_string(size));
    Result<std::string> root = RootAt(ReaderFor(size), size);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    Result<CompactRange> range = CompactRange::FromReader(ReaderFor(size), size);
    ASSERT_TRUE(range.ok()) << range.status().ToString();
    EXPECT_EQ(range->Root(), *root);

    for (const uint64_t index :
         {uint64_t{0}, uint64_t{1}, size / 2, size / 2 + 1, size - size / 3, size - 2, size - 1}) {
      const uint64_t before = log_.reads;
      Result<std::vector<std::string>> proof = InclusionProof(ReaderFor(size), index, size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_LE(log_.reads - before, 2u * 64);
      EXPECT_EQ(proof->size(), RefPathSize(index, size));
      const Status st = VerifyInclusion(level_hashes_[0], index, size, *proof, *root);
      EXPECT_TRUE(st.ok()) << "leaf " << index << ": " << st.ToString();
    }
    for (const uint64_t old_size :
         {uint64_t{1}, uint64_t{2}, uint64_t{3}, k2to40 - 1, k2to40, size / 2 + 3, size - 1}) {
      Result<std::string> old_root = RootAt(ReaderFor(old_size), old_size);
      ASSERT_TRUE(old_root.ok()) << old_root.status().ToString();
      const uint64_t before = log_.reads;
      Result<std::vector<std::string>> proof = ConsistencyProof(ReaderFor(size), old_size, size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_LE(log_.reads - before, 3u * 64);
      EXPECT_EQ(proof->size(), RefSubproofSize(old_size, size, true));
      const Status st = VerifyConsistency(old_size, size, *old_root, *root, *proof);
      EXPECT_TRUE(st.ok()) << "from " << old_size << ": " << st.ToString();
    }
  }
  EXPECT_TRUE(log_.violations.empty()) << log_.violations.front();
}

}  // namespace
}  // namespace lapor::crypto
