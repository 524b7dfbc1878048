#include "protocol/directory.h"

#include "base/mutex.h"
#include "crypto/crypto.h"
#include "protocol/manifest.h"
#include "protocol/regions.h"

namespace lapor::protocol {

void Directory::Set(std::shared_ptr<const v1::Manifest> manifest) {
  MutexLock lock(mu_);
  manifest_ = std::move(manifest);
}

std::shared_ptr<const v1::Manifest> Directory::Get() const {
  MutexLock lock(mu_);
  return manifest_;
}

const v1::Member* FindNode(const v1::Manifest& m, std::string_view node_id) {
  for (const auto& member : m.members()) {
    if (member.node_id() == node_id) return &member;
  }
  return nullptr;
}

std::string OwnerForRegion(const v1::Manifest* m, std::string_view region, std::string_view self) {
  if (m == nullptr) return std::string(self);
  if (const v1::Member* exact = FindMember(*m, region)) return exact->node_id();
  if (RegionWithin(region, self)) return std::string(self);
  const Region* r = FindRegion(region);
  if (r != nullptr && r->province_code != region) {
    if (const v1::Member* province = FindMember(*m, r->province_code)) {
      return province->node_id();
    }
  }
  return std::string(self);
}

std::string EscalationTarget(const v1::Manifest* m, std::string_view self, int level) {
  if (m == nullptr) return {};
  std::string target(kNationalHub);
  const Region* r = FindRegion(self);
  if (level == 0 && r != nullptr && r->province_code != self) {
    if (const v1::Member* province = FindMember(*m, r->province_code)) {
      target = province->node_id();
    }
  }
  const v1::Member* member = FindMember(*m, target);
  if (member == nullptr || member->node_id() == self) return {};
  return member->node_id();
}

Status VerifyMemberSignature(const v1::Manifest& m, std::string_view node_id,
                             std::string_view message, std::string_view signature,
                             int64_t time_ms) {
  const v1::Member* member = FindNode(m, node_id);
  if (member == nullptr) {
    return Status::Unauthenticated("unknown node '" + std::string(node_id) +
                                   "' (not in manifest version " + std::to_string(m.version()) +
                                   ")");
  }
  bool verifies_outside_validity = false;
  for (const auto& key : member->keys()) {
    if (!crypto::VerifySignature(key.public_key(), message, signature)) continue;
    if (KeyValidAt(*member, key.public_key(), time_ms)) return Status::Ok();
    verifies_outside_validity = true;
  }
  if (verifies_outside_validity) {
    return Status::PermissionDenied("signed by a key of node " + std::string(node_id) +
                                    " that is retired or not yet valid at " +
                                    std::to_string(time_ms));
  }
  return Status::PermissionDenied("signature does not verify under any key of node " +
                                  std::string(node_id));
}

Status VerifyEventEnvelope(const v1::Manifest& m, const v1::Envelope& envelope,
                           const v1::Event& event, const v1::MemberKey** signed_by) {
  const v1::Member* member = FindNode(m, event.node_id());
  if (member == nullptr) {
    return Status::Unauthenticated("node '" + event.node_id() +
                                   "' is not a federation member (manifest version " +
                                   std::to_string(m.version()) + ")");
  }
  // Events are signed once, by their author: more signatures would only multiply the checks a
  // receiver makes for one envelope.
  if (envelope.signatures_size() != 1) {
    return Status::InvalidArgument("an event envelope carries exactly one signature, not " +
                                       std::to_string(envelope.signatures_size()),
                                   "signatures");
  }
  const std::string pae = crypto::PreAuthEncoding(envelope.payload_type(), envelope.payload());
  std::string outside_validity;
  for (const auto& key : member->keys()) {
    for (const auto& sig : envelope.signatures()) {
      if (!crypto::VerifySignature(key.public_key(), pae, sig.sig())) continue;
      if (KeyValidAt(*member, key.public_key(), event.time_ms())) {
        if (signed_by != nullptr) *signed_by = &key;
        return Status::Ok();
      }
      outside_validity =
          "signed by key " + crypto::KeyIdOf(key.public_key()) + " of node " + event.node_id() +
          ", which is not valid at " + std::to_string(event.time_ms()) + " (valid from " +
          std::to_string(key.valid_from_ms()) +
          (key.valid_until_ms() ? " until " + std::to_string(key.valid_until_ms()) : "") + ")";
    }
  }
  if (!outside_validity.empty()) return Status::PermissionDenied(outside_validity);
  return Status::PermissionDenied("signature does not verify under any key of node " +
                                  event.node_id());
}

}  // namespace lapor::protocol
