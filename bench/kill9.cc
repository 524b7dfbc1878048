// lapor-bench-kill9: SIGKILL across a federation under load, on demand (bench/kill9.sh; never
// part of ctest or .ci/run).
//
// A hub ("00") and two provinces ("32", "33") of real lapor-node processes on loopback
// (harness/federation_harness.h), with fast retries. Three client threads run the whole time:
// one files complaints at 32 about 33's region, one at 33 about 32's, and one has each owner
// verify cases it received. Each of --cycles cycles lets the load run for a random 150-600 ms,
// then SIGKILLs one node, chosen in turn: the member 32 while it delivers, the owner 33 while it
// receives, the hub while it relays; restarts it; and waits until every case acknowledged up to
// the kill is held alike (the same events, each once, at least as many as were acknowledged) by
// its origin, its owner and the hub. At the end the load stops, every acknowledged case is checked
// the same way, every node is stopped (SIGTERM, exit 0), `lapor-node fsck` must be clean on each,
// and `lapor-audit verify` (with the hub's manifest and key, and every case's chain across logs)
// must pass on each.
//
// Prints a report and one line "BENCH_KILL9 k=v ...". Exits 1 if any check fails.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/eventually.h"
#include "harness/federation_harness.h"

namespace {

using lapor::testing::EventHashes;
using lapor::testing::Eventually;
using lapor::testing::Federation;
using lapor::testing::FederationOptions;
using lapor::testing::NodeProcess;
using lapor::testing::RunCommand;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

std::string AuditBinary() {
  const char* bin = std::getenv("LAPOR_AUDIT_BIN");
  return bin != nullptr ? bin : LAPOR_AUDIT_BIN_DEFAULT;
}

// One acknowledged case: where it was filed, who owns it, and how many of its events were
// acknowledged (1 for the 201, 2 once its owner's verification got its 200).
struct Acked {
  std::string origin;
  std::string owner;
  size_t events = 1;
  bool verified = false;
};

class Campaign {
 public:
  explicit Campaign(Federation* f) : f_(f) {}

  void StartLoad() {
    threads_.emplace_back([this] { Filer("32", "33"); });
    threads_.emplace_back([this] { Filer("33", "32"); });
    threads_.emplace_back([this] { Verifier(); });
  }
  void StopLoad() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // The cases acknowledged so far (a copy).
  std::map<std::string, Acked> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  uint64_t failed_requests() const { return failed_; }
  uint64_t verifications() const { return verifications_; }

  // Whether every case of `cases` is held alike by its origin, its owner and the hub.
  ::testing::AssertionResult HeldAlike(const std::map<std::string, Acked>& cases) {
    for (const auto& [id, a] : cases) {
      std::vector<std::vector<std::string>> held;
      for (const std::string& j : {a.origin, a.owner, std::string("00")}) {
        held.push_back(EventHashes(f_->node(j), id, f_->auditor_token(j)));
      }
      if (held[0].size() < a.events || held[0] != held[1] || held[0] != held[2]) {
        return ::testing::AssertionFailure()
               << id << ": origin " << a.origin << " holds " << held[0].size() << ", owner "
               << a.owner << " " << held[1].size() << ", hub " << held[2].size()
               << " (acknowledged " << a.events << ")";
      }
      if (std::set<std::string>(held[0].begin(), held[0].end()).size() != held[0].size()) {
        return ::testing::AssertionFailure() << id << ": an event held twice";
      }
    }
    return ::testing::AssertionSuccess();
  }

 private:
  void Filer(const std::string& at, const std::string& region) {
    json body = {{"title", "Lampu jalan mati"},
                 {"description", "Lampu jalan mati sejak sebulan, jalan gelap di malam hari."},
                 {"category", "penerangan"},
                 {"report_type", "pengaduan"},
                 {"region_code", region},
                 {"reporter", {{"name", "Budi"}, {"phone", "+628123456789"}}}};
    while (!stop_) {
      auto r = f_->node(at).Post("/api/v1/complaints", body);
      if (r.status == 201) {
        std::lock_guard<std::mutex> lock(mu_);
        acked_[r.Json()["tracking_id"].get<std::string>()] = Acked{at, region, 1, false};
        // Steady load (about 30 complaints a second per filer), not a flood that builds a backlog
        // the convergence waits would mostly measure.
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      } else {
        ++failed_;  // the node is down or restarting: not acknowledged, nothing to check
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  // Each owner verifies cases it received; a 200 makes the verification an acknowledged event.
  void Verifier() {
    std::mt19937 rng(7);
    while (!stop_) {
      std::vector<std::pair<std::string, std::string>> todo;  // id, owner
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [id, a] : acked_) {
          if (!a.verified) todo.emplace_back(id, a.owner);
        }
      }
      if (todo.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      const auto& [id, owner] = todo[rng() % todo.size()];
      auto r = f_->node(owner).Post("/api/v1/complaints/" + id + "/actions",
                                    {{"action", "verify"}, {"agency", "dinas-pju"}},
                                    f_->admin_token(owner));
      if (r.status == 200) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          acked_[id].events = 2;
          acked_[id].verified = true;
        }
        ++verifications_;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      } else {
        // Not there yet (404), the owner is down, or it is restarting: try another later.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }

  Federation* f_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::map<std::string, Acked> acked_;
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> verifications_{0};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lapor-bench-kill9: SIGKILL across a federation under load"};
  int cycles = 100;
  int converge_timeout_ms = 60000;
  unsigned seed = 1;
  app.add_option("--cycles", cycles, "kill-and-restart cycles")->check(CLI::Range(1, 100000));
  app.add_option("--converge-timeout-ms", converge_timeout_ms,
                 "how long the federation may take to converge after a restart");
  app.add_option("--seed", seed, "random seed for the load's durations");
  CLI11_PARSE(app, argc, argv);

  const auto t_start = SteadyClock::now();
  FederationOptions opts;
  opts.jurisdictions = {"32", "33"};
  Federation f(opts);
  for (const auto& j : f.jurisdictions()) {
    NodeProcess& n = f.node(j);
    n.SetConfig("retry_initial_ms", 50);
    n.SetConfig("retry_max_ms", 400);
    n.SetConfig("request_timeout_ms", 1000);
    n.Stop();
    n.Start();
  }
  std::printf("federation up in %s (hub 00, members 32 and 33)\n", f.root().c_str());
  std::fflush(stdout);

  Campaign load(&f);
  load.StartLoad();
  std::mt19937 rng(seed);
  const char* victims[] = {"32", "33", "00"};
  const char* roles[] = {"member while it delivers", "owner while it receives",
                         "hub while it relays"};
  std::map<std::string, int> kills;
  std::map<std::string, Acked> checked;  // what earlier cycles found converged
  int64_t worst_converge_ms = 0;
  double sum_converge_ms = 0;
  bool ok = true;
  for (int c = 0; c < cycles && ok; ++c) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 450));  // load runs
    const std::string victim = victims[c % 3];
    // The cases acknowledged (or verified) since the last cycle: earlier ones were found converged
    // then, and a kill cannot take back what every party already holds.
    std::map<std::string, Acked> before;
    for (const auto& [id, a] : load.Snapshot()) {
      auto it = checked.find(id);
      if (it == checked.end() || it->second.events != a.events) before[id] = a;
    }
    f.node(victim).Kill9();
    ++kills[victim];
    f.node(victim).Start();
    auto t0 = SteadyClock::now();
    auto converged = Eventually(
        "every case acknowledged before the kill is held alike by its parties",
        [&] { return load.HeldAlike(before); }, std::chrono::milliseconds(converge_timeout_ms));
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
    for (const auto& [id, a] : before) checked[id] = a;
    worst_converge_ms = std::max(worst_converge_ms, ms);
    sum_converge_ms += static_cast<double>(ms);
    if (!converged) {
      std::printf("cycle %d (killed %s, the %s): NOT converged: %s\n", c + 1, victim.c_str(),
                  roles[c % 3], converged.message());
      ok = false;
    } else if ((c + 1) % 10 == 0) {
      std::printf(
          "cycle %d: %zu cases acknowledged so far (%zu new or verified this cycle), "
          "converged %lld ms after the restart\n",
          c + 1, checked.size(), before.size(), static_cast<long long>(ms));
      std::fflush(stdout);
    }
  }
  load.StopLoad();
  auto all = load.Snapshot();
  size_t events = 0;
  for (const auto& [id, a] : all) events += a.events;
  auto final_ok = Eventually(
      "every acknowledged case is held alike by its parties", [&] { return load.HeldAlike(all); },
      std::chrono::milliseconds(converge_timeout_ms));
  if (!final_ok) {
    std::printf("final convergence FAILED: %s\n", final_ok.message());
    ok = false;
  }

  // Every node stops cleanly, fsck is clean, and its log verifies with the manifest.
  const std::string manifest_path = f.root() + "/manifest.pb";
  {
    auto m = f.hub().Get("/federation/v1/manifest");
    std::ofstream(manifest_path, std::ios::binary) << m.body;
  }
  std::map<std::string, std::string> vkeys;
  for (const auto& j : f.jurisdictions()) {
    std::string v = f.node(j).Get("/log/vkey").body;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    vkeys[j] = v;
  }
  int fsck_failures = 0, audit_failures = 0;
  for (const auto& j : f.jurisdictions()) {
    NodeProcess& n = f.node(j);
    // The log first, while the node serves it.
    auto audit = RunCommand({AuditBinary(), "verify", "--url", f.url(j), "--vkey", vkeys[j],
                             "--manifest", manifest_path, "--hub-key", f.hub_key_hex(),
                             "--case-events-token", f.auditor_token(j)});
    if (audit.exit_code != 0) {
      ++audit_failures;
      std::printf("lapor-audit verify %s FAILED:\n%s\n", j.c_str(), audit.output.c_str());
    }
    int rc = n.Stop();
    if (rc != 0) {
      std::printf("node %s exited %d on SIGTERM\n", j.c_str(), rc);
      ok = false;
    }
    auto fsck = n.Fsck();
    if (fsck.exit_code != 0) {
      ++fsck_failures;
      std::printf("fsck %s FAILED:\n%s\n", j.c_str(), fsck.output.c_str());
    }
  }
  ok = ok && fsck_failures == 0 && audit_failures == 0;
  const double wall = std::chrono::duration<double>(SteadyClock::now() - t_start).count();
  const int done = kills["32"] + kills["33"] + kills["00"];
  std::printf(
      "\n%d cycles: SIGKILL of 32 (member delivering) %d, 33 (owner receiving) %d, hub (relaying) "
      "%d\n",
      done, kills["32"], kills["33"], kills["00"]);
  std::printf(
      "acknowledged: %zu complaints, %llu verifications (%zu events); %llu requests "
      "refused or cut while a node was down\n",
      all.size(), static_cast<unsigned long long>(load.verifications()), events,
      static_cast<unsigned long long>(load.failed_requests()));
  std::printf("convergence after a restart: mean %.0f ms, worst %lld ms\n",
              done > 0 ? sum_converge_ms / done : 0.0, static_cast<long long>(worst_converge_ms));
  std::printf("fsck clean on %d of 3 nodes; lapor-audit verify passed on %d of 3; wall %.0f s\n",
              3 - fsck_failures, 3 - audit_failures, wall);
  std::printf(
      "BENCH_KILL9 cycles=%d kills_member=%d kills_owner=%d kills_hub=%d complaints=%zu "
      "verifications=%llu events_checked=%zu converge_mean_ms=%.0f converge_worst_ms=%lld "
      "fsck_failures=%d audit_failures=%d wall_s=%.0f checks=%s\n",
      done, kills["32"], kills["33"], kills["00"], all.size(),
      static_cast<unsigned long long>(load.verifications()), events,
      done > 0 ? sum_converge_ms / done : 0.0, static_cast<long long>(worst_converge_ms),
      fsck_failures, audit_failures, wall, ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
