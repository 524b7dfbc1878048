// The federation receive decision (federation/receive.h) on what another node delivers. The first
// byte picks what the rest is:
//   0: a whole EventBatch as it arrives on /federation/v1/events (its checkpoint, proofs and every
//      item decided against a receiver that holds one case);
//   1: bytes merged into a valid verification of that case (protobuf merge: any field may change),
//      signed by the case's owner, so the fuzzer reaches the chain and lifecycle rules;
//   2: the same for a submission of a new case by another member.
// Any input: a verdict with a reason, never a crash; an event that does not follow the case's
// last one, or is not signed by its author, is never applied.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "crypto/crypto.h"
#include "federation/receive.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace {

using namespace lapor;
using namespace lapor::federation;

constexpr int64_t kNow = 1'796'007'600'000;
constexpr char kSelf[] = "34";
constexpr char kCase[] = "33-AAAAAAAAAA";

struct Held : ReceiverState {
  v1::CaseState state;
  std::string envelope;
  std::string hash;
  std::optional<std::string> OwnEnvelope(uint64_t) override { return std::nullopt; }
  Result<std::optional<std::string>> HashAt(const std::string& author, uint64_t seq) override {
    if (author == "33" && seq == 7) return std::optional<std::string>(hash);
    return std::optional<std::string>();
  }
  Result<AuthorTimes> TimesAround(const std::string& author, uint64_t seq) override {
    AuthorTimes t;  // the held submission: node 33's event 7
    if (author == "33" && seq < 7) t.after = kNow;
    if (author == "33" && seq > 7) t.before = kNow;
    return t;
  }
  Result<v1::CaseState> Latest(const std::string& case_id) override {
    if (case_id != kCase) return Status::NotFound("no case " + case_id);
    return state;
  }
  Result<std::vector<std::string>> Chain(const v1::CaseState&) override {
    return std::vector<std::string>{envelope};
  }
};

struct World {
  std::map<std::string, crypto::SigningKey> keys;
  v1::Manifest manifest;
  v1::Event submission;
  Held held;

  World() {
    crypto::Init();
    for (const char* node : {"00", "32", "33", "34"}) {
      // Fixed seeds: Ed25519 signs deterministically, so the same input is the same envelope.
      keys.emplace(node, *crypto::SigningKey::FromSeed(std::string(32, node[1])));
      (void)protocol::AddMember(&manifest, node, std::string("http://") + node,
                                keys.at(node).public_key(), kNow - 60'000);
    }
    manifest.set_version(3);
    submission.set_node_id("33");
    submission.set_seq(7);
    submission.set_case_id(kCase);
    submission.set_time_ms(kNow);
    submission.set_type(v1::EVENT_SUBMITTED);
    submission.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
    auto* sub = submission.mutable_submission();
    sub->set_title("Jalan berlubang");
    sub->set_description("Lubang besar di depan halte.");
    sub->set_category("infrastruktur");
    sub->set_report_type("pengaduan");
    sub->set_region_code("32.04");
    sub->set_channel("web");
    sub->set_access_code_hash(std::string(32, '\xac'));
    sub->set_verify_due_ms(kNow + 3 * 86'400'000LL);
    sub->set_owner_node("32");
    held.envelope = Sign(submission, "33");
    held.hash = crypto::Sha256(held.envelope);
    if (!protocol::ApplyEvent(submission, held.hash, &held.state).ok()) __builtin_trap();
  }
  std::string Sign(const v1::Event& e, const std::string& by) const {
    return protocol::SignEnvelope(protocol::kEventPayloadType, e.SerializeAsString(), keys.at(by));
  }
  v1::Event Verification() const {
    v1::Event e;
    e.set_node_id("32");
    e.set_seq(1);
    e.set_case_id(kCase);
    e.set_time_ms(kNow + 1000);
    e.set_type(v1::EVENT_VERIFIED);
    e.set_prev_hash(held.state.last_hash());
    auto* actor = e.mutable_actor();
    actor->set_kind(v1::ACTOR_OPERATOR);
    actor->set_operator_id(1);
    actor->set_role("admin");
    e.mutable_action()->set_agency("dinas-sda");
    e.mutable_action()->set_response_due_ms(kNow + 5 * 86'400'000LL);
    return e;
  }
};

// A verdict that is never acceptable for what was delivered.
void Check(const Decision& d, const std::string& envelope, const std::string& signer) {
  if (d.verdict == Verdict::kDeferred || d.verdict == Verdict::kRejected) {
    if (d.reason.empty()) __builtin_trap();
    return;
  }
  if (d.verdict != Verdict::kApply && d.verdict != Verdict::kKeepMessage &&
      d.verdict != Verdict::kAdopt) {
    return;  // duplicate
  }
  // Whatever is applied was signed by its author.
  if (!signer.empty() && d.event.event.node_id() != signer) __builtin_trap();
  (void)envelope;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  Held held = world->held;
  switch (data[0] % 3) {
    case 0: {
      v1::EventBatch batch;
      if (!batch.ParseFromString(rest) || batch.items_size() > kMaxBatchItems) return 0;
      SenderLog log = ReadSenderLog(&world->manifest, "33", batch, 0);
      for (const auto& item : batch.items()) {
        if (!item.has_envelope()) continue;  // sealed data is checked by the case service
        Decision d = DecideEvent(kSelf, "33", log, world->manifest, item.envelope(),
                                 crypto::Sha256(item.envelope()), &held);
        Check(d, item.envelope(), "");
      }
      return 0;
    }
    case 1:
    case 2: {
      const bool verify = data[0] % 3 == 1;
      v1::Event e = verify ? world->Verification() : world->submission;
      if (!e.MergeFromString(rest)) return 0;
      const std::string signer = verify ? "32" : "33";
      const std::string env = world->Sign(e, signer);
      SenderLog log;
      log.required = false;
      Decision d =
          DecideEvent(kSelf, signer, log, world->manifest, env, crypto::Sha256(env), &held);
      Check(d, env, e.node_id() == signer ? signer : std::string("?"));
      if (d.verdict == Verdict::kApply && e.case_id() == kCase &&
          e.prev_hash() != held.state.last_hash()) {
        __builtin_trap();  // applied although it does not follow the case's last event
      }
      return 0;
    }
  }
  return 0;
}
