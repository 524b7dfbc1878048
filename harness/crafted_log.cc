#include "harness/crafted_log.h"

#include <gtest/gtest.h>

#include <functional>

#include "crypto/merkle.h"
#include "crypto/note.h"
#include "protocol/envelope.h"

namespace lapor::testing {

std::map<std::string, v1::InclusionEvidence> CraftedLog(const crypto::SigningKey& key,
                                                        const std::string& origin,
                                                        const std::vector<std::string>& envelopes) {
  std::map<uint64_t, std::string> leaves;  // seq -> leaf hash
  uint64_t size = 0;
  for (const auto& e : envelopes) {
    protocol::EventEnvelope p;
    EXPECT_TRUE(protocol::ParseEventEnvelope(e, &p).ok());
    leaves[p.event.seq()] = crypto::LeafHash(e);
    size = std::max<uint64_t>(size, p.event.seq() + 1);
  }
  std::vector<std::string> filler{crypto::LeafHash("")};  // a perfect subtree of filler, by level
  for (int level = 1; level < 64; ++level) {
    filler.push_back(crypto::NodeHash(filler.back(), filler.back()));
  }
  std::function<Result<std::string>(uint32_t, uint64_t)> node = [&](uint32_t level,
                                                                    uint64_t index) {
    const uint64_t lo = index << level, hi = lo + (uint64_t{1} << level);
    auto it = leaves.lower_bound(lo);
    if (it == leaves.end() || it->first >= hi) return Result<std::string>(filler[level]);
    if (level == 0) return Result<std::string>(it->second);
    auto left = node(level - 1, 2 * index);
    auto right = node(level - 1, 2 * index + 1);
    return Result<std::string>(crypto::NodeHash(*left, *right));
  };
  auto root = crypto::RootAt(node, size);
  EXPECT_TRUE(root.ok());
  crypto::Checkpoint body{origin, size, *root, {}};
  auto note = crypto::SignNote(body.Body(), origin, key);
  EXPECT_TRUE(note.ok());
  std::map<std::string, v1::InclusionEvidence> out;
  for (const auto& e : envelopes) {
    protocol::EventEnvelope p;
    (void)protocol::ParseEventEnvelope(e, &p);
    auto proof = crypto::InclusionProof(node, p.event.seq(), size);
    EXPECT_TRUE(proof.ok());
    v1::InclusionEvidence& ev = out[e];
    ev.set_checkpoint(*note);
    for (auto& h : *proof) ev.add_hashes(h);
  }
  return out;
}

}  // namespace lapor::testing
