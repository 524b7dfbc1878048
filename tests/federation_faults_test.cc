// Federation under faults, on real lapor-node processes: a node killed with SIGKILL during
// traffic, a node restored from an old backup, every fault of the TCP proxy between two nodes,
// the hub down, store-and-forward through the hub; and every kind of forged or misdirected input
// refused with a clear error, nothing applied, and logged.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "federation/receive.h"
#include "federation/request_auth.h"
#include "harness/crafted_log.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/sample_files.h"
#include "lapor/v1/event.pb.h"
#include "protocol/envelope.h"
#include "protocol/manifest.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

std::string File(NodeProcess& node, const std::string& region) {
  json body = {{"title", "Lampu jalan mati"},
               {"description", "Lampu jalan mati sejak sebulan, jalan gelap di malam hari."},
               {"category", "penerangan"},
               {"report_type", "pengaduan"},
               {"region_code", region},
               {"reporter", {{"name", "Budi"}}}};
  auto r = node.Post("/api/v1/complaints", body);
  return r.status == 201 ? r.Json()["tracking_id"].get<std::string>() : std::string();
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FaultsTest : public ::testing::Test {
 protected:
  // Fast retries so that faults heal within the test's patience.
  static void Tune(NodeProcess& n) {
    n.SetConfig("retry_initial_ms", 50);
    n.SetConfig("retry_max_ms", 400);
    n.SetConfig("request_timeout_ms", 1000);
  }
  void SetUp() override {
    for (const auto& j : f_.jurisdictions()) {
      Tune(f_.node(j));
      f_.node(j).Stop();
      f_.node(j).Start();
    }
  }
  // Every case in `ids` is held alike by the hub, 32 and 33: the same events, each once, at least
  // `min_events` of them. What other nodes hold is not looked at (33.01 is no party to these
  // cases; federation_test's HeldOnlyBy checks that too).
  ::testing::AssertionResult HeldAlikeByHub32And33(const std::vector<std::string>& ids,
                                                   size_t min_events = 1) {
    for (const auto& id : ids) {
      auto a = EventHashes(f_.node("32"), id, f_.auditor_token("32"));
      auto b = EventHashes(f_.node("33"), id, f_.auditor_token("33"));
      auto h = EventHashes(f_.hub(), id, f_.auditor_token("00"));
      if (a.size() < min_events || a != b || a != h) {
        return ::testing::AssertionFailure()
               << id << ": 32 holds " << a.size() << ", 33 " << b.size() << ", hub " << h.size();
      }
      if (std::set<std::string>(a.begin(), a.end()).size() != a.size()) {
        return ::testing::AssertionFailure() << id << ": duplicates";
      }
    }
    return ::testing::AssertionSuccess();
  }
  // Node j holds every case in `ids` (some event of each).
  bool HoldsAll(const std::string& j, const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      if (EventHashes(f_.node(j), id, f_.auditor_token(j)).empty()) return false;
    }
    return true;
  }
  ::testing::AssertionResult WaitHeldAlikeByHub32And33(const std::vector<std::string>& ids,
                                                       size_t min_events = 1,
                                                       int timeout_ms = 30000) {
    return Eventually(
        "00, 32 and 33 hold the same events of every case",
        [&] { return HeldAlikeByHub32And33(ids, min_events); },
        std::chrono::milliseconds(timeout_ms));
  }
  void Verify(const std::string& id) {
    auto r =
        f_.node("33").Post("/api/v1/complaints/" + id + "/actions",
                           {{"action", "verify"}, {"agency", "dinas-pju"}}, f_.admin_token("33"));
    EXPECT_EQ(r.status, 200) << r.body;
  }

  Federation f_;
};

// 3a. The owner is killed with SIGKILL while cases flow to it, and restarted.
TEST_F(FaultsTest, OwnerKilledDuringTrafficConverges) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> ids;
  std::thread traffic([&] {
    while (!stop) {
      std::string id = File(f_.node("32"), "33");
      if (!id.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        ids.push_back(id);
      }
    }
  });
  // 33 holds a case of the traffic filed from index `from` on. (EXPECT, not ASSERT, below: the
  // traffic thread must be stopped and joined whatever happens.)
  auto owner_holds_from = [&](size_t from) {
    std::vector<std::string> filed;
    {
      std::lock_guard<std::mutex> lock(mu);
      filed.assign(ids.begin() + static_cast<std::ptrdiff_t>(std::min(from, ids.size())),
                   ids.end());
    }
    for (const auto& id : filed) {
      if (!EventHashes(f_.node("33"), id, f_.auditor_token("33")).empty()) return true;
    }
    return false;
  };
  EXPECT_TRUE(Eventually("the traffic reaches 33", [&] { return owner_holds_from(0); }));
  f_.node("33").Kill9();
  // 33 stays down for a while (time passes on purpose): cases for it pile up at 32.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  size_t filed_before_restart = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    filed_before_restart = ids.size();
  }
  f_.node("33").Start();
  EXPECT_TRUE(Eventually("the traffic reaches 33 again after its restart",
                         [&] { return owner_holds_from(filed_before_restart); }));
  stop = true;
  traffic.join();
  ASSERT_GT(ids.size(), 10u);
  EXPECT_TRUE(WaitHeldAlikeByHub32And33(ids));
  EXPECT_EQ(f_.node("33").Fsck().exit_code, 0) << f_.node("33").Fsck().output;
}

// 3b. The owner's data folder is replaced by an old backup: it takes back its own events from
// the hub, asks its peers to send again, and converges with no seq signed twice.
TEST_F(FaultsTest, OwnerRestoredFromOldBackupConverges) {
  std::vector<std::string> before;
  for (int i = 0; i < 3; ++i) before.push_back(File(f_.node("32"), "33"));
  ASSERT_TRUE(WaitHeldAlikeByHub32And33(before));
  NodeProcess& b = f_.node("33");
  ASSERT_EQ(b.Stop(), 0);
  const std::string backup = f_.root() + "/33-backup";
  std::filesystem::copy(b.data_dir(), backup, std::filesystem::copy_options::recursive);
  b.Start();
  std::vector<std::string> after;
  for (int i = 0; i < 5; ++i) after.push_back(File(f_.node("32"), "33"));
  ASSERT_TRUE(WaitHeldAlikeByHub32And33(after));
  for (const auto& id : after) Verify(id);  // the owner's own events, after the backup
  for (const auto& id : before) Verify(id);
  ASSERT_TRUE(WaitHeldAlikeByHub32And33(after, 2));
  ASSERT_TRUE(WaitHeldAlikeByHub32And33(before, 2));
  const uint64_t next_seq = b.Get("/healthz").Json()["next_seq"].get<uint64_t>();

  b.Kill9();
  std::filesystem::remove_all(b.data_dir());
  std::filesystem::copy(backup, b.data_dir(), std::filesystem::copy_options::recursive);
  b.Start();
  std::vector<std::string> all = before;
  all.insert(all.end(), after.begin(), after.end());
  EXPECT_TRUE(WaitHeldAlikeByHub32And33(all, 2));
  EXPECT_EQ(b.Get("/healthz").Json()["next_seq"].get<uint64_t>(), next_seq);
  auto fsck = b.Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  // The restored node works on: a new event gets the next seq.
  std::string fresh = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldAlikeByHub32And33({fresh}));
  Verify(fresh);
  EXPECT_TRUE(WaitHeldAlikeByHub32And33({fresh}, 2));
}

// 4. Each proxy fault between 32 and 33, then healed: nothing lost, nothing duplicated.
TEST_F(FaultsTest, EveryProxyFaultBetweenTwoNodesHeals) {
  FaultProxy& proxy = f_.Proxy("32", "33");
  struct Case {
    Fault fault;
    int delay_ms;
    size_t cut;
  };
  const std::vector<Case> faults = {{Fault::kDelay, 300, 0},      {Fault::kDrop, 0, 0},
                                    {Fault::kRefuse, 0, 0},       {Fault::kCutRequest, 0, 150},
                                    {Fault::kCutResponse, 0, 20}, {Fault::kDuplicate, 0, 0}};
  std::vector<std::string> all;
  for (const auto& c : faults) {
    proxy.Set({c.fault, c.delay_ms, c.cut});
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(File(f_.node("32"), "33"));
    // The fault stands for a while (time passes on purpose): 32 sends and retries through it.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    proxy.Set({Fault::kNone, 0, 0});
    EXPECT_TRUE(WaitHeldAlikeByHub32And33(ids)) << "fault " << static_cast<int>(c.fault);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  EXPECT_TRUE(HeldAlikeByHub32And33(all));
  EXPECT_GT(proxy.connections(), 0u);
}

// 3d. The receiver's disk fails while cases flow to it (storage/wal_vfs.h faults through
// LAPOR_TEST_DISK_FAULT on 33): an I/O error stops it, a power loss kills it dropping what was
// not synced, a full disk makes it refuse what it receives until it has room. Restarted (or
// resumed by itself, for the full disk), it holds every case 32 sent, as 32 and the hub do, and
// its fsck is clean. The fault counts from 33's start, so a sweep over n strikes at different
// points of receiving (foreign events, case rows, delivery marks, log checkpoints). Faults that
// must be seen count WAL calls only (":wal") or stay (":sticky"): one write the WAL checkpointer
// retries is never seen.
TEST_F(FaultsTest, TheReceiversDiskFaultsLoseNothing) {
  NodeProcess& receiver = f_.node("33");
  auto answers = [&] { return receiver.Get("/healthz").status != 0; };
  auto count_in_log = [&](const std::string& what) {
    const std::string log = ReadFileText(receiver.data_dir() + "/node.log");
    int n = 0;
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  for (const std::string spec :
       {"write:10:eio:sticky", "write:25:eio:wal", "sync:3:eio:wal", "sync:2:powerloss",
        "sync:4:powerloss", "write:20:powerloss", "write:8:enospc:wal", "write:20:enospc:wal"}) {
    SCOPED_TRACE(spec);
    ASSERT_EQ(receiver.Stop(), 0);
    receiver.SetEnv("LAPOR_TEST_DISK_FAULT", spec);
    try {
      receiver.Start();
    } catch (const std::exception&) {
      // The fault struck while the store opened: the node did not start.
    }
    const bool enospc = spec.find("enospc") != std::string::npos;
    const int full_before = count_in_log("the disk is full");

    // The fault has struck: 33 stopped (I/O error, power loss) or turned read-only (full disk).
    auto struck = [&] {
      return enospc ? count_in_log("the disk is full") > full_before : !answers();
    };
    // Cases go to 33 one at a time until the fault strikes (how many writes and syncs receiving
    // one takes depends on how deliveries batch), then a few more.
    std::vector<std::string> ids;
    int after = 0;
    for (int i = 0; i < 60 && after < 3; ++i) {
      ids.push_back(File(f_.node("32"), "33"));
      ASSERT_FALSE(ids.back().empty());
      if (struck() || after > 0) {
        ++after;
        continue;
      }
      // Either is fine here: the loop goes on or stops on what struck() says.
      static_cast<void>(Eventually("33 holds the case or the fault struck", [&] {
        return struck() || !EventHashes(receiver, ids.back(), f_.auditor_token("33")).empty();
      }));
      if (struck()) ++after;
    }
    ASSERT_TRUE(struck()) << "the fault never struck in " << ids.size() << " cases";
    receiver.SetEnv("LAPOR_TEST_DISK_FAULT", "");
    if (enospc) {
      // A full disk is no reason to stop: 33 takes writes again by itself and gets everything.
      EXPECT_TRUE(answers());
      // Read-only until it resumes by itself ("writes resumed"), if the write that got ENOSPC was
      // a commit's; a direct write (a request's time mark) just fails that request, retried.
      EXPECT_TRUE(Eventually("33 takes writes again", [&] {
        auto h = receiver.Get("/healthz");
        return h.status == 200 && h.Json().value("status", "") == "ok";
      }));
    } else {
      ASSERT_TRUE(Eventually("33 has stopped", [&] { return !answers(); }));
      const int exit_code = receiver.Stop();
      EXPECT_TRUE(exit_code == 1 || exit_code == -100 - 9 || exit_code == -1) << exit_code;
      receiver.Start();
    }
    std::printf("%-20s struck while 33 received case %zu\n", spec.c_str(), ids.size() - 2);
    EXPECT_TRUE(WaitHeldAlikeByHub32And33(ids));
    ASSERT_EQ(receiver.Stop(), 0);
    auto fsck = receiver.Fsck();
    EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
    receiver.Start();
  }
}

// 4b. The hub down for a while: the peers still exchange; the hub catches up when it is back.
TEST_F(FaultsTest, HubDownForAWhileCatchesUp) {
  ASSERT_EQ(f_.hub().Stop(), 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(File(f_.node("32"), "33"));
  ASSERT_TRUE(Eventually("33 holds every case 32 filed while the hub is down", [&] {
    for (const auto& id : ids) {
      if (EventHashes(f_.node("33"), id, f_.auditor_token("33")).empty()) return false;
    }
    return true;
  }));
  f_.hub().Start();
  EXPECT_TRUE(WaitHeldAlikeByHub32And33(ids));
}

// 4c. Store-and-forward: 33 unreachable from 32 for longer than relay_after_ms; the hub relays.
TEST_F(FaultsTest, UnreachablePeerGetsEventsThroughTheHub) {
  f_.node("32").SetConfig("relay_after_ms", 500);
  FaultProxy& proxy = f_.Proxy("32", "33");  // restarts 32 with the new setting
  proxy.Set({Fault::kRefuse, 0, 0});
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(File(f_.node("32"), "33"));
  // Still refused between 32 and 33, yet 33 gets the cases through the hub.
  EXPECT_TRUE(WaitHeldAlikeByHub32And33(ids));
  auto status = f_.node("32").Get("/federation/v1/status", f_.admin_token("32")).Json();
  bool failing = false;
  for (const auto& d : status["destinations"]) {
    if (d["destination"] == "33") failing = !d["failing_since"].is_null();
  }
  EXPECT_TRUE(failing) << status.dump();
  proxy.Set({Fault::kNone, 0, 0});
  // Once healed the direct path drains too (duplicates are ignored by hash).
  EXPECT_TRUE(Eventually("32's backlog to 33 is drained", [&] {
    auto s = f_.node("32").Get("/federation/v1/status", f_.admin_token("32")).Json();
    for (const auto& d : s["destinations"]) {
      if (d["destination"] == "33") return d["backlog"] == 0;
    }
    return false;
  }));
  EXPECT_TRUE(HeldAlikeByHub32And33(ids));
}

// A destination that accepts connections and never answers holds one of the sender's pool
// threads until its request times out; the other threads carry the other destinations meanwhile.
// However many destinations a node has, it runs delivery_threads sender threads.
TEST_F(FaultsTest, ADestinationThatNeverAnswersHoldsUpOnlyItsOwnDeliveries) {
  NodeProcess& n32 = f_.node("32");
  n32.SetConfig("delivery_threads", 2);
  n32.SetConfig("request_timeout_ms", 20000);
  FaultProxy& proxy = f_.Proxy("32", "33");  // restarts 32 with the new settings
  proxy.Set({Fault::kDrop, 0, 0});
  std::vector<std::string> to33;
  for (int i = 0; i < 2; ++i) to33.push_back(File(n32, "33"));
  ASSERT_TRUE(
      Eventually("32 has a request to 33 hanging", [&] { return proxy.connections() > 0; }));
  // 33.01's cases reach it and the hub while 33's request hangs (20 s).
  std::vector<std::string> to3301;
  for (int i = 0; i < 3; ++i) to3301.push_back(File(n32, "33.01"));
  EXPECT_TRUE(Eventually(
      "33.01 and the hub hold 32's cases about 33.01",
      [&] { return HoldsAll("33.01", to3301) && HoldsAll("00", to3301); },
      std::chrono::milliseconds(15000)));
  for (const auto& id : to33)
    EXPECT_TRUE(EventHashes(f_.node("33"), id, f_.auditor_token("33")).empty());
  // Three destinations (the hub, 33, 33.01), two sender threads.
  int senders = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(n32.pid()) + "/task")) {
    if (ReadFileText(task.path().string() + "/comm").rfind("lapor-send-", 0) == 0) ++senders;
  }
  EXPECT_EQ(senders, 2);
  // Healed: 33 gets its cases once the hanging request gives up.
  proxy.Set({Fault::kNone, 0, 0});
  EXPECT_TRUE(WaitHeldAlikeByHub32And33(to33, 1, 60000));
}

// Destinations that keep failing run on at most half of the sender threads: with two threads
// and two destinations that hang until the request times out, the hub still gets its deliveries.
TEST_F(FaultsTest, FailingDestinationsTakeAtMostHalfTheSenderThreads) {
  NodeProcess& n32 = f_.node("32");
  n32.SetConfig("delivery_threads", 2);
  n32.SetConfig("request_timeout_ms", 20000);
  n32.SetConfig("relay_after_ms", 0);  // no store-and-forward: the hub gets only 32's own sends
  FaultProxy& p33 = f_.Proxy("32", "33");
  FaultProxy& p3301 = f_.Proxy("32", "33.01");  // each restarts 32 with the settings
  // Down first: both destinations fail at once and back off.
  p33.Set({Fault::kRefuse, 0, 0});
  p3301.Set({Fault::kRefuse, 0, 0});
  std::vector<std::string> ids = {File(n32, "33"), File(n32, "33.01")};
  ASSERT_TRUE(Eventually("32 sees 33 and 33.01 failing", [&] {
    int failing = 0;
    auto s = n32.Get("/federation/v1/status", f_.admin_token("32")).Json();
    for (const auto& d : s["destinations"]) {
      if ((d["destination"] == "33" || d["destination"] == "33.01") &&
          !d["failing_since"].is_null()) {
        ++failing;
      }
    }
    return failing == 2;
  }));
  // Now they accept connections and never answer: each retry holds its thread for 20 s.
  p33.Set({Fault::kDrop, 0, 0});
  p3301.Set({Fault::kDrop, 0, 0});
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // past the 400 ms backoff
  std::vector<std::string> more;
  for (int i = 0; i < 3; ++i) more.push_back(File(n32, "33"));
  EXPECT_TRUE(Eventually(
      "the hub holds 32's new cases while 33 and 33.01 hang", [&] { return HoldsAll("00", more); },
      std::chrono::milliseconds(12000)));
  p33.Set({Fault::kNone, 0, 0});
  p3301.Set({Fault::kNone, 0, 0});
  more.push_back(ids[0]);
  EXPECT_TRUE(WaitHeldAlikeByHub32And33(more, 1, 60000));
  EXPECT_TRUE(Eventually(
      "33.01 holds its case",
      [&] { return !EventHashes(f_.node("33.01"), ids[1], f_.auditor_token("33.01")).empty(); },
      std::chrono::milliseconds(60000)));
}

// 5. Forged, misdirected and replayed input: each refused with a clear error, nothing applied,
// and logged by the receiver.
class RefusalsTest : public FaultsTest {
 protected:
  crypto::SigningKey KeyOf(const std::string& j) {
    std::string hex = ReadFileText(f_.node(j).data_dir() + "/node.key");
    hex.erase(hex.find_last_not_of(" \n") + 1);
    return *crypto::SigningKey::FromSecretKey(*crypto::HexDecode(hex));
  }
  HttpResponse Send(const std::string& to, const crypto::SigningKey& key, const std::string& node,
                    const std::string& body, federation::RequestAuth* used = nullptr) {
    auto auth = federation::SignRequest(key, node, to, "POST", "/federation/v1/events", body,
                                        Clock::Real()->NowMs());
    if (used) *used = auth;
    return SendSigned(to, auth, body);
  }
  HttpResponse SendSigned(const std::string& to, const federation::RequestAuth& auth,
                          const std::string& body,
                          const std::string& path = "/federation/v1/events") {
    std::string raw = "POST " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/x-protobuf\r\nConnection: close\r\n"
                      "Content-Length: " +
                      std::to_string(body.size()) + "\r\n";
    for (const auto& [k, v] : federation::AuthHeaders(auth)) raw += k + ": " + v + "\r\n";
    raw += "\r\n" + body;
    return SendRaw(f_.port(to), raw);
  }
  static v1::BatchResult Result(const HttpResponse& r) {
    v1::BatchResult out;
    out.ParseFromString(r.body);
    return out;
  }
  // A new case node 33.01 opened (seq, id, time), owned by 33 so that 33 is a party to it.
  static v1::Event Submission3301(uint64_t seq, const std::string& case_id, int64_t time_ms) {
    v1::Event e;
    e.set_node_id("33.01");
    e.set_seq(seq);
    e.set_case_id(case_id);
    e.set_time_ms(time_ms);
    e.set_type(v1::EVENT_SUBMITTED);
    e.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
    auto* sub = e.mutable_submission();
    sub->set_title("Saluran air tersumbat");
    sub->set_description("Saluran air tersumbat sejak hujan deras.");
    sub->set_category("drainase");
    sub->set_report_type("pengaduan");
    sub->set_region_code("33.01");
    sub->set_channel("web");
    sub->set_verify_due_ms(time_ms + 3 * 86400000LL);
    sub->set_owner_node("33");
    return e;
  }
  // Rotates `jurisdiction`'s key with no overlap (its old key retires now) to a new key, stored in
  // `*next` if set, and waits until 33 judges by the new manifest (its directory, not only the
  // one it stores).
  void RetireKeyNow(const std::string& jurisdiction,
                    std::optional<crypto::SigningKey>* next = nullptr) {
    const crypto::SigningKey fresh = crypto::SigningKey::Generate();
    auto rotate = f_.hub().Cli({"federation", "rotate-key", "--data-dir", f_.hub().data_dir(),
                                "--jurisdiction", jurisdiction, "--key",
                                crypto::HexEncode(fresh.public_key()), "--overlap-hours", "0",
                                "--confirmed-out-of-band", "test: the hub's operator"});
    ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
    const uint64_t version = f_.manifest_version() + 1;  // once per test: the first change
    ASSERT_TRUE(Eventually("33's directory uses manifest version " + std::to_string(version), [&] {
      auto s = f_.node("33").Get("/federation/v1/status", f_.admin_token("33"));
      if (s.status != 200) return false;
      const json status = s.Json();
      return status["manifest_in_use"].is_object() &&
             status["manifest_in_use"]["version"] == version;
    }));
    if (next != nullptr) next->emplace(fresh);
  }
  // `batch` serialized, each event another node authored with the proof that it is in that
  // node's log, as every relayed event must come (a log crafted with the author's key, one per
  // event, so that two events with one seq are two views of the author's log).
  std::string Proven(v1::EventBatch batch) {
    for (auto& item : *batch.mutable_items()) {
      protocol::EventEnvelope p;
      if (!item.has_envelope() || !protocol::ParseEventEnvelope(item.envelope(), &p).ok() ||
          p.event.node_id() == batch.sender()) {
        continue;
      }
      auto proven = CraftedLog(KeyOf(p.event.node_id()), "lapor.test/" + p.event.node_id(),
                               {item.envelope()});
      *item.mutable_evidence() = proven[item.envelope()];
    }
    return batch.SerializeAsString();
  }
  std::string SignEvent(const crypto::SigningKey& key, const v1::Event& ev) {
    v1::Envelope env;
    env.set_payload_type("application/vnd.lapor.event.v1+protobuf");
    ev.SerializeToString(env.mutable_payload());
    auto* sig = env.add_signatures();
    sig->set_keyid(key.KeyId());
    sig->set_sig(key.Sign(crypto::PreAuthEncoding(env.payload_type(), env.payload())));
    return env.SerializeAsString();
  }
};

TEST_F(RefusalsTest, ForgedMisdirectedReplayedUnknownAndRetiredAreRefused) {
  const std::string id = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldAlikeByHub32And33({id}));
  const auto held = EventHashes(f_.node("33"), id, f_.auditor_token("33"));
  const std::string old_manifest = f_.hub().Get("/federation/v1/manifest").body;
  const crypto::SigningKey key32 = KeyOf("32");
  // The case's submission, as 32 signed it.
  auto events = f_.node("32").Get("/api/v1/complaints/" + id + "/events", f_.admin_token("32"));
  const std::string submission =
      *crypto::Base64Decode(events.Json()["events"][0]["envelope"].get<std::string>());
  v1::Envelope env;
  ASSERT_TRUE(env.ParseFromString(submission));

  v1::EventBatch batch;
  batch.set_sender("32");
  // (a) a forged signature on a new event of the case
  v1::Event forged_ev;
  forged_ev.ParseFromString(env.payload());
  forged_ev.set_seq(900000);
  forged_ev.set_type(v1::EVENT_VERIFIED);
  forged_ev.clear_submission();
  forged_ev.mutable_actor()->set_kind(v1::ACTOR_OPERATOR);
  forged_ev.mutable_actor()->set_role("admin");
  forged_ev.mutable_action()->set_agency("dinas-x");
  forged_ev.mutable_action()->set_response_due_ms(forged_ev.time_ms() + 86400000);
  forged_ev.set_prev_hash(*crypto::HexDecode(held.size() == 1 ? held[0] : ""));
  std::string forged = SignEvent(key32, forged_ev);
  forged[forged.size() - 5] ^= 0x01;  // inside the signature
  auto* a = batch.add_items();
  a->set_outbox_id(1);
  a->set_envelope(forged);
  // (b) the same event validly signed by 32 but with no checkpoint and inclusion proof: 32's
  // own events travel with proof that they are in its log
  auto* b = batch.add_items();
  b->set_outbox_id(2);
  b->set_envelope(SignEvent(key32, forged_ev));
  // (c) the same change validly signed by 33.01 (relayed by 32), which does not own the case
  v1::Event by_other = forged_ev;
  by_other.set_node_id("33.01");
  auto* c = batch.add_items();
  c->set_outbox_id(3);
  c->set_envelope(SignEvent(KeyOf("33.01"), by_other));
  // (d) and a good one among them: a new case that 33.01 opened, relayed by 32
  v1::Event good = Submission3301(999999, "3301-RELAYED001", forged_ev.time_ms());
  auto* d = batch.add_items();
  d->set_outbox_id(4);
  d->set_envelope(SignEvent(KeyOf("33.01"), good));
  federation::RequestAuth auth;
  const std::string body = Proven(batch);
  auto r = Send("33", key32, "32", body, &auth);
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = Result(r);
  ASSERT_EQ(result.items_size(), 4);
  EXPECT_EQ(result.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(result.items(0).reason().find("signature does not verify"), std::string::npos)
      << result.items(0).reason();
  EXPECT_EQ(result.items(1).result(), v1::ITEM_REJECTED);
  EXPECT_NE(result.items(1).reason().find("inclusion proof"), std::string::npos)
      << result.items(1).reason();
  EXPECT_EQ(result.items(2).result(), v1::ITEM_REJECTED);
  EXPECT_NE(result.items(2).reason().find("node 33.01 does not own the case"), std::string::npos)
      << result.items(2).reason();
  // One bad item does not stop the others: the good one is applied.
  EXPECT_EQ(result.items(3).result(), v1::ITEM_APPLIED) << result.items(3).reason();
  EXPECT_EQ(EventHashes(f_.node("33"), "3301-RELAYED001", f_.auditor_token("33")).size(), 1u);

  // Two different events one author signed with one seq, in one batch: the second is refused as
  // equivocation before either is durable (the store keeps working); a case id that is not its
  // author's is refused too.
  {
    v1::EventBatch twice;
    twice.set_sender("32");
    v1::Event first = good;
    first.set_seq(999998);
    first.set_case_id("3301-TWINCASE01");
    v1::Event second = first;
    second.set_case_id("3301-TWINCASE02");
    v1::Event foreign_id = good;
    foreign_id.set_seq(999997);
    foreign_id.set_case_id("32-NOTYOURS01");
    const crypto::SigningKey key3301 = KeyOf("33.01");
    uint64_t n = 10;
    for (const auto* e : {&first, &second, &foreign_id}) {
      auto* item = twice.add_items();
      item->set_outbox_id(n++);
      item->set_envelope(SignEvent(key3301, *e));
    }
    auto r2 = Send("33", key32, "32", Proven(twice));
    ASSERT_EQ(r2.status, 200) << r2.body;
    auto res2 = Result(r2);
    ASSERT_EQ(res2.items_size(), 3);
    EXPECT_EQ(res2.items(0).result(), v1::ITEM_APPLIED) << res2.items(0).reason();
    EXPECT_EQ(res2.items(1).result(), v1::ITEM_REJECTED);
    EXPECT_NE(res2.items(1).reason().find("two different events with seq 999998"),
              std::string::npos)
        << res2.items(1).reason();
    EXPECT_EQ(res2.items(2).result(), v1::ITEM_REJECTED);
    EXPECT_NE(res2.items(2).reason().find("is not one node 33.01 issues"), std::string::npos)
        << res2.items(2).reason();
    // The node still commits: a new complaint is acknowledged.
    EXPECT_FALSE(File(f_.node("33"), "33").empty());
    const json alerts = f_.node("33").Get("/federation/v1/alerts", f_.admin_token("33")).Json();
    ASSERT_EQ(alerts["alerts"].size(), 1u) << alerts.dump();
    const json& alert = alerts["alerts"][0];
    EXPECT_EQ(alert["kind"], "event_equivocation");
    // The evidence is the two event hashes, as hex (never raw bytes inside a JSON string).
    ASSERT_EQ(alert["event_hashes"].size(), 2u) << alert.dump();
    for (const auto& h : alert["event_hashes"]) {
      EXPECT_EQ(h.get<std::string>().size(), 64u);
      EXPECT_EQ(h.get<std::string>().find_first_not_of("0123456789abcdef"), std::string::npos);
    }
    EXPECT_NE(alert["event_hashes"][0], alert["event_hashes"][1]);
  }

  // (e) the same request again: a replay
  auto replay = SendSigned("33", auth, body);
  EXPECT_EQ(replay.status, 409) << replay.body;
  EXPECT_NE(replay.body.find("replayed"), std::string::npos) << replay.body;

  // (e2) the same request at another member: it was signed for 33
  auto elsewhere = SendSigned("00", auth, body);
  EXPECT_EQ(elsewhere.status, 403) << elsewhere.body;

  // (f) an unknown node
  auto stranger = crypto::SigningKey::Generate();
  auto unknown = Send("33", stranger, "35", body);
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_NE(unknown.body.find("unknown node"), std::string::npos) << unknown.body;

  // (g) a member's request signed with someone else's key
  auto wrong = Send("33", stranger, "32", body);
  EXPECT_EQ(wrong.status, 403) << wrong.body;

  // Malformed requests: a body that is no batch, the wrong media type, the wrong method.
  auto garbage = Send("33", key32, "32", std::string("\x0a\xff\xff\xff\x0f garbage", 13));
  EXPECT_EQ(garbage.status, 400) << garbage.body;
  EXPECT_NE(garbage.body.find("not an EventBatch"), std::string::npos) << garbage.body;
  v1::EventBatch too_many;
  too_many.set_sender("32");
  for (int i = 0; i <= federation::kMaxBatchItems; ++i) too_many.add_items()->set_outbox_id(i + 1);
  auto oversized = Send("33", key32, "32", too_many.SerializeAsString());
  EXPECT_EQ(oversized.status, 400) << oversized.body;
  EXPECT_NE(oversized.body.find("at most 1024 items"), std::string::npos) << oversized.body;
  auto json_body = f_.node("33").Post("/federation/v1/events", json::object());
  EXPECT_EQ(json_body.status, 415) << json_body.body;
  EXPECT_EQ(f_.node("33").Get("/federation/v1/events").status, 405);
  auto unsigned_req = SendRaw(f_.port("33"),
                              "POST /federation/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/x-protobuf\r\nContent-Length: 0\r\nConnection: "
                              "close\r\n\r\n");
  EXPECT_EQ(unsigned_req.status, 401) << unsigned_req.body;
  EXPECT_NE(unsigned_req.body.find("X-Lapor"), std::string::npos) << unsigned_req.body;

  // Nothing was applied.
  EXPECT_EQ(EventHashes(f_.node("33"), id, f_.auditor_token("33")), held);

  // (h) a retired key: 32's key is rotated with no overlap; its old key signs no more.
  ASSERT_NO_FATAL_FAILURE(RetireKeyNow("32"));
  const uint64_t version = f_.manifest_version() + 1;
  auto retired = Send("33", key32, "32", body);
  EXPECT_EQ(retired.status, 403) << retired.body;
  EXPECT_NE(retired.body.find("retired"), std::string::npos) << retired.body;

  // (i) a rolled-back manifest: the hub serves the older (validly signed) version again; 33
  // refuses it and keeps the newer one.
  ASSERT_EQ(f_.hub().Stop(), 0);
  auto put = RunCommand({"/usr/bin/sqlite3", f_.hub().data_dir() + "/lapor.db",
                         "UPDATE meta SET value = X'" + crypto::HexEncode(old_manifest) +
                             "' WHERE key = 'manifest'"});
  ASSERT_EQ(put.exit_code, 0) << put.output;
  f_.hub().Start();
  ASSERT_TRUE(Eventually("the hub serves the older manifest version " + std::to_string(version - 1),
                         [&] { return f_.ServedManifestVersion("00") == version - 1; }));
  ASSERT_TRUE(Eventually("33 logged that it refused a manifest older than its own", [&] {
    return ReadFileText(f_.node("33").data_dir() + "/node.log").find("older than the held") !=
           std::string::npos;
  }));
  EXPECT_EQ(f_.ServedManifestVersion("33"), version);

  // Every refusal is in 33's log with the sender and the reason.
  const std::string log = ReadFileText(f_.node("33").data_dir() + "/node.log");
  EXPECT_NE(log.find("refused: signature does not verify"), std::string::npos);
  EXPECT_NE(log.find("does not own the case"), std::string::npos);
  EXPECT_NE(log.find("no checkpoint and inclusion proof"), std::string::npos);
  EXPECT_NE(log.find("from '32' refused: conflict: replayed"), std::string::npos);
  EXPECT_NE(log.find("from '35' refused"), std::string::npos);
  EXPECT_NE(log.find("retired"), std::string::npos);
}

// A request stamped ahead of the clock, accepted once, is refused after the receiver restarts:
// the receiver recorded, before accepting it, a mark past its time.
TEST_F(RefusalsTest, ARequestStampedAheadIsNotAcceptedAgainAfterARestart) {
  const crypto::SigningKey key32 = KeyOf("32");
  v1::EventBatch batch;
  batch.set_sender("32");
  const std::string body = batch.SerializeAsString();
  auto ahead = federation::SignRequest(key32, "32", "33", "POST", "/federation/v1/events", body,
                                       Clock::Real()->NowMs() + 2 * 60 * 1000);
  auto first = SendSigned("33", ahead, body);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(f_.node("33").Stop(), 0);
  f_.node("33").Start();
  auto again = SendSigned("33", ahead, body);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("before this node restarted"), std::string::npos) << again.body;
}

// The hub relays an item only for a case it holds, to a party of that case, from the event's
// author or a party; sealed personal data only to the case's owner. A case the hub does not
// hold yet is deferred. Nothing else is stored for relay.
TEST_F(RefusalsTest, TheHubRelaysOnlyACaseItHoldsToItsParties) {
  const std::string id = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldAlikeByHub32And33({id}));
  auto events = f_.node("32").Get("/api/v1/complaints/" + id + "/events", f_.admin_token("32"));
  const std::string submission =
      *crypto::Base64Decode(events.Json()["events"][0]["envelope"].get<std::string>());
  v1::Envelope env;
  ASSERT_TRUE(env.ParseFromString(submission));
  v1::Event sub_ev;
  ASSERT_TRUE(sub_ev.ParseFromString(env.payload()));
  const crypto::SigningKey key32 = KeyOf("32");
  auto relay = [&](const crypto::SigningKey& key, const std::string& sender, const std::string& to,
                   const std::vector<v1::DeliveryItem>& items) {
    v1::EventBatch batch;
    batch.set_sender(sender);
    batch.set_relay_to(to);
    for (const auto& i : items) *batch.add_items() = i;
    auto r = Send("00", key, sender, batch.SerializeAsString());
    EXPECT_EQ(r.status, 200) << r.body;
    return Result(r);
  };
  auto envelope_item = [](uint64_t id, const std::string& envelope) {
    v1::DeliveryItem item;
    item.set_outbox_id(id);
    item.set_envelope(envelope);
    return item;
  };
  // A case the hub has never seen (validly signed by 32): deferred, not stored.
  v1::Event unknown = sub_ev;
  unknown.set_seq(700000);
  unknown.set_case_id("32-NEVERSEEN01");
  auto r1 = relay(key32, "32", "33", {envelope_item(1, SignEvent(key32, unknown))});
  ASSERT_EQ(r1.items_size(), 1);
  EXPECT_EQ(r1.items(0).result(), v1::ITEM_DEFERRED);
  EXPECT_NE(r1.items(0).reason().find("does not hold case 32-NEVERSEEN01"), std::string::npos)
      << r1.items(0).reason();
  // The case's submission to a member that is no party to it.
  auto r2 = relay(key32, "32", "33.01", {envelope_item(2, submission)});
  ASSERT_EQ(r2.items_size(), 1);
  EXPECT_EQ(r2.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(r2.items(0).reason().find("node 33.01 is not a party to case " + id), std::string::npos)
      << r2.items(0).reason();
  // Sent by a member that neither authored it nor is a party.
  auto r3 = relay(KeyOf("33.01"), "33.01", "33", {envelope_item(3, submission)});
  ASSERT_EQ(r3.items_size(), 1);
  EXPECT_EQ(r3.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(r3.items(0).reason().find("neither authored"), std::string::npos)
      << r3.items(0).reason();
  // Sealed reporter data to a party that does not own the case (33 owns it).
  v1::DeliveryItem sealed;
  sealed.set_outbox_id(4);
  sealed.mutable_sealed()->set_case_id(id);
  sealed.mutable_sealed()->set_kind("reporter");
  sealed.mutable_sealed()->set_box("not opened by the hub");
  auto r4 = relay(KeyOf("33"), "33", "32", {sealed});
  ASSERT_EQ(r4.items_size(), 1);
  EXPECT_EQ(r4.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(r4.items(0).reason().find("to the case's owner only"), std::string::npos)
      << r4.items(0).reason();
  // What passes every rule is kept for relay.
  auto r5 = relay(key32, "32", "33", {envelope_item(5, submission)});
  ASSERT_EQ(r5.items_size(), 1);
  EXPECT_EQ(r5.items(0).result(), v1::ITEM_RELAYED) << r5.items(0).reason();
  // The hub's outbox holds only that one relayed row.
  auto rows = RunCommand({"/usr/bin/sqlite3", f_.hub().data_dir() + "/lapor.db",
                          "SELECT COUNT(*) FROM outbox WHERE relayed_for IS NOT NULL"});
  ASSERT_EQ(rows.exit_code, 0) << rows.output;
  EXPECT_EQ(rows.output, "1\n");
}

// What one member has waiting at the hub for relay is capped: beyond relay_backlog_max_bytes its
// items are deferred (it sends them again later), so one member cannot fill the hub's disk.
TEST_F(RefusalsTest, WhatAMemberHasWaitingAtTheHubForRelayIsCapped) {
  f_.hub().SetConfig("relay_backlog_max_bytes", 1 << 20);
  FaultProxy& proxy = f_.Proxy("00", "33");  // restarts the hub with the setting
  proxy.Set({Fault::kRefuse, 0, 0});         // so nothing relayed drains
  const std::string id = File(f_.node("32"), "33");
  ASSERT_TRUE(Eventually("the hub holds " + id, [&] {
    return !EventHashes(f_.hub(), id, f_.auditor_token("00")).empty();
  }));
  auto events = f_.node("32").Get("/api/v1/complaints/" + id + "/events", f_.admin_token("32"));
  const std::string submission =
      *crypto::Base64Decode(events.Json()["events"][0]["envelope"].get<std::string>());
  const crypto::SigningKey key32 = KeyOf("32");
  const size_t per_batch = 1000;
  const size_t needed = (1 << 20) / submission.size() + 1;
  size_t relayed = 0, deferred = 0;
  uint64_t next_id = 1;
  for (int b = 0; b * per_batch < needed + per_batch; ++b) {
    v1::EventBatch batch;
    batch.set_sender("32");
    batch.set_relay_to("33");
    for (size_t i = 0; i < per_batch; ++i) {
      auto* item = batch.add_items();
      item->set_outbox_id(next_id++);
      item->set_envelope(submission);
    }
    auto r = Send("00", key32, "32", batch.SerializeAsString());
    ASSERT_EQ(r.status, 200) << r.body;
    const v1::BatchResult result = Result(r);
    size_t deferred_before = deferred;
    for (const auto& item : result.items()) {
      if (item.result() == v1::ITEM_RELAYED) ++relayed;
      if (item.result() == v1::ITEM_DEFERRED) {
        // The first item over the cap says why; the later ones (of the same case) wait with it.
        EXPECT_TRUE(item.reason().find(deferred == deferred_before
                                           ? "waiting at the hub for relay"
                                           : "is deferred") != std::string::npos)
            << item.reason();
        ++deferred;
      }
    }
  }
  EXPECT_GT(deferred, 0u);
  EXPECT_LE(relayed * submission.size(), size_t{1} << 20);
  EXPECT_GE(relayed, needed - 2);
}

// The owner keeps a file only if the case names it and it is a clean file of its type (what this
// node would have kept itself), and never again once the reporter's data is erased: a late or
// replayed copy is refused.
TEST_F(RefusalsTest, AFileComesOnlyCleanAndNeverAfterItsErasure) {
  const std::string dirty = SampleJpegWithMetadata();
  const std::string clean = SampleJpeg();
  json body = {{"title", "Jalan rusak"},
               {"description", "Jalan provinsi berlubang."},
               {"category", "infrastruktur"},
               {"report_type", "pengaduan"},
               {"region_code", "33"}};
  body["attachments"] = json::array();
  for (const std::string* f : {&dirty, &clean}) {
    body["attachments"].push_back({{"sha256", crypto::HexEncode(crypto::Sha256(*f))},
                                   {"media_type", "image/jpeg"},
                                   {"size", f->size()}});
  }
  auto filed = f_.node("32").Post("/api/v1/complaints", body);  // named, never uploaded
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string id = filed.Json()["tracking_id"];
  ASSERT_TRUE(Eventually("33 holds " + id, [&] {
    return !EventHashes(f_.node("33"), id, f_.auditor_token("33")).empty();
  }));
  const crypto::SigningKey key32 = KeyOf("32");
  const std::string key33 = KeyOf("33").public_key();
  uint64_t outbox_id = 0;
  auto deliver = [&](const std::vector<const std::string*>& files) {
    v1::EventBatch batch;
    batch.set_sender("32");
    for (const std::string* f : files) {
      auto* item = batch.add_items();
      item->set_outbox_id(++outbox_id);
      item->mutable_sealed()->set_case_id(id);
      item->mutable_sealed()->set_kind("attachment:" + crypto::HexEncode(crypto::Sha256(*f)));
      item->mutable_sealed()->set_box(*crypto::SealToKey(key33, *f));
    }
    HttpResponse r;
    EXPECT_TRUE(Eventually("33 takes a fresh request from 32", [&] {
      r = Send("33", key32, "32", batch.SerializeAsString());
      return r.status != 409;
    }));
    EXPECT_EQ(r.status, 200) << r.body;
    return Result(r);
  };
  const auto first = deliver({&dirty, &clean});
  ASSERT_EQ(first.items_size(), 2);
  EXPECT_EQ(first.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(first.items(0).reason().find("not a clean image/jpeg file"), std::string::npos)
      << first.items(0).reason();
  EXPECT_EQ(first.items(1).result(), v1::ITEM_APPLIED) << first.items(1).reason();
  const std::string path =
      "/api/v1/complaints/" + id + "/attachments/" + crypto::HexEncode(crypto::Sha256(clean));
  EXPECT_EQ(f_.node("33").Get(path, f_.admin_token("33")).body, clean);

  ASSERT_EQ(f_.node("33")
                .Post("/api/v1/complaints/" + id + "/actions", json{{"action", "erase"}},
                      f_.admin_token("33"))
                .status,
            200);
  EXPECT_EQ(f_.node("33").Get(path, f_.admin_token("33")).status, 404);
  const auto late = deliver({&clean});
  ASSERT_EQ(late.items_size(), 1);
  EXPECT_EQ(late.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(late.items(0).reason().find("erased"), std::string::npos) << late.items(0).reason();
  EXPECT_EQ(f_.node("33").Get(path, f_.admin_token("33")).status, 404);
}

// A receiver defers an item only with the later items of the same case: the rest of the batch
// is applied.
TEST_F(RefusalsTest, ADeferredItemHoldsUpOnlyItsOwnCase) {
  const crypto::SigningKey key32 = KeyOf("32");
  v1::EventBatch batch;
  batch.set_sender("32");
  // Two items of a case 33 has never heard of: the first is deferred, the second waits with it.
  for (uint64_t n : {1, 2}) {
    auto* item = batch.add_items();
    item->set_outbox_id(n);
    item->mutable_sealed()->set_case_id("32-UNHEARDOF01");
    item->mutable_sealed()->set_kind("content");
    item->mutable_sealed()->set_box("x");
  }
  // Then a new case 33.01 opened, relayed by 32: nothing to wait for.
  v1::Event good = Submission3301(888888, "3301-NOTBLOCKED", Clock::Real()->NowMs());
  auto* item = batch.add_items();
  item->set_outbox_id(3);
  item->set_envelope(SignEvent(KeyOf("33.01"), good));
  // And a case 33.01 opened for itself: 33 is no party to it, so it does not take it (the history
  // of a case reaches a new party together with the event that makes it one).
  v1::Event not_ours = good;
  not_ours.set_seq(888889);
  not_ours.set_case_id("3301-NOTOURS001");
  not_ours.mutable_submission()->set_owner_node("33.01");
  auto* fourth = batch.add_items();
  fourth->set_outbox_id(4);
  fourth->set_envelope(SignEvent(KeyOf("33.01"), not_ours));
  // 33 was restarted by SetUp: it accepts requests from 32 stamped after those it accepted before
  // (ARequestStampedAheadIsNotAcceptedAgainAfterARestart), a moment from now.
  HttpResponse r;
  ASSERT_TRUE(Eventually("33 takes a fresh request from 32", [&] {
    r = Send("33", key32, "32", Proven(batch));
    return r.status != 409;
  }));
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = Result(r);
  ASSERT_EQ(result.items_size(), 4);
  EXPECT_EQ(result.items(3).result(), v1::ITEM_DEFERRED);
  EXPECT_NE(result.items(3).reason().find("node 33 is not a party to case 3301-NOTOURS001"),
            std::string::npos)
      << result.items(3).reason();
  EXPECT_TRUE(EventHashes(f_.node("33"), "3301-NOTOURS001", f_.auditor_token("33")).empty());
  EXPECT_EQ(result.items(0).result(), v1::ITEM_DEFERRED);
  EXPECT_NE(result.items(0).reason().find("not known yet"), std::string::npos)
      << result.items(0).reason();
  EXPECT_EQ(result.items(1).result(), v1::ITEM_DEFERRED);
  EXPECT_NE(result.items(1).reason().find("earlier item of case 32-UNHEARDOF01"), std::string::npos)
      << result.items(1).reason();
  EXPECT_EQ(result.items(2).result(), v1::ITEM_APPLIED) << result.items(2).reason();
  EXPECT_EQ(EventHashes(f_.node("33"), "3301-NOTBLOCKED", f_.auditor_token("33")).size(), 1u);
}

// A sender whose destination keeps deferring a row goes on with the rows after it; once the row
// is older than dead_letter_after_ms it leaves the queue for the dead-letter list, shown in
// /federation/v1/status with the destination's reason.
TEST_F(FaultsTest, ARowDeferredTooLongMovesToTheDeadLetterListAndTheQueueGoesOn) {
  NodeProcess& n32 = f_.node("32");
  ASSERT_EQ(n32.Stop(), 0);
  // Two rows for 33 that 33 defers for ever (sealed data of cases it never receives): one queued
  // two days ago, one just now.
  const int64_t now = Clock::Real()->NowMs();
  auto sealed = [](const std::string& case_id) {
    v1::SealedForNode s;
    s.set_case_id(case_id);
    s.set_kind("content");
    s.set_box("x");
    return crypto::HexEncode(s.SerializeAsString());
  };
  auto put =
      RunCommand({"/usr/bin/sqlite3", n32.data_dir() + "/lapor.db",
                  "INSERT INTO outbox(destination, kind, payload, created_ms) VALUES('33', 1, X'" +
                      sealed("32-OLDSTUCK0001") + "', " + std::to_string(now - 2 * 86400000LL) +
                      "), ('33', 1, X'" + sealed("32-NEWSTUCK0001") + "', " + std::to_string(now) +
                      "); INSERT OR IGNORE INTO delivery VALUES('33', 0, 0, '', 0, 0);"});
  ASSERT_EQ(put.exit_code, 0) << put.output;
  n32.Start();
  // A case filed after them still reaches 33.
  const std::string id = File(n32, "33");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(WaitHeldAlikeByHub32And33({id}));
  json status;
  ASSERT_TRUE(Eventually("32 lists the old row as dead-lettered", [&] {
    status = n32.Get("/federation/v1/status", f_.admin_token("32")).Json();
    return status["dead_letters"].size() == 1;
  })) << status.dump();
  const json& dead = status["dead_letters"][0];
  EXPECT_EQ(dead["destination"], "33");
  EXPECT_EQ(dead["case_id"], "32-OLDSTUCK0001");
  EXPECT_EQ(dead["sealed_kind"], "content");
  EXPECT_NE(dead["reason"].get<std::string>().find("not known yet"), std::string::npos)
      << dead.dump();
  // The young one stays queued (it may yet be settled): the backlog to 33 is that one row.
  ASSERT_TRUE(Eventually("32's backlog to 33 is the one young row", [&] {
    status = n32.Get("/federation/v1/status", f_.admin_token("32")).Json();
    for (const auto& d : status["destinations"]) {
      if (d["destination"] == "33") return d["backlog"] == 1 && d["dead_letters"] == 1;
    }
    return false;
  })) << status.dump();
  // Across a restart too.
  ASSERT_EQ(n32.Stop(), 0);
  n32.Start();
  const std::string id2 = File(n32, "33");
  EXPECT_TRUE(WaitHeldAlikeByHub32And33({id2}));
}

// Rows every destination acknowledged are deleted outbox_retention_days after they were queued;
// rows a destination has not acknowledged stay.
TEST_F(FaultsTest, AcknowledgedOutboxRowsArePrunedAndPendingOnesKept) {
  NodeProcess& n32 = f_.node("32");
  n32.SetConfig("outbox_retention_days", 2.0 / 86400);  // two seconds
  FaultProxy& proxy = f_.Proxy("32", "33");             // restarts 32 with the setting
  proxy.Set({Fault::kRefuse, 0, 0});
  const std::string id = File(n32, "33");
  ASSERT_FALSE(id.empty());
  auto count = [&](const std::string& destination) {
    auto r = RunCommand({"/usr/bin/sqlite3", n32.data_dir() + "/lapor.db",
                         "SELECT COUNT(*) FROM outbox WHERE destination = '" + destination + "'"});
    return r.exit_code == 0 ? std::stoi(r.output) : -1;
  };
  EXPECT_TRUE(Eventually(
      "32's rows for the hub are pruned once acknowledged", [&] { return count("00") == 0; },
      std::chrono::seconds(40)));
  EXPECT_GT(count("33"), 0);  // 33 has not acknowledged them
  proxy.Set({Fault::kNone, 0, 0});
  EXPECT_TRUE(WaitHeldAlikeByHub32And33({id}));
  EXPECT_TRUE(Eventually(
      "32's rows for 33 are pruned once acknowledged", [&] { return count("33") == 0; },
      std::chrono::seconds(40)));
}

// An author's events are dated in seq order: an event dated a minute before one its author signed
// with a lower seq (as a retired key backdating into its validity would) is refused.
TEST_F(RefusalsTest, AnEventDatedBeforeItsAuthorsEarlierEventIsRefused) {
  const crypto::SigningKey key3301 = KeyOf("33.01");
  const int64_t now = Clock::Real()->NowMs();
  v1::EventBatch batch;
  batch.set_sender("32");
  auto* first = batch.add_items();
  first->set_outbox_id(1);
  first->set_envelope(SignEvent(key3301, Submission3301(777000, "3301-DATEDNOW01", now + 60000)));
  auto* backdated = batch.add_items();
  backdated->set_outbox_id(2);
  backdated->set_envelope(SignEvent(key3301, Submission3301(777001, "3301-BACKDATED1", now)));
  HttpResponse r;
  ASSERT_TRUE(Eventually("33 takes a fresh request from 32", [&] {
    r = Send("33", KeyOf("32"), "32", Proven(batch));
    return r.status != 409;
  }));
  ASSERT_EQ(r.status, 200) << r.body;
  const v1::BatchResult result = Result(r);
  ASSERT_EQ(result.items_size(), 2);
  EXPECT_EQ(result.items(0).result(), v1::ITEM_APPLIED) << result.items(0).reason();
  EXPECT_EQ(result.items(1).result(), v1::ITEM_REJECTED);
  EXPECT_NE(result.items(1).reason().find("an author's events are dated in seq order"),
            std::string::npos)
      << result.items(1).reason();
  EXPECT_TRUE(EventHashes(f_.node("33"), "3301-BACKDATED1", f_.auditor_token("33")).empty());
}

// A large batch arriving while a node serves its citizens takes a bounded share of the node's
// time (receive_busy_share) and at most receive_batch_max_ms: what it has not reached by then is
// deferred, and applied when the sender delivers it again.
TEST_F(RefusalsTest, ABatchArrivingWhileTheNodeIsBusyTakesItsShareAndTheRestWaits) {
  constexpr int kItemsPerLock = 16;  // node::kReceiveItemsPerLock: a batch is decided in chunks
  NodeProcess& n33 = f_.node("33");
  ASSERT_EQ(n33.Stop(), 0);
  n33.SetConfig("receive_busy_share", 0.001);
  n33.SetConfig("receive_batch_max_ms", 300);
  n33.Start();
  const crypto::SigningKey key32 = KeyOf("32");
  const crypto::SigningKey key3301 = KeyOf("33.01");
  // A batch of 64 new cases of 33.01 (relayed by 32), ids PACED<tag>nnnn.
  auto make = [&](char tag, uint64_t first_seq) {
    v1::EventBatch batch;
    batch.set_sender("32");
    const int64_t t0 = Clock::Real()->NowMs();
    for (int i = 0; i < 4 * kItemsPerLock; ++i) {
      char id[32];
      std::snprintf(id, sizeof(id), "3301-PACED%c%04d", tag, i);
      auto* item = batch.add_items();
      item->set_outbox_id(i + 1);
      item->set_envelope(SignEvent(key3301, Submission3301(first_seq + i, id, t0 + i)));
    }
    return batch;
  };
  // Delivers `body` while citizens file at 33 all the while.
  auto deliver_while_busy = [&](const std::string& body) {
    std::atomic<bool> stop{false};
    std::atomic<int> filed{0};
    std::thread citizens([&] {
      while (!stop) filed += !File(n33, "33").empty();
    });
    HttpResponse r;
    EXPECT_TRUE(Eventually("citizens are filing at 33", [&] { return filed > 0; }));
    EXPECT_TRUE(Eventually("33 takes a fresh request from 32", [&] {
      r = Send("33", key32, "32", body);
      return r.status != 409;
    }));
    stop = true;
    citizens.join();
    return r;
  };
  // A batch of everyday size (below receive_pace_above_bytes) is not paced: all of it applied.
  {
    auto r = deliver_while_busy(Proven(make('A', 710000)));
    ASSERT_EQ(r.status, 200) << r.body;
    const v1::BatchResult all = Result(r);
    EXPECT_EQ(all.items_size(), 4 * kItemsPerLock);
    for (const auto& item : all.items()) {
      EXPECT_EQ(item.result(), v1::ITEM_APPLIED) << item.reason();
    }
  }
  // Paced from the first byte on: the same size of batch takes its share and the rest waits.
  ASSERT_EQ(n33.Stop(), 0);
  n33.SetConfig("receive_pace_above_bytes", 0);
  n33.Start();
  const v1::EventBatch batch = make('B', 700000);
  const std::string body = Proven(batch);
  HttpResponse r = deliver_while_busy(body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = Result(r);
  ASSERT_EQ(result.items_size(), batch.items_size());
  // The first chunk is always decided; the node paused after it until the batch's time was up.
  int applied = 0, waiting = 0;
  for (const auto& item : result.items()) {
    if (item.result() == v1::ITEM_APPLIED) {
      ++applied;
    } else {
      ASSERT_EQ(item.result(), v1::ITEM_DEFERRED) << item.reason();
      EXPECT_NE(item.reason().find("node 33 is busy"), std::string::npos) << item.reason();
      ++waiting;
    }
  }
  EXPECT_GE(applied, kItemsPerLock);
  EXPECT_GT(waiting, 0);
  // Delivered again with no citizens waiting, the batch goes through whole.
  ASSERT_TRUE(Eventually("33 takes the batch whole", [&] {
    auto again = Send("33", key32, "32", body);
    if (again.status != 200) return false;
    auto res = Result(again);
    for (const auto& item : res.items()) {
      if (item.result() == v1::ITEM_DEFERRED) return false;
    }
    return true;
  }));
  for (int i = 0; i < batch.items_size(); i += kItemsPerLock + 1) {
    char id[32];
    std::snprintf(id, sizeof(id), "3301-PACEDB%04d", i);
    EXPECT_EQ(EventHashes(n33, id, f_.auditor_token("33")).size(), 1u) << id;
  }
}

// Every event is proven to be in its author's log whoever delivers it, and a retired key cannot
// vouch for what it signs: a relayed event without its author's checkpoint and proof waits; once
// 33.01's key is retired, an event that key signed (dated before its retirement) is refused with
// a checkpoint the same key signed, and taken with one signed by 33.01's key in force.
TEST_F(RefusalsTest, ARelayedEventNeedsItsAuthorsProofAndARetiredKeyCannotVouch) {
  const crypto::SigningKey key32 = KeyOf("32");
  const crypto::SigningKey old3301 = KeyOf("33.01");
  const int64_t now = Clock::Real()->NowMs();
  v1::EventBatch unproven;
  unproven.set_sender("32");
  auto* item = unproven.add_items();
  item->set_outbox_id(1);
  item->set_envelope(SignEvent(old3301, Submission3301(666000, "3301-UNPROVEN1", now)));
  HttpResponse r;
  ASSERT_TRUE(Eventually("33 takes a fresh request from 32", [&] {
    r = Send("33", key32, "32", unproven.SerializeAsString());
    return r.status != 409;
  }));
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = Result(r);
  ASSERT_EQ(result.items_size(), 1);
  EXPECT_EQ(result.items(0).result(), v1::ITEM_DEFERRED);
  EXPECT_NE(result.items(0).reason().find("no proof that the event is in node 33.01's log"),
            std::string::npos)
      << result.items(0).reason();
  EXPECT_TRUE(EventHashes(f_.node("33"), "3301-UNPROVEN1", f_.auditor_token("33")).empty());

  // 33.01's key retires now: rotated with no overlap.
  std::optional<crypto::SigningKey> fresh;
  ASSERT_NO_FATAL_FAILURE(RetireKeyNow("33.01", &fresh));
  ASSERT_TRUE(fresh.has_value());
  // An event the old key signed, dated before it retired.
  const std::string backdated =
      SignEvent(old3301, Submission3301(666001, "3301-BACKDATED2", now + 1));
  v1::EventBatch late;
  late.set_sender("32");
  item = late.add_items();
  item->set_outbox_id(2);
  item->set_envelope(backdated);
  *item->mutable_evidence() = CraftedLog(old3301, "lapor.test/33.01", {backdated})[backdated];
  r = Send("33", key32, "32", late.SerializeAsString());
  ASSERT_EQ(r.status, 200) << r.body;
  result = Result(r);
  ASSERT_EQ(result.items_size(), 1);
  EXPECT_EQ(result.items(0).result(), v1::ITEM_REJECTED);
  EXPECT_NE(result.items(0).reason().find("checkpoint is signed by a key retired at"),
            std::string::npos)
      << result.items(0).reason();
  EXPECT_TRUE(EventHashes(f_.node("33"), "3301-BACKDATED2", f_.auditor_token("33")).empty());
  // The same event in a log whose checkpoint 33.01's key in force signed: 33.01 says it is its.
  *item->mutable_evidence() = CraftedLog(*fresh, "lapor.test/33.01", {backdated})[backdated];
  r = Send("33", key32, "32", late.SerializeAsString());
  ASSERT_EQ(r.status, 200) << r.body;
  result = Result(r);
  EXPECT_EQ(result.items(0).result(), v1::ITEM_APPLIED) << result.items(0).reason();
  EXPECT_EQ(EventHashes(f_.node("33"), "3301-BACKDATED2", f_.auditor_token("33")).size(), 1u);
}

// A chain a member pulls (as a restoring node does) comes with each event's proof that it is in
// its author's log: the responder's own events proven by its log, others' as it received them.
TEST_F(RefusalsTest, APulledChainCarriesEachEventsProof) {
  const std::string id = File(f_.node("32"), "33");
  ASSERT_TRUE(WaitHeldAlikeByHub32And33({id}));
  const crypto::SigningKey key32 = KeyOf("32");
  v1::PullRequest pull;
  pull.set_case_id(id);
  const std::string body = pull.SerializeAsString();
  for (const auto& pair : {std::pair<std::string, std::string>{"32", "33"}, {"33", "32"}}) {
    const std::string from = pair.first, asker = pair.second;
    SCOPED_TRACE("pulled from " + from);
    federation::RequestAuth auth;
    HttpResponse r;
    ASSERT_TRUE(Eventually("a fresh request", [&] {
      auth = federation::SignRequest(KeyOf(asker), asker, from, "POST", "/federation/v1/pull", body,
                                     Clock::Real()->NowMs());
      r = SendSigned(from, auth, body, "/federation/v1/pull");
      return r.status != 409;
    }));
    ASSERT_EQ(r.status, 200) << r.body;
    v1::PullResponse out;
    ASSERT_TRUE(out.ParseFromString(r.body));
    ASSERT_GE(out.envelopes_size(), 1);
    ASSERT_EQ(out.evidence_size(), out.envelopes_size());
    // The submission: 32's event, in 32's log under a checkpoint 32's key signed.
    const std::string& env = out.envelopes(0);
    const v1::InclusionEvidence& ev = out.evidence(0);
    auto note = crypto::SignedNote::Parse(ev.checkpoint());
    ASSERT_TRUE(note.ok()) << note.status().ToString();
    auto cp = crypto::Checkpoint::ParseBody(note->text);
    ASSERT_TRUE(cp.ok());
    auto verifier = crypto::NoteVerifier::FromPublicKey(cp->origin, key32.public_key());
    ASSERT_TRUE(verifier.ok());
    EXPECT_TRUE(crypto::VerifyNote(*note, *verifier).ok());
    protocol::EventEnvelope p;
    ASSERT_TRUE(protocol::ParseEventEnvelope(env, &p).ok());
    EXPECT_EQ(p.event.node_id(), "32");
    EXPECT_TRUE(crypto::VerifyInclusion(crypto::LeafHash(env), p.event.seq(), cp->size,
                                        {ev.hashes().begin(), ev.hashes().end()}, cp->root_hash)
                    .ok());
  }
}

}  // namespace
}  // namespace lapor::testing
