// Tracking ids: "<jurisdiction digits>-" + 10 base32 characters encoding a keyed 50-bit
// permutation (an 8-round Feistel network over SipHash) of the case's first sequence number.
// Unique by construction (a permutation of unique seqs), so no lookup is needed to issue one, and
// unguessable without the node's key (an id reveals nothing about neighbouring ids).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lapor::protocol {

class TrackingIdCodec {
 public:
  static constexpr int kBits = 50;
  static constexpr uint64_t kMaxSeq = (uint64_t{1} << kBits) - 1;

  // `secret` is key material (the node derives it from its sealing key); `jurisdiction` like
  // "32" or "32.04" gives the prefix "32-" or "3204-".
  TrackingIdCodec(std::string_view secret, std::string_view jurisdiction);

  // seq <= kMaxSeq.
  std::string Encode(uint64_t seq) const;
  // The seq an id encodes, if it is well-formed and carries this node's prefix.
  std::optional<uint64_t> Decode(std::string_view id) const;

 private:
  uint32_t Round(int round, uint32_t half) const;
  unsigned char key_[16];
  std::string prefix_;
};

}  // namespace lapor::protocol
