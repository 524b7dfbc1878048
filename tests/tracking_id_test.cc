// Tracking ids: a keyed permutation of the case's first seq, so unique without a lookup.
#include "protocol/tracking_id.h"

#include <gtest/gtest.h>

#include <set>

namespace lapor::protocol {
namespace {

TEST(TrackingIdTest, FormatAndRoundTrip) {
  TrackingIdCodec codec("node secret", "32");
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{1000}, uint64_t{123456789},
                       TrackingIdCodec::kMaxSeq}) {
    std::string id = codec.Encode(seq);
    ASSERT_EQ(id.size(), 13u) << id;
    EXPECT_EQ(id.substr(0, 3), "32-");
    EXPECT_EQ(id.substr(3).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
              std::string::npos);
    EXPECT_EQ(codec.Decode(id), std::optional<uint64_t>(seq)) << id;
  }
  TrackingIdCodec regency("node secret", "32.04");
  EXPECT_EQ(regency.Encode(7).substr(0, 5), "3204-");
  EXPECT_EQ(regency.Decode(regency.Encode(7)), std::optional<uint64_t>(7));
}

TEST(TrackingIdTest, UniqueAndNotSequential) {
  TrackingIdCodec codec("node secret", "32");
  std::set<std::string> ids;
  for (uint64_t seq = 0; seq < 200000; ++seq) ids.insert(codec.Encode(seq));
  EXPECT_EQ(ids.size(), 200000u);
  // Neighbouring seqs give unrelated ids: they share no long prefix.
  int shared_prefix = 0;
  for (uint64_t seq = 0; seq < 1000; ++seq) {
    std::string a = codec.Encode(seq), b = codec.Encode(seq + 1);
    if (a.compare(0, 8, b, 0, 8) == 0) ++shared_prefix;
  }
  EXPECT_LT(shared_prefix, 5);
}

TEST(TrackingIdTest, KeyedAndStrictlyParsed) {
  TrackingIdCodec a("secret A", "32"), b("secret B", "32");
  int same = 0;
  for (uint64_t seq = 0; seq < 1000; ++seq) same += a.Encode(seq) == b.Encode(seq);
  EXPECT_LT(same, 2);
  std::string id = a.Encode(42);
  EXPECT_FALSE(a.Decode("33" + id.substr(2)).has_value());             // another node's prefix
  EXPECT_FALSE(a.Decode(id.substr(0, 12)).has_value());                // too short
  EXPECT_FALSE(a.Decode(id + "A").has_value());                        // too long
  EXPECT_FALSE(a.Decode(id.substr(0, 3) + "abcdefghij").has_value());  // lower case
  EXPECT_FALSE(a.Decode(id.substr(0, 3) + "ABCDEFGH1J").has_value());  // '1' is not base32
  EXPECT_FALSE(a.Decode(std::string("32-ABCDEFGH\0J", 13)).has_value());
}

}  // namespace
}  // namespace lapor::protocol
