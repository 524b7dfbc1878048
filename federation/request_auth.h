// Per-request authentication of federation HTTP requests between nodes. The sending node signs
// each request with its Ed25519 key (one of its keys in the hub's manifest) for one destination;
// the receiver checks membership, freshness, the signature under a key valid at the request's
// time, that it is the destination, and replay (also across its restarts). The receiver signs
// its 200 reply for that request, and the sender accepts no reply without that signature.
//
// Wire form: four headers on every node-to-node request.
//   X-Lapor-Node:      the sender's node id, its jurisdiction code ("00" hub, "32", "32.01")
//   X-Lapor-Timestamp: the sender's clock in ms since the Unix epoch, ASCII decimal digits only
//   X-Lapor-Nonce:     16 random bytes as 32 lower-case hex characters, fresh for every request
//   X-Lapor-Signature: standard base64 (RFC 4648, padded) of the 64-byte Ed25519 signature
//
// Signed bytes (RequestSigningString), every line ending in "\n":
//   lapor-request-v2
//   <method>                      as sent, e.g. "POST"
//   <path>                        the request target with its query, e.g. "/fed/v1/events?from=7"
//   <destination node id>         the member the request is for: another member refuses it
//   <hex SHA-256 of the body>     64 lower-case hex characters (hash of "" when there is no body)
//   <time_ms>                     the X-Lapor-Timestamp value, decimal
//   <nonce>                       the X-Lapor-Nonce value
// Method and path never contain "\n" in HTTP, so the lines split unambiguously; every other field
// has a fixed alphabet.
//
// The reply (HTTP 200 only) carries X-Lapor-Node (the responder) and X-Lapor-Signature over
// (ResponseSigningString):
//   lapor-response-v1
//   <responder node id>
//   <requester node id>
//   <the request's nonce>         binds the reply to this one request
//   <hex SHA-256 of the reply body>
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "lapor/v1/event.pb.h"
#include "storage/store.h"

namespace lapor::federation {

inline constexpr std::string_view kHeaderNode = "X-Lapor-Node";            // sender node id
inline constexpr std::string_view kHeaderTimestamp = "X-Lapor-Timestamp";  // ms since epoch
inline constexpr std::string_view kHeaderNonce = "X-Lapor-Nonce";          // 32 lower-case hex
inline constexpr std::string_view kHeaderSignature = "X-Lapor-Signature";  // base64, 64 bytes

// How far a request's timestamp may be from the receiver's clock, either way; also how long a
// receiver remembers a nonce.
inline constexpr int64_t kRequestWindowMs = 5 * 60 * 1000;
inline constexpr size_t kNonceBytes = 16;  // 32 hex characters

inline constexpr std::string_view kRequestSigningPrefix = "lapor-request-v2\n";
inline constexpr std::string_view kResponseSigningPrefix = "lapor-response-v1\n";

// MetaStore keys: the time up to which requests may have been accepted, recorded before accepting
// a later one. kRequestHighWaterAllKey covers every sender's requests stamped up to
// kHighWaterSharedAheadMs ahead of the receiver's clock (the mark is the newest such request's
// time plus two steps: one durable write per step or two, however many members send); a request
// stamped further ahead records a mark of its sender's own (prefix + sender node id), at its time
// plus a step. After a restart, requests are refused up to the higher of the two for at most
// kHighWaterSharedAheadMs + 2 steps past the old clock.
inline constexpr std::string_view kRequestHighWaterAllKey = "request_high_water";
inline constexpr std::string_view kRequestHighWaterMetaPrefix = "request_high_water:";
inline constexpr int64_t kHighWaterStepMs = 1000;
inline constexpr int64_t kHighWaterSharedAheadMs = 10000;

// The authentication a request carries (the parsed headers).
struct RequestAuth {
  std::string node_id;
  int64_t time_ms = 0;
  std::string nonce;      // 32 lower-case hex characters
  std::string signature;  // raw 64 bytes
};

// The exact bytes that are signed (see the format at the top of this file):
//   "lapor-request-v2\n" + method + "\n" + path + "\n" + to_node + "\n" +
//   hex(SHA-256(body)) + "\n" + decimal(time_ms) + "\n" + nonce + "\n"
std::string RequestSigningString(std::string_view method, std::string_view path,
                                 std::string_view to_node, std::string_view body, int64_t time_ms,
                                 std::string_view nonce);

// Signs a request from `node_id` to `to_node` with `key` at `time_ms`, drawing a fresh random
// nonce. Thread-safe.
RequestAuth SignRequest(const crypto::SigningKey& key, std::string_view node_id,
                        std::string_view to_node, std::string_view method, std::string_view path,
                        std::string_view body, int64_t time_ms);

// The bytes a responder signs for its reply `body` to `requester`'s request with `nonce`.
std::string ResponseSigningString(std::string_view responder, std::string_view requester,
                                  std::string_view nonce, std::string_view body);

// Checks a reply's signature (raw 64 bytes) under a key of `responder` valid at `now_ms`.
// PermissionDenied when it does not verify.
Status VerifyResponse(const v1::Member& responder, std::string_view requester,
                      std::string_view nonce, std::string_view body, std::string_view signature,
                      int64_t now_ms);

// The four header (name, value) pairs that carry `auth`.
std::vector<std::pair<std::string, std::string>> AuthHeaders(const RequestAuth& auth);

// Reads the four headers through `header` (the value of a header by name, nullopt when absent).
// Unauthenticated, naming the header, when one is missing or malformed: an empty node id, a
// timestamp that is not plain decimal digits within int64, a nonce that is not 32 lower-case hex
// characters, a signature that is not base64 of exactly 64 bytes. Checks the form only; whether
// the request is authentic is RequestVerifier's job.
Result<RequestAuth> ParseRequestAuth(
    const std::function<std::optional<std::string>(std::string_view)>& header);

// The receiving side: checks requests against the current manifest and remembers the nonces of
// the requests it accepted for the window, to refuse replays.
//
// Nonces are kept in memory only, so a request accepted before a restart could be replayed after
// it while its timestamp is still within the window. The verifier therefore refuses every request
// signed before `start_ms` (pass the process start time): a sender whose request straddles the
// restart gets 401 and signs again with a fresh timestamp. A request stamped ahead of the clock
// could still pass again after a quick restart: with `high_water`, the verifier records durably a
// time up to which it may have accepted requests (before accepting any later one): for every
// sender at once (requests stamped up to kHighWaterSharedAheadMs ahead of its clock) the newest
// such request's time plus two steps of kHighWaterStepMs, and for a request stamped further
// ahead, its sender's mark at the request's time plus a step.
// After a restart it refuses a sender's requests stamped at or before the higher of the two.
// A hub of hundreds of members thus writes about once a second, not once per member. For the same
// reason a request older than any nonce the verifier has already forgotten is refused, even if the
// caller's clock went backwards.
//
// Thread-safe: Verify may run concurrently on any number of threads.
class RequestVerifier {
 public:
  // `self`: this node's id, the destination every request must be signed for. `high_water` may
  // be null (then only start_ms protects against replays across restarts).
  // `window_ms`: how far a request's timestamp may be from the receiver's clock (and how long a
  // nonce is remembered); kRequestWindowMs but for clocks run faster than real time (benchmarks).
  RequestVerifier(std::string self, int64_t start_ms, storage::MetaStore* high_water = nullptr,
                  int64_t window_ms = kRequestWindowMs);

  // Checks, in this order:
  //   1. the sender is a member of `manifest`: else Unauthenticated "unknown node 'X'";
  //   2. |now_ms - time_ms| <= window_ms and time_ms is not before start_ms (nor before
  //      nonces already pruned): else Unauthenticated "timestamp T is outside the 5-minute
  //      window ..." (the window's length in ms when it is not kRequestWindowMs);
  //   3. the signature over RequestSigningString(..., self, ...) verifies under one of the
  //      member's keys that is valid at time_ms: else PermissionDenied, "key retired ..." or "key
  //      not yet valid ..." when it verifies only under a key of the member outside its validity,
  //      otherwise "signature does not verify under any key of X valid at T" (also when the
  //      request was signed for another destination);
  //   4. the sender's nonce has not been accepted within the window, nor (with high_water) was
  //      the request stamped at or before the sender's high-water mark from before the restart:
  //      else Conflict "replayed request: ...";
  //   5. with high_water, a request beyond the recorded marks first records a new one (for every
  //      sender if it is stamped within a step of now_ms, else for its sender): Unavailable if
  //      that write fails.
  // Only a request that passes every check records its nonce. Returns a copy of the member.
  Result<v1::Member> Verify(const v1::Manifest& manifest, const RequestAuth& auth,
                            std::string_view method, std::string_view path, std::string_view body,
                            int64_t now_ms);

  // Nonces currently remembered (for tests and metrics).
  size_t nonces_held() const;

 private:
  // Forgets nonces of requests older than the window at `now_ms`. Requires mu_.
  void PruneLocked(int64_t now_ms) LAPOR_REQUIRES(mu_);
  // Unauthenticated unless time_ms is within the window and not before floor_ms_. Requires mu_.
  Status CheckTimeLocked(int64_t time_ms, int64_t now_ms) const LAPOR_REQUIRES(mu_);

  // The sender's high-water mark from before this process started, the higher of its own and the
  // one for every sender (loaded on first sight): Unavailable if a stored mark cannot be read.
  Result<int64_t> RestartFloorLocked(const std::string& sender) LAPOR_REQUIRES(mu_);

  const std::string self_;
  const int64_t start_ms_;
  const int64_t window_ms_;
  storage::MetaStore* const high_water_;
  mutable Mutex mu_;
  // Per sender: the mark recorded before this process started, and the one recorded now (requests
  // stamped up to it may be accepted without writing).
  std::map<std::string, int64_t> restart_floor_ LAPOR_GUARDED_BY(mu_);
  std::map<std::string, int64_t> recorded_ LAPOR_GUARDED_BY(mu_);
  // The mark for every sender: from before this process started (loaded with the first request),
  // and the one recorded now.
  std::optional<int64_t> restart_floor_all_ LAPOR_GUARDED_BY(mu_);
  int64_t recorded_all_ LAPOR_GUARDED_BY(mu_) = 0;
  // Requests signed before floor_ms_ are refused: nonces older than it are not remembered
  // (start_ms_, raised as pruning forgets nonces).
  int64_t floor_ms_ LAPOR_GUARDED_BY(mu_);
  // Accepted (node id, nonce) pairs, and the same keyed by the request's time so pruning drops the
  // oldest first. Nonces are per sender so one member cannot block another's requests by reusing
  // a nonce it overheard.
  std::set<std::pair<std::string, std::string>> seen_ LAPOR_GUARDED_BY(mu_);
  std::multimap<int64_t, std::pair<std::string, std::string>> by_time_ LAPOR_GUARDED_BY(mu_);
};

}  // namespace lapor::federation
