#include "federation/directory.h"

#include "crypto/crypto.h"
#include "federation/manifest.h"
#include "federation/regions.h"

namespace lapor::federation {

void Directory::Set(std::shared_ptr<const v1::Manifest> manifest) {
  std::lock_guard<std::mutex> lock(mu_);
  manifest_ = std::move(manifest);
}

std::shared_ptr<const v1::Manifest> Directory::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
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
                           const v1::Event& event) {
  const std::string pae = crypto::PreAuthEncoding(envelope.payload_type(), envelope.payload());
  Status s = Status::PermissionDenied("the envelope carries no signature");
  for (const auto& sig : envelope.signatures()) {
    s = VerifyMemberSignature(m, event.node_id(), pae, sig.sig(), event.time_ms());
    if (s.ok()) break;
  }
  return s;
}

}  // namespace lapor::federation
