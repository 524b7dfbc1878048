// lapor-bench-batch: does a maximum-size federation batch arriving at a node move the latency of
// its local submissions? (run by bench/batch.sh, never by ctest).
//
// A hub ("00") and members "32", "33", "33.01" as real lapor-node processes on loopback
// (harness/federation_harness.h). ROUNDS times, alternating:
//   A  wrk files complaints at 32 (bench/post_complaint.lua, local cases) for DURATION seconds;
//   B  the same, while a client sends 32 maximum-size batches (kMaxBatchItems items, ~16 MiB)
//      from "33", one after the other: new cases that "33.01" opened with 32 as owner, so every
//      item passes its signature check and is applied (a case 32 must store, seal-free).
// Reports wrk's p50/p99 in A and B (over all rounds), the ratio p99(B)/p99(A) (goal <= 1.2), and
// the batches' items applied per second. Exits 1 on a failed request or an unclean stop.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "federation/receive.h"
#include "federation/request_auth.h"
#include "harness/crafted_log.h"
#include "harness/federation_harness.h"
#include "lapor/v1/event.pb.h"
#include "protocol/envelope.h"

namespace {

using lapor::testing::Federation;
using lapor::testing::NodeProcess;
namespace v1 = lapor::v1;

lapor::crypto::SigningKey KeyOf(const NodeProcess& n) {
  std::ifstream in(n.data_dir() + "/node.key");
  std::string hex((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  hex.erase(hex.find_last_not_of(" \n") + 1);
  return *lapor::crypto::SigningKey::FromSecretKey(*lapor::crypto::HexDecode(hex));
}

struct WrkResult {
  double rps = 0, p50 = 0, p99 = 0;
  long ok = 0, non_2xx = 0;
  std::vector<double> pct;  // BENCH_PCT lines: 90.0 .. 100 in 0.1 steps
};

WrkResult RunWrk(const std::string& script, int port, int seconds, int connections) {
  const std::string cmd = "wrk -t2 -c" + std::to_string(connections) + " -d" +
                          std::to_string(seconds) + "s --latency -s " + script +
                          " http://127.0.0.1:" + std::to_string(port) + "/api/v1/complaints 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  WrkResult r;
  if (p == nullptr) return r;
  char line[4096];
  while (fgets(line, sizeof line, p) != nullptr) {
    std::string s(line);
    if (s.rfind("BENCH_STATUS", 0) == 0) std::fputs(line, stdout);  // non-2xx by code
    if (s.rfind("BENCH ", 0) == 0) {
      auto field = [&](const std::string& key) {
        auto at = s.find(" " + key + "=");
        return at == std::string::npos ? 0.0 : std::atof(s.c_str() + at + key.size() + 2);
      };
      r.rps = field("rps");
      r.p50 = field("p50_ms");
      r.p99 = field("p99_ms");
      r.ok = static_cast<long>(field("ok_2xx"));
      r.non_2xx = static_cast<long>(field("non_2xx"));
    }
  }
  pclose(p);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lapor-bench-batch: local latency while maximum-size federation batches arrive"};
  int rounds = 4, duration = 5, connections = 64;
  size_t item_bytes = (15 << 20) / lapor::federation::kMaxBatchItems;
  std::string script;
  app.add_option("--rounds", rounds, "A/B rounds")->check(CLI::Range(1, 50));
  app.add_option("--duration", duration, "seconds of wrk load per phase")
      ->check(CLI::Range(1, 120));
  app.add_option("--connections", connections, "wrk connections")->check(CLI::Range(1, 1024));
  app.add_option("--script", script, "bench/post_complaint.lua")->required();
  app.add_option("--item-bytes", item_bytes, "bytes per batch item (default: a ~15 MiB batch)")
      ->check(CLI::Range(1000, 60000));
  CLI11_PARSE(app, argc, argv);
  lapor::crypto::Init();

  Federation f;
  const lapor::crypto::SigningKey key33 = KeyOf(f.node("33"));
  const lapor::crypto::SigningKey key3301 = KeyOf(f.node("33.01"));
  const int port = f.port("32");

  // One batch's items: each a new case of 33.01 owned by 32, padded so the batch is ~16 MiB.
  const std::string padding(item_bytes - 600, 'x');
  uint64_t next_seq = 1;
  auto make_batch = [&]() {
    v1::EventBatch batch;
    batch.set_sender("33");
    const int64_t now = lapor::Clock::Real()->NowMs();
    for (int i = 0; i < lapor::federation::kMaxBatchItems; ++i) {
      v1::Event e;
      e.set_node_id("33.01");
      e.set_seq(next_seq);
      e.set_case_id("3301-B" + std::to_string(next_seq));
      ++next_seq;
      e.set_time_ms(now);
      e.set_type(v1::EVENT_SUBMITTED);
      e.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
      auto* sub = e.mutable_submission();
      sub->set_title("Jalan rusak di perbatasan");
      sub->set_description("Jalan rusak parah. " + padding);
      sub->set_category("jalan");
      sub->set_report_type("pengaduan");
      sub->set_region_code("33.01");
      sub->set_channel("web");
      sub->set_owner_node("32");
      sub->set_verify_due_ms(now + 3 * 86400000LL);
      auto* item = batch.add_items();
      item->set_outbox_id(static_cast<uint64_t>(i + 1));
      item->set_envelope(lapor::protocol::SignEnvelope(lapor::protocol::kEventPayloadType,
                                                       e.SerializeAsString(), key3301));
    }
    // Relayed by 33, each event comes with the proof that it is in 33.01's log (as receivers
    // require of every event).
    std::vector<std::string> envelopes;
    for (const auto& item : batch.items()) envelopes.push_back(item.envelope());
    auto proven = lapor::testing::CraftedLog(key3301, "lapor.bench/33.01", envelopes);
    for (auto& item : *batch.mutable_items()) *item.mutable_evidence() = proven[item.envelope()];
    return batch.SerializeAsString();
  };
  std::atomic<long> applied{0}, deferred{0}, batches{0}, failed{0};
  auto send = [&](const std::string& body) {
    auto auth = lapor::federation::SignRequest(key33, "33", "32", "POST", "/federation/v1/events",
                                               body, lapor::Clock::Real()->NowMs());
    std::string raw =
        "POST /federation/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-protobuf\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n";
    for (const auto& [k, v] : lapor::federation::AuthHeaders(auth)) raw += k + ": " + v + "\r\n";
    raw += "\r\n" + body;
    auto r = lapor::testing::SendRaw(port, raw);
    v1::BatchResult result;
    if (r.status != 200 || !result.ParseFromString(r.body)) {
      ++failed;
      std::fprintf(stderr, "batch refused: HTTP %d %s\n", r.status, r.body.substr(0, 200).c_str());
      return;
    }
    ++batches;
    for (const auto& item : result.items()) {
      applied += item.result() == v1::ITEM_APPLIED;
      deferred += item.result() == v1::ITEM_DEFERRED;  // the node was busy: a real sender resends
    }
  };

  std::vector<WrkResult> a, b;
  double busy_s = 0;
  std::printf("batch bytes ~%zu MiB, %d items; %d rounds of %d s, %d connections\n",
              make_batch().size() >> 20, lapor::federation::kMaxBatchItems, rounds, duration,
              connections);
  for (int round = 0; round < rounds; ++round) {
    a.push_back(RunWrk(script, port, duration, connections));
    // Prepare the next phase's batches before the load starts: signing is the sender's cost.
    std::vector<std::string> prepared;
    for (int i = 0; i < 6; ++i) prepared.push_back(make_batch());
    std::atomic<bool> stop{false};
    const auto t0 = std::chrono::steady_clock::now();
    std::thread sender([&] {
      for (size_t i = 0; !stop && i < prepared.size(); ++i) send(prepared[i]);
    });
    b.push_back(RunWrk(script, port, duration, connections));
    stop = true;
    sender.join();
    busy_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("round %d: A rps %.0f p50 %.2f p99 %.2f ms | B rps %.0f p50 %.2f p99 %.2f ms\n",
                round + 1, a.back().rps, a.back().p50, a.back().p99, b.back().rps, b.back().p50,
                b.back().p99);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::vector<double> a99, b99, a50, b50, arps, brps;
  long bad = 0;
  for (const auto& r : a)
    a99.push_back(r.p99), a50.push_back(r.p50), arps.push_back(r.rps), bad += r.non_2xx;
  for (const auto& r : b)
    b99.push_back(r.p99), b50.push_back(r.p50), brps.push_back(r.rps), bad += r.non_2xx;
  const double ratio = median(b99) / std::max(1e-9, median(a99));
  std::printf(
      "BENCH_BATCH rounds=%d p50_a_ms=%.2f p50_b_ms=%.2f p99_a_ms=%.2f p99_b_ms=%.2f "
      "p99_ratio=%.3f rps_a=%.0f rps_b=%.0f batches=%ld items_applied=%ld items_deferred=%ld "
      "batch_items_per_s=%.0f "
      "goal=%s\n",
      rounds, median(a50), median(b50), median(a99), median(b99), ratio, median(arps), median(brps),
      batches.load(), applied.load(), deferred.load(), applied.load() / std::max(1e-9, busy_s),
      ratio <= 1.2 ? "met" : "missed");
  int stopped = 0;
  for (const auto& j : f.jurisdictions()) stopped |= f.node(j).Stop();
  if (failed > 0 || bad > 0 || stopped != 0) {
    std::fprintf(stderr, "FAIL: %ld batch(es) refused, %ld non-2xx, stop status %d\n",
                 failed.load(), bad, stopped);
    return 1;
  }
  return 0;
}
