// Per-request authentication between federation nodes: signing, headers, and the receiver's
// checks (membership, freshness, key validity, replay).
#include "federation/request_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "protocol/manifest.h"
#include "storage/store.h"

namespace lapor::federation {
namespace {

constexpr int64_t kNow = 1796004000000;
constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr std::string_view kSelf = "00";  // the receiving node
constexpr std::string_view kMethod = "POST";
constexpr std::string_view kPath = "/fed/v1/events?from=7";
constexpr std::string_view kBody =
    "\x0a\x03"
    "abc";

class RequestAuthTest : public ::testing::Test {
 protected:
  RequestAuthTest()
      : jabar_(crypto::SigningKey::Generate()),
        other_(crypto::SigningKey::Generate()),
        verifier_(std::string(kSelf), kNow - kHour) {
    // "32" joined an hour before the node started; its key is valid from then, with no end.
    EXPECT_TRUE(protocol::AddMember(&manifest_, "32", "https://jabar.example", jabar_.public_key(),
                                    kNow - 2 * kHour)
                    .ok());
  }

  RequestAuth Sign(int64_t time_ms) {
    return SignRequest(jabar_, "32", kSelf, kMethod, kPath, kBody, time_ms);
  }
  Result<v1::Member> Verify(const RequestAuth& auth, int64_t now_ms = kNow) {
    return verifier_.Verify(manifest_, auth, kMethod, kPath, kBody, now_ms);
  }

  crypto::SigningKey jabar_;
  crypto::SigningKey other_;
  v1::Manifest manifest_;
  RequestVerifier verifier_;
};

TEST(RequestSigningStringTest, ExactFormat) {
  const std::string empty_sha256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(RequestSigningString("GET", "/fed/v1/manifest?x=1", "33", "", 1796004000123,
                                 "00112233445566778899aabbccddeeff"),
            "lapor-request-v2\nGET\n/fed/v1/manifest?x=1\n33\n" + empty_sha256 +
                "\n1796004000123\n00112233445566778899aabbccddeeff\n");
}

TEST_F(RequestAuthTest, SignedRequestVerifies) {
  RequestAuth auth = Sign(kNow);
  EXPECT_EQ(auth.node_id, "32");
  EXPECT_EQ(auth.time_ms, kNow);
  EXPECT_EQ(auth.nonce.size(), 32u);
  EXPECT_EQ(auth.signature.size(), crypto::kSignatureSize);
  EXPECT_TRUE(crypto::VerifySignature(
      jabar_.public_key(), RequestSigningString(kMethod, kPath, kSelf, kBody, kNow, auth.nonce),
      auth.signature));
  auto member = Verify(auth);
  ASSERT_TRUE(member.ok()) << member.status().ToString();
  EXPECT_EQ(member->jurisdiction(), "32");
  EXPECT_EQ(verifier_.nonces_held(), 1u);
  // Each request draws its own nonce.
  EXPECT_NE(Sign(kNow).nonce, auth.nonce);
}

TEST_F(RequestAuthTest, UnknownNode) {
  RequestAuth auth = SignRequest(jabar_, "33", kSelf, kMethod, kPath, kBody, kNow);
  auto r = Verify(auth);
  EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "unknown node '33'");
  EXPECT_EQ(verifier_.nonces_held(), 0u);
}

TEST_F(RequestAuthTest, TamperedRequestIsRefused) {
  RequestAuth auth = Sign(kNow);
  auto expect_denied = [&](const Result<v1::Member>& r, const char* what) {
    EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied) << what;
    EXPECT_NE(r.status().message().find("signature does not verify under any key of 32 valid at"),
              std::string::npos)
        << what << ": " << r.status().message();
  };
  expect_denied(verifier_.Verify(manifest_, auth, "PUT", kPath, kBody, kNow), "method");
  expect_denied(verifier_.Verify(manifest_, auth, kMethod, "/fed/v1/events?from=8", kBody, kNow),
                "path");
  expect_denied(verifier_.Verify(manifest_, auth, kMethod, kPath,
                                 "\x0a\x03"
                                 "abd",
                                 kNow),
                "body");
  RequestAuth t = auth;
  t.time_ms += 1;
  expect_denied(Verify(t), "time");
  RequestAuth n = auth;
  n.nonce[0] = n.nonce[0] == '0' ? '1' : '0';
  expect_denied(Verify(n), "nonce");
  RequestAuth s = auth;
  s.signature[5] ^= 1;
  expect_denied(Verify(s), "signature");
  // Refusals record nothing: the untouched request still passes.
  EXPECT_EQ(verifier_.nonces_held(), 0u);
  EXPECT_TRUE(Verify(auth).ok());
}

TEST_F(RequestAuthTest, SignatureByAnotherKey) {
  auto r = Verify(SignRequest(other_, "32", kSelf, kMethod, kPath, kBody, kNow));
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "signature does not verify under any key of 32 valid at " + std::to_string(kNow));
}

TEST_F(RequestAuthTest, KeyNotYetValid) {
  // The rotated-in key is valid from kNow + 1 minute; a request it signs at kNow is refused.
  ASSERT_TRUE(protocol::RotateKey(&manifest_, "32", other_.public_key(), kNow + kMinute, kHour,
                                  protocol::KeyVouch{"", "test"})
                  .ok());
  auto r = Verify(SignRequest(other_, "32", kSelf, kMethod, kPath, kBody, kNow));
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(r.status().message().rfind("key not yet valid", 0), 0u) << r.status().message();
  // Once valid, it passes.
  EXPECT_TRUE(Verify(SignRequest(other_, "32", kSelf, kMethod, kPath, kBody, kNow + kMinute),
                     kNow + kMinute)
                  .ok());
}

TEST_F(RequestAuthTest, RetiredKey) {
  // The old key retired 10 minutes before kNow (rotation 20 minutes ago, 10-minute overlap).
  ASSERT_TRUE(protocol::RotateKey(&manifest_, "32", other_.public_key(), kNow - 20 * kMinute,
                                  10 * kMinute, protocol::KeyVouch{"", "test"})
                  .ok());
  // Within its validity the old key still worked.
  EXPECT_TRUE(Verify(Sign(kNow - 11 * kMinute), kNow - 11 * kMinute).ok());
  auto r = Verify(Sign(kNow));
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(r.status().message().rfind("key retired", 0), 0u) << r.status().message();
  EXPECT_TRUE(Verify(SignRequest(other_, "32", kSelf, kMethod, kPath, kBody, kNow)).ok());
}

TEST_F(RequestAuthTest, TimestampOutsideTheWindow) {
  for (int64_t skew : {-6 * kMinute, 6 * kMinute}) {
    auto r = Verify(Sign(kNow + skew));
    EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated) << skew;
    EXPECT_NE(r.status().message().find("outside the 5-minute window"), std::string::npos)
        << r.status().message();
  }
  // The edges of the window are inside it.
  EXPECT_TRUE(Verify(Sign(kNow - kRequestWindowMs)).ok());
  EXPECT_TRUE(Verify(Sign(kNow + kRequestWindowMs)).ok());
  EXPECT_EQ(Verify(Sign(kNow - kRequestWindowMs - 1)).status().code(),
            Status::Code::kUnauthenticated);
  EXPECT_EQ(Verify(Sign(kNow + kRequestWindowMs + 1)).status().code(),
            Status::Code::kUnauthenticated);
}

// A longer window (request_window_ms, for a clock run faster than real time): requests stamped
// up to it either way pass, beyond it they are refused with the window's length, and nonces are
// remembered as long (a replay within it is refused) and forgotten after it.
TEST_F(RequestAuthTest, AConfiguredWindowIsTheOneChecked) {
  const int64_t kDay = 24 * 60 * kMinute;
  const int64_t start = kNow - 3 * kDay;
  RequestVerifier wide(std::string(kSelf), start, nullptr, 2 * kDay);
  auto verify = [&](const RequestAuth& auth, int64_t now) {
    return wide.Verify(manifest_, auth, kMethod, kPath, kBody, now);
  };
  EXPECT_TRUE(verify(Sign(kNow - kHour), kNow).ok());  // 32 joined two hours ago
  EXPECT_TRUE(verify(Sign(kNow + 2 * kDay), kNow).ok());
  for (int64_t skew : {-2 * kDay - 1, 2 * kDay + 1}) {
    auto r = verify(Sign(kNow + skew), kNow);
    EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated) << skew;
    EXPECT_NE(r.status().message().find("outside the 172800000 ms window"), std::string::npos)
        << r.status().message();
  }
  const RequestAuth once = Sign(kNow);
  ASSERT_TRUE(verify(once, kNow).ok());
  EXPECT_EQ(verify(once, kNow + kDay).status().code(), Status::Code::kConflict);
  EXPECT_EQ(wide.nonces_held(), 3u);
  // Two days and more later every nonce is forgotten, and the request is outside the window.
  EXPECT_EQ(verify(once, kNow + 2 * kDay + 1).status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(wide.nonces_held(), 1u);  // the one stamped two days ahead
}

TEST_F(RequestAuthTest, TimestampBeforeStartIsRefused) {
  // Within the window of `now`, but signed before this verifier (the process) started: a request
  // accepted by the previous process could otherwise be replayed.
  RequestVerifier fresh(std::string(kSelf), kNow);
  auto r = fresh.Verify(manifest_, Sign(kNow - 1), kMethod, kPath, kBody, kNow + kMinute);
  EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("outside the 5-minute window"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("before this node started"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(fresh.Verify(manifest_, Sign(kNow), kMethod, kPath, kBody, kNow + kMinute).ok());
}

TEST_F(RequestAuthTest, ReplayedNonceIsAConflict) {
  RequestAuth auth = Sign(kNow);
  ASSERT_TRUE(Verify(auth).ok());
  auto again = Verify(auth, kNow + kMinute);
  EXPECT_EQ(again.status().code(), Status::Code::kConflict);
  EXPECT_EQ(again.status().message(), "replayed request: nonce already seen");
  // The same body signed again (fresh nonce) is a new request.
  EXPECT_TRUE(Verify(Sign(kNow)).ok());
  EXPECT_EQ(verifier_.nonces_held(), 2u);
}

TEST_F(RequestAuthTest, ConcurrentReplaysAcceptOnlyOne) {
  RequestAuth auth = Sign(kNow);
  std::atomic<int> accepted{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) {
        auto r = Verify(auth);
        if (r.ok()) ++accepted;
        if (r.status().code() == Status::Code::kConflict) ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(conflicts.load(), 8 * 20 - 1);
  EXPECT_EQ(verifier_.nonces_held(), 1u);
}

TEST_F(RequestAuthTest, ReplayAfterClockGoesBackIsRefused) {
  RequestAuth auth = Sign(kNow);
  ASSERT_TRUE(Verify(auth).ok());
  // Its nonce is forgotten once the window has passed...
  ASSERT_TRUE(Verify(Sign(kNow + 6 * kMinute), kNow + 6 * kMinute).ok());
  EXPECT_EQ(verifier_.nonces_held(), 1u);
  // ...so even if the caller's clock steps back, the request is not accepted again.
  EXPECT_EQ(Verify(auth, kNow).status().code(), Status::Code::kUnauthenticated);
}

TEST_F(RequestAuthTest, NoncesArePrunedAfterTheWindow) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Verify(Sign(kNow + i)).ok());
  EXPECT_EQ(verifier_.nonces_held(), 5u);
  // Still within the window of the newest two at kNow + 5 min + 3.
  ASSERT_TRUE(Verify(Sign(kNow + kRequestWindowMs + 3), kNow + kRequestWindowMs + 3).ok());
  EXPECT_EQ(verifier_.nonces_held(), 3u);  // kNow + 3, kNow + 4 and the new one
  // A refused request does not add, but still lets the verifier forget old nonces.
  auto refused = verifier_.Verify(manifest_, Sign(kNow), kMethod, kPath, kBody, kNow + kHour);
  EXPECT_EQ(refused.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(verifier_.nonces_held(), 0u);
}

// A MetaStore in memory that counts the writes (the verifier's durable high-water marks).
class CountingMeta : public storage::MetaStore {
 public:
  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    if (fail_reads) return Status::IOError("disk gone");
    auto it = values.find(key);
    return it == values.end() ? std::optional<std::string>() : std::optional(it->second);
  }
  Status SetMeta(const std::string& key, const std::string& value) override {
    ++writes;
    values[key] = value;
    return Status::Ok();
  }
  Status ReplaceMeta(const std::string& key, const std::string&,
                     const std::string& value) override {
    return SetMeta(key, value);
  }
  std::map<std::string, std::string> values;
  int writes = 0;
  bool fail_reads = false;
};

// A hub hears from hundreds of members every second: requests stamped at its clock cost one
// durable write per step for all of them, not one per member; after a quick restart, none of
// the requests accepted before (their nonces forgotten) passes again, whether stamped at the
// clock or ahead of it, and fresh ones do.
TEST(RequestHighWaterTest, OneWritePerStepCoversEveryMemberAndARestartRefusesReplays) {
  const std::vector<std::string> provinces = {
      "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33",
      "34", "35", "36", "51", "52", "53", "61", "62", "63", "64", "65", "71", "72",
      "73", "74", "75", "76", "81", "82", "91", "92", "93", "94", "95", "96"};
  v1::Manifest manifest;
  std::vector<crypto::SigningKey> keys;
  for (const auto& code : provinces) {
    keys.push_back(crypto::SigningKey::Generate());
    ASSERT_TRUE(protocol::AddMember(&manifest, code, "https://m.example", keys.back().public_key(),
                                    kNow - 2 * kHour)
                    .ok());
  }
  auto sign = [&](int i, int64_t t) {
    return SignRequest(keys[i], provinces[i], kSelf, kMethod, kPath, kBody, t);
  };
  CountingMeta meta;
  RequestVerifier before(std::string(kSelf), kNow - kHour, &meta);
  std::vector<RequestAuth> accepted;
  // The first request, 0.4 s ahead of this node's clock, records the mark for everyone.
  accepted.push_back(sign(0, kNow + 400));
  ASSERT_TRUE(before.Verify(manifest, accepted.back(), kMethod, kPath, kBody, kNow).ok());
  for (int i = 0; i < static_cast<int>(provinces.size()); ++i) {
    for (int64_t t : {kNow - 10000, kNow, kNow + 400}) {
      accepted.push_back(sign(i, t));
      ASSERT_TRUE(before.Verify(manifest, accepted.back(), kMethod, kPath, kBody, kNow).ok());
    }
  }
  EXPECT_EQ(meta.writes, 1);
  // Half a step later: still under the same mark.
  ASSERT_TRUE(before.Verify(manifest, sign(5, kNow + 500), kMethod, kPath, kBody, kNow + 500).ok());
  EXPECT_EQ(meta.writes, 1);
  // Stamped 5 s ahead (a sender whose clock runs ahead, within kHighWaterSharedAheadMs): the mark
  // for everyone moves past it, one write for all of them, no mark of their own.
  for (int i = 10; i < 14; ++i) {
    accepted.push_back(sign(i, kNow + 5000));
    ASSERT_TRUE(before.Verify(manifest, accepted.back(), kMethod, kPath, kBody, kNow).ok());
  }
  EXPECT_EQ(meta.writes, 2);
  EXPECT_EQ(meta.values.count(std::string(kRequestHighWaterMetaPrefix) + provinces[10]), 0u);
  // Stamped two minutes ahead: a mark of its sender's own.
  const RequestAuth ahead = sign(7, kNow + 2 * kMinute);
  ASSERT_TRUE(before.Verify(manifest, ahead, kMethod, kPath, kBody, kNow).ok());
  EXPECT_EQ(meta.writes, 3);
  accepted.push_back(ahead);

  // The process restarts at once (its clock even half a second behind where it was).
  RequestVerifier after(std::string(kSelf), kNow - 500, &meta);
  for (const auto& auth : accepted) {
    if (auth.time_ms < kNow - 500) continue;  // refused as before the start anyway
    auto r = after.Verify(manifest, auth, kMethod, kPath, kBody, kNow);
    EXPECT_EQ(r.status().code(), Status::Code::kConflict) << auth.node_id << " " << auth.time_ms;
  }
  // Without the marks the same replay would pass.
  RequestVerifier forgetful(std::string(kSelf), kNow - 500);
  EXPECT_TRUE(forgetful.Verify(manifest, accepted[2], kMethod, kPath, kBody, kNow).ok());
  // Fresh requests after the marks pass.
  EXPECT_TRUE(
      after.Verify(manifest, sign(3, kNow + 7001), kMethod, kPath, kBody, kNow + 7001).ok());
  EXPECT_EQ(after.Verify(manifest, sign(7, kNow + 7001), kMethod, kPath, kBody, kNow + 7001)
                .status()
                .code(),
            Status::Code::kConflict);  // 7's own mark is two minutes ahead
  EXPECT_TRUE(after
                  .Verify(manifest, sign(7, kNow + 2 * kMinute + 1001), kMethod, kPath, kBody,
                          kNow + 2 * kMinute)
                  .ok());

  // A mark that cannot be read refuses the request rather than taking it as none.
  meta.fail_reads = true;
  RequestVerifier unreadable(std::string(kSelf), kNow - 500, &meta);
  auto r = unreadable.Verify(manifest, accepted[2], kMethod, kPath, kBody, kNow);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  meta.fail_reads = false;
  EXPECT_EQ(unreadable.Verify(manifest, accepted[2], kMethod, kPath, kBody, kNow).status().code(),
            Status::Code::kConflict);
}

TEST(RequestAuthHeadersTest, RoundTrip) {
  auto key = crypto::SigningKey::Generate();
  RequestAuth auth = SignRequest(key, "32.01", "00", "GET", "/fed/v1/x", "", kNow);
  auto headers = AuthHeaders(auth);
  ASSERT_EQ(headers.size(), 4u);
  std::map<std::string, std::string, std::less<>> by_name(headers.begin(), headers.end());
  EXPECT_EQ(by_name.at("X-Lapor-Node"), "32.01");
  EXPECT_EQ(by_name.at("X-Lapor-Timestamp"), "1796004000000");
  EXPECT_EQ(by_name.at("X-Lapor-Nonce"), auth.nonce);
  EXPECT_EQ(by_name.at("X-Lapor-Signature"), crypto::Base64Encode(auth.signature));
  auto parsed = ParseRequestAuth([&](std::string_view name) -> std::optional<std::string> {
    auto it = by_name.find(name);
    if (it == by_name.end()) return std::nullopt;
    return it->second;
  });
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->node_id, auth.node_id);
  EXPECT_EQ(parsed->time_ms, auth.time_ms);
  EXPECT_EQ(parsed->nonce, auth.nonce);
  EXPECT_EQ(parsed->signature, auth.signature);
}

TEST(RequestAuthHeadersTest, MissingOrMalformedHeadersAreUnauthenticated) {
  auto key = crypto::SigningKey::Generate();
  auto good_headers = AuthHeaders(SignRequest(key, "32", "00", "GET", "/", "", kNow));
  auto parse_with = [&](std::string_view name, std::optional<std::string> value) {
    std::map<std::string, std::string, std::less<>> h(good_headers.begin(), good_headers.end());
    if (value) {
      h[std::string(name)] = *value;
    } else {
      h.erase(std::string(name));
    }
    return ParseRequestAuth([&](std::string_view n) -> std::optional<std::string> {
      auto it = h.find(n);
      if (it == h.end()) return std::nullopt;
      return it->second;
    });
  };
  struct Case {
    std::string_view header;
    std::optional<std::string> value;
  };
  const Case cases[] = {
      {kHeaderNode, std::nullopt},
      {kHeaderNode, ""},
      {kHeaderTimestamp, std::nullopt},
      {kHeaderTimestamp, "12a"},
      {kHeaderTimestamp, "-5"},
      {kHeaderTimestamp, ""},
      {kHeaderTimestamp, "99999999999999999999"},  // beyond int64
      {kHeaderNonce, std::nullopt},
      {kHeaderNonce, "0011223344556677"},                  // 16 hex characters
      {kHeaderNonce, "00112233445566778899AABBCCDDEEFF"},  // upper case
      {kHeaderNonce, "00112233445566778899aabbccddeefg"},
      {kHeaderSignature, std::nullopt},
      {kHeaderSignature, "not base64!"},
      {kHeaderSignature, crypto::Base64Encode(std::string(63, 'x'))},
      {kHeaderSignature, crypto::Base64Encode(std::string(65, 'x'))},
  };
  for (const Case& c : cases) {
    auto r = parse_with(c.header, c.value);
    EXPECT_EQ(r.status().code(), Status::Code::kUnauthenticated)
        << c.header << "=" << c.value.value_or("<absent>");
    EXPECT_NE(r.status().message().find(c.header), std::string::npos) << r.status().message();
  }
  // The unmodified set parses.
  EXPECT_TRUE(parse_with(kHeaderNode, "32").ok());
}

}  // namespace
}  // namespace lapor::federation
