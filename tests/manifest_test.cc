// The federation manifest: hub signature, no rollback, membership edits, key retirement, key
// changes vouched for by the member, and expiry.
#include "protocol/manifest.h"

#include <gtest/gtest.h>

#include "protocol/envelope.h"

namespace lapor::protocol {
namespace {

constexpr int64_t kNow = 1796004000000;
constexpr int64_t kHour = 3600 * 1000;

KeyVouch Vouched(const std::string& statement) { return KeyVouch{statement, ""}; }
KeyVouch Confirmed(const std::string& record) { return KeyVouch{"", record}; }

TEST(ManifestTest, SignedByThePinnedHubKeyOnly) {
  auto hub = crypto::SigningKey::Generate();
  auto other = crypto::SigningKey::Generate();
  v1::Manifest m;
  ASSERT_TRUE(AddMember(&m, "32", "http://jabar.example", other.public_key(), kNow).ok());
  std::string env = SignManifest(m, hub);
  auto opened = OpenManifest(env, hub.public_key());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->version(), 1u);
  EXPECT_EQ(OpenManifest(env, other.public_key()).status().code(), Status::Code::kPermissionDenied);
  // A byte changed anywhere in the payload breaks the signature.
  v1::Envelope e;
  e.ParseFromString(env);
  std::string payload = e.payload();
  payload[payload.size() / 2] ^= 1;
  e.set_payload(payload);
  EXPECT_EQ(OpenManifest(e.SerializeAsString(), hub.public_key()).status().code(),
            Status::Code::kPermissionDenied);
  EXPECT_EQ(OpenManifest("garbage", hub.public_key()).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(ManifestTest, NoRollback) {
  auto hub = crypto::SigningKey::Generate();
  v1::Manifest m;
  ASSERT_TRUE(AddMember(&m, "32", "http://a", hub.public_key(), kNow).ok());
  std::string v1_env = SignManifest(m, hub);
  ASSERT_TRUE(AddMember(&m, "33", "http://b", hub.public_key(), kNow).ok());
  std::string v2_env = SignManifest(m, hub);
  EXPECT_TRUE(AcceptManifest(v2_env, hub.public_key(), 1).ok());
  EXPECT_TRUE(AcceptManifest(v2_env, hub.public_key(), 2).ok());  // same version again
  auto old = AcceptManifest(v1_env, hub.public_key(), 2);
  EXPECT_EQ(old.status().code(), Status::Code::kConflict);
  EXPECT_EQ(old.status().field(), "version");
}

TEST(ManifestTest, MembershipEditsBumpTheVersion) {
  auto k = crypto::SigningKey::Generate();
  v1::Manifest m;
  ASSERT_TRUE(AddMember(&m, "00", "https://hub.example", k.public_key(), kNow).ok());
  ASSERT_TRUE(AddMember(&m, "32.04", "https://kab-bandung.example", k.public_key(), kNow).ok());
  EXPECT_EQ(m.version(), 2u);
  EXPECT_EQ(FindMember(m, "32.04")->kind(), "regency");
  EXPECT_EQ(FindMember(m, "00")->kind(), "hub");
  EXPECT_EQ(AddMember(&m, "32.04", "https://x", k.public_key(), kNow).code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(AddMember(&m, "99", "https://x", k.public_key(), kNow).field(), "--jurisdiction");
  EXPECT_EQ(AddMember(&m, "33", "ftp://x", k.public_key(), kNow).field(), "--url");
  EXPECT_EQ(AddMember(&m, "33", "https://x", "short", kNow).field(), "--key");
  EXPECT_EQ(m.version(), 2u);  // refusals change nothing
  ASSERT_TRUE(RemoveMember(&m, "32.04", kNow).ok());
  EXPECT_EQ(FindMember(m, "32.04"), nullptr);
  EXPECT_EQ(RemoveMember(&m, "32.04", kNow).code(), Status::Code::kNotFound);
  EXPECT_EQ(m.version(), 3u);
}

TEST(ManifestTest, RotatedKeyRetiresAfterTheOverlap) {
  auto old_key = crypto::SigningKey::Generate();
  auto new_key = crypto::SigningKey::Generate();
  v1::Manifest m;
  ASSERT_TRUE(AddMember(&m, "32", "https://jabar", old_key.public_key(), kNow).ok());
  ASSERT_TRUE(
      RotateKey(&m, "32", new_key.public_key(), kNow + kHour, 24 * kHour, Confirmed("ticket 1"))
          .ok());
  EXPECT_EQ(m.version(), 2u);
  const v1::Member& member = *FindMember(m, "32");
  EXPECT_TRUE(KeyValidAt(member, old_key.public_key(), kNow + 2 * kHour));
  EXPECT_TRUE(KeyValidAt(member, old_key.public_key(), kNow + 25 * kHour));  // end of overlap
  EXPECT_FALSE(KeyValidAt(member, old_key.public_key(), kNow + 25 * kHour + 1));
  EXPECT_FALSE(KeyValidAt(member, new_key.public_key(), kNow));  // not before its start
  EXPECT_TRUE(KeyValidAt(member, new_key.public_key(), kNow + 30 * kHour));
  EXPECT_EQ(RotateKey(&m, "32", new_key.public_key(), kNow, 0, Confirmed("t")).code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(RotateKey(&m, "34", new_key.public_key(), kNow, 0, Confirmed("t")).code(),
            Status::Code::kNotFound);
}

// A manifest with member 32 on `key`, published at kNow.
v1::Manifest WithMember(const crypto::SigningKey& key) {
  v1::Manifest m;
  EXPECT_TRUE(AddMember(&m, "32", "https://jabar", key.public_key(), kNow).ok());
  EXPECT_TRUE(
      AddMember(&m, "33", "https://jateng", crypto::SigningKey::Generate().public_key(), kNow)
          .ok());
  return m;
}

// `held` with member 32's key `new_key` appended as the hub would list it, vouched for by
// `statement` (as-is: RotateKey would refuse a bad one, the point is what members do with it).
v1::Manifest WithAddedKey(v1::Manifest held, std::string_view new_key, const std::string& statement,
                          int64_t at_ms) {
  for (auto& member : *held.mutable_members()) {
    if (member.jurisdiction() != "32") continue;
    for (auto& k : *member.mutable_keys()) {
      if (k.valid_until_ms() == 0) k.set_valid_until_ms(at_ms + kHour);
    }
    auto* k = member.add_keys();
    k->set_public_key(std::string(new_key));
    k->set_valid_from_ms(at_ms);
    k->set_change_statement(statement);
  }
  held.set_version(held.version() + 1);
  return held;
}

TEST(ManifestTest, KeyChangeSignedByTheMembersCurrentKeyIsAcceptedAndRecorded) {
  auto current = crypto::SigningKey::Generate();
  auto next = crypto::SigningKey::Generate();
  const v1::Manifest held = WithMember(current);
  const std::string statement = SignKeyChange("32", current, next.public_key(), kNow + kHour);
  auto opened = OpenKeyChange(statement);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->old_key(), current.public_key());
  EXPECT_EQ(opened->new_key(), next.public_key());

  // The hub: rotate-key checks the statement against the manifest and records it.
  v1::Manifest published = held;
  ASSERT_TRUE(
      RotateKey(&published, "32", next.public_key(), kNow + 2 * kHour, kHour, Vouched(statement))
          .ok());
  const v1::MemberKey& added = FindMember(published, "32")->keys(1);
  EXPECT_EQ(added.change_statement(), statement);
  EXPECT_TRUE(added.confirmed_out_of_band().empty());
  // Every node that holds `held` takes `published`.
  EXPECT_TRUE(VerifyKeyChanges(held, published, kNow + 3 * kHour).ok());
  // Neither or both ways of vouching: refused.
  v1::Manifest again = held;
  EXPECT_EQ(RotateKey(&again, "32", next.public_key(), kNow, 0, {}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(RotateKey(&again, "32", next.public_key(), kNow, 0, KeyVouch{statement, "x"}).code(),
            Status::Code::kInvalidArgument);
}

TEST(ManifestTest, KeyListedByTheHubAloneIsRefused) {
  auto current = crypto::SigningKey::Generate();
  auto hubs_own = crypto::SigningKey::Generate();
  const v1::Manifest held = WithMember(current);
  // What the hub could publish before: a new key for 32, no statement, no record.
  const v1::Manifest next = WithAddedKey(held, hubs_own.public_key(), "", kNow + kHour);
  Status s = VerifyKeyChanges(held, next, kNow + 2 * kHour);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(s.message().find("member 32"), std::string::npos) << s.message();
  // The hub itself refuses to publish it without a vouch.
  v1::Manifest edited = held;
  EXPECT_FALSE(RotateKey(&edited, "32", hubs_own.public_key(), kNow, 0, {}).ok());
  // With the operator's out-of-band record it is accepted: visible, who vouched.
  v1::Manifest oob = held;
  ASSERT_TRUE(RotateKey(&oob, "32", hubs_own.public_key(), kNow + kHour, 0,
                        Confirmed("ticket #123, call to Diskominfo Jabar"))
                  .ok());
  EXPECT_TRUE(VerifyKeyChanges(held, oob, kNow + 2 * kHour).ok());
  EXPECT_EQ(FindMember(oob, "32")->keys(1).confirmed_out_of_band(),
            "ticket #123, call to Diskominfo Jabar");
  // A member new in the next manifest is the hub's to vouch for.
  v1::Manifest grown = held;
  ASSERT_TRUE(AddMember(&grown, "34", "https://diy", hubs_own.public_key(), kNow).ok());
  EXPECT_TRUE(VerifyKeyChanges(held, grown, kNow).ok());
}

TEST(ManifestTest, ForgedStatementIsRefused) {
  auto current = crypto::SigningKey::Generate();
  auto attacker = crypto::SigningKey::Generate();
  const v1::Manifest held = WithMember(current);
  // The attacker's statement naming the member's key as old_key, signed by the attacker.
  v1::KeyChange kc;
  kc.set_jurisdiction("32");
  kc.set_old_key(current.public_key());
  kc.set_new_key(attacker.public_key());
  kc.set_time_ms(kNow + kHour);
  const std::string forged = SignEnvelope(kKeyChangePayloadType, kc, attacker);
  EXPECT_EQ(OpenKeyChange(forged).status().code(), Status::Code::kPermissionDenied);
  Status s = VerifyKeyChanges(held, WithAddedKey(held, attacker.public_key(), forged, kNow + kHour),
                              kNow + 2 * kHour);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  // A genuine statement with a byte changed.
  std::string tampered = SignKeyChange("32", current, attacker.public_key(), kNow + kHour);
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(VerifyKeyChanges(held,
                                WithAddedKey(held, attacker.public_key(), tampered, kNow + kHour),
                                kNow + 2 * kHour)
                   .ok());
  // Garbage.
  EXPECT_FALSE(VerifyKeyChanges(held,
                                WithAddedKey(held, attacker.public_key(), "garbage", kNow + kHour),
                                kNow + 2 * kHour)
                   .ok());
  v1::Manifest edited = held;
  EXPECT_EQ(RotateKey(&edited, "32", attacker.public_key(), kNow, 0, Vouched(forged)).code(),
            Status::Code::kPermissionDenied);
}

TEST(ManifestTest, StatementSignedByTheNewKeyOnlyIsRefused) {
  auto current = crypto::SigningKey::Generate();
  auto next = crypto::SigningKey::Generate();
  const v1::Manifest held = WithMember(current);
  // "32 changes to `next`", signed by `next` itself (whoever made it holds no key of 32's).
  const std::string self_signed = SignKeyChange("32", next, next.public_key(), kNow + kHour);
  ASSERT_TRUE(OpenKeyChange(self_signed).ok());  // well-formed and signed by the key it names
  Status s = VerifyKeyChanges(
      held, WithAddedKey(held, next.public_key(), self_signed, kNow + kHour), kNow + 2 * kHour);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(s.message().find("not by a key this node trusts"), std::string::npos) << s.message();
}

TEST(ManifestTest, StatementForAnotherMemberOrAnotherKeyIsRefused) {
  auto key32 = crypto::SigningKey::Generate();
  auto next = crypto::SigningKey::Generate();
  v1::Manifest held = WithMember(key32);
  // Member 33's genuine statement cannot vouch for a key of 32's...
  auto key33 = crypto::SigningKey::Generate();
  ASSERT_TRUE(AddMember(&held, "35", "https://jatim", key33.public_key(), kNow).ok());
  const std::string by35 = SignKeyChange("35", key33, next.public_key(), kNow + kHour);
  Status s = VerifyKeyChanges(held, WithAddedKey(held, next.public_key(), by35, kNow + kHour),
                              kNow + 2 * kHour);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(s.message().find("member 35's"), std::string::npos) << s.message();
  // ...nor can 32's statement naming "35" while signed with 32's key (35 does not hold it).
  const std::string claims35 = SignKeyChange("35", key32, next.public_key(), kNow + kHour);
  v1::Manifest edited = held;
  EXPECT_EQ(RotateKey(&edited, "35", next.public_key(), kNow + kHour, 0, Vouched(claims35)).code(),
            Status::Code::kPermissionDenied);
  // 32's statement for `next` does not vouch for another key the hub lists instead.
  auto other = crypto::SigningKey::Generate();
  const std::string for_next = SignKeyChange("32", key32, next.public_key(), kNow + kHour);
  s = VerifyKeyChanges(held, WithAddedKey(held, other.public_key(), for_next, kNow + kHour),
                       kNow + 2 * kHour);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(s.message().find("another new key"), std::string::npos) << s.message();
}

TEST(ManifestTest, ReplayedStatementForAnOlderKeyIsRefused) {
  auto a = crypto::SigningKey::Generate();
  auto b = crypto::SigningKey::Generate();
  auto c = crypto::SigningKey::Generate();
  v1::Manifest m = WithMember(a);
  const v1::Manifest only_a = m;
  // 32 changes a -> b (its statement s1), then b -> c (s2), each published by the hub.
  const std::string s1 = SignKeyChange("32", a, b.public_key(), kNow + kHour);
  ASSERT_TRUE(RotateKey(&m, "32", b.public_key(), kNow + 2 * kHour, kHour, Vouched(s1)).ok());
  const std::string s2 = SignKeyChange("32", b, c.public_key(), kNow + 10 * kHour);
  ASSERT_TRUE(RotateKey(&m, "32", c.public_key(), kNow + 11 * kHour, kHour, Vouched(s2)).ok());
  // A node that skipped the middle version follows the chain a -> b -> c.
  EXPECT_TRUE(VerifyKeyChanges(only_a, m, kNow + 12 * kHour).ok());
  // ...also when it comes back long after b retired.
  EXPECT_TRUE(VerifyKeyChanges(only_a, m, kNow + 100 * kHour).ok());

  // The hub drops b and lists it again with s1, a statement from before 32's latest change.
  v1::Manifest dropped = m;
  auto* keys = dropped.mutable_members(0)->mutable_keys();
  ASSERT_EQ(keys->Get(1).public_key(), b.public_key());
  keys->DeleteSubrange(1, 1);
  const v1::Manifest replayed = WithAddedKey(dropped, b.public_key(), s1, kNow + 20 * kHour);
  Status s = VerifyKeyChanges(dropped, replayed, kNow + 21 * kHour);
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  // (a retired key: with `a` retired, both the replay and a fresh statement by `a` are refused)
  EXPECT_NE(s.message().find("retired"), std::string::npos) << s.message();
  // The key 32 just replaced (b, still in its overlap) leaked: a change it signs, backdated into
  // its validity, is a statement from before the member's latest change.
  auto thief = crypto::SigningKey::Generate();
  const std::string backdated = SignKeyChange("32", b, thief.public_key(), kNow + 5 * kHour);
  s = VerifyKeyChanges(m, WithAddedKey(m, thief.public_key(), backdated, kNow + 11 * kHour + 1),
                       kNow + 11 * kHour + kHour / 2);  // b retires at 12 h
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(s.message().find("replay"), std::string::npos) << s.message();
}

TEST(ManifestTest, ExpiryAndReissue) {
  constexpr int64_t kValidity = 30 * 24 * kHour;
  auto k = crypto::SigningKey::Generate();
  v1::Manifest m = WithMember(k);
  // Written before expiry existed: stale since it was issued.
  EXPECT_EQ(m.expires_ms(), 0);
  EXPECT_EQ(ExpiresMs(m), kNow);
  EXPECT_TRUE(Expired(m, kNow));
  EXPECT_TRUE(DueForReissue(m, kNow, kValidity));
  SetExpiry(&m, kValidity);
  EXPECT_EQ(m.expires_ms(), kNow + kValidity);
  EXPECT_FALSE(Expired(m, kNow + kValidity - 1));
  EXPECT_TRUE(Expired(m, kNow + kValidity));
  // Re-issued once less than a third is left: same members, version + 1, fresh again.
  EXPECT_FALSE(DueForReissue(m, kNow + 20 * 24 * kHour - 1, kValidity));
  EXPECT_TRUE(DueForReissue(m, kNow + 20 * 24 * kHour + kHour, kValidity));
  const uint64_t version = m.version();
  const int members = m.members_size();
  Reissue(&m, kNow + 21 * 24 * kHour, kValidity);
  EXPECT_EQ(m.version(), version + 1);
  EXPECT_EQ(m.members_size(), members);
  EXPECT_EQ(m.issued_ms(), kNow + 21 * 24 * kHour);
  EXPECT_EQ(m.expires_ms(), kNow + 51 * 24 * kHour);
  // A manifest that round-trips the signature keeps its expiry.
  auto hub = crypto::SigningKey::Generate();
  auto opened = OpenManifest(SignManifest(m, hub), hub.public_key());
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->expires_ms(), m.expires_ms());
}

}  // namespace
}  // namespace lapor::protocol
