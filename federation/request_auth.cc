#include "federation/request_auth.h"

#include <charconv>

#include "base/mutex.h"
#include "crypto/encoding.h"
#include "protocol/manifest.h"

namespace lapor::federation {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<int64_t> ParseDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;  // no sign, spaces or exponent
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;  // overflow
  return v;
}

Status Missing(std::string_view name) {
  return Status::Unauthenticated("missing header " + std::string(name));
}

Status Malformed(std::string_view name, std::string_view why) {
  return Status::Unauthenticated("malformed header " + std::string(name) + ": " + std::string(why));
}

}  // namespace

std::string RequestSigningString(std::string_view method, std::string_view path,
                                 std::string_view to_node, std::string_view body, int64_t time_ms,
                                 std::string_view nonce) {
  std::string out(kRequestSigningPrefix);
  out += method;
  out += '\n';
  out += path;
  out += '\n';
  out += to_node;
  out += '\n';
  out += crypto::HexEncode(crypto::Sha256(body));
  out += '\n';
  out += std::to_string(time_ms);
  out += '\n';
  out += nonce;
  out += '\n';
  return out;
}

RequestAuth SignRequest(const crypto::SigningKey& key, std::string_view node_id,
                        std::string_view to_node, std::string_view method, std::string_view path,
                        std::string_view body, int64_t time_ms) {
  RequestAuth auth;
  auth.node_id = std::string(node_id);
  auth.time_ms = time_ms;
  auth.nonce = crypto::HexEncode(crypto::RandomBytes(kNonceBytes));
  auth.signature = key.Sign(RequestSigningString(method, path, to_node, body, time_ms, auth.nonce));
  return auth;
}

std::string ResponseSigningString(std::string_view responder, std::string_view requester,
                                  std::string_view nonce, std::string_view body) {
  std::string out(kResponseSigningPrefix);
  for (std::string_view line : {responder, requester, nonce}) {
    out += line;
    out += '\n';
  }
  out += crypto::HexEncode(crypto::Sha256(body));
  out += '\n';
  return out;
}

Status VerifyResponse(const v1::Member& responder, std::string_view requester,
                      std::string_view nonce, std::string_view body, std::string_view signature,
                      int64_t now_ms) {
  const std::string message = ResponseSigningString(responder.node_id(), requester, nonce, body);
  for (const auto& key : responder.keys()) {
    if (protocol::KeyValidAt(responder, key.public_key(), now_ms) &&
        crypto::VerifySignature(key.public_key(), message, signature)) {
      return Status::Ok();
    }
  }
  return Status::PermissionDenied("the reply is not signed by a current key of node " +
                                  responder.node_id() + " for this request");
}

std::vector<std::pair<std::string, std::string>> AuthHeaders(const RequestAuth& auth) {
  return {
      {std::string(kHeaderNode), auth.node_id},
      {std::string(kHeaderTimestamp), std::to_string(auth.time_ms)},
      {std::string(kHeaderNonce), auth.nonce},
      {std::string(kHeaderSignature), crypto::Base64Encode(auth.signature)},
  };
}

Result<RequestAuth> ParseRequestAuth(
    const std::function<std::optional<std::string>(std::string_view)>& header) {
  RequestAuth auth;

  auto node = header(kHeaderNode);
  if (!node) return Missing(kHeaderNode);
  if (node->empty()) return Malformed(kHeaderNode, "empty node id");
  auth.node_id = std::move(*node);

  auto timestamp = header(kHeaderTimestamp);
  if (!timestamp) return Missing(kHeaderTimestamp);
  auto time_ms = ParseDecimal(*timestamp);
  if (!time_ms) return Malformed(kHeaderTimestamp, "not decimal milliseconds since the epoch");
  auth.time_ms = *time_ms;

  auto nonce = header(kHeaderNonce);
  if (!nonce) return Missing(kHeaderNonce);
  if (nonce->size() != 2 * kNonceBytes || !IsLowerHex(*nonce)) {
    return Malformed(kHeaderNonce, "not 32 lower-case hex characters");
  }
  auth.nonce = std::move(*nonce);

  auto signature = header(kHeaderSignature);
  if (!signature) return Missing(kHeaderSignature);
  auto sig = crypto::Base64Decode(*signature);
  if (!sig) return Malformed(kHeaderSignature, "not base64");
  if (sig->size() != crypto::kSignatureSize) {
    return Malformed(kHeaderSignature, "not a 64-byte Ed25519 signature");
  }
  auth.signature = std::move(*sig);
  return auth;
}

RequestVerifier::RequestVerifier(std::string self, int64_t start_ms, storage::MetaStore* high_water,
                                 int64_t window_ms)
    : self_(std::move(self)),
      start_ms_(start_ms),
      window_ms_(window_ms),
      high_water_(high_water),
      floor_ms_(start_ms) {}

Result<int64_t> RequestVerifier::RestartFloorLocked(const std::string& sender) {
  // A mark that cannot be read refuses the request (and is read again for the next one): taken
  // as none, it would let requests accepted before the restart pass again.
  auto stored_mark = [&](const std::string& key) -> Result<int64_t> {
    if (high_water_ == nullptr) return int64_t{0};
    auto stored = high_water_->GetMeta(key);
    if (!stored.ok()) {
      return Status::Unavailable("cannot read the request high-water mark: " +
                                 stored.status().message());
    }
    if (!stored->has_value()) return int64_t{0};
    auto mark = ParseDecimal(**stored);
    if (!mark) return Status::Unavailable("the request high-water mark " + key + " is unreadable");
    return *mark;
  };
  if (!restart_floor_all_) {
    auto all = stored_mark(std::string(kRequestHighWaterAllKey));
    if (!all.ok()) return all.status();
    restart_floor_all_ = *all;
    recorded_all_ = *all;
  }
  auto it = restart_floor_.find(sender);
  if (it == restart_floor_.end()) {
    auto mark = stored_mark(std::string(kRequestHighWaterMetaPrefix) + sender);
    if (!mark.ok()) return mark.status();
    recorded_[sender] = *mark;
    it = restart_floor_.emplace(sender, *mark).first;
  }
  return std::max(it->second, *restart_floor_all_);
}

void RequestVerifier::PruneLocked(int64_t now_ms) {
  const int64_t cutoff = now_ms - window_ms_;
  if (cutoff <= floor_ms_) return;
  // A request signed before the cutoff fails the window check from now on (and, should the
  // caller's clock go back, the floor check), so its nonce need not be remembered.
  floor_ms_ = cutoff;
  auto end = by_time_.lower_bound(cutoff);
  for (auto it = by_time_.begin(); it != end; ++it) seen_.erase(it->second);
  by_time_.erase(by_time_.begin(), end);
}

Status RequestVerifier::CheckTimeLocked(int64_t time_ms, int64_t now_ms) const {
  const std::string t = "timestamp " + std::to_string(time_ms) + " is outside the " +
                        (window_ms_ == kRequestWindowMs ? std::string("5-minute")
                                                        : std::to_string(window_ms_) + " ms") +
                        " window";
  // The distance in uint64 arithmetic is exact for any int64 pair (no signed overflow).
  const uint64_t distance = time_ms < now_ms ? uint64_t(now_ms) - uint64_t(time_ms)
                                             : uint64_t(time_ms) - uint64_t(now_ms);
  if (distance > static_cast<uint64_t>(window_ms_)) {
    return Status::Unauthenticated(t + " of this node's clock (" + std::to_string(now_ms) + ")");
  }
  if (time_ms < start_ms_) {
    return Status::Unauthenticated(t + ": it is before this node started (" +
                                   std::to_string(start_ms_) +
                                   "), and nonces seen before a restart are not remembered");
  }
  if (time_ms < floor_ms_) {
    return Status::Unauthenticated(t + ": nonces before " + std::to_string(floor_ms_) +
                                   " are no longer remembered");
  }
  return Status::Ok();
}

Result<v1::Member> RequestVerifier::Verify(const v1::Manifest& manifest, const RequestAuth& auth,
                                           std::string_view method, std::string_view path,
                                           std::string_view body, int64_t now_ms) {
  const v1::Member* member = protocol::FindMember(manifest, auth.node_id);
  if (member == nullptr) return Status::Unauthenticated("unknown node '" + auth.node_id + "'");

  {
    MutexLock lock(mu_);
    PruneLocked(now_ms);
    LAPOR_RETURN_IF_ERROR(CheckTimeLocked(auth.time_ms, now_ms));
  }

  // The signature check runs outside the lock: it is the expensive part.
  const std::string message =
      RequestSigningString(method, path, self_, body, auth.time_ms, auth.nonce);
  const v1::MemberKey* outside_validity = nullptr;
  bool verified = false;
  for (const auto& key : member->keys()) {
    if (!crypto::VerifySignature(key.public_key(), message, auth.signature)) continue;
    if (protocol::KeyValidAt(*member, key.public_key(), auth.time_ms)) {
      verified = true;
      break;
    }
    outside_validity = &key;
  }
  const std::string at = std::to_string(auth.time_ms);
  if (!verified && outside_validity != nullptr) {
    const std::string key_id = crypto::KeyIdOf(outside_validity->public_key());
    if (auth.time_ms < outside_validity->valid_from_ms()) {
      return Status::PermissionDenied(
          "key not yet valid: the signature verifies under key " + key_id + " of " + auth.node_id +
          ", valid from " + std::to_string(outside_validity->valid_from_ms()) + ", not at " + at);
    }
    return Status::PermissionDenied(
        "key retired: the signature verifies under key " + key_id + " of " + auth.node_id +
        ", valid until " + std::to_string(outside_validity->valid_until_ms()) + ", not at " + at);
  }
  if (!verified) {
    return Status::PermissionDenied("signature does not verify under any key of " + auth.node_id +
                                    " valid at " + at);
  }

  MutexLock lock(mu_);
  // Another thread may have pruned past this request while the signature was checked.
  PruneLocked(now_ms);
  LAPOR_RETURN_IF_ERROR(CheckTimeLocked(auth.time_ms, now_ms));
  auto restart_floor = RestartFloorLocked(auth.node_id);
  if (!restart_floor.ok()) return restart_floor.status();
  if (const int64_t floor = *restart_floor; auth.time_ms <= floor) {
    return Status::Conflict("replayed request: stamped " + at + ", not after " +
                                std::to_string(floor) + ", up to which requests from " +
                                auth.node_id + " were accepted before this node restarted",
                            std::string(kHeaderTimestamp));
  }
  auto entry = std::make_pair(auth.node_id, auth.nonce);
  if (seen_.count(entry) > 0) {
    return Status::Conflict("replayed request: nonce already seen", std::string(kHeaderNonce));
  }
  if (high_water_ != nullptr && auth.time_ms > recorded_all_ &&
      auth.time_ms > recorded_[auth.node_id]) {
    // Recorded before the request is accepted, so that no restart forgets it: a request stamped
    // up to kHighWaterSharedAheadMs ahead of this node's clock under the mark for every sender
    // (one small durable write per step or two, however many members send), one stamped further
    // ahead under its sender's own.
    const bool for_all = auth.time_ms <= now_ms + kHighWaterSharedAheadMs;
    const int64_t mark = auth.time_ms + (for_all ? 2 : 1) * kHighWaterStepMs;
    Status saved =
        high_water_->SetMeta(for_all ? std::string(kRequestHighWaterAllKey)
                                     : std::string(kRequestHighWaterMetaPrefix) + auth.node_id,
                             std::to_string(mark));
    if (!saved.ok()) {
      return Status::Unavailable("cannot record the request's time: " + saved.message());
    }
    (for_all ? recorded_all_ : recorded_[auth.node_id]) = mark;
  }
  seen_.insert(entry);
  by_time_.emplace(auth.time_ms, std::move(entry));
  return *member;
}

size_t RequestVerifier::nonces_held() const {
  MutexLock lock(mu_);
  return seen_.size();
}

}  // namespace lapor::federation
