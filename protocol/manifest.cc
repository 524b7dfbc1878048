#include "protocol/manifest.h"

#include <algorithm>
#include <vector>

#include "crypto/encoding.h"
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
                 int64_t now_ms, int64_t overlap_ms, const KeyVouch& vouch) {
  if (new_key.size() != crypto::kPublicKeySize) {
    return Status::InvalidArgument("the key must be 64 hex characters (Ed25519)", "--key");
  }
  if (vouch.statement.empty() == vouch.confirmed_out_of_band.empty()) {
    return Status::InvalidArgument(
        "a key change needs either the member's signed statement (--statement) or a record of "
        "its confirmation out of band (--confirmed-out-of-band), not both",
        "--statement");
  }
  for (auto& member : *m->mutable_members()) {
    if (member.jurisdiction() != jurisdiction) continue;
    for (auto& k : *member.mutable_keys()) {
      if (k.public_key() == new_key) {
        return Status::AlreadyExists("the member already has this key");
      }
    }
    if (!vouch.statement.empty()) {
      LAPOR_RETURN_IF_ERROR(
          VerifyKeyChangeStatement(member, member.keys(), new_key, vouch.statement, now_ms));
    }
    for (auto& k : *member.mutable_keys()) {
      if (k.valid_until_ms() == 0 || k.valid_until_ms() > now_ms + overlap_ms) {
        k.set_valid_until_ms(now_ms + overlap_ms);
      }
    }
    auto* key = member.add_keys();
    key->set_public_key(new_key);
    key->set_valid_from_ms(now_ms);
    if (!vouch.statement.empty()) {
      key->set_change_statement(vouch.statement);
    } else {
      key->set_confirmed_out_of_band(vouch.confirmed_out_of_band);
    }
    Bump(m, now_ms);
    return Status::Ok();
  }
  return Status::NotFound("jurisdiction " + jurisdiction + " is not a member", "--jurisdiction");
}

namespace {
bool ValidAt(const v1::MemberKey& k, int64_t time_ms) {
  return time_ms >= k.valid_from_ms() && (k.valid_until_ms() == 0 || time_ms <= k.valid_until_ms());
}

// A key as the logs and messages show it: its first 16 hex characters.
std::string Short(std::string_view key) { return crypto::HexEncode(key).substr(0, 16); }
}  // namespace

int64_t ExpiresMs(const v1::Manifest& m) {
  return m.expires_ms() != 0 ? m.expires_ms() : m.issued_ms();
}

bool Expired(const v1::Manifest& m, int64_t now_ms) { return now_ms >= ExpiresMs(m); }

void SetExpiry(v1::Manifest* m, int64_t validity_ms) {
  m->set_expires_ms(m->issued_ms() + validity_ms);
}

bool DueForReissue(const v1::Manifest& m, int64_t now_ms, int64_t validity_ms) {
  return m.expires_ms() == 0 || m.expires_ms() - now_ms < validity_ms / 3;
}

void Reissue(v1::Manifest* m, int64_t now_ms, int64_t validity_ms) {
  Bump(m, now_ms);
  SetExpiry(m, validity_ms);
}

std::string SignKeyChange(const std::string& jurisdiction, const crypto::SigningKey& current,
                          std::string_view new_key, int64_t time_ms) {
  v1::KeyChange kc;
  kc.set_jurisdiction(jurisdiction);
  kc.set_old_key(current.public_key());
  kc.set_new_key(std::string(new_key));
  kc.set_time_ms(time_ms);
  return SignEnvelope(kKeyChangePayloadType, kc, current);
}

Result<v1::KeyChange> OpenKeyChange(std::string_view envelope) {
  v1::Envelope env;
  v1::KeyChange kc;
  if (!env.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())) ||
      env.payload_type() != kKeyChangePayloadType || !kc.ParseFromString(env.payload()) ||
      kc.old_key().size() != crypto::kPublicKeySize ||
      kc.new_key().size() != crypto::kPublicKeySize) {
    return Status::InvalidArgument("not a key change statement", "statement");
  }
  if (!OpenEnvelope(envelope, kKeyChangePayloadType, kc.old_key()).ok()) {
    return Status::PermissionDenied("the key change statement is not signed by the key it names");
  }
  return kc;
}

Status VerifyKeyChangeStatement(const v1::Member& member,
                                const google::protobuf::RepeatedPtrField<v1::MemberKey>& trusted,
                                std::string_view new_key, std::string_view statement,
                                int64_t now_ms) {
  auto kc = OpenKeyChange(statement);
  if (!kc.ok()) return Status::PermissionDenied(kc.status().message());
  if (kc->jurisdiction() != member.jurisdiction()) {
    return Status::PermissionDenied("the statement is member " + kc->jurisdiction() + "'s, not " +
                                    member.jurisdiction() + "'s");
  }
  if (kc->new_key() != new_key) {
    return Status::PermissionDenied("the statement names another new key (" + Short(kc->new_key()) +
                                    ")");
  }
  const v1::MemberKey* signer = nullptr;
  int64_t latest_change_ms = 0;
  for (const auto& k : trusted) {
    if (k.public_key() == kc->old_key()) signer = &k;
    latest_change_ms = std::max(latest_change_ms, k.valid_from_ms());
  }
  if (signer == nullptr) {
    return Status::PermissionDenied("the statement is signed by " + Short(kc->old_key()) +
                                    ", not by a key this node trusts for member " +
                                    member.jurisdiction());
  }
  if (!ValidAt(*signer, kc->time_ms())) {
    return Status::PermissionDenied("the statement was signed at a time its key was not valid");
  }
  if (signer->valid_until_ms() != 0 && now_ms > signer->valid_until_ms()) {
    return Status::PermissionDenied("the statement is signed by a retired key");
  }
  if (kc->time_ms() < latest_change_ms) {
    return Status::PermissionDenied(
        "the statement was made before the member's latest key change (a replay)");
  }
  return Status::Ok();
}

Status VerifyKeyChanges(const v1::Manifest& held, const v1::Manifest& next, int64_t now_ms) {
  for (const auto& member : next.members()) {
    const v1::Member* before = FindMember(held, member.jurisdiction());
    if (before == nullptr) continue;
    google::protobuf::RepeatedPtrField<v1::MemberKey> trusted = before->keys();
    std::vector<const v1::MemberKey*> added;
    for (const auto& k : member.keys()) {
      const bool known = std::any_of(trusted.begin(), trusted.end(), [&](const v1::MemberKey& t) {
        return t.public_key() == k.public_key();
      });
      if (!known) added.push_back(&k);
    }
    std::stable_sort(added.begin(), added.end(), [](const auto* a, const auto* b) {
      return a->valid_from_ms() < b->valid_from_ms();
    });
    for (const v1::MemberKey* k : added) {
      const std::string which =
          "member " + member.jurisdiction() + "'s new key " + Short(k->public_key());
      if (!k->change_statement().empty()) {
        Status s = VerifyKeyChangeStatement(member, trusted, k->public_key(), k->change_statement(),
                                            now_ms);
        if (!s.ok()) return Status::PermissionDenied(which + ": " + s.message());
      } else if (k->confirmed_out_of_band().empty()) {
        return Status::PermissionDenied(which +
                                        " carries neither a statement signed by the member's "
                                        "key nor a record of its confirmation out of band");
      }
      // Trusted from here on as it was when it was new: a node that skipped versions judges the
      // next statement in the chain by the key's start, not by its later retirement.
      v1::MemberKey* as_new = trusted.Add();
      *as_new = *k;
      as_new->set_valid_until_ms(0);
    }
  }
  return Status::Ok();
}

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

std::string ManifestETag(uint64_t version) { return "\"v" + std::to_string(version) + "\""; }

}  // namespace lapor::protocol
