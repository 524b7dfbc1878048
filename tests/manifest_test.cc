// The federation manifest: hub signature, no rollback, membership edits and key retirement.
#include "protocol/manifest.h"

#include <gtest/gtest.h>

namespace lapor::protocol {
namespace {

constexpr int64_t kNow = 1796004000000;
constexpr int64_t kHour = 3600 * 1000;

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
  ASSERT_TRUE(RotateKey(&m, "32", new_key.public_key(), kNow + kHour, 24 * kHour).ok());
  EXPECT_EQ(m.version(), 2u);
  const v1::Member& member = *FindMember(m, "32");
  EXPECT_TRUE(KeyValidAt(member, old_key.public_key(), kNow + 2 * kHour));
  EXPECT_TRUE(KeyValidAt(member, old_key.public_key(), kNow + 25 * kHour));  // end of overlap
  EXPECT_FALSE(KeyValidAt(member, old_key.public_key(), kNow + 25 * kHour + 1));
  EXPECT_FALSE(KeyValidAt(member, new_key.public_key(), kNow));  // not before its start
  EXPECT_TRUE(KeyValidAt(member, new_key.public_key(), kNow + 30 * kHour));
  EXPECT_EQ(RotateKey(&m, "32", new_key.public_key(), kNow, 0).code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(RotateKey(&m, "34", new_key.public_key(), kNow, 0).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace lapor::protocol
