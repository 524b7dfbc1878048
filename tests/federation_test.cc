// Federation scenarios on real lapor-node processes (hub "00", provinces 32 and 33, regency
// 33.01; harness/federation_harness.h). Each ends with the exact check that every party of
// a case holds the same events, once, and that no other node holds it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/sample_files.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

constexpr int64_t kDay = 24LL * 3600 * 1000;

struct Filed {
  std::string id, access_code;
};

json Complaint(const std::string& region, const std::string& title = "Jalan rusak") {
  return {{"title", title},
          {"description", "Jalan berlubang di depan sekolah sejak tiga bulan."},
          {"category", "infrastruktur"},
          {"report_type", "pengaduan"},
          {"region_code", region},
          {"reporter", {{"name", "Siti Rahma"}, {"phone", "+6281234567"}}}};
}

Filed File(NodeProcess& node, const std::string& region, const std::string& title = "Jalan rusak") {
  auto r = node.Post("/api/v1/complaints", Complaint(region, title));
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = r.Json();
  return {j.value("tracking_id", ""), j.value("access_code", "")};
}

HttpResponse Act(NodeProcess& node, const std::string& id, const json& body,
                 const std::string& token) {
  return node.Post("/api/v1/complaints/" + id + "/actions", body, token);
}

// The event hashes a node holds for a case (empty if it does not hold it).

// One series' value in `node`'s /metrics (scraped with an operator's token); -1 if absent.
double Metric(const NodeProcess& node, const std::string& token, const std::string& series) {
  const std::string body = node.Get("/metrics", token).body;
  const std::string line = "\n" + series + " ";
  const size_t at = body.find(line);
  return at == std::string::npos ? -1.0 : std::stod(body.substr(at + line.size()));
}

// Requests `node` has answered on `route`, whatever their status (from /metrics).
double RouteRequests(const NodeProcess& node, const std::string& token, const std::string& route) {
  const std::string body = node.Get("/metrics", token).body;
  double n = 0;
  for (size_t at = body.find("\nlapor_http_requests_total{"); at != std::string::npos;
       at = body.find("\nlapor_http_requests_total{", at + 1)) {
    const size_t end = body.find('\n', at + 1);
    const std::string line = body.substr(at + 1, end - at - 1);
    if (line.find("route=\"" + route + "\"") == std::string::npos) continue;
    n += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return n;
}

class FederationTest : public ::testing::Test {
 protected:
  // Only the nodes in `parties` hold the case: each the same events, each once, at least
  // `min_events` of them; every other node holds none of it.
  ::testing::AssertionResult HeldOnlyBy(const std::string& id, std::set<std::string> parties,
                                        size_t min_events) {
    std::vector<std::string> reference;
    for (const auto& j : f_.jurisdictions()) {
      auto h = EventHashes(f_.node(j), id, f_.auditor_token(j));
      if (parties.count(j) == 0) {
        if (!h.empty()) return ::testing::AssertionFailure() << j << " holds the case";
        continue;
      }
      std::set<std::string> unique(h.begin(), h.end());
      if (unique.size() != h.size()) return ::testing::AssertionFailure() << j << " duplicates";
      if (h.size() < min_events) {
        auto r = f_.node(j).Get("/api/v1/complaints/" + id + "/events", f_.auditor_token(j));
        return ::testing::AssertionFailure() << j << " holds " << h.size() << " events (HTTP "
                                             << r.status << " " << r.body.substr(0, 200) << ")";
      }
      std::sort(h.begin(), h.end());
      if (reference.empty()) {
        reference = h;
      } else if (h != reference) {
        return ::testing::AssertionFailure()
               << j << " holds other events (" << h.size() << " vs " << reference.size() << ")";
      }
    }
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult WaitHeldOnlyBy(const std::string& id, std::set<std::string> parties,
                                            size_t min_events, int timeout_ms = 20000) {
    std::string who;
    for (const auto& p : parties) who += (who.empty() ? "" : ", ") + p;
    return Eventually(
        "only " + who + " hold case " + id + ", alike, with at least " +
            std::to_string(min_events) + " events",
        [&] { return HeldOnlyBy(id, parties, min_events); }, std::chrono::milliseconds(timeout_ms));
  }
  json View(const std::string& node, const std::string& id) {
    return f_.node(node).Get("/api/v1/complaints/" + id, f_.admin_token(node)).Json();
  }
  json CitizenView(const std::string& node, const Filed& c) {
    return f_.node(node).Get("/api/v1/complaints/" + c.id + "?access_code=" + c.access_code).Json();
  }

  Federation f_;
};

// 1. Filed at province 32 about province 33: 33 owns it and the hub holds it; 33 verifies,
// processes and responds; the reporter sees it through 32 and replies there; 33 adopts the reply.
TEST_F(FederationTest, CrossJurisdictionCaseFlowsToOwnerAndHubAndBackToTheCitizen) {
  Filed c = File(f_.node("32"), "33");
  ASSERT_FALSE(c.id.empty());
  EXPECT_EQ(c.id.rfind("32-", 0), 0u);
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 1));
  EXPECT_EQ(View("33", c.id)["owner_node"], "33");

  // Personal data went to the owner only, sealed to its key.
  ASSERT_TRUE(Eventually("the owner 33 holds the reporter's data",
                         [&] { return View("33", c.id)["reporter"].is_object(); }));
  EXPECT_EQ(View("33", c.id)["reporter"]["name"], "Siti Rahma");
  EXPECT_TRUE(View("00", c.id)["reporter"].is_null());
  EXPECT_EQ(f_.hub().Get("/api/v1/complaints/" + c.id, f_.admin_token("00")).body.find("Siti"),
            std::string::npos);

  // Only the owner may act.
  auto refused = Act(f_.node("32"), c.id, {{"action", "verify"}, {"agency", "dinas-pu"}},
                     f_.admin_token("32"));
  EXPECT_EQ(refused.status, 403) << refused.body;
  const std::string liaison = f_.liaison_token("33", "dinas-pu");
  ASSERT_EQ(
      Act(f_.node("33"), c.id, {{"action", "verify"}, {"agency", "dinas-pu"}}, f_.admin_token("33"))
          .status,
      200);
  ASSERT_EQ(Act(f_.node("33"), c.id, {{"action", "process"}}, liaison).status, 200);
  ASSERT_EQ(Act(f_.node("33"), c.id,
                {{"action", "respond"}, {"note", "Perbaikan dijadwalkan minggu depan."}}, liaison)
                .status,
            200);
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 4));

  // The reporter sees the owner's status and response at the origin.
  json seen = CitizenView("32", c);
  EXPECT_EQ(seen["status"], "diproses");
  bool response_seen = false;
  const json history = seen["history"];
  for (const auto& h : history) {
    response_seen = response_seen || h.value("note", "") == "Perbaikan dijadwalkan minggu depan.";
  }
  EXPECT_TRUE(response_seen) << seen.dump();

  // The reporter replies at the origin: 32 signs the message, 33 adopts it into the chain.
  auto reply = Act(f_.node("32"), c.id,
                   {{"action", "reply"},
                    {"note", "Terima kasih, mohon dikabari."},
                    {"access_code", c.access_code}},
                   "");
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(Eventually("33 adopted the reply (the case is no longer 'responded')", [&] {
    return View("33", c.id)["responded"] == false;
  })) << View("33", c.id).dump();
  // 33's chain: submitted, verified, processing, responded, replied; plus 32's message, which
  // the owner holds too. The hub and the origin hold the same.
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 6));
  EXPECT_EQ(CitizenView("32", c)["responded"], false);

  // Done, the reporter rates the handling at the origin; the owner adopts the rating, signs it,
  // and counts it; every party holds it.
  ASSERT_EQ(
      Act(f_.node("33"), c.id, {{"action", "respond"}, {"note", "Sudah diperbaiki."}}, liaison)
          .status,
      200);
  ASSERT_EQ(Act(f_.node("33"), c.id, {{"action", "complete"}}, liaison).status, 200);
  ASSERT_TRUE(Eventually("the origin sees the case done",
                         [&] { return CitizenView("32", c)["status"] == "selesai"; }));
  auto early = Act(f_.node("32"), c.id, {{"action", "rate"}, {"access_code", c.access_code}}, "");
  EXPECT_EQ(early.status, 400) << early.body;  // no rating given
  auto rated = Act(f_.node("32"), c.id,
                   {{"action", "rate"},
                    {"rating", 5},
                    {"note", "Cepat dan jelas."},
                    {"access_code", c.access_code}},
                   "");
  ASSERT_EQ(rated.status, 200) << rated.body;
  // Before the owner's rated event comes back, the origin's own message says it is rated.
  auto again = Act(f_.node("32"), c.id,
                   {{"action", "rate"}, {"rating", 2}, {"access_code", c.access_code}}, "");
  EXPECT_EQ(again.status, 409) << again.body;
  ASSERT_TRUE(Eventually("33 adopted the rating", [&] { return View("33", c.id)["rating"] == 5; }))
      << View("33", c.id).dump();
  // + respond, complete, the rating message and the adopted rating.
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 10));
  const json owner_view = View("33", c.id);
  EXPECT_TRUE(owner_view["rated_at"].is_string());
  EXPECT_EQ(owner_view["history"].back()["type"], "rated");
  EXPECT_EQ(owner_view["history"].back()["note"], "Cepat dan jelas.");
  EXPECT_EQ(CitizenView("32", c)["rating"], 5);
  auto twice = Act(f_.node("32"), c.id,
                   {{"action", "rate"}, {"rating", 1}, {"access_code", c.access_code}}, "");
  EXPECT_EQ(twice.status, 409) << twice.body;
  for (const auto& j : {"00", "32", "33"}) {
    auto fsck = f_.node(j).Fsck();
    EXPECT_EQ(fsck.exit_code, 0) << j << ": " << fsck.output;
  }
}

// Members fetch the manifest every manifest_interval_ms with the version they hold: once they
// hold the hub's, the hub answers 304 (no manifest read, verified or parsed on either side).
TEST_F(FederationTest, MembersAskForTheManifestWithTheVersionTheyHold) {
  auto not_modified = [&] {  // the hub's 304 replies to manifest fetches (-1: none yet)
    return Metric(f_.node("00"), f_.auditor_token("00"),
                  R"(lapor_http_requests_total{code="304",route="/federation/v1/manifest"})");
  };
  const double before = std::max(0.0, not_modified());
  EXPECT_TRUE(Eventually("the hub answers members' manifest fetches with 304",
                         [&] { return not_modified() >= before + 3; }));
}

// 1a. Erasing the reporter's data at the origin also removes the copy sealed for the owner from
// the origin's outbox (it is kept after delivery for resends), so it is never sent again.
// A start asks to resend only the peers the node has received something from (a restored folder
// asks every peer: RestoreDrillTest). Before, every member asked every other member at each
// start: 552 members starting together made ~300,000 requests.
TEST_F(FederationTest, AStartAsksOnlyThePeersItHeardFromToResend) {
  auto rewinds = [&](const std::string& j) {  // rewind requests node j has answered
    return RouteRequests(f_.node(j), f_.auditor_token(j), "/federation/v1/rewind");
  };
  // A new federation: no member has received anything, so none asked anyone.
  for (const auto& j : f_.jurisdictions()) EXPECT_EQ(rewinds(j), 0) << j;
  Filed c = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 1));
  const double at32 = rewinds("32");
  // 33 restarts: it has events from 32, so it asks 32; never 33.01, which sent it nothing.
  ASSERT_EQ(f_.node("33").Stop(), 0);
  f_.node("33").Start();
  EXPECT_TRUE(Eventually("33 asks 32 to resend", [&] { return rewinds("32") > at32; }));
  // 33.01 restarts having received nothing: it asks nobody.
  const double before = rewinds("00") + rewinds("32") + rewinds("33");
  ASSERT_EQ(f_.node("33.01").Stop(), 0);
  f_.node("33.01").Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // it would ask right after start
  EXPECT_EQ(rewinds("00") + rewinds("32") + rewinds("33"), before);
  EXPECT_EQ(rewinds("33.01"), 0);
}

// At start a node asks for its own events (catch-up) the hub and the peers it has delivered to,
// not every member; every member only when the hub does not answer.
TEST_F(FederationTest, AStartPullsItsEventsFromTheHubAndThePeersItDeliveredTo) {
  auto pulls = [&](const std::string& j) {
    return RouteRequests(f_.node(j), f_.auditor_token(j), "/federation/v1/pull");
  };
  Filed c = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 1));
  const double hub = pulls("00"), at33 = pulls("33"), at3301 = pulls("33.01");
  ASSERT_EQ(f_.node("32").Stop(), 0);
  f_.node("32").Start();  // serves once catch-up is done
  EXPECT_GT(pulls("00"), hub);
  EXPECT_GT(pulls("33"), at33);
  EXPECT_EQ(pulls("33.01"), at3301);
  // The hub is down: 32 asks every member.
  ASSERT_EQ(f_.hub().Stop(), 0);
  ASSERT_EQ(f_.node("32").Stop(), 0);
  f_.node("32").Start();
  EXPECT_GT(pulls("33.01"), at3301);
  f_.hub().Start();
}

// /metrics across the federation: the origin's outbox towards the owner and the hub drains to
// zero, the owner counts the events it received, and every node reports the manifest in use.
TEST_F(FederationTest, MetricsShowDeliveriesReceivedEventsAndTheManifest) {
  Filed c = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 1));
  const std::string tok32 = f_.auditor_token("32");
  for (const char* to : {"33", "00"}) {
    const std::string dest = std::string("{destination=\"") + to + "\"}";
    EXPECT_TRUE(Eventually("32's outbox to " + std::string(to) + " is empty", [&] {
      return Metric(f_.node("32"), tok32, "lapor_outbox_backlog" + dest) == 0;
    }));
    EXPECT_EQ(Metric(f_.node("32"), tok32, "lapor_outbox_oldest_undelivered_age_seconds" + dest),
              0);
    EXPECT_EQ(Metric(f_.node("32"), tok32, "lapor_outbox_failing" + dest), 0);
  }
  EXPECT_GE(Metric(f_.node("33"), f_.auditor_token("33"),
                   R"(lapor_events_appended_total{author="other"})"),
            1);
  for (const auto& j : f_.jurisdictions()) {
    EXPECT_EQ(Metric(f_.node(j), f_.auditor_token(j), "lapor_manifest_version"),
              static_cast<double>(f_.manifest_version()))
        << j;
  }
}

TEST_F(FederationTest, ErasureAtTheOriginRemovesTheOutboxCopyForTheOwner) {
  Filed c = File(f_.node("32"), "33");
  ASSERT_FALSE(c.id.empty());
  ASSERT_TRUE(Eventually("the owner 33 holds the reporter's data",
                         [&] { return View("33", c.id)["reporter"].is_object(); }));
  const std::string db = f_.node("32").data_dir() + "/lapor.db";
  auto sealed_rows = [&] {
    auto r = RunCommand({"/usr/bin/sqlite3", db, "SELECT count(*) FROM outbox WHERE kind = 1"});
    return r.output;
  };
  EXPECT_EQ(sealed_rows(), "1\n");
  // The origin does not own the case: its admin cannot sign an erasure for it...
  auto refused = Act(f_.node("32"), c.id, {{"action", "erase"}}, f_.admin_token("32"));
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("node 33 owns the case"), std::string::npos) << refused.body;
  // ...but its console erases the origin's own copies (with the node stopped: it holds the lock).
  ASSERT_EQ(f_.node("32").Stop(), 0);
  auto erase = f_.node("32").Cli({"pii", "erase", c.id, "--data-dir", f_.node("32").data_dir()});
  EXPECT_EQ(erase.exit_code, 0) << erase.output;
  EXPECT_NE(erase.output.find("1 copies for other nodes removed"), std::string::npos)
      << erase.output;
  EXPECT_NE(erase.output.find("node 33 owns the case"), std::string::npos) << erase.output;
  EXPECT_EQ(sealed_rows(), "0\n");
  // A second erasure finds nothing left.
  EXPECT_EQ(
      f_.node("32").Cli({"pii", "erase", c.id, "--data-dir", f_.node("32").data_dir()}).exit_code,
      1);
  f_.node("32").Start();
  EXPECT_EQ(CitizenView("32", c)["reporter"], json({{"erased", true}}));
  auto fsck = f_.node("32").Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
}

// 1a'. The owner of a case another node opened erases it: a signed erasure event, which the
// owner's own copy goes with (the WAL emptied after it, so neither lapor.db nor lapor.db-wal holds
// the ciphertext), and which every party applies to its own copies: the origin's record of the
// reporter goes too, and the owner lists each party's confirmation.
TEST_F(FederationTest, ErasureByTheOwnerReachesEveryPartyAndIsConfirmed) {
  Filed c = File(f_.node("32"), "33");
  ASSERT_FALSE(c.id.empty());
  ASSERT_TRUE(Eventually("the owner 33 holds the reporter's data",
                         [&] { return View("33", c.id)["reporter"].is_object(); }));
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 1));
  ASSERT_TRUE(CitizenView("32", c)["reporter"].contains("name"));  // the reporter's own view
  const std::string dir = f_.node("33").data_dir();
  auto hex = RunCommand({"/usr/bin/sqlite3", dir + "/lapor.db",
                         "SELECT hex(ciphertext) FROM sealed WHERE kind = 'reporter'"});
  ASSERT_EQ(hex.exit_code, 0) << hex.output;
  std::string cipher_hex = hex.output.substr(0, hex.output.find('\n'));
  ASSERT_GE(cipher_hex.size(), 64u) << hex.output;
  const std::string cipher = *crypto::HexDecode(cipher_hex);

  auto erased = Act(f_.node("33"), c.id, {{"action", "erase"}}, f_.admin_token("33"));
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(View("33", c.id)["reporter"], json({{"erased", true}}));
  // Every party applies it: the origin's copy of the reporter's record goes too.
  EXPECT_TRUE(Eventually("the origin 32 erased its copy", [&] {
    return CitizenView("32", c)["reporter"] == json({{"erased", true}});
  })) << CitizenView("32", c).dump();
  {
    auto rows = RunCommand({"/usr/bin/sqlite3", f_.node("32").data_dir() + "/lapor.db",
                            "SELECT count(*) FROM sealed WHERE kind = 'reporter'"});
    EXPECT_EQ(rows.output, "0\n") << rows.output;
  }
  EXPECT_TRUE(Eventually("the owner lists both parties' confirmations", [&] {
    const json e = View("33", c.id)["erasures"];
    return e.size() == 1 && e[0]["erased"] == json({"reporter"}) &&
           e[0]["parties"] ==
               json({{{"node", "00"}, {"confirmed", true}}, {{"node", "32"}, {"confirmed", true}}});
  })) << View("33", c.id).dump();
  EXPECT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 2));
  // The owner's files hold no copy once its checkpointer has emptied the WAL.
  EXPECT_TRUE(Eventually("neither lapor.db nor lapor.db-wal of 33 holds the ciphertext", [&] {
    for (const char* file : {"/lapor.db", "/lapor.db-wal"}) {
      std::ifstream in(dir + file, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (bytes.find(cipher.substr(0, 48)) != std::string::npos) return false;
    }
    return true;
  }));
  for (const auto& j : {"00", "32", "33"}) {
    auto fsck = f_.node(j).Fsck();
    EXPECT_EQ(fsck.exit_code, 0) << j << ": " << fsck.output;
  }
}

// 1b. A confidential case across nodes: its content goes to the owner only, and the notes of
// either side reach the other sealed to its key; the hub holds the events but none of the text.
TEST_F(FederationTest, ConfidentialCaseTextTravelsSealedToOriginAndOwnerOnly) {
  json body = Complaint("33", "Pungutan liar di kantor kelurahan");
  body["confidential"] = true;
  auto r = f_.node("32").Post("/api/v1/complaints", body);
  ASSERT_EQ(r.status, 201) << r.body;
  Filed c{r.Json()["tracking_id"], r.Json()["access_code"]};
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 1));
  auto title = [](const json& view) {
    return view.contains("title") && view["title"].is_string() ? view["title"].get<std::string>()
                                                               : std::string();
  };
  ASSERT_TRUE(Eventually("the owner 33 reads the confidential title", [&] {
    return title(View("33", c.id)) == "Pungutan liar di kantor kelurahan";
  }));
  // The hub's admin sees a confidential case it does not own as an auditor does: no content.
  const json at_hub = View("00", c.id);
  EXPECT_TRUE(at_hub["title"].is_null()) << at_hub.dump();
  EXPECT_EQ(at_hub["access"], "auditor");
  const std::string liaison = f_.liaison_token("33", "inspektorat");
  ASSERT_EQ(Act(f_.node("33"), c.id, {{"action", "verify"}, {"agency", "inspektorat"}},
                f_.admin_token("33"))
                .status,
            200);
  ASSERT_EQ(
      Act(f_.node("33"), c.id, {{"action", "respond"}, {"note", "Sedang diperiksa."}}, liaison)
          .status,
      200);
  auto note_at = [&](const json& view, const std::string& type) {
    const json history = view["history"];
    for (const auto& h : history) {
      if (h["type"] == type) return h.value("note", "");
    }
    return std::string();
  };
  ASSERT_TRUE(Eventually("the reporter reads the confidential response at 32", [&] {
    return note_at(CitizenView("32", c), "responded") == "Sedang diperiksa.";
  })) << CitizenView("32", c).dump();
  EXPECT_EQ(note_at(View("00", c.id), "responded"), "");
  ASSERT_EQ(
      Act(f_.node("32"), c.id,
          {{"action", "reply"}, {"note", "Ada bukti baru."}, {"access_code", c.access_code}}, "")
          .status,
      200);
  ASSERT_TRUE(Eventually("the owner 33 reads the reporter's confidential reply", [&] {
    return note_at(View("33", c.id), "replied") == "Ada bukti baru.";
  })) << View("33", c.id).dump();
  EXPECT_TRUE(Eventually("the reporter reads their own reply at 32", [&] {
    return note_at(CitizenView("32", c), "replied") == "Ada bukti baru.";
  }));
  EXPECT_EQ(note_at(View("00", c.id), "replied"), "");
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 5));
  for (const auto& j : {"00", "32", "33"}) {
    auto fsck = f_.node(j).Fsck();
    EXPECT_EQ(fsck.exit_code, 0) << j << ": " << fsck.output;
  }
}

// The files of a cross-jurisdiction case reach its owner sealed to the owner's key (a confidential
// case's after its sealed content), in a batch of their own size; the hub, which does not own
// them, keeps none.
TEST_F(FederationTest, AttachedFilesReachTheOwnerSealedAndNeverTheHub) {
  NodeProcess& origin = f_.node("32");
  auto upload = [&](const std::string& type, const std::string& bytes) {
    auto r = Http(origin.port(), "POST", "/api/v1/attachments", bytes, {{"Content-Type", type}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json{{"upload", r.Json()["upload"]},
                {"sha256", r.Json()["sha256"]},
                {"media_type", type},
                {"size", r.Json()["size"]}};
  };
  json open_case = Complaint("33", "Jalan berlubang");
  // json::array: a braced list of one object is that object, not an array, for some compilers.
  open_case["attachments"] = json::array({upload("image/jpeg", testing::SampleJpegWithMetadata())});
  json secret = Complaint("33", "Pungutan liar");
  secret["confidential"] = true;
  secret["attachments"] = json::array({upload("image/png", testing::SamplePng())});
  std::vector<std::pair<std::string, std::string>> filed;  // id, the file's bytes
  for (const auto& [body, bytes] : {std::pair<json, std::string>{open_case, testing::SampleJpeg()},
                                    {secret, testing::SamplePng()}}) {
    auto r = origin.Post("/api/v1/complaints", body);
    ASSERT_EQ(r.status, 201) << r.body;
    filed.emplace_back(r.Json()["tracking_id"], bytes);
  }
  for (const auto& [id, bytes] : filed) {
    const std::string sha = crypto::HexEncode(crypto::Sha256(bytes));
    const std::string path = "/api/v1/complaints/" + id + "/attachments/" + sha;
    ASSERT_TRUE(Eventually("the owner 33 holds the file of " + id, [&] {
      return f_.node("33").Get(path, f_.admin_token("33")).status == 200;
    }));
    EXPECT_EQ(f_.node("33").Get(path, f_.admin_token("33")).body, bytes);
    EXPECT_EQ(View("33", id)["attachments"][0]["held"], true);
    // The hub holds the case (its delivery may come after the owner's) but not the file: 404 for
    // the public case's, 403 for the confidential one's (its admin may not read it anyway).
    const std::string case_path = "/api/v1/complaints/" + id;  // (a lambda cannot capture `id`)
    ASSERT_TRUE(Eventually("the hub holds " + id, [&] {
      return f_.hub().Get(case_path, f_.admin_token("00")).status == 200;
    }));
    EXPECT_EQ(f_.hub().Get(path, f_.admin_token("00")).status, id == filed[0].first ? 404 : 403);
  }
  // Four documents of nearly 5 MB: more than one batch may carry (the receiver takes 16 MiB at
  // most), so they travel in batches cut by size, and all arrive.
  json documents = Complaint("33", "Dokumen pengadaan");
  documents["attachments"] = json::array();
  for (char c : {'a', 'b', 'c', 'd'}) {
    documents["attachments"].push_back(
        upload("application/pdf", "%PDF-1.7\n" + std::string(4900 * 1024, c) + "\n%%EOF\n"));
  }
  auto docs = origin.Post("/api/v1/complaints", documents);
  ASSERT_EQ(docs.status, 201) << docs.body;
  const std::string docs_id = docs.Json()["tracking_id"];
  ASSERT_TRUE(Eventually("the owner 33 holds all four documents", [&] {
    const json view = View("33", docs_id);
    if (!view.contains("attachments") || view["attachments"].size() != 4) return false;
    for (const auto& a : view["attachments"]) {
      if (a["held"] != true) return false;
    }
    return true;
  })) << View("33", docs_id).dump();
  auto at_hub = RunCommand({"/usr/bin/sqlite3", f_.hub().data_dir() + "/lapor.db",
                            "SELECT count(*) FROM sealed WHERE kind LIKE 'attachment:%'"});
  EXPECT_EQ(at_hub.output, "0\n") << at_hub.output;
  for (const auto& j : {"00", "32", "33"}) {
    auto fsck = f_.node(j).Fsck();
    EXPECT_EQ(fsck.exit_code, 0) << j << ": " << fsck.output;
  }
}

// 2a. Forward as "bukan wewenang": 33 forwards to 32, which accepts and becomes the owner.
TEST_F(FederationTest, ForwardThenAcceptHandsTheCaseOver) {
  Filed c = File(f_.node("33"), "33");
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"33"}, 1));  // a local case stays in its region
  auto fwd = Act(f_.node("33"), c.id, {{"action", "forward"}, {"to", "32"}}, f_.admin_token("33"));
  ASSERT_EQ(fwd.status, 200) << fwd.body;
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 2));
  // During the handoff neither side may change the case, except 32 accepting or declining.
  EXPECT_EQ(Act(f_.node("33"), c.id, {{"action", "hold"}}, f_.admin_token("33")).status, 409);
  auto accept = Act(f_.node("32"), c.id, {{"action", "accept"}}, f_.admin_token("32"));
  ASSERT_EQ(accept.status, 200) << accept.body;
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 3));
  EXPECT_EQ(View("33", c.id)["owner_node"], "32");
  EXPECT_EQ(Act(f_.node("33"), c.id, {{"action", "verify"}, {"agency", "x"}}, f_.admin_token("33"))
                .status,
            403);
  ASSERT_EQ(
      Act(f_.node("32"), c.id, {{"action", "verify"}, {"agency", "dinas-pu"}}, f_.admin_token("32"))
          .status,
      200);
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 4));
  // The origin sent the new owner the reporter's data.
  ASSERT_TRUE(Eventually("the new owner 32 holds the reporter's data",
                         [&] { return View("32", c.id)["reporter"].is_object(); }));
  EXPECT_TRUE(View("00", c.id)["reporter"].is_null());
}

// 2b. Forward, then decline: ownership stays.
TEST_F(FederationTest, ForwardThenDeclineKeepsTheOwner) {
  Filed c = File(f_.node("33"), "33");
  ASSERT_EQ(
      Act(f_.node("33"), c.id, {{"action", "forward"}, {"to", "32"}}, f_.admin_token("33")).status,
      200);
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 2));
  EXPECT_EQ(Act(f_.node("32"), c.id, {{"action", "decline"}}, f_.admin_token("32")).status, 400);
  ASSERT_EQ(Act(f_.node("32"), c.id, {{"action", "decline"}, {"reason", "bukan wewenang kami"}},
                f_.admin_token("32"))
                .status,
            200);
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 3));
  EXPECT_EQ(View("33", c.id)["owner_node"], "33");
  EXPECT_EQ(
      Act(f_.node("33"), c.id, {{"action", "verify"}, {"agency", "dinas-pu"}}, f_.admin_token("33"))
          .status,
      200);
  ASSERT_TRUE(WaitHeldOnlyBy(c.id, {"00", "32", "33"}, 4));
}

// Statistics: each member reports counts of the cases it owns, signed, to the hub, which sums
// them nationally; no personal data travels.
TEST(StatsTest, MembersReportCountsToTheHub) {
  FederationOptions opts;
  Federation f(opts);
  for (const auto& j : {"32", "33"}) {
    f.node(j).SetConfig("stats_interval_ms", 200);
    f.node(j).Stop();
    f.node(j).Start();
  }
  File(f.node("32"), "32");
  File(f.node("32"), "32");
  File(f.node("32"), "33");  // owned by 33
  File(f.node("33"), "33");
  json stats;
  ASSERT_TRUE(Eventually("the hub sums 4 cases from 2 nodes", [&] {
    stats = f.hub().Get("/federation/v1/stats", f.admin_token("00")).Json();
    return stats.value("total_cases", 0) == 4 && stats["nodes"].size() == 2;
  })) << stats.dump();
  EXPECT_EQ(stats["counts"]["status"]["belum_terverifikasi"], 4);
  EXPECT_EQ(stats["counts"]["region_code"]["32"], 2);
  EXPECT_EQ(stats["counts"]["region_code"]["33"], 2);
  EXPECT_EQ(stats.dump().find("Siti"), std::string::npos);
  EXPECT_EQ(f.hub().Get("/federation/v1/stats").status, 401);
}

// Tests that move every node's clock (the nodes read LAPOR_CLOCK_OFFSET_FILE, base/clock.cc).
class ClockOffsetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    offset_file_ = MakeTempDir("lapor-clock") + "/offset";
    std::ofstream(offset_file_) << 0;
    setenv("LAPOR_CLOCK_OFFSET_FILE", offset_file_.c_str(), 1);
  }
  static void TearDownTestSuite() { unsetenv("LAPOR_CLOCK_OFFSET_FILE"); }
  static void Advance(int64_t ms) { std::ofstream(offset_file_) << ms; }
  static std::string offset_file_;
};
std::string ClockOffsetTest::offset_file_;
class EscalationTest : public ClockOffsetTest {};
class NationalViewTest : public ClockOffsetTest {};

// The national view: the hub keeps the members' reports over time and serves the national
// figures from them (filters, the table by province and regency, CSV), only to its admins and
// auditors; an auditor checks every figure against the signed reports with lapor-audit; a
// tampered figure is caught. The alerts name a member that went silent.
TEST_F(NationalViewTest, TheHubServesNationalFiguresThatAnAuditorChecks) {
  FederationOptions opts;
  opts.jurisdictions = {"32", "33", "32.04"};
  Federation f(opts);
  for (const auto& j : {"32", "33", "32.04"}) {
    f.node(j).SetConfig("stats_interval_ms", 200);
    f.node(j).Stop();
    f.node(j).Start();
  }
  Filed a = File(f.node("32.04"), "32.04");
  File(f.node("32.04"), "32.04");
  File(f.node("33"), "33");
  json conf = Complaint("33", "Pungutan liar");
  conf["category"] = "pungli";
  conf["confidential"] = true;
  ASSERT_EQ(f.node("33").Post("/api/v1/complaints", conf).status, 201);
  ASSERT_EQ(Act(f.node("32.04"), a.id, {{"action", "verify"}, {"agency", "dinas-pu"}},
                f.admin_token("32.04"))
                .status,
            200);
  const std::string admin = f.admin_token("00");
  json stats;
  ASSERT_TRUE(Eventually("the hub's national figures count 4 cases, 1 verified", [&] {
    stats = f.hub().Get("/national/v1/stats", admin).Json();
    return stats.contains("totals") && stats["totals"]["cases"] == 4 &&
           stats["totals"]["verified"] == 1;
  })) << stats.dump();
  const json& t = stats["totals"];
  EXPECT_EQ(t["verified_on_time"], 1);
  EXPECT_EQ(t["backlog"], 4);
  EXPECT_EQ(stats["members_reporting"], 3);
  EXPECT_EQ(stats["by_category"]["rahasia"], 1);
  EXPECT_EQ(stats["by_category"]["infrastruktur"], 3);
  EXPECT_EQ(stats["weekly"].size(), 12u);
  ASSERT_EQ(stats["provinces"].size(), 2u);
  EXPECT_EQ(stats["provinces"][0]["code"], "32");
  EXPECT_EQ(stats["provinces"][0]["cases"], 2);
  EXPECT_EQ(stats["provinces"][1]["cases"], 2);
  // Nothing of the reporters, nor of the confidential case's content.
  for (const char* secret : {"Siti", "pungli", "Pungutan", "+6281234567"}) {
    EXPECT_EQ(stats.dump().find(secret), std::string::npos) << secret;
  }
  // Drill-down and filters.
  json jabar = f.hub().Get("/national/v1/stats?province=32&weeks=0", admin).Json();
  EXPECT_EQ(jabar["totals"]["cases"], 2);
  ASSERT_EQ(jabar["regencies"].size(), 1u);
  EXPECT_EQ(jabar["regencies"][0]["code"], "32.04");
  EXPECT_EQ(jabar["regencies"][0]["name"], "KABUPATEN BANDUNG");
  EXPECT_EQ(f.hub().Get("/national/v1/stats?category=rahasia", admin).Json()["totals"]["cases"], 1);
  auto csv = f.hub().Get("/national/v1/stats?format=csv", admin);
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body.rfind("code,name,cases,", 0), 0u) << csv.body;
  EXPECT_NE(csv.body.find("\r\n32,JAWA BARAT,2,"), std::string::npos) << csv.body;
  // Bad input names its field; only the hub's admins and auditors may read.
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"province=99", "province"},
                                                        {"regency=32", "regency"},
                                                        {"province=33&regency=32.04", "regency"},
                                                        {"to=2026-13-01", "to"},
                                                        {"to=2999-01-01", "to"},
                                                        {"from=2999-01-01", "from"},
                                                        {"weeks=105", "weeks"},
                                                        {"format=xml", "format"},
                                                        {"report_type=keluhan", "report_type"},
                                                        {"colour=red", "colour"}}) {
    auto r = f.hub().Get("/national/v1/stats?" + query, admin);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_EQ(r.Json()["error"]["field"], field) << query << " " << r.body;
  }
  EXPECT_EQ(f.hub().Get("/national/v1/stats").status, 401);
  EXPECT_EQ(f.hub().Get("/national/v1/stats", f.liaison_token("00", "dinas-pu")).status, 403);
  EXPECT_EQ(f.hub().Get("/national/v1/stats", f.auditor_token("00")).status, 200);
  EXPECT_EQ(f.node("32").Get("/national/v1/stats", f.admin_token("32")).status, 404);

  // The auditor's check: the evidence verifies, and a figure changed in it does not.
  auto evidence = f.hub().Get("/national/v1/evidence?weeks=2", f.auditor_token("00"));
  ASSERT_EQ(evidence.status, 200) << evidence.body;
  const std::string dir = MakeTempDir("lapor-national");
  std::ofstream(dir + "/evidence.json") << evidence.body;
  auto ok = RunCommand({LAPOR_AUDIT_BIN_DEFAULT, "check-national", dir + "/evidence.json",
                        "--hub-key", f.hub_key_hex()});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("every figure matches"), std::string::npos) << ok.output;
  json tampered = evidence.Json();
  tampered["figures"]["totals"]["cases"] = 5;
  std::ofstream(dir + "/tampered.json") << tampered.dump();
  auto caught = RunCommand({LAPOR_AUDIT_BIN_DEFAULT, "check-national", dir + "/tampered.json",
                            "--hub-key", f.hub_key_hex()});
  EXPECT_EQ(caught.exit_code, 1) << caught.output;
  EXPECT_NE(caught.output.find("figure /totals/cases"), std::string::npos) << caught.output;
  json forged = evidence.Json();
  forged["snapshots"][0]["reports"][0] = crypto::Base64Encode("not a report");
  std::ofstream(dir + "/forged.json") << forged.dump();
  EXPECT_EQ(RunCommand({LAPOR_AUDIT_BIN_DEFAULT, "check-national", dir + "/forged.json",
                        "--hub-key", f.hub_key_hex()})
                .exit_code,
            1);

  // A member that stops reporting shows in the alerts: six days later (on every node's
  // clock) 33 has not reported since, the others have.
  // Two cross-jurisdiction cases the hub holds, about 33's region, one of them confidential.
  Filed cross = File(f.node("32"), "33", "Jembatan putus");
  json secret = Complaint("33", "Pungutan di jembatan");
  secret["confidential"] = true;
  auto filed_secret = f.node("32").Post("/api/v1/complaints", secret);
  ASSERT_EQ(filed_secret.status, 201) << filed_secret.body;
  const std::string secret_id = filed_secret.Json()["tracking_id"];
  ASSERT_TRUE(Eventually("the hub holds both", [&] {
    return f.hub().Get("/api/v1/complaints/" + cross.id, admin).status == 200 &&
           f.hub().Get("/api/v1/complaints/" + secret_id, admin).status == 200;
  }));
  f.node("33").Stop();
  Advance(6 * kDay);  // past their 3 working days of verification
  json alerts;
  auto reasons_of = [&](const std::string& node) {
    for (const auto& m : alerts["silent_members"]) {
      if (m["node_id"] == node) return m["reasons"].dump();
    }
    return std::string("[]");
  };
  ASSERT_TRUE(Eventually("33 alone is silent", [&] {
    alerts = f.hub().Get("/national/v1/alerts", admin).Json();
    return reasons_of("33").find("no_report") != std::string::npos &&
           reasons_of("32").find("no_report") == std::string::npos &&
           reasons_of("32.04").find("no_report") == std::string::npos;
  })) << alerts.dump();
  EXPECT_EQ(alerts["members"].size(), 3u);
  EXPECT_EQ(alerts["silent_hours"], 2);
  // Both are past their deadline; the confidential one's owner is content, hidden from the hub's
  // admin as in its case view.
  std::map<std::string, json> overdue;
  for (const auto& c : alerts["overdue_cases"]["items"]) overdue[c["tracking_id"]] = c;
  ASSERT_TRUE(overdue.count(cross.id) && overdue.count(secret_id)) << alerts.dump();
  EXPECT_EQ(overdue[cross.id]["owner_node"], "33");
  EXPECT_EQ(overdue[cross.id]["due_kind"], "verification");
  EXPECT_TRUE(overdue[secret_id]["owner_node"].is_null()) << overdue[secret_id].dump();
  EXPECT_EQ(alerts.dump().find("Pungutan"), std::string::npos);
  for (const auto& m : alerts["members"]) {
    if (m["node_id"] == "33") {
      EXPECT_GE(m["last_report_age_hours"].get<double>(), 2.9);
    }
  }
  EXPECT_EQ(f.hub().Get("/national/v1/alerts?silent_hours=0", admin).status, 400);
  EXPECT_EQ(f.hub().Get("/national/v1/alerts", f.liaison_token("00", "dinas-pu")).status, 403);
}

// 2c. Missed deadlines escalate a regency's case to its province, then to the hub.

TEST_F(EscalationTest, RegencyToProvinceToHub) {
  Federation f;
  Filed c = File(f.node("33.01"), "33.01");
  auto view = [&](const std::string& j) {
    return f.node(j).Get("/api/v1/complaints/" + c.id, f.admin_token(j)).Json();
  };
  Advance(8 * kDay);  // past the 3 working days of verification, on every node's clock
  ASSERT_TRUE(Eventually("the case is escalated to 33", [&] {
    return view("33")["escalated"] == true;
  })) << view("33.01").dump();
  // A case of two nodes is the hub's too.
  ASSERT_TRUE(
      Eventually("the hub holds the escalation", [&] { return view("00")["escalated"] == true; }));
  EXPECT_EQ(view("32").value("tracking_id", ""), "");
  ASSERT_EQ(Act(f.node("33.01"), c.id, {{"action", "verify"}, {"agency", "dinas-pu"}},
                f.admin_token("33.01"))
                .status,
            200);
  Advance(20 * kDay);  // past the 5 working days of response
  ASSERT_TRUE(Eventually("the hub shows the second escalation (level 2)", [&] {
    auto v = view("00");
    return v["escalated"] == true && v["escalation_level"] == 2;
  })) << view("00").dump();
  // The escalation events name their targets: the province, then the hub. The hub may hold the
  // second one before the province does (each party gets it on its own delivery stream).
  json events;
  std::vector<std::string> targets;
  EXPECT_TRUE(Eventually("33 holds both escalation events", [&] {
    events = f.node("33").Get("/api/v1/complaints/" + c.id, f.admin_token("33")).Json();
    targets.clear();
    for (const auto& h : events["history"]) {
      if (h["type"] == "escalated") targets.push_back(h.value("to_node", ""));
    }
    return targets.size() >= 2;
  }));
  EXPECT_EQ(targets, (std::vector<std::string>{"33", "00"})) << events.dump();
  // The regency counted both escalations for its operators' alerts.
  EXPECT_EQ(Metric(f.node("33.01"), f.auditor_token("33.01"),
                   R"(lapor_sla_escalations_total{agency="unassigned",deadline="verification"})"),
            1);
  EXPECT_EQ(Metric(f.node("33.01"), f.auditor_token("33.01"),
                   R"(lapor_sla_escalations_total{agency="dinas-pu",deadline="response"})"),
            1);
  // Every party holds the same events.
  std::vector<std::string> ref;
  ASSERT_TRUE(Eventually("33.01, 33 and the hub hold the same 4 events", [&] {
    auto a = EventHashes(f.node("33.01"), c.id, f.auditor_token("33.01"));
    auto b = EventHashes(f.node("33"), c.id, f.auditor_token("33"));
    auto h = EventHashes(f.hub(), c.id, f.auditor_token("00"));
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::sort(h.begin(), h.end());
    return a.size() == 4 && a == b && a == h;
  }));
  Advance(0);
}

}  // namespace
}  // namespace lapor::testing
