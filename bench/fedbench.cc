// lapor-bench-federation: the federation benchmark (run by bench/federation.sh, never by ctest).
//
// A hub ("00") and four province nodes ("31" "32" "33" "34") of real lapor-node processes on
// loopback (harness/federation_harness.h), then five phases with the same HTTP client
// (keep-alive connections, --connections per origin node, 600-byte complaints):
//
//   L1  local ceiling: --events complaints at the four nodes, each about its own region. No case
//       leaves its node: the four nodes' raw local commit rate on this machine, in this run.
//   L2  one node's own ceiling: --single complaints at "34" alone, about "34", with all the
//       connections. The ceiling for catch-up (the same node committing events).
//   X   --events complaints at the four nodes, each about one of the three other provinces
//       (rotating), so every event is cross-jurisdiction: the owner and the hub must each receive
//       it (plus the reporter's record, sealed to the owner). Measures ingest (201s/s), the
//       delivered rate at the hub, and the lag from the event's time at the origin to its receipt
//       at the hub (hub's foreign_events.received_ms minus the event's time_ms).
//   P   the same cross-jurisdiction load, paced (open loop) at --paced-rate complaints/s, below
//       the delivery rate: the lag of the pipeline itself rather than of the backlog X builds up.
//   C   catch-up: "34" is stopped (SIGTERM); --catchup complaints about "34" are filed at the other
//       three (they queue at the senders; the hub gets them live); "34" is restarted and the run
//       waits until every sender's backlog to "34" is 0.
// Then every node is stopped (SIGTERM, exit 0 required), fsck'd, and the counts are checked: the
// hub holds every cross-jurisdiction event once, the owners together hold each once.
//
// Prints a report and one machine-readable line "BENCH_FEDERATION k=v ...". Exits 1 if a check
// fails (a non-201, a count mismatch, fsck, unclean stop, timeout); slow figures do not fail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/http_client.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "lapor/v1/event.pb.h"

namespace {

// Waits until `pred` holds, at most `timeout_ms`; false if it never did.
template <typename Pred>
bool WaitFor(Pred&& pred, int64_t timeout_ms = 20000) {
  return static_cast<bool>(lapor::testing::Eventually("the benchmark's condition", pred,
                                                      std::chrono::milliseconds(timeout_ms)));
}

using lapor::testing::Federation;
using lapor::testing::FederationOptions;
using lapor::testing::NodeProcess;
using nlohmann::json;

const std::vector<std::string> kMembers = {"31", "32", "33", "34"};
constexpr char kRestarted[] = "34";

using lapor::bench::SteadyS;
using lapor::bench::WallMs;

// A 600-byte complaint, like bench/post_complaint.lua's, about `region`.
std::string ComplaintBody(const std::string& region, long i) {
  const std::string head = "{\"title\":\"Jalan berlubang di Jl. Soekarno-Hatta nomor " +
                           std::to_string(i) + "\",\"description\":\"";
  const std::string tail =
      "\",\"category\":\"infrastruktur\",\"report_type\":\"pengaduan\","
      "\"region_code\":\"" +
      region +
      "\",\"channel\":\"web\",\"reporter\":{\"name\":\"Siti Rahmawati\","
      "\"phone\":\"+6281234567890\"}}";
  const std::string text =
      "Lubang besar di lajur kiri sudah tiga minggu tidak diperbaiki dan membahayakan "
      "pengendara motor, terutama saat hujan ketika lubang tertutup genangan air. ";
  size_t pad = 600 > head.size() + tail.size() + 1 ? 600 - head.size() - tail.size() : 1;
  std::string desc;
  while (desc.size() < pad) desc += text;
  desc.resize(pad);
  if (desc.back() == ' ') desc.back() = '.';
  return head + desc + tail;
}

using lapor::bench::KeepAlive;
using lapor::bench::Pct;

struct LoadResult {
  long ok = 0, failed = 0;
  double seconds = 0;          // first request sent to last reply received
  int64_t first_ms = 0;        // wall clock, first request sent
  int64_t last_ms = 0;         // wall clock, last 201 received
  std::vector<double> lat_ms;  // per-request latency, sorted
  std::map<int, long> statuses;
  std::string first_error;
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

// Files complaints: for each origin, `per_origin` of them on `connections` keep-alive
// connections; region(origin index, i) names the region of the i-th complaint of that origin.
// With per_origin_rate > 0, the i-th complaint of each origin is sent no earlier than
// i / per_origin_rate seconds after the start (a paced, open-loop load), else as fast as the
// connections go.
LoadResult Load(Federation& f, const std::vector<std::string>& origins, long per_origin,
                int connections, const std::function<std::string(size_t origin, long i)>& region,
                double per_origin_rate = 0) {
  LoadResult r;
  std::mutex mu;
  std::vector<std::unique_ptr<std::atomic<long>>> next;
  for (size_t o = 0; o < origins.size(); ++o)
    next.push_back(std::make_unique<std::atomic<long>>(0));
  std::vector<std::thread> threads;
  const double t0 = SteadyS();
  r.first_ms = WallMs();
  for (size_t o = 0; o < origins.size(); ++o) {
    const int port = f.port(origins[o]);
    for (int c = 0; c < connections; ++c) {
      threads.emplace_back([&, o, port] {
        KeepAlive client(port);
        std::vector<double> lat;
        std::map<int, long> statuses;
        long ok = 0, failed = 0;
        std::string error, reply;
        for (long i; (i = (*next[o])++) < per_origin;) {
          const std::string body = ComplaintBody(region(o, i), i);
          if (per_origin_rate > 0) {
            const double at = t0 + static_cast<double>(i) / per_origin_rate;
            if (at > SteadyS())
              std::this_thread::sleep_for(std::chrono::duration<double>(at - SteadyS()));
          }
          const double s = SteadyS();
          const int status = client.Post("/api/v1/complaints", body, &reply);
          lat.push_back((SteadyS() - s) * 1000);
          ++statuses[status];
          if (status == 201) {
            ++ok;
          } else {
            ++failed;
            if (error.empty()) error = std::to_string(status) + " " + reply.substr(0, 200);
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        r.ok += ok;
        r.failed += failed;
        r.lat_ms.insert(r.lat_ms.end(), lat.begin(), lat.end());
        for (auto [s, n] : statuses) r.statuses[s] += n;
        if (r.first_error.empty()) r.first_error = error;
      });
    }
  }
  for (auto& t : threads) t.join();
  r.seconds = SteadyS() - t0;
  r.last_ms = WallMs();
  std::sort(r.lat_ms.begin(), r.lat_ms.end());
  return r;
}

// Read-only access to a node's database while it runs (WAL: readers do not block the writer).
class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_) + ": " + sql);
    }
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
  }
  // Foreign events received at or after `since_ms`: {author, event time_ms, received_ms}.
  struct Row {
    std::string author;
    int64_t time_ms, received_ms;
  };
  std::vector<Row> ForeignSince(int64_t since_ms) {
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "SELECT author, envelope, received_ms FROM foreign_events WHERE received_ms >= ?";
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
    sqlite3_bind_int64(st, 1, since_ms);
    std::vector<Row> out;
    lapor::v1::Envelope env;
    lapor::v1::Event ev;
    while (sqlite3_step(st) == SQLITE_ROW) {
      const void* blob = sqlite3_column_blob(st, 1);
      const int len = sqlite3_column_bytes(st, 1);
      if (!env.ParseFromArray(blob, len) || !ev.ParseFromString(env.payload())) {
        throw std::runtime_error("unreadable envelope in foreign_events");
      }
      out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), ev.time_ms(),
                     sqlite3_column_int64(st, 2)});
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string DbPath(Federation& f, const std::string& j) {
  return f.node(j).data_dir() + "/lapor.db";
}

// CPU accounting over a phase, from /proc: the machine, this federation's lapor-node processes
// (found by their data folders under the federation's root), and this driver.
struct CpuSnap {
  long long busy = 0, total = 0, nodes = 0, self = 0;
  std::map<std::string, long long> by_node;  // jurisdiction -> ticks
};
using lapor::bench::ProcTicks;
CpuSnap TakeCpu(const std::string& root) {
  CpuSnap s;
  if (FILE* fp = std::fopen("/proc/stat", "r")) {
    long long v[10] = {};
    if (std::fscanf(fp, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1],
                    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
      for (int i = 0; i < 8; ++i) s.total += v[i];  // guest time is already in user
      s.busy = s.total - v[3] - v[4];               // minus idle and iowait
    }
    std::fclose(fp);
  }
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
    FILE* fp = std::fopen(("/proc/" + pid + "/cmdline").c_str(), "r");
    if (fp == nullptr) continue;
    char buf[4096];
    size_t n = std::fread(buf, 1, sizeof buf - 1, fp);
    std::fclose(fp);
    std::string cmd(buf, n);
    if (cmd.find("lapor-node") != std::string::npos && cmd.find(root + "/") != std::string::npos) {
      const long long ticks = ProcTicks("/proc/" + pid + "/stat");
      s.nodes += ticks;
      const size_t at = cmd.find(root + "/") + root.size() + 1;
      s.by_node[cmd.substr(at, cmd.find('\0', at) - at)] += ticks;
    }
  }
  s.self = ProcTicks("/proc/self/stat");
  return s;
}
// "machine busy 97%: federation nodes 1.62 cores, driver 0.21, other processes 0.11"
std::string CpuLine(const CpuSnap& a, const CpuSnap& b, bool per_node = false) {
  const double total = static_cast<double>(b.total - a.total);
  if (total <= 0) return "-";
  const double ncpu = static_cast<double>(std::thread::hardware_concurrency());
  const double busy = (b.busy - a.busy) / total;
  const double nodes = (b.nodes - a.nodes) / total * ncpu;
  const double self = (b.self - a.self) / total * ncpu;
  char out[200];
  std::snprintf(out, sizeof out,
                "machine busy %.0f%%: federation nodes %.2f cores, driver %.2f, other processes "
                "%.2f",
                100 * busy, nodes, self, std::max(0.0, busy * ncpu - nodes - self));
  std::string line = out;
  if (per_node) {
    line += " (";
    for (const auto& [j, ticks] : b.by_node) {
      auto it = a.by_node.find(j);
      const long long d = ticks - (it != a.by_node.end() ? it->second : 0);
      std::snprintf(out, sizeof out, "%s%s %.2f", line.back() == '(' ? "" : ", ", j.c_str(),
                    d / total * ncpu);
      line += out;
    }
    line += ")";
  }
  return line;
}

// Sum of a node's outbox backlog to `destination` ("" = every destination); -1 if it does not
// answer.
long Backlog(Federation& f, const std::string& node, const std::string& destination = "") {
  auto r = f.node(node).Get("/federation/v1/status", f.admin_token(node));
  if (r.status != 200) return -1;
  long sum = 0;
  const json body = r.Json();
  for (const auto& d : body.value("destinations", json::array())) {
    if (destination.empty() || d.value("destination", "") == destination) {
      sum += d.value("backlog", 0L);
    }
  }
  return sum;
}

struct LagStats {
  size_t n = 0;
  int64_t p50 = 0, p90 = 0, p99 = 0, max = 0, first_time = 0, last_received = 0, first_received = 0;
};
LagStats Lags(const std::vector<Db::Row>& rows) {
  LagStats s;
  std::vector<int64_t> lag;
  s.first_time = INT64_MAX;
  s.first_received = INT64_MAX;
  for (const auto& r : rows) {
    lag.push_back(r.received_ms - r.time_ms);
    s.first_time = std::min(s.first_time, r.time_ms);
    s.first_received = std::min(s.first_received, r.received_ms);
    s.last_received = std::max(s.last_received, r.received_ms);
  }
  std::sort(lag.begin(), lag.end());
  s.n = lag.size();
  if (!lag.empty()) {
    s.p50 = Pct(lag, 0.5);
    s.p90 = Pct(lag, 0.9);
    s.p99 = Pct(lag, 0.99);
    s.max = lag.back();
  }
  return s;
}

void PrintLoad(const char* name, const LoadResult& r) {
  std::printf("  %-44s %7ld x 201 in %6.2f s = %8.0f /s   latency p50 %.1f ms, p99 %.1f ms%s\n",
              name, r.ok, r.seconds, r.rate(), Pct(r.lat_ms, 0.5), Pct(r.lat_ms, 0.99),
              r.failed ? "   FAILED REQUESTS" : "");
  if (r.failed) {
    for (auto [s, n] : r.statuses) std::printf("    status %d: %ld\n", s, n);
    std::printf("    first error: %s\n", r.first_error.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LAPOR! federation benchmark: hub + 4 nodes on loopback"};
  long events = 20000, single = 10000, catchup = 5000, paced = 2000;
  double paced_rate = 200;
  int connections = 8, batch = 256, retry_initial_ms = 200, retry_max_ms = 30000;
  int timeout_s = 300;
  bool keep = false;
  app.add_option("--events", events, "cross-jurisdiction complaints in phase X (and local in L1)");
  app.add_option("--single", single, "local complaints at node 34 alone (its own ceiling)");
  app.add_option("--paced", paced, "cross-jurisdiction complaints at --paced-rate (phase P)");
  app.add_option("--paced-rate", paced_rate, "complaints/s of phase P, all origins together");
  app.add_option("--catchup", catchup, "complaints about 34 filed while it is down");
  app.add_option("--connections", connections, "keep-alive connections per origin node");
  app.add_option("--delivery-batch", batch, "node.json delivery_batch");
  app.add_option("--retry-initial-ms", retry_initial_ms, "node.json retry_initial_ms");
  app.add_option("--retry-max-ms", retry_max_ms, "node.json retry_max_ms");
  app.add_option("--timeout", timeout_s, "seconds to wait for any delivery to finish");
  app.add_flag("--keep", keep, "keep the data folders");
  CLI11_PARSE(app, argc, argv);
  events -= events % 4;
  catchup -= catchup % 3;
  paced -= paced % 4;
  bool pass = true;
  auto check = [&pass](bool ok, const std::string& what) {
    std::printf("  check %-66s %s\n", what.c_str(), ok ? "ok" : "FAILED");
    pass = pass && ok;
  };

  try {
    // --- setup ------------------------------------------------------------------------------
    double t = SteadyS();
    FederationOptions fo;
    fo.jurisdictions = kMembers;
    fo.manifest_interval_ms = 1000;
    Federation f(fo);
    // Benchmark settings: the default SLA interval (the harness runs it every 200 ms), the
    // delivery tuning under test. Every node restarts to read them.
    for (const auto& j : f.jurisdictions()) {
      NodeProcess& n = f.node(j);
      if (int rc = n.Stop(); rc != 0)
        throw std::runtime_error("node " + j + " stop: " + std::to_string(rc));
      n.SetConfig("sla_interval_ms", 60000);
      n.SetConfig("delivery_batch", batch);
      n.SetConfig("retry_initial_ms", retry_initial_ms);
      n.SetConfig("retry_max_ms", retry_max_ms);
      n.Start();
    }
    for (const auto& j : f.jurisdictions()) {
      if (!WaitFor([&] { return f.ServedManifestVersion(j) == f.manifest_version(); })) {
        throw std::runtime_error("node " + j + " lost the manifest after the restart");
      }
    }
    const auto relay_after_ms = f.node("31").Config().value("relay_after_ms", 60000);
    std::printf("federation: hub 00 + 31 32 33 34 on 127.0.0.1 (%s), up in %.1f s\n",
                f.root().c_str(), SteadyS() - t);
    std::printf(
        "node.json: http_threads %d, delivery_batch %d, retry_initial_ms %d, "
        "retry_max_ms %d, relay_after_ms %d, sla_interval_ms 60000\n",
        f.node("31").Config().value("http_threads", 4), batch, retry_initial_ms, retry_max_ms,
        relay_after_ms);
    std::printf("client: %d keep-alive connections per origin node, 600-byte complaints\n\n",
                connections);
    auto all_backlogs_zero = [&] {
      for (const auto& j : f.jurisdictions()) {
        if (Backlog(f, j) != 0) return false;
      }
      return true;
    };
    const int timeout_ms = timeout_s * 1000;

    // --- L1: local ceiling ------------------------------------------------------------------
    std::printf("phases:\n");
    CpuSnap cpu0 = TakeCpu(f.root());
    LoadResult l1 =
        Load(f, kMembers, events / 4, connections, [](size_t o, long) { return kMembers[o]; });
    PrintLoad("L1 local, 4 nodes, each about itself", l1);
    CpuSnap cpu1 = TakeCpu(f.root());
    std::printf("    %s\n", CpuLine(cpu0, cpu1).c_str());
    const bool l1_stayed =
        all_backlogs_zero() && Db(DbPath(f, "00")).Int("SELECT COUNT(*) FROM foreign_events") == 0;

    // --- L2: node 34's own ceiling ----------------------------------------------------------
    LoadResult l2 = Load(f, {kRestarted}, single, connections * 4,
                         [](size_t, long) { return std::string(kRestarted); });
    PrintLoad("L2 local, node 34 alone (all connections)", l2);
    CpuSnap cpu2 = TakeCpu(f.root());
    std::printf("    %s\n", CpuLine(cpu1, cpu2).c_str());

    // --- X: cross-jurisdiction --------------------------------------------------------------
    const int64_t x_start = WallMs();
    LoadResult x = Load(f, kMembers, events / 4, connections, [](size_t o, long i) {
      return kMembers[(o + 1 + static_cast<size_t>(i % 3)) % kMembers.size()];
    });
    const int64_t hub_at_last_201 = Db(DbPath(f, "00")).Int("SELECT COUNT(*) FROM foreign_events");
    PrintLoad("X  cross-jurisdiction, 4 nodes, about another", x);
    CpuSnap cpu3 = TakeCpu(f.root());
    std::printf("    %s\n", CpuLine(cpu2, cpu3, true).c_str());
    const double x_wait0 = SteadyS();
    bool x_hub_done = WaitFor(
        [&] { return Db(DbPath(f, "00")).Int("SELECT COUNT(*) FROM foreign_events") >= x.ok; },
        timeout_ms);
    bool x_all_done = x_hub_done && WaitFor(all_backlogs_zero, timeout_ms);
    const double x_all_wait = SteadyS() - x_wait0;
    CpuSnap cpu4 = TakeCpu(f.root());
    std::printf("  X  until every backlog is 0 (%.2f s after the last 201)\n    %s\n", x_all_wait,
                CpuLine(cpu3, cpu4, true).c_str());
    auto hub_rows = Db(DbPath(f, "00")).ForeignSince(x_start);
    LagStats hub = Lags(hub_rows);
    std::vector<Db::Row> owner_rows;
    for (const auto& j : kMembers) {
      auto rows = Db(DbPath(f, j)).ForeignSince(x_start);
      owner_rows.insert(owner_rows.end(), rows.begin(), rows.end());
    }
    LagStats owners = Lags(owner_rows);
    const double hub_span_s = (hub.last_received - hub.first_time) / 1000.0;
    const double delivered_rate = hub_span_s > 0 ? hub.n / hub_span_s : 0;
    const double owners_span_s = (owners.last_received - owners.first_time) / 1000.0;
    const double owners_rate = owners_span_s > 0 ? owners.n / owners_span_s : 0;
    const double drain_after_last_201_s = (hub.last_received - x.last_ms) / 1000.0;
    const double drain_rate =
        drain_after_last_201_s > 0
            ? (static_cast<double>(hub.n) - hub_at_last_201) / drain_after_last_201_s
            : 0;

    // --- P: the same cross-jurisdiction load, paced below the delivery rate -------------------
    // Phase X offers more than the federation can deliver, so its lag is mostly the backlog
    // built up during the load; at a sustainable rate the lag is the pipeline's own.
    const int64_t p_start = WallMs();
    const CpuSnap cpu5 = TakeCpu(f.root());
    LoadResult pl = Load(
        f, kMembers, paced / 4, connections,
        [](size_t o, long i) {
          return kMembers[(o + 1 + static_cast<size_t>(i % 3)) % kMembers.size()];
        },
        paced_rate / 4.0);
    PrintLoad("P  as X, paced (open loop)", pl);
    bool p_done = WaitFor(
        [&] {
          return Db(DbPath(f, "00")).Int("SELECT COUNT(*) FROM foreign_events") >= x.ok + pl.ok;
        },
        timeout_ms);
    p_done = p_done && WaitFor(all_backlogs_zero, timeout_ms);
    const CpuSnap cpu6 = TakeCpu(f.root());
    std::printf("    %s\n", CpuLine(cpu5, cpu6, true).c_str());
    LagStats p_hub = Lags(Db(DbPath(f, "00")).ForeignSince(p_start));
    std::vector<Db::Row> p_owner_rows;
    for (const auto& j : kMembers) {
      auto rows = Db(DbPath(f, j)).ForeignSince(p_start);
      p_owner_rows.insert(p_owner_rows.end(), rows.begin(), rows.end());
    }
    LagStats p_owners = Lags(p_owner_rows);

    // --- C: catch-up after a restart ----------------------------------------------------------
    NodeProcess& restarted = f.node(kRestarted);
    const int stop_rc = restarted.Stop();
    const double down_at = SteadyS();
    std::vector<std::string> others;
    for (const auto& j : kMembers) {
      if (j != kRestarted) others.push_back(j);
    }
    LoadResult c = Load(f, others, catchup / 3, connections,
                        [](size_t, long) { return std::string(kRestarted); });
    PrintLoad("C  about 34 at 31 32 33 while 34 is down", c);
    // The hub takes them live; what remains is the backlog to 34 (events and sealed records).
    bool c_hub_live = WaitFor(
        [&] {
          for (const auto& j : others) {
            if (Backlog(f, j, "00") != 0) return false;
          }
          return true;
        },
        timeout_ms);
    long queued = 0;
    for (const auto& j : others) queued += Backlog(f, j, kRestarted);
    const double down_s = SteadyS() - down_at;
    const int64_t restart_ms = WallMs();
    const double r0 = SteadyS();
    restarted.Start();  // returns once /healthz answers
    const double ready_s = SteadyS() - r0;
    const int64_t ready_ms = WallMs();
    bool c_done = WaitFor(
        [&] {
          for (const auto& j : others) {
            if (Backlog(f, j, kRestarted) != 0) return false;
          }
          return true;
        },
        timeout_ms);
    auto c_rows = Db(DbPath(f, kRestarted)).ForeignSince(restart_ms);
    LagStats cs = Lags(c_rows);
    const double c_total_s = (cs.last_received - restart_ms) / 1000.0;
    const double c_from_ready_s = (cs.last_received - ready_ms) / 1000.0;
    const double c_flow_s = (cs.last_received - cs.first_received) / 1000.0;
    const double c_rate_total = c_total_s > 0 ? cs.n / c_total_s : 0;
    const double c_rate_ready = c_from_ready_s > 0 ? cs.n / c_from_ready_s : 0;
    const double c_rate_flow = c_flow_s > 0 ? cs.n / c_flow_s : 0;
    bool c_all_done = WaitFor(all_backlogs_zero, timeout_ms);

    // --- report -------------------------------------------------------------------------------
    std::printf("\ndelivery (phase X, %zu events at the hub):\n", hub.n);
    std::printf(
        "  hub held %lld of %ld events when the last 201 came; the last arrived %.2f s "
        "after it\n",
        static_cast<long long>(hub_at_last_201), x.ok, drain_after_last_201_s);
    std::printf(
        "  delivered to the hub: %zu events in %.2f s (first event's time at its origin -> "
        "last receipt at the hub) = %.0f events/s\n",
        hub.n, hub_span_s, delivered_rate);
    std::printf(
        "    ratio to L1 local commit rate (%.0f/s, same client, same run): %.3f; to X "
        "ingest (%.0f/s): %.3f\n",
        l1.rate(), delivered_rate / l1.rate(), x.rate(), delivered_rate / x.rate());
    std::printf(
        "  delivered to the owners: %zu events in %.2f s = %.0f events/s; every backlog "
        "(incl. sealed records) 0 %.2f s after the last 201\n",
        owners.n, owners_span_s, owners_rate, x_all_wait);
    std::printf(
        "  lag origin event time -> hub receipt: p50 %lld ms, p90 %lld, p99 %lld, max %lld\n",
        static_cast<long long>(hub.p50), static_cast<long long>(hub.p90),
        static_cast<long long>(hub.p99), static_cast<long long>(hub.max));
    std::printf(
        "  lag origin event time -> owner receipt: p50 %lld ms, p90 %lld, p99 %lld, max %lld\n",
        static_cast<long long>(owners.p50), static_cast<long long>(owners.p90),
        static_cast<long long>(owners.p99), static_cast<long long>(owners.max));
    std::printf("  X ingest / L1 local ingest: %.3f\n", x.rate() / l1.rate());
    std::printf("\npaced (phase P, %ld events offered at %.0f/s, %.0f/s accepted):\n", paced,
                paced_rate, pl.rate());
    std::printf(
        "  lag origin event time -> hub receipt: p50 %lld ms, p90 %lld, p99 %lld, max %lld "
        "(%zu events)\n",
        static_cast<long long>(p_hub.p50), static_cast<long long>(p_hub.p90),
        static_cast<long long>(p_hub.p99), static_cast<long long>(p_hub.max), p_hub.n);
    std::printf(
        "  lag origin event time -> owner receipt: p50 %lld ms, p90 %lld, p99 %lld, max "
        "%lld\n",
        static_cast<long long>(p_owners.p50), static_cast<long long>(p_owners.p90),
        static_cast<long long>(p_owners.p99), static_cast<long long>(p_owners.max));
    std::printf("\ncatch-up (node 34 down %.1f s, %ld queued rows = events + sealed records):\n",
                down_s, queued);
    std::printf(
        "  restart -> /healthz: %.2f s; first event in %.2f s after restart; all %zu in "
        "%.2f s after restart\n",
        ready_s, (cs.first_received - restart_ms) / 1000.0, cs.n, c_total_s);
    std::printf(
        "  catch-up: %.0f events/s from restart, %.0f from ready, %.0f while flowing "
        "(first -> last receipt)\n",
        c_rate_total, c_rate_ready, c_rate_flow);
    std::printf(
        "    ratio (from ready) to node 34's own L2 ingest (%.0f/s, same run): %.3f; "
        "flowing: %.3f\n",
        l2.rate(), c_rate_ready / l2.rate(), c_rate_flow / l2.rate());

    // --- checks -------------------------------------------------------------------------------
    std::printf("\nchecks:\n");
    check(l1.failed == 0 && l2.failed == 0 && x.failed == 0 && c.failed == 0,
          "every complaint answered 201");
    check(l1_stayed, "L1 local cases stayed local (no outbox, hub holds none)");
    check(x_hub_done && x_all_done, "X: hub holds every event, every backlog 0");
    check(hub.n == static_cast<size_t>(x.ok),
          "X: hub holds exactly the 201s (" + std::to_string(hub.n) + ")");
    check(owners.n == static_cast<size_t>(x.ok),
          "X: the owners hold each event once (" + std::to_string(owners.n) + ")");
    check(stop_rc == 0, "C: node 34 stopped cleanly on SIGTERM");
    check(c_hub_live, "C: the hub took the events about 34 while it was down");
    check(queued == 2 * c.ok,
          "C: backlog to 34 = events + sealed records (" + std::to_string(queued) + ")");
    check(down_s * 1000 < relay_after_ms, "C: 34 was down for less than relay_after_ms");
    check(c_done && c_all_done, "C: every backlog 0 after the restart");
    check(cs.n == static_cast<size_t>(c.ok), "C: node 34 received the " + std::to_string(c.ok) +
                                                 " events after its restart (" +
                                                 std::to_string(cs.n) + ")");
    const int64_t hub_total = Db(DbPath(f, "00")).Int("SELECT COUNT(*) FROM foreign_events");
    check(
        p_done && p_hub.n == static_cast<size_t>(pl.ok) && p_owners.n == static_cast<size_t>(pl.ok),
        "P: hub and owners hold each paced event once, every backlog 0");
    check(hub_total == x.ok + pl.ok + c.ok,
          "hub holds X + P + C events (" + std::to_string(hub_total) + ")");
    std::vector<std::string> all = f.jurisdictions();
    for (const auto& j : all) {
      int rc = f.node(j).Stop();
      auto fsck = f.node(j).Fsck();
      check(rc == 0 && fsck.exit_code == 0, "node " + j + ": exit 0 on SIGTERM, fsck clean");
      if (fsck.exit_code != 0) std::printf("%s\n", fsck.output.c_str());
    }

    std::printf(
        "\nBENCH_FEDERATION events=%ld l1_rps=%.0f l2_rps=%.0f x_rps=%.0f hub_delivered_eps=%.0f "
        "ratio_delivered_to_l1=%.3f ratio_delivered_to_x=%.3f owners_delivered_eps=%.0f "
        "drain_after_last_201_s=%.2f drain_eps=%.0f hub_lag_p50_ms=%lld hub_lag_p99_ms=%lld "
        "owner_lag_p50_ms=%lld owner_lag_p99_ms=%lld paced_rate=%.0f paced_hub_lag_p50_ms=%lld "
        "paced_hub_lag_p99_ms=%lld paced_owner_lag_p50_ms=%lld paced_owner_lag_p99_ms=%lld "
        "catchup_events=%zu catchup_restart_s=%.2f "
        "catchup_eps_from_restart=%.0f catchup_eps_from_ready=%.0f catchup_eps_flowing=%.0f "
        "ratio_catchup_to_l2=%.3f checks=%s\n",
        events, l1.rate(), l2.rate(), x.rate(), delivered_rate, delivered_rate / l1.rate(),
        delivered_rate / x.rate(), owners_rate, drain_after_last_201_s, drain_rate,
        static_cast<long long>(hub.p50), static_cast<long long>(hub.p99),
        static_cast<long long>(owners.p50), static_cast<long long>(owners.p99), paced_rate,
        static_cast<long long>(p_hub.p50), static_cast<long long>(p_hub.p99),
        static_cast<long long>(p_owners.p50), static_cast<long long>(p_owners.p99), cs.n, ready_s,
        c_rate_total, c_rate_ready, c_rate_flow, c_rate_ready / l2.rate(), pass ? "PASS" : "FAIL");
    if (!keep) {
      std::filesystem::remove_all(f.root());
    } else {
      std::printf("kept %s\n", f.root().c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lapor-bench-federation: %s\n", e.what());
    return 1;
  }
  return pass ? 0 : 1;
}
