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

// Hub edits; each bumps the version and the issue time. Refusals name the field.
Status AddMember(v1::Manifest* m, const std::string& jurisdiction, const std::string& url,
                 const std::string& public_key, int64_t now_ms);
Status RemoveMember(v1::Manifest* m, const std::string& jurisdiction, int64_t now_ms);
// The new key is valid from now; the old one(s) retire `overlap_ms` later.
Status RotateKey(v1::Manifest* m, const std::string& jurisdiction, const std::string& new_key,
                 int64_t now_ms, int64_t overlap_ms);

// The member of a jurisdiction, or nullptr.
const v1::Member* FindMember(const v1::Manifest& m, std::string_view jurisdiction);
// Whether `public_key` is one of `member`'s keys and valid at `time_ms`.
bool KeyValidAt(const v1::Member& member, std::string_view public_key, int64_t time_ms);
// The newest of `member`'s keys valid at `time_ms` (what others encrypt to), or nullptr.
const v1::MemberKey* CurrentKey(const v1::Member& member, int64_t time_ms);

// The manifest inside an envelope this node stored itself (only after checking the hub's
// signature), without checking it again; nullopt if it does not parse.
std::optional<v1::Manifest> ParseStoredManifest(std::string_view envelope);

}  // namespace lapor::protocol
