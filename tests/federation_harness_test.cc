// Smoke test of the multi-node harness: a hub and three members, all in one signed manifest with
// their real URLs and keys, and a link routed through a fault proxy with a restart on a fixed port.
#include "harness/federation_harness.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <set>

#include "crypto/encoding.h"
#include "harness/eventually.h"
#include "protocol/manifest.h"

namespace lapor::testing {
namespace {

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(FederationHarnessTest, HubAndMembersShareOneManifestAndProxiesReroute) {
  Federation fed;
  const std::vector<std::string> all = {"00", "32", "33", "33.01"};
  ASSERT_EQ(fed.jurisdictions(), all);
  EXPECT_EQ(&fed.node("00"), &fed.hub());
  EXPECT_EQ(fed.manifest_version(), 4u);  // the hub itself, then one version per member
  const std::string hub_key = *crypto::HexDecode(fed.hub_key_hex());
  EXPECT_EQ(fed.hub_key_hex(), fed.hub().PublicKeyHex());
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();

  std::set<std::string> tokens;
  for (const auto& j : all) {
    SCOPED_TRACE("node " + j);
    NodeProcess& n = fed.node(j);
    EXPECT_TRUE(n.running());
    EXPECT_EQ(n.port(), fed.port(j));
    EXPECT_EQ(n.Get("/healthz").status, 200);
    auto r = n.Get("/federation/v1/manifest");
    ASSERT_EQ(r.status, 200);
    auto m = protocol::OpenManifest(r.body, hub_key);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->version(), fed.manifest_version());
    EXPECT_EQ(m->members_size(), 4);
    for (const auto& k : all) {
      const v1::Member* member = protocol::FindMember(*m, k);
      ASSERT_NE(member, nullptr) << k;
      EXPECT_EQ(member->base_url(), "http://127.0.0.1:" + std::to_string(fed.port(k)));
      EXPECT_EQ(member->base_url(), fed.url(k));
      EXPECT_TRUE(
          protocol::KeyValidAt(*member, *crypto::HexDecode(fed.node(k).PublicKeyHex()), now_ms));
    }
    if (j != "00") {
      EXPECT_EQ(n.Config().at("hub_key"), fed.hub_key_hex());
    }
    EXPECT_TRUE(tokens.insert(fed.admin_token(j)).second);
    EXPECT_TRUE(tokens.insert(fed.auditor_token(j)).second);
  }
  const std::string liaison = fed.liaison_token("33", "dinas-pu");
  EXPECT_EQ(liaison.rfind("lpt_", 0), 0u) << liaison;
  EXPECT_EQ(fed.liaison_token("33", "dinas-pu"), liaison);  // created once
  EXPECT_NE(fed.liaison_token("33", "dinas-kesehatan"), liaison);

  // 32 -> 33 through a proxy: 32's config points at the proxy, 32 restarts on the same port.
  NodeProcess& n32 = fed.node("32");
  const int port32 = n32.port();
  const std::string started = "serving http://";
  const int starts_before = CountOccurrences(ReadFile(n32.data_dir() + "/node.log"), started);
  FaultProxy& proxy = fed.Proxy("32", "33");
  EXPECT_NE(proxy.port(), fed.node("33").port());
  EXPECT_EQ(n32.Config()["peer_urls"]["33"], "http://127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_TRUE(n32.running());
  EXPECT_EQ(n32.port(), port32);
  EXPECT_EQ(n32.Get("/healthz").status, 200);
  EXPECT_EQ(CountOccurrences(ReadFile(n32.data_dir() + "/node.log"), started), starts_before + 1);
  EXPECT_EQ(&fed.Proxy("32", "33"), &proxy);  // same pair, same proxy, no second restart
  EXPECT_EQ(Http(proxy.port(), "GET", "/healthz").status, 200);  // the proxy reaches 33
  EXPECT_GE(proxy.connections(), 1u);

  // Another peer is merged into peer_urls; the first entry stays.
  FaultProxy& to_hub = fed.Proxy("32", "00");
  auto peers = n32.Config().at("peer_urls");
  EXPECT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers["33"], "http://127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_EQ(peers["00"], "http://127.0.0.1:" + std::to_string(to_hub.port()));
  EXPECT_EQ(n32.port(), port32);
  EXPECT_EQ(n32.Get("/healthz").status, 200);
}

// Eventually: true at once, false after its timeout, saying what it waited for and, for a
// predicate that says why it does not hold, the last reason.
TEST(EventuallyTest, HoldsAtOnceOrTimesOutNamingWhatItAwaited) {
  using std::chrono::milliseconds;
  EXPECT_TRUE(Eventually(
      "true", [] { return true; }, milliseconds(0)));
  const auto start = std::chrono::steady_clock::now();
  auto never = Eventually(
      "pigs fly", [] { return false; }, milliseconds(100));
  EXPECT_FALSE(never);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100));
  EXPECT_NE(std::string(never.message()).find("timed out after 100 ms waiting until pigs fly"),
            std::string::npos)
      << never.message();
  int tries = 0;
  auto why = Eventually(
      "the count reaches 1000",
      [&] { return ::testing::AssertionFailure() << "count is " << ++tries; }, milliseconds(100));
  EXPECT_FALSE(why);
  EXPECT_NE(std::string(why.message()).find("(last: count is " + std::to_string(tries) + ")"),
            std::string::npos)
      << why.message();
  // A condition that comes true while it waits.
  const auto soon = std::chrono::steady_clock::now() + milliseconds(50);
  EXPECT_TRUE(Eventually(
      "50 ms passed", [&] { return std::chrono::steady_clock::now() >= soon; },
      milliseconds(5000)));
}

}  // namespace
}  // namespace lapor::testing
