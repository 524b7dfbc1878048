// The federation manifest (proto lapor.v1.Manifest): signed by the hub, pinned by its key at every
// node, never rolled back. Pure functions; storage and transport live with their callers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/crypto.h"
#include "lapor/v1/event.pb.h"

namespace lapor::protocol {

inline constexpr std::string_view kManifestPayloadType =
    "application/vnd.lapor.manifest.v1+protobuf";

// A DSSE envelope (serialized lapor.v1.Envelope) of the manifest, signed by `hub`.
std::string SignManifest(const v1::Manifest& manifest, const crypto::SigningKey& hub);

// Verifies the envelope's signature by `hub_public_key` and parses it. PermissionDenied if it is
// not signed by that key, InvalidArgument if malformed.
Result<v1::Manifest> OpenManifest(std::string_view envelope, std::string_view hub_public_key);

// OpenManifest plus the no-rollback rule: Conflict if its version is below `held_version`.
Result<v1::Manifest> AcceptManifest(std::string_view envelope, std::string_view hub_public_key,
                                    uint64_t held_version);

// How long a manifest the hub issues stays fresh (node.json `manifest_validity_ms` on the hub).
inline constexpr int64_t kDefaultManifestValidityMs = int64_t{30} * 24 * 3600 * 1000;

// When `m` goes stale: its expires_ms, or its issue time for a manifest from before expiry
// existed (so an upgraded federation alerts until the hub re-issues, which it does at once).
int64_t ExpiresMs(const v1::Manifest& m);
// Whether `m` is stale at `now_ms` (nodes keep working with it, and alert).
bool Expired(const v1::Manifest& m, int64_t now_ms);
// Sets `m`'s expiry to its issue time + `validity_ms`; the hub calls it on everything it signs.
void SetExpiry(v1::Manifest* m, int64_t validity_ms);
// Whether the hub should re-issue `m` (less than a third of `validity_ms` left, or no expiry).
bool DueForReissue(const v1::Manifest& m, int64_t now_ms, int64_t validity_ms);
// The same content, version + 1, issued now and fresh for `validity_ms`.
void Reissue(v1::Manifest* m, int64_t now_ms, int64_t validity_ms);

// Hub edits; each bumps the version and the issue time. Refusals name the field.
Status AddMember(v1::Manifest* m, const std::string& jurisdiction, const std::string& url,
                 const std::string& public_key, int64_t now_ms);
Status RemoveMember(v1::Manifest* m, const std::string& jurisdiction, int64_t now_ms);
// The new key is valid from now; the old one(s) retire `overlap_ms` later. The change must carry
// the member's consent: `vouch` holds either its KeyChange statement, which must verify against
// `m` (VerifyKeyChangeStatement), or the hub operator's out-of-band confirmation record.
struct KeyVouch {
  std::string statement;              // a KeyChange envelope (SignKeyChange)
  std::string confirmed_out_of_band;  // who confirmed, how: a ticket, a call
};
Status RotateKey(v1::Manifest* m, const std::string& jurisdiction, const std::string& new_key,
                 int64_t now_ms, int64_t overlap_ms, const KeyVouch& vouch);

// ---- A member's key change, vouched for by the member (or out of band) ----

inline constexpr std::string_view kKeyChangePayloadType =
    "application/vnd.lapor.key-change.v1+protobuf";

// The member's statement "`jurisdiction` changes its key from current.public_key() to `new_key`
// at `time_ms`": a DSSE envelope of a KeyChange signed by `current`.
std::string SignKeyChange(const std::string& jurisdiction, const crypto::SigningKey& current,
                          std::string_view new_key, int64_t time_ms);
// The statement inside `envelope`, checked to be signed by its own old_key. InvalidArgument if
// malformed, PermissionDenied if the signature does not verify.
Result<v1::KeyChange> OpenKeyChange(std::string_view envelope);

// Whether `statement` lets `member` (as a node holding `member` knows it, `trusted` being its
// keys) take `new_key`: signed by one of the trusted keys, valid at the statement's time and not
// retired at `now_ms`; made for this member and this key; and made after the member's latest
// key change (a statement from before it is a replay). PermissionDenied says which rule failed.
Status VerifyKeyChangeStatement(const v1::Member& member,
                                const google::protobuf::RepeatedPtrField<v1::MemberKey>& trusted,
                                std::string_view new_key, std::string_view statement,
                                int64_t now_ms);

// The rule every node applies before it takes `next` in place of `held`: each key of a member of
// `held` that `held` does not list must carry a statement that verifies against the keys the node
// trusts for that member (those of `held`, then the new ones already verified, oldest first), or
// an out-of-band confirmation record. Members new in `next` are the hub's to vouch for (their
// first keys need nothing). PermissionDenied names the member and the key.
Status VerifyKeyChanges(const v1::Manifest& held, const v1::Manifest& next, int64_t now_ms);

// The member of a jurisdiction, or nullptr.
const v1::Member* FindMember(const v1::Manifest& m, std::string_view jurisdiction);
// Whether `public_key` is one of `member`'s keys and valid at `time_ms`.
bool KeyValidAt(const v1::Member& member, std::string_view public_key, int64_t time_ms);
// The newest of `member`'s keys valid at `time_ms` (what others encrypt to), or nullptr.
const v1::MemberKey* CurrentKey(const v1::Member& member, int64_t time_ms);

// The manifest inside an envelope this node stored itself (only after checking the hub's
// signature), without checking it again; nullopt if it does not parse.
std::optional<v1::Manifest> ParseStoredManifest(std::string_view envelope);

// The HTTP entity tag of a manifest version at GET /federation/v1/manifest: a member sends the
// one it holds as If-None-Match and gets 304 (no body) while the node works with that version.
std::string ManifestETag(uint64_t version);

}  // namespace lapor::protocol
