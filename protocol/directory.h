// Who is who in the federation, read from the hub-signed manifest (protocol/manifest.h): which
// node owns a region's cases, which node supervises an escalation, and whether an envelope was
// signed by a member with a key valid when it was made. A node without a manifest is not
// federated: it owns every case itself.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "base/status.h"
#include "lapor/v1/event.pb.h"

namespace lapor::protocol {

// The node's current manifest, shared by its threads (replaced whole on update).
class Directory {
 public:
  void Set(std::shared_ptr<const v1::Manifest> manifest);
  std::shared_ptr<const v1::Manifest> Get() const;  // nullptr until a manifest is known

 private:
  mutable Mutex mu_;
  std::shared_ptr<const v1::Manifest> manifest_ LAPOR_GUARDED_BY(mu_);
};

// The member whose node id is `node_id`, or nullptr.
const v1::Member* FindNode(const v1::Manifest& m, std::string_view node_id);

// The node that owns cases of `region` (a province "33" or regency "33.01"): the member for the
// region itself; else `self` if the region lies within self's jurisdiction; else the member for
// the region's province; else `self` (also when `m` is null: not federated).
std::string OwnerForRegion(const v1::Manifest* m, std::string_view region, std::string_view self);

// The node that supervises a case `self` owns after its `level`-th escalation (0 = first): a
// regency's province first, then the hub; a province goes to the hub. Empty if that node is not a
// member or is `self`.
std::string EscalationTarget(const v1::Manifest* m, std::string_view self, int level);

// Checks that `signature` over `message` is by member `node_id` with a key valid at `time_ms`:
// Unauthenticated for an unknown node, PermissionDenied for a retired or not yet valid key or a
// signature that verifies under none of its keys.
Status VerifyMemberSignature(const v1::Manifest& m, std::string_view node_id,
                             std::string_view message, std::string_view signature, int64_t time_ms);

// VerifyMemberSignature for a DSSE event envelope: its one signature over PAE(type, payload) is
// by `event.node_id` with a key valid at `event.time_ms` (InvalidArgument "signatures" when the
// envelope carries none or several). `signed_by`, if set, receives the key that signed it.
Status VerifyEventEnvelope(const v1::Manifest& m, const v1::Envelope& envelope,
                           const v1::Event& event, const v1::MemberKey** signed_by = nullptr);

}  // namespace lapor::protocol
