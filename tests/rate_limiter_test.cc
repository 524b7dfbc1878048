// The edge's rate limiter and its settings, in-process with explicit times.
#include "node/rate_limiter.h"

#include <gtest/gtest.h>

#include "node/data_dir.h"

namespace lapor::node {
namespace {

TEST(RateLimiterTest, ABurstThenOneTokenPerShareOfAMinute) {
  RateLimiter limiter(6);  // one every 10 s, bursts of 6
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limiter.Take("198.51.100.1", 1000), 0) << i;
  EXPECT_EQ(limiter.Take("198.51.100.1", 1000), 10);
  EXPECT_EQ(limiter.Take("198.51.100.1", 6000), 5);  // half a token back: 5 s to go
  EXPECT_EQ(limiter.Take("198.51.100.1", 11000), 0);
  EXPECT_EQ(limiter.Take("198.51.100.1", 11000), 10);
  // Another client has its own bucket.
  EXPECT_EQ(limiter.Take("198.51.100.2", 11000), 0);
  // A clock that steps back does not add tokens.
  EXPECT_EQ(limiter.Take("198.51.100.1", 0), 10);
}

TEST(RateLimiterTest, ZeroMeansNoLimit) {
  RateLimiter off(0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(off.Take("198.51.100.1", 0), 0);
  EXPECT_EQ(off.tracked(), 0u);
}

TEST(RateLimiterTest, TheTableStaysBoundedUnderManyClients) {
  RateLimiter limiter(2, /*max_clients=*/100);
  for (int i = 0; i < 10000; ++i) {
    limiter.Take("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), i);
    ASSERT_LE(limiter.tracked(), 100u);
  }
  // Clients whose buckets refilled are dropped first: a minute later the table starts afresh
  // without losing a limited client's state in between.
  RateLimiter small(1, 2);
  EXPECT_EQ(small.Take("a", 0), 0);
  EXPECT_GT(small.Take("a", 0), 0);
  EXPECT_EQ(small.Take("b", 70000), 0);  // "a" refilled by now
  EXPECT_EQ(small.Take("c", 70000), 0);  // evicts "a" (full), keeps "b" (empty)
  EXPECT_GT(small.Take("b", 70000), 0);
}

TEST(RateLimiterTest, ClientKeysGroupAnIpv6SubscriberByItsSlash64) {
  EXPECT_EQ(ClientKey("198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(ClientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("::ffff:198.51.100.7"), "198.51.100.7");
}

Request Req(std::string method, std::vector<std::string> segments,
            std::map<std::string, std::string> headers = {}) {
  Request r;
  r.method = std::move(method);
  r.segments = segments;
  r.decoded_segments = segments;
  for (auto& [k, v] : headers) r.headers.emplace(k, v);
  return r;
}

TEST(RateLimiterTest, WhichRequestsCount) {
  EXPECT_EQ(RateClassOf(Req("POST", {"api", "v1", "complaints"})), RateClass::kFiling);
  EXPECT_EQ(RateClassOf(Req("GET", {"api", "v1", "complaints"})), RateClass::kNone);
  EXPECT_EQ(RateClassOf(Req("GET", {"api", "v1", "complaints", "32-X"})), RateClass::kAccessCode);
  EXPECT_EQ(RateClassOf(Req("POST", {"api", "v1", "complaints", "32-X", "actions"})),
            RateClass::kAccessCode);
  EXPECT_EQ(RateClassOf(Req("POST", {"api", "v1", "complaints"}, {{"authorization", "Bearer x"}})),
            RateClass::kNone);
  EXPECT_EQ(RateClassOf(Req("GET", {"healthz"})), RateClass::kNone);
}

TEST(EdgeSettingsTest, ReadKnownKeysAndRefuseTheRestNamingThem) {
  EdgeLimits e;
  ASSERT_TRUE(ReadEdge(EdgeJson(EdgeLimits{}), &e).ok());
  ASSERT_TRUE(
      ReadEdge({{"max_connections", 64}, {"trusted_proxies", {"::1", "127.0.0.1"}}}, &e).ok());
  EXPECT_EQ(e.max_connections, 64);
  EXPECT_EQ(e.trusted_proxies.size(), 2u);
  struct Case {
    nlohmann::json j;
    const char* field;
  } cases[] = {
      {{{"max_conections", 1}}, "edge.max_conections"},
      {{{"max_connections", "many"}}, "edge.max_connections"},
      {{{"max_connections", 4}}, "edge.max_connections"},
      {{{"header_timeout_ms", 1.5}}, "edge.header_timeout_ms"},
      {{{"max_header_bytes", 10}}, "edge.max_header_bytes"},
      {{{"filings_per_minute", -1}}, "edge.filings_per_minute"},
      {{{"max_connections", 10}, {"connection_reserve", 10}}, "edge.connection_reserve"},
      {{{"trusted_proxies", nlohmann::json::array({"proxy.example"})}}, "edge.trusted_proxies"},
      {{{"trusted_proxies", "127.0.0.1"}}, "edge.trusted_proxies"},
  };
  for (const auto& c : cases) {
    EdgeLimits fresh;
    Status s = ReadEdge(c.j, &fresh);
    EXPECT_FALSE(s.ok()) << c.j.dump();
    EXPECT_EQ(s.field(), c.field) << c.j.dump() << ": " << s.ToString();
  }
  EXPECT_FALSE(ReadEdge(nlohmann::json::array(), &e).ok());
}

}  // namespace
}  // namespace lapor::node
