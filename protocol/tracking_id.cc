#include "protocol/tracking_id.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crypto/crypto.h"

namespace lapor::protocol {
namespace {
constexpr int kHalf = TrackingIdCodec::kBits / 2;
constexpr uint32_t kHalfMask = (uint32_t{1} << kHalf) - 1;
constexpr int kRounds = 8;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
}  // namespace

TrackingIdCodec::TrackingIdCodec(std::string_view secret, std::string_view jurisdiction) {
  crypto::Init();
  std::string material = "lapor.tracking-id.v1\n";
  material += secret;
  std::string digest = crypto::Sha256(material);
  std::memcpy(key_, digest.data(), sizeof key_);
  prefix_ = std::string(jurisdiction);
  prefix_.erase(std::remove(prefix_.begin(), prefix_.end(), '.'), prefix_.end());
  prefix_ += '-';
}

uint32_t TrackingIdCodec::Round(int round, uint32_t half) const {
  unsigned char in[5] = {static_cast<unsigned char>(round), static_cast<unsigned char>(half >> 24),
                         static_cast<unsigned char>(half >> 16),
                         static_cast<unsigned char>(half >> 8), static_cast<unsigned char>(half)};
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, in, sizeof in, key_);
  uint32_t v;
  std::memcpy(&v, out, sizeof v);
  return v & kHalfMask;
}

std::string TrackingIdCodec::Encode(uint64_t seq) const {
  uint32_t l = static_cast<uint32_t>(seq >> kHalf) & kHalfMask;
  uint32_t r = static_cast<uint32_t>(seq) & kHalfMask;
  for (int i = 0; i < kRounds; ++i) {
    uint32_t next = l ^ Round(i, r);
    l = r;
    r = next;
  }
  uint64_t x = (uint64_t{l} << kHalf) | r;
  std::string out = prefix_;
  for (int shift = kBits - 5; shift >= 0; shift -= 5) out.push_back(kAlphabet[(x >> shift) & 31]);
  return out;
}

std::optional<uint64_t> TrackingIdCodec::Decode(std::string_view id) const {
  if (id.size() != prefix_.size() + kBits / 5 || id.substr(0, prefix_.size()) != prefix_) {
    return std::nullopt;
  }
  uint64_t x = 0;
  for (char c : id.substr(prefix_.size())) {
    const char* p = std::strchr(kAlphabet, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    x = (x << 5) | static_cast<uint64_t>(p - kAlphabet);
  }
  uint32_t l = static_cast<uint32_t>(x >> kHalf) & kHalfMask;
  uint32_t r = static_cast<uint32_t>(x) & kHalfMask;
  for (int i = kRounds - 1; i >= 0; --i) {
    uint32_t prev = r ^ Round(i, l);
    r = l;
    l = prev;
  }
  return (uint64_t{l} << kHalf) | r;
}

}  // namespace lapor::protocol
