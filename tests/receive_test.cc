// The receive rules (federation/receive.h) in process: one table row per outcome of DecideEvent,
// each with the delivered event, what the receiving node holds and the expected verdict.
#include "federation/receive.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::federation {
namespace {

constexpr int64_t kNow = 1'796'007'600'000;  // 2026-11-30T03:00:00Z
constexpr char kSelf[] = "32";               // the receiving node
constexpr char kSender[] = "33";

// What the receiving node holds, as plain tables.
struct Held : ReceiverState {
  std::map<uint64_t, std::string> own;
  std::map<std::pair<std::string, uint64_t>, std::string> by_author;
  std::map<std::pair<std::string, uint64_t>, int64_t> times;  // (author, seq) -> signed time
  std::map<std::string, v1::CaseState> cases;
  std::map<std::string, std::vector<std::string>> chains;
  bool store_fails = false;

  std::optional<std::string> OwnEnvelope(uint64_t seq) override {
    auto it = own.find(seq);
    return it == own.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  Result<std::optional<std::string>> HashAt(const std::string& author, uint64_t seq) override {
    if (store_fails) return Status::IOError("disk on fire");
    auto it = by_author.find({author, seq});
    return it == by_author.end() ? std::optional<std::string>()
                                 : std::optional<std::string>(it->second);
  }
  Result<AuthorTimes> TimesAround(const std::string& author, uint64_t seq) override {
    AuthorTimes t;
    auto above = times.upper_bound({author, seq});
    if (above != times.end() && above->first.first == author) t.after = above->second;
    auto below = times.lower_bound({author, seq});
    if (below != times.begin() && (--below)->first.first == author) t.before = below->second;
    return t;
  }
  Result<v1::CaseState> Latest(const std::string& case_id) override {
    auto it = cases.find(case_id);
    if (it == cases.end()) return Status::NotFound("no case " + case_id);
    return it->second;
  }
  Result<std::vector<std::string>> Chain(const v1::CaseState& latest) override {
    return chains[latest.case_id()];
  }
};

class ReceiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::Init();
    for (const char* node : {"00", "32", "33", "34"}) {
      keys_.emplace(node, crypto::SigningKey::Generate());
      ASSERT_TRUE(protocol::AddMember(&manifest_, node, std::string("http://") + node,
                                      keys_.at(node).public_key(), kNow - 60'000)
                      .ok());
    }
    manifest_.set_version(3);
    log_.required = false;  // rows about proofs set it
  }

  static v1::Event Submission(const std::string& author, const std::string& case_id,
                              const std::string& owner) {
    v1::Event e;
    e.set_node_id(author);
    e.set_seq(7);
    e.set_case_id(case_id);
    e.set_time_ms(kNow);
    e.set_type(v1::EVENT_SUBMITTED);
    e.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
    auto* sub = e.mutable_submission();
    sub->set_title("Jalan berlubang");
    sub->set_description("Lubang besar di depan halte.");
    sub->set_category("infrastruktur");
    sub->set_report_type("pengaduan");
    sub->set_region_code("32.04");
    sub->set_target_agency("dinas-bina-marga");
    sub->set_channel("web");
    sub->set_access_code_hash(std::string(32, '\xac'));
    sub->set_verify_due_ms(kNow + 3 * 86'400'000LL);
    sub->set_owner_node(owner);
    return e;
  }
  // The owner's verification of a case, following `prev`.
  static v1::Event Verified(const std::string& author, const v1::CaseState& prev, uint64_t seq) {
    v1::Event e;
    e.set_node_id(author);
    e.set_seq(seq);
    e.set_case_id(prev.case_id());
    e.set_time_ms(kNow + 1000);
    e.set_type(v1::EVENT_VERIFIED);
    e.set_prev_hash(prev.last_hash());
    auto* actor = e.mutable_actor();
    actor->set_kind(v1::ACTOR_OPERATOR);
    actor->set_operator_id(1);
    actor->set_role("admin");
    e.mutable_action()->set_agency("dinas-sda");
    e.mutable_action()->set_response_due_ms(kNow + 5 * 86'400'000LL);
    return e;
  }
  std::string Sign(const v1::Event& e, const std::string& by) const {
    return protocol::SignEnvelope(protocol::kEventPayloadType, e.SerializeAsString(), keys_.at(by));
  }
  // A case `author` opened with `owner` as owner, held by the receiver; returns its state.
  v1::CaseState HoldCase(const std::string& author, const std::string& case_id,
                         const std::string& owner) {
    const std::string env = Sign(Submission(author, case_id, owner), author);
    v1::CaseState s;
    EXPECT_TRUE(
        protocol::ApplyEvent(Submission(author, case_id, owner), crypto::Sha256(env), &s).ok());
    held_.cases[case_id] = s;
    held_.chains[case_id] = {env};
    return s;
  }
  Decision Decide(const std::string& envelope) {
    return DecideEvent(kSelf, kSender, log_, manifest_, envelope, crypto::Sha256(envelope), &held_);
  }

  std::map<std::string, crypto::SigningKey> keys_;
  v1::Manifest manifest_;
  SenderLog log_;
  Held held_;
};

// One row: how to set the scene, what is delivered, what must come out.
struct Row {
  const char* name;
  Verdict verdict;
  const char* reason;  // a part of the reason, or "" for none
};

TEST_F(ReceiveTest, EachOutcomeOfTheRules) {
  auto check = [&](const Row& row, const std::string& envelope) {
    SCOPED_TRACE(row.name);
    Decision d = Decide(envelope);
    EXPECT_EQ(static_cast<int>(d.verdict), static_cast<int>(row.verdict)) << d.reason;
    if (*row.reason != '\0') {
      EXPECT_NE(d.reason.find(row.reason), std::string::npos) << d.reason;
    } else {
      EXPECT_EQ(d.reason, "");
    }
    return d;
  };
  const v1::Event sub33 = Submission("33", "33-AAAAAAAAAA", "32");

  // Parsing and signatures.
  check({"garbage", Verdict::kRejected, "envelope does not parse"}, "\xff\xff not protobuf");
  check({"signed by another member's key", Verdict::kRejected,
         "signature does not verify under any key of node 33"},
        Sign(sub33, "34"));
  {
    // One signature per envelope: a second one (even a valid one) is refused, not checked.
    v1::Envelope twice;
    twice.ParseFromString(Sign(sub33, "33"));
    *twice.add_signatures() = twice.signatures(0);
    check({"two signatures", Verdict::kRejected, "exactly one signature, not 2"},
          twice.SerializeAsString());
    twice.clear_signatures();
    check({"no signature", Verdict::kRejected, "exactly one signature, not 0"},
          twice.SerializeAsString());
  }
  {
    v1::Event stranger = Submission("35", "35-AAAAAAAAAA", "35");
    const std::string env = protocol::SignEnvelope(
        protocol::kEventPayloadType, stranger.SerializeAsString(), crypto::SigningKey::Generate());
    check({"unknown author, same manifest", Verdict::kRejected, "not a federation member"}, env);
    log_.manifest_version = 4;  // the sender knows a newer manifest
    check({"unknown author, sender's manifest newer", Verdict::kDeferred, "is behind"}, env);
    log_.manifest_version = 0;
  }

  // The sender's own events travel with its log.
  log_.required = true;
  check({"sender's event without checkpoint", Verdict::kRejected,
         "no checkpoint and inclusion proof"},
        Sign(sub33, "33"));
  log_.present = true;
  check({"sender's event without its proof", Verdict::kRejected, "no inclusion proof for seq 7"},
        Sign(sub33, "33"));
  {
    // A log of 8 events whose leaf 7 is this event: the proof verifies.
    const std::string env = Sign(sub33, "33");
    std::vector<std::string> leaves;
    for (int i = 0; i < 7; ++i) leaves.push_back(crypto::LeafHash("other " + std::to_string(i)));
    leaves.push_back(crypto::LeafHash(env));
    const crypto::NodeReader reader = [leaves](uint32_t level,
                                               uint64_t index) -> Result<std::string> {
      return crypto::FoldUp(leaves, level)[index];  // 8 leaves: a perfect tree
    };
    log_.size = 8;
    log_.root = *crypto::RootAt(reader, 8);
    log_.proofs[7] = *crypto::InclusionProof(reader, 7, 8);
    check({"sender's event in its log", Verdict::kApply, ""}, env);
    log_.proofs[7][0][0] ^= 1;
    check({"sender's event with a wrong proof", Verdict::kRejected,
           "inclusion proof does not verify"},
          env);
  }
  log_ = SenderLog();
  log_.required = false;

  // This node's own events come back only as duplicates.
  {
    v1::Event own = Submission("32", "32-AAAAAAAAAA", "32");
    own.set_seq(3);
    const std::string env = Sign(own, "32");
    check({"own event not held", Verdict::kRejected, "this node's own that it does not hold"}, env);
    held_.own[3] = env;
    check({"own event held", Verdict::kDuplicate, ""}, env);
  }

  // Duplicates, equivocation, a store that fails.
  {
    const std::string env = Sign(sub33, "33");
    held_.store_fails = true;
    check({"store read fails", Verdict::kDeferred, "disk on fire"}, env);
    held_.store_fails = false;
    held_.by_author[{"33", 7}] = crypto::Sha256(env);
    check({"held already", Verdict::kDuplicate, ""}, env);
    held_.by_author[{"33", 7}] = std::string(32, 'x');
    Decision d = check({"two events with one seq", Verdict::kRejected,
                        "node 33 signed two different events with seq 7"},
                       env);
    ASSERT_TRUE(d.equivocating_with.has_value());
    EXPECT_EQ(*d.equivocating_with, std::string(32, 'x'));
    held_.by_author.clear();
  }

  // An author's events are dated in seq order: a key cannot sign an event dated before one its
  // node signed earlier (or after a later one), beyond kAuthorClockSkewMs.
  {
    const std::string env = Sign(sub33, "33");  // seq 7, dated kNow
    held_.times[{"33", 5}] = kNow + kAuthorClockSkewMs + 1;
    check({"dated before an earlier event", Verdict::kRejected,
           "before its earlier event (1796007605001): an author's events are dated in seq order"},
          env);
    held_.times[{"33", 5}] = kNow + kAuthorClockSkewMs;
    held_.times[{"33", 6}] = kNow - 3600000;  // the nearer one counts
    check({"dated within the slack after the event before", Verdict::kApply, ""}, env);
    held_.times.clear();
    held_.times[{"33", 9}] = kNow - kAuthorClockSkewMs - 1;
    held_.times[{"34", 6}] = kNow + 3600000;  // another author's events do not count
    check({"dated after a later event", Verdict::kRejected, "after its later event"}, env);
    held_.times.clear();
  }

  // Submissions.
  {
    Decision d = check({"a new case", Verdict::kApply, ""}, Sign(sub33, "33"));
    EXPECT_TRUE(d.new_case);
    EXPECT_EQ(d.state.owner_node(), "32");
    EXPECT_EQ(d.state.origin_node(), "33");
    EXPECT_EQ(d.state.local_ref(), 0u);
    check({"an id its author does not issue", Verdict::kRejected, "is not one node 33 issues"},
          Sign(Submission("33", "32-AAAAAAAAAA", "32"), "33"));
    check({"an owner that is no member", Verdict::kRejected, "owner node '35' is not a member"},
          Sign(Submission("33", "33-BBBBBBBBBB", "35"), "33"));
    HoldCase("33", "33-AAAAAAAAAA", "32");
    check({"a case that exists", Verdict::kRejected, "case 33-AAAAAAAAAA already exists"},
          Sign(sub33, "33"));
  }

  // Events of existing cases.
  {
    v1::CaseState held33 = HoldCase("33", "33-CCCCCCCCCC", "33");
    v1::Event verified = Verified("33", held33, 8);
    check({"case not known yet", Verdict::kDeferred, "case 33-DDDDDDDDDD not known yet"},
          Sign(
              [&] {
                v1::Event e = verified;
                e.set_case_id("33-DDDDDDDDDD");
                return e;
              }(),
              "33"));
    Decision d = check({"the next link", Verdict::kApply, ""}, Sign(verified, "33"));
    EXPECT_FALSE(d.new_case);
    EXPECT_EQ(d.state.status(), protocol::status::kDispositioned);
    EXPECT_EQ(d.state.local_ref(), held33.local_ref());

    v1::Event not_owner = Verified("34", held33, 1);
    check({"an author that does not own the case", Verdict::kRejected, "does not own the case"},
          Sign(not_owner, "34"));

    // The receiver has moved on: the event follows an earlier link (a fork) or a missing one.
    v1::CaseState later = held33;
    later.set_last_hash(std::string(32, 'L'));
    held_.cases[held33.case_id()] = later;
    check({"a fork", Verdict::kRejected, "fork"}, Sign(verified, "33"));
    v1::Event gap = verified;
    gap.set_prev_hash(std::string(32, 'G'));
    check({"a missing previous event", Verdict::kDeferred, "previous event has not arrived"},
          Sign(gap, "33"));
  }

  // A reporter's message relayed by the case's origin.
  {
    v1::CaseState c = HoldCase("33", "33-EEEEEEEEEE", "32");
    v1::Event msg;
    msg.set_node_id("33");
    msg.set_seq(9);
    msg.set_case_id(c.case_id());
    msg.set_time_ms(kNow + 2000);
    msg.set_type(v1::EVENT_CITIZEN_MESSAGE);
    msg.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
    msg.mutable_action()->set_request("reply");
    msg.mutable_action()->set_note("Belum diperbaiki.");
    check({"owner adopts", Verdict::kAdopt, ""}, Sign(msg, "33"));
    v1::CaseState other_owner = c;
    other_owner.set_owner_node("34");
    held_.cases[c.case_id()] = other_owner;
    check({"a party keeps it", Verdict::kKeepMessage, ""}, Sign(msg, "33"));
    v1::CaseState handover = c;
    handover.set_pending_owner("34");
    held_.cases[c.case_id()] = handover;
    check({"during a handover", Verdict::kDeferred, "being handed over"}, Sign(msg, "33"));
    v1::Event from_other = msg;
    from_other.set_node_id("34");
    check({"not from the origin", Verdict::kRejected, "only the case's origin node relays"},
          Sign(from_other, "34"));
  }
}

// Every event is proven to be in its author's log, whoever delivers it; a retired key's events
// need a checkpoint signed by a key in force, or witnessed by the hub before the key retired.
TEST_F(ReceiveTest, EveryEventIsProvenInItsAuthorsLogAndARetiredKeyNeedsAWitness) {
  auto check = [&](const char* name, const std::string& envelope,
                   const v1::InclusionEvidence* evidence, Verdict verdict, const char* reason) {
    SCOPED_TRACE(name);
    Decision d = DecideEvent(kSelf, kSender, log_, manifest_, envelope, crypto::Sha256(envelope),
                             &held_, evidence);
    EXPECT_EQ(static_cast<int>(d.verdict), static_cast<int>(verdict)) << d.reason;
    EXPECT_NE(d.reason.find(reason), std::string::npos) << d.reason;
    return d;
  };
  // 34's log of 8 events whose leaf 7 is `env`, its checkpoint signed with `signer`.
  auto evidence = [](const std::string& env, const crypto::SigningKey& signer) {
    std::vector<std::string> leaves;
    for (int i = 0; i < 7; ++i) leaves.push_back(crypto::LeafHash("other " + std::to_string(i)));
    leaves.push_back(crypto::LeafHash(env));
    const crypto::NodeReader reader = [leaves](uint32_t level,
                                               uint64_t index) -> Result<std::string> {
      return crypto::FoldUp(leaves, level)[index];
    };
    crypto::Checkpoint body{"lapor.test/34", 8, *crypto::RootAt(reader, 8), {}};
    v1::InclusionEvidence e;
    e.set_checkpoint(*crypto::SignNote(body.Body(), body.origin, signer));
    const auto proof = crypto::InclusionProof(reader, 7, 8);
    for (const auto& h : *proof) e.add_hashes(h);
    return e;
  };
  auto cosigned = [&](v1::InclusionEvidence e, int64_t at_ms) {
    auto note = crypto::SignedNote::Parse(e.checkpoint());
    auto body = crypto::Checkpoint::ParseBody(note->text);
    e.set_checkpoint(e.checkpoint() + *crypto::CosignatureLine("lapor.test/hub", keys_.at("00"),
                                                               at_ms / 1000, *body));
    return e;
  };
  log_.required = true;
  log_.now_ms = kNow;
  // A new case 34 opened, relayed by 33.
  const std::string env = Sign(Submission("34", "34-AAAAAAAAAA", "32"), "34");
  check("relayed without evidence", env, nullptr, Verdict::kDeferred,
        "no proof that the event is in node 34's log");
  const v1::InclusionEvidence good = evidence(env, keys_.at("34"));
  {
    const v1::InclusionEvidence by33 = evidence(env, keys_.at("33"));
    check("checkpoint not signed by the author", env, &by33, Verdict::kRejected,
          "node 34's checkpoint is not signed by its key");
    v1::InclusionEvidence wrong = good;
    std::string h = wrong.hashes(0);
    h[0] ^= 1;
    wrong.set_hashes(0, h);
    check("a wrong proof", env, &wrong, Verdict::kRejected, "inclusion proof does not verify");
    Decision d = check("proven", env, &good, Verdict::kApply, "");
    v1::InclusionEvidence kept;
    ASSERT_TRUE(kept.ParseFromString(d.evidence));
    EXPECT_EQ(kept.checkpoint(), good.checkpoint());  // kept with the event, to pass on
  }

  {
    // The sender's own event, proven by the item's evidence instead of the batch's checkpoint (a
    // chain a restoring node pulls carries no checkpoint of the batch's own).
    const std::string own = Sign(Submission("33", "33-AAAAAAAAAA", "32"), "33");
    const v1::InclusionEvidence proven = evidence(own, keys_.at("33"));
    check("the sender's own event, proven by the item", own, &proven, Verdict::kApply, "");
    check("the sender's own event, no proof at all", own, nullptr, Verdict::kRejected,
          "no checkpoint and inclusion proof for the sender's event");
  }

  // 34's key retires at kNow + 10 s (its events dated before then keep their signature) and a new
  // one takes over; the receiver's time is past the retirement.
  const crypto::SigningKey next = crypto::SigningKey::Generate();
  for (auto& member : *manifest_.mutable_members()) {
    if (member.node_id() != "34") continue;
    member.mutable_keys(0)->set_valid_until_ms(kNow + 10'000);
    auto* k = member.add_keys();
    k->set_public_key(next.public_key());
    k->set_valid_from_ms(kNow + 10'000);
  }
  log_.now_ms = kNow + 60'000;
  check("retired key, checkpoint by it, no witness", env, &good, Verdict::kRejected,
        "checkpoint is signed by a key retired at 1796007610000 and carries no cosignature");
  const v1::InclusionEvidence late = cosigned(good, kNow + 20'000);
  check("retired key, witnessed after it retired", env, &late, Verdict::kRejected,
        "the hub witnessed it only at 1796007620000");
  const v1::InclusionEvidence early = cosigned(good, kNow + 5'000);
  check("retired key, witnessed before it retired", env, &early, Verdict::kApply, "");
  const v1::InclusionEvidence current = evidence(env, next);
  check("retired key's event, checkpoint by the key in force", env, &current, Verdict::kApply, "");
  {
    // A witness that is not the hub does not count.
    auto note = crypto::SignedNote::Parse(good.checkpoint());
    auto body = crypto::Checkpoint::ParseBody(note->text);
    v1::InclusionEvidence other = good;
    other.set_checkpoint(
        good.checkpoint() +
        *crypto::CosignatureLine("lapor.test/hub", keys_.at("33"), (kNow + 5'000) / 1000, *body));
    check("witnessed by a member, not the hub", env, &other, Verdict::kRejected,
          "carries no cosignature of the hub");
  }
  // Before the retirement, the key's own checkpoint is enough.
  log_.now_ms = kNow + 9'000;
  check("key not yet retired", env, &good, Verdict::kApply, "");
}

TEST_F(ReceiveTest, SenderLogNeedsTheSendersKey) {
  v1::EventBatch batch;
  batch.set_manifest_version(5);
  SenderLog none = ReadSenderLog(&manifest_, "33", batch, 0);
  EXPECT_FALSE(none.present);
  EXPECT_EQ(none.manifest_version, 5u);
  batch.set_checkpoint("not a note");
  SenderLog bad = ReadSenderLog(&manifest_, "33", batch, 0);
  EXPECT_TRUE(bad.present);
  EXPECT_FALSE(bad.status.ok());
  EXPECT_NE(bad.status.message().find("does not parse"), std::string::npos);
}

}  // namespace
}  // namespace lapor::federation
