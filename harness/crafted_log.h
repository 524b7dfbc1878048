// Events a test crafts as another node (with that node's key) must, like every event delivered,
// come with the proof that they are in their author's log. CraftedLog makes that log: a tree of
// `size` leaves holding the crafted envelopes at their seqs (and a filler leaf everywhere else),
// its checkpoint signed with the author's key, and each envelope's inclusion proof in it. It never
// materialises the filler leaves, so seqs far beyond the author's real log cost nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "lapor/v1/event.pb.h"

namespace lapor::testing {

// The evidence for each of `envelopes` (event envelopes signed by `key`'s node) in one log named
// `origin` whose size is one past the highest seq among them. Aborts the test on a bad envelope.
std::map<std::string, v1::InclusionEvidence> CraftedLog(const crypto::SigningKey& key,
                                                        const std::string& origin,
                                                        const std::vector<std::string>& envelopes);

}  // namespace lapor::testing
