#include "protocol/manifest.h"

#include "protocol/envelope.h"
#include "protocol/regions.h"

namespace lapor::protocol {
namespace {

std::string KindOf(const std::string& jurisdiction) {
  if (jurisdiction == kNationalHub) return "hub";
  return jurisdiction.find('.') == std::string::npos ? "province" : "regency";
}

void Bump(v1::Manifest* m, int64_t now_ms) {
  m->set_version(m->version() + 1);
  m->set_issued_ms(now_ms);
}

}  // namespace

std::string SignManifest(const v1::Manifest& manifest, const crypto::SigningKey& hub) {
  return SignEnvelope(kManifestPayloadType, manifest, hub);
}

Result<v1::Manifest> OpenManifest(std::string_view envelope, std::string_view hub_public_key) {
  auto payload = OpenEnvelope(envelope, kManifestPayloadType, hub_public_key);
  if (payload.status().code() == Status::Code::kPermissionDenied) {
    return Status::PermissionDenied("manifest is not signed by the pinned hub key");
  }
  if (!payload.ok())
    return Status::InvalidArgument("manifest: " + payload.status().message(), "manifest");
  v1::Manifest m;
  if (!m.ParseFromString(*payload)) {
    return Status::InvalidArgument("manifest payload does not parse", "manifest");
  }
  return m;
}

Result<v1::Manifest> AcceptManifest(std::string_view envelope, std::string_view hub_public_key,
                                    uint64_t held_version) {
  auto m = OpenManifest(envelope, hub_public_key);
  if (!m.ok()) return m.status();
  if (m->version() < held_version) {
    return Status::Conflict("manifest version " + std::to_string(m->version()) +
                                " is older than the held version " + std::to_string(held_version),
                            "version");
  }
  return m;
}

const v1::Member* FindMember(const v1::Manifest& m, std::string_view jurisdiction) {
  for (const auto& member : m.members()) {
    if (member.jurisdiction() == jurisdiction) return &member;
  }
  return nullptr;
}

Status AddMember(v1::Manifest* m, const std::string& jurisdiction, const std::string& url,
                 const std::string& public_key, int64_t now_ms) {
  if (!IsValidJurisdiction(jurisdiction)) {
    return Status::InvalidArgument("unknown jurisdiction code '" + jurisdiction + "'",
                                   "--jurisdiction");
  }
  if (FindMember(*m, jurisdiction) != nullptr) {
    return Status::AlreadyExists("jurisdiction " + jurisdiction + " is already a member");
  }
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("the URL must start with http:// or https://", "--url");
  }
  if (public_key.size() != crypto::kPublicKeySize) {
    return Status::InvalidArgument("the key must be 64 hex characters (Ed25519)", "--key");
  }
  auto* member = m->add_members();
  member->set_node_id(jurisdiction);
  member->set_jurisdiction(jurisdiction);
  member->set_kind(KindOf(jurisdiction));
  member->set_base_url(url);
  auto* key = member->add_keys();
  key->set_public_key(public_key);
  key->set_valid_from_ms(now_ms);
  Bump(m, now_ms);
  return Status::Ok();
}

Status RemoveMember(v1::Manifest* m, const std::string& jurisdiction, int64_t now_ms) {
  auto* members = m->mutable_members();
  for (int i = 0; i < members->size(); ++i) {
    if (members->Get(i).jurisdiction() == jurisdiction) {
      members->DeleteSubrange(i, 1);
      Bump(m, now_ms);
      return Status::Ok();
    }
  }
  return Status::NotFound("jurisdiction " + jurisdiction + " is not a member", "--jurisdiction");
}

Status RotateKey(v1::Manifest* m, const std::string& jurisdiction, const std::string& new_key,
                 int64_t now_ms, int64_t overlap_ms) {
  if (new_key.size() != crypto::kPublicKeySize) {
    return Status::InvalidArgument("the key must be 64 hex characters (Ed25519)", "--key");
  }
  for (auto& member : *m->mutable_members()) {
    if (member.jurisdiction() != jurisdiction) continue;
    for (auto& k : *member.mutable_keys()) {
      if (k.public_key() == new_key) {
        return Status::AlreadyExists("the member already has this key");
      }
      if (k.valid_until_ms() == 0 || k.valid_until_ms() > now_ms + overlap_ms) {
        k.set_valid_until_ms(now_ms + overlap_ms);
      }
    }
    auto* key = member.add_keys();
    key->set_public_key(new_key);
    key->set_valid_from_ms(now_ms);
    Bump(m, now_ms);
    return Status::Ok();
  }
  return Status::NotFound("jurisdiction " + jurisdiction + " is not a member", "--jurisdiction");
}

namespace {
bool ValidAt(const v1::MemberKey& k, int64_t time_ms) {
  return time_ms >= k.valid_from_ms() && (k.valid_until_ms() == 0 || time_ms <= k.valid_until_ms());
}
}  // namespace

bool KeyValidAt(const v1::Member& member, std::string_view public_key, int64_t time_ms) {
  for (const auto& k : member.keys()) {
    if (k.public_key() == public_key && ValidAt(k, time_ms)) return true;
  }
  return false;
}

const v1::MemberKey* CurrentKey(const v1::Member& member, int64_t time_ms) {
  const v1::MemberKey* key = nullptr;
  for (const auto& k : member.keys()) {
    if (ValidAt(k, time_ms) && (key == nullptr || k.valid_from_ms() >= key->valid_from_ms())) {
      key = &k;
    }
  }
  return key;
}

std::optional<v1::Manifest> ParseStoredManifest(std::string_view envelope) {
  v1::Envelope env;
  v1::Manifest m;
  if (!env.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())) ||
      !m.ParseFromString(env.payload())) {
    return std::nullopt;
  }
  return m;
}

}  // namespace lapor::protocol
