// lapor-bench-national: the national simulation (run by bench/national.sh, never by ctest).
//
// Drives a federation that deploy/federation.sh started (the hub and up to all 552 members, each
// a real lapor-node process; every node's clock reads LAPOR_CLOCK_OFFSET_FILE) through a
// simulated year of complaints in accelerated time, then checks and measures it:
//
//   ceiling  --ceiling complaints at one member about its own region, on --workers connections:
//            one node's filing rate on this machine, in this run (they then live through the
//            year like the others).
//   year     --days days from the next Monday 00:00 WIB, four slots a day (08, 11, 14, 17 WIB).
//            Before each slot the driver moves every node's clock there (the offset file) and
//            sends the slot's work: --complaints spread over the days (weekends and holidays at
//            half rate) and over members by population share (bench/population.csv; a province
//            node takes a quarter of its province, its regencies share the rest equally);
//            --cross-share of them about another member's region (chosen by population too),
//            filed at the reporter's member and owned by the other. Every case then lives a
//            lifecycle drawn per case: the owner's admin verifies (after 0-7 working days, so
//            some miss the 3-day deadline and the owner's SLA loop escalates them), holds or
//            archives a few; the agency's liaison disposes to another agency, processes and
//            responds (after 0-9 working days); the reporter replies, rates or reopens at the
//            member where they filed (with the access code); the rest is auto-completed by the
//            owner 10 working days after the response. Operators act on working days only (the
//            national holidays of data/holidays). An action the node is not ready for yet (the
//            case has not reached the owner, the auto-completion has not happened) is retried in
//            the next slot.
//   settle   waits until no node has anything left to deliver and every member has sent the hub
//            a statistics report made after that.
//   checks   the hub's national totals (GET /national/v1/stats) equal the sum of every member's
//            own (GET /api/v1/stats), figure by figure; every case the hub holds has the same
//            events (hashes) at every node that holds it, and every cross-jurisdiction case is
//            held by its origin, its owner and the hub (read from the nodes' databases, read-only);
//            `lapor-audit verify` passes on a sample of nodes (the hub, the busiest member and
//            --audit-sample - 2 others), with the whole chain of every case across logs.
//   measures wall time of the year, events signed per second across the federation (the growth
//            of every node's log) against the ceiling, RSS per node, the hub's CPU and disk, and
//            the national API's latency over the year's data (--api-rounds of a fixed query mix).
//
// Prints a report and one machine-readable line "BENCH_NATIONAL k=v ...". Exits 1 if a check
// fails; slow figures do not fail.
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "bench/http_client.h"
#include "harness/node_process.h"

namespace {

using lapor::bench::KeepAlive;
using lapor::bench::Pct;
using lapor::bench::ProcTicks;
using lapor::bench::SteadyS;
using lapor::bench::WallMs;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kHourMs = 3600LL * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int kSlotsPerDay = 4;
constexpr std::array<int, kSlotsPerDay> kSlotHourWib = {8, 11, 14, 17};
constexpr int kMaxRetries = 24;  // slots (six days) before an action is given up

// splitmix64: the draws of a case depend only on the seed, the case and the step.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
double Unit(uint64_t seed, uint64_t a, uint64_t b) {
  return static_cast<double>(Mix(seed ^ Mix(a * 1000003 + b)) >> 11) * 0x1.0p-53;
}

// Picks an index by cumulative weights (the last one at u == 1).
size_t PickCumulative(const std::vector<double>& cumulative, double u) {
  auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u * cumulative.back());
  return std::min<size_t>(it - cumulative.begin(), cumulative.size() - 1);
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

struct Agency {
  const char* category;
  const char* agency;
  double share;
};
constexpr std::array<Agency, 4> kAgencies = {{{"infrastruktur", "dinas-pu", 0.40},
                                              {"kesehatan", "dinas-kesehatan", 0.25},
                                              {"pendidikan", "dinas-pendidikan", 0.20},
                                              {"kependudukan", "disdukcapil", 0.15}}};
struct ReportType {
  const char* name;
  double share;
};
constexpr std::array<ReportType, 4> kReportTypes = {{{"pengaduan", 0.70},
                                                     {"aspirasi", 0.15},
                                                     {"permintaan_informasi", 0.12},
                                                     {"whistleblowing", 0.03}}};

struct Node {
  std::string code;
  int port = 0;
  std::string admin;
  std::map<std::string, std::string> liaison;  // agency -> token
  double weight = 0;                           // share of the nation's reporters
  int pid = 0;
};

enum Kind : uint8_t {
  kFile,
  kVerify,
  kArchive,
  kHold,
  kDispose,
  kProcess,
  kRespond,
  kReply,
  kComplete,
  kRate,
  kReopen,
  kKinds
};
constexpr std::array<const char*, kKinds> kKindNames = {"file",     "verify",  "archive", "hold",
                                                        "dispose",  "process", "respond", "reply",
                                                        "complete", "rate",    "reopen"};

struct Case {
  std::string id, access_code;
  uint16_t origin = 0, owner = 0;
  uint8_t agency = 0, type = 0;
  uint8_t step = 0;             // draws taken so far
  uint8_t retries = 0;          // of the pending action
  bool answered_again = false;  // a second response was given (after a reply or reopen)
  bool confidential = false, anonymous = false;
};

struct Task {
  uint32_t case_idx;
  Kind kind;
};

class Sim {
 public:
  struct Options {
    std::string fed_dir, offset_file, node_bin, audit_bin, population, holidays;
    long complaints = 1500000;
    int days = 365;
    double cross_share = 0.30;
    int workers = 48;
    uint64_t seed = 1;
    long ceiling = 20000;
    std::string ceiling_node = "31";
    int api_rounds = 20;
    int audit_sample = 5;
    int settle_timeout_s = 3600;
    bool liaisons_only = false;
  };
  explicit Sim(Options o) : o_(std::move(o)) {}
  int Run();

 private:
  // ---- setup
  void LoadNodes();
  void AddLiaisons();
  void LoadWeights();
  void LoadHolidays();
  bool Working(int day) const {
    return (day % 7) < 5 &&
           !holidays_.count(lapor::FormatUtc(start_ms_ + day * kDayMs + 7 * kHourMs).substr(0, 10));
  }
  // The day `n` working days after `day` (n = 0: `day` itself if it is a working day).
  int AddWorkingDays(int day, int n) const {
    while (!Working(day)) ++day;
    for (int i = 0; i < n; ++i) {
      ++day;
      while (!Working(day)) ++day;
    }
    return day;
  }
  int64_t SlotMs(int slot) const {
    return start_ms_ + (slot / kSlotsPerDay) * kDayMs + kSlotHourWib[slot % kSlotsPerDay] * kHourMs;
  }
  void SetClock(int64_t sim_ms);
  int64_t SimNow() const { return WallMs() + offset_; }

  // ---- the year
  double Draw(Case& c, uint32_t idx) { return Unit(o_.seed, idx, c.step++); }
  void Schedule(std::vector<std::pair<int, Task>>* out, uint32_t idx, Kind kind, int slot,
                int wd_delay, double u);
  void Next(std::vector<std::pair<int, Task>>* out, uint32_t idx, Kind done, int slot);
  int Target(const Case& c, Kind k) const {
    return k == kFile || k == kReply || k == kRate || k == kReopen ? c.origin : c.owner;
  }
  std::string Body(const Case& c, uint32_t idx, Kind k, std::string* auth) const;
  void RunSlot(int slot, std::vector<Task>& tasks);
  void Ceiling();

  // ---- after
  bool Settle();
  bool CompareTotals();
  bool CheckCases();
  bool Audit();
  void MeasureApi();
  void MeasureResources();

  json GetJson(int node, const std::string& path, const std::string& token, int* status);
  int64_t LogSize(int node);

  Options o_;
  std::vector<Node> nodes_;  // [0] is the hub
  std::map<std::string, int> index_;
  std::vector<double> cumulative_;  // members' weights, cumulative (index = node - 1)
  std::set<std::string> holidays_;
  int64_t start_ms_ = 0;
  int64_t offset_ = 0;
  std::vector<Case> cases_;
  std::vector<std::vector<Task>> buckets_;
  std::mutex mu_;
  // counters
  std::array<std::atomic<long>, kKinds> ok_{}, retried_{}, abandoned_{}, failed_{};
  std::string first_failure_;
  bool first_failure_409_ = false;
  long left_open_ = 0;
  double ceiling_rate_ = 0, year_s_ = 0, slot_wait_s_ = 0;
  int64_t events_ = 0;
  std::vector<std::string> report_;
  std::map<std::string, std::string> figures_;  // for the BENCH_NATIONAL line
  bool ok_all_ = true;
};

void Sim::LoadNodes() {
  for (const auto& line : Lines(o_.fed_dir + "/nodes.txt")) {
    std::istringstream in(line);
    Node n;
    in >> n.code >> n.port;
    if (n.code.empty() || n.port <= 0) throw std::runtime_error("bad line in nodes.txt: " + line);
    index_[n.code] = static_cast<int>(nodes_.size());
    nodes_.push_back(n);
  }
  if (nodes_.empty() || nodes_[0].code != "00") throw std::runtime_error("nodes.txt: no hub first");
  for (const auto& line : Lines(o_.fed_dir + "/tokens.txt")) {
    std::istringstream in(line);
    std::string code, role, token;
    in >> code >> role >> token;
    auto it = index_.find(code);
    if (it == index_.end()) continue;
    if (role == "admin") nodes_[it->second].admin = token;
    if (role == "liaison") nodes_[it->second].liaison["dinas-pu"] = token;
  }
  for (auto& n : nodes_) {
    std::ifstream pid(o_.fed_dir + "/" + n.code + "/pid");
    pid >> n.pid;
    if (n.admin.empty()) throw std::runtime_error("no admin token for " + n.code);
  }
}

// A liaison of every agency on every member (kept in bench-tokens.txt for a second run).
void Sim::AddLiaisons() {
  const std::string path = o_.fed_dir + "/bench-tokens.txt";
  if (fs::exists(path)) {
    for (const auto& line : Lines(path)) {
      std::istringstream in(line);
      std::string code, agency, token;
      in >> code >> agency >> token;
      if (index_.count(code)) nodes_[index_[code]].liaison[agency] = token;
    }
  }
  std::vector<std::pair<int, std::string>> todo;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    for (const auto& a : kAgencies) {
      if (!nodes_[i].liaison.count(a.agency)) todo.emplace_back(static_cast<int>(i), a.agency);
    }
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::ofstream out(path, std::ios::app);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (size_t k; (k = next++) < todo.size();) {
        auto& [i, agency] = todo[k];
        auto r = lapor::testing::RunCommand(
            {o_.node_bin, "operator", "add", "--data-dir", o_.fed_dir + "/" + nodes_[i].code,
             "--name", agency + "-" + nodes_[i].code, "--role", "liaison", "--agency", agency});
        std::string token = r.output;
        while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
        token = token.substr(token.find_last_of('\n') + 1);
        if (r.exit_code != 0 || token.empty() || token.find(' ') != std::string::npos) {
          throw std::runtime_error("operator add at " + nodes_[i].code + ": " + r.output);
        }
        std::lock_guard<std::mutex> lock(mu);
        nodes_[i].liaison[agency] = token;
        out << nodes_[i].code << ' ' << agency << ' ' << token << '\n';
      }
    });
  }
  for (auto& t : threads) t.join();
}

void Sim::LoadWeights() {
  std::map<std::string, double> province_pop;
  for (const auto& line : Lines(o_.population)) {
    const auto comma = line.find(',');
    if (line.rfind("code", 0) == 0 || comma == std::string::npos) continue;
    province_pop[line.substr(0, comma)] = std::stod(line.substr(comma + 1));
  }
  std::map<std::string, std::vector<int>> regencies_of;  // province -> member regencies
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const auto& code = nodes_[i].code;
    if (code.size() > 2) regencies_of[code.substr(0, 2)].push_back(static_cast<int>(i));
  }
  double total = 0;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const auto& code = nodes_[i].code;
    const std::string prov = code.substr(0, 2);
    const double pop = province_pop.count(prov) ? province_pop[prov] : 0;
    const auto& regs = regencies_of[prov];
    const bool province_member = index_.count(prov) > 0;
    if (code.size() == 2) {
      nodes_[i].weight = regs.empty() ? pop : 0.25 * pop;
    } else {
      nodes_[i].weight = (province_member ? 0.75 : 1.0) * pop / static_cast<double>(regs.size());
    }
    total += nodes_[i].weight;
  }
  if (total <= 0) throw std::runtime_error("no member has a population share");
  double acc = 0;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    acc += nodes_[i].weight / total;
    cumulative_.push_back(acc);
  }
}

void Sim::LoadHolidays() {
  for (const auto& entry : fs::directory_iterator(o_.holidays)) {
    if (entry.path().extension() != ".txt") continue;
    for (const auto& line : Lines(entry.path())) {
      if (line.size() >= 10 && line[4] == '-') holidays_.insert(line.substr(0, 10));
    }
  }
}

void Sim::SetClock(int64_t sim_ms) {
  offset_ = sim_ms - WallMs();
  const std::string tmp = o_.offset_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << offset_ << '\n';
  }
  fs::rename(tmp, o_.offset_file);
  // Every node re-reads the file within 100 ms. Requests between nodes signed before the step and
  // checked after it are within the window national.sh sets (request_window_ms: two simulated
  // days), not the 5 minutes of real time.
  const double t = SteadyS();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  slot_wait_s_ += SteadyS() - t;
}

json Sim::GetJson(int node, const std::string& path, const std::string& token, int* status) {
  KeepAlive client(nodes_[node].port, 120);
  std::string reply;
  *status = client.Send("GET", path, token.empty() ? "" : "Authorization: Bearer " + token + "\r\n",
                        "", &reply);
  if (*status != 200) return json();
  return json::parse(reply, nullptr, false);
}

int64_t Sim::LogSize(int node) {
  KeepAlive client(nodes_[node].port);
  std::string reply;
  if (client.Send("GET", "/log/checkpoint", "", "", &reply) != 200) return -1;
  // c2sp.org/tlog-checkpoint: origin line, then the size.
  const auto nl = reply.find('\n');
  return nl == std::string::npos ? -1 : std::atoll(reply.c_str() + nl + 1);
}

// Schedules `kind` for case `idx` `wd_delay` working days after slot `slot`'s day, in a slot
// drawn by `u` (later than `slot` on the same day).
void Sim::Schedule(std::vector<std::pair<int, Task>>* out, uint32_t idx, Kind kind, int slot,
                   int wd_delay, double u) {
  int day = slot / kSlotsPerDay;
  int s = static_cast<int>(u * kSlotsPerDay) % kSlotsPerDay;
  int target_day = AddWorkingDays(day, wd_delay);
  if (target_day == day && s <= slot % kSlotsPerDay) {
    s = slot % kSlotsPerDay + 1;
    if (s >= kSlotsPerDay) {
      target_day = AddWorkingDays(day + 1, 0);
      s = 0;
    }
  }
  const int target = target_day * kSlotsPerDay + s;
  if (target_day >= o_.days) {
    std::lock_guard<std::mutex> lock(mu_);
    ++left_open_;
    return;
  }
  out->push_back({target, Task{idx, kind}});
}

// What follows a successful `done` on case idx, drawn from the case's own sequence.
void Sim::Next(std::vector<std::pair<int, Task>>* out, uint32_t idx, Kind done, int slot) {
  Case& c = cases_[idx];
  const double u = Draw(c, idx), v = Draw(c, idx), w = Draw(c, idx);
  auto respond_delay = [&] {
    return v < 0.85 ? static_cast<int>(w * 5) : 5 + static_cast<int>(w * 5);
  };
  switch (done) {
    case kFile:
      if (u < 0.03) return Schedule(out, idx, kArchive, slot, static_cast<int>(v * 3), w);
      if (u < 0.05) return Schedule(out, idx, kHold, slot, static_cast<int>(v * 2), w);
      {
        // Working days to verification: 35% the same day, 30% 1, 20% 2, 8% 3, 4% 4, 3% 5-7.
        static const std::vector<double> cum = {0.35, 0.65, 0.85, 0.93, 0.97, 0.98, 0.99, 1.0};
        return Schedule(out, idx, kVerify, slot, static_cast<int>(PickCumulative(cum, v)), w);
      }
    case kHold:
      return Schedule(out, idx, kVerify, slot, 1 + static_cast<int>(v * 3), w);
    case kVerify:
      if (u < 0.10) return Schedule(out, idx, kDispose, slot, static_cast<int>(v * 3), w);
      [[fallthrough]];
    case kDispose:
      if (u < 0.55) return Schedule(out, idx, kProcess, slot, static_cast<int>(v * 3), w);
      return Schedule(out, idx, kRespond, slot, respond_delay(), w);
    case kProcess:
      return Schedule(out, idx, kRespond, slot, respond_delay(), w);
    case kRespond:
      if (c.answered_again) return;  // the case ends in the owner's auto-completion
      if (u < 0.15) return Schedule(out, idx, kReply, slot, 1 + static_cast<int>(v * 5), w);
      if (u < 0.25) return Schedule(out, idx, kComplete, slot, 1 + static_cast<int>(v * 3), w);
      // Auto-completed 10 working days after the response; then some reporters rate or reopen.
      if (u < 0.33) return Schedule(out, idx, kRate, slot, 11 + static_cast<int>(v * 4), w);
      if (u < 0.35) return Schedule(out, idx, kReopen, slot, 11 + static_cast<int>(v * 4), w);
      return;
    case kComplete:
      if (u < 0.08) return Schedule(out, idx, kRate, slot, 1 + static_cast<int>(v * 5), w);
      if (u < 0.10) return Schedule(out, idx, kReopen, slot, 1 + static_cast<int>(v * 5), w);
      return;
    case kReply:
    case kReopen:
      c.answered_again = true;
      return Schedule(out, idx, kRespond, slot, 1 + static_cast<int>(v * 4), w);
    default:
      return;
  }
}

std::string Sim::Body(const Case& c, uint32_t idx, Kind k, std::string* auth) const {
  const Node& owner = nodes_[c.owner];
  auth->clear();
  json b;
  switch (k) {
    case kFile: {
      const std::string place = "Kelurahan " + std::to_string(idx % 997) + ", " + owner.code;
      b = {{"title", std::string(kAgencies[c.agency].category) + ": laporan warga di " + place},
           {"description",
            "Warga melaporkan masalah layanan publik di " + place +
                " yang belum ditangani sejak beberapa minggu. Mohon ditindaklanjuti oleh instansi "
                "yang berwenang agar tidak membahayakan warga sekitar. Nomor " +
                std::to_string(idx)},
           {"category", kAgencies[c.agency].category},
           {"report_type", kReportTypes[c.type].name},
           {"region_code", owner.code},
           {"channel", idx % 3 == 0 ? "app" : "web"},
           {"reporter", {{"name", "Pelapor " + std::to_string(idx)}, {"phone", "+628120000000"}}}};
      if (c.anonymous) b["anonymous"] = true;
      if (c.confidential) b["confidential"] = true;
      return b.dump();
    }
    case kVerify:
      b = {{"action", "verify"}, {"agency", kAgencies[c.agency].agency}};
      break;
    case kArchive:
      b = {{"action", "archive"}, {"reason", "not_actionable"}};
      break;
    case kHold:
      b = {{"action", "hold"}, {"note", "Mohon lengkapi lokasi."}};
      break;
    case kDispose:
      b = {{"action", "dispose"}, {"agency", kAgencies[(c.agency + 1) % kAgencies.size()].agency}};
      break;
    case kProcess:
      b = {{"action", "process"}};
      break;
    case kRespond:
      b = {{"action", "respond"}, {"note", "Sudah ditindaklanjuti oleh petugas lapangan."}};
      break;
    case kComplete:
      b = {{"action", "complete"}};
      break;
    case kReply:
      b = {{"action", "reply"},
           {"note", "Belum selesai, mohon dicek lagi."},
           {"access_code", c.access_code}};
      break;
    case kRate:
      b = {{"action", "rate"},
           {"rating", 1 + static_cast<int>(idx % 5)},
           {"access_code", c.access_code}};
      break;
    case kReopen:
      b = {{"action", "reopen"}, {"note", "Masalah muncul lagi."}, {"access_code", c.access_code}};
      break;
    default:
      break;
  }
  if (k == kVerify || k == kArchive || k == kHold || k == kDispose) *auth = owner.admin;
  if (k == kProcess || k == kRespond || k == kComplete) {
    auto it = owner.liaison.find(kAgencies[c.agency].agency);
    if (it != owner.liaison.end()) *auth = it->second;
  }
  return b.dump();
}

void Sim::RunSlot(int slot, std::vector<Task>& tasks) {
  // Grouped by the node they go to, in chunks, so that a worker reuses its connection.
  std::stable_sort(tasks.begin(), tasks.end(), [&](const Task& a, const Task& b) {
    return Target(cases_[a.case_idx], a.kind) < Target(cases_[b.case_idx], b.kind);
  });
  std::vector<std::pair<size_t, size_t>> chunks;
  for (size_t i = 0; i < tasks.size();) {
    const int node = Target(cases_[tasks[i].case_idx], tasks[i].kind);
    size_t j = i;
    while (j < tasks.size() && j - i < 16 &&
           Target(cases_[tasks[j].case_idx], tasks[j].kind) == node) {
      ++j;
    }
    chunks.emplace_back(i, j);
    i = j;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  const int n_workers = std::max(1, std::min<int>(o_.workers, static_cast<int>(chunks.size())));
  for (int t = 0; t < n_workers; ++t) {
    threads.emplace_back([&] {
      std::unordered_map<int, std::unique_ptr<KeepAlive>> conns;
      std::vector<std::pair<int, Task>> scheduled;
      std::string reply, auth;
      for (size_t k; (k = next++) < chunks.size();) {
        for (size_t i = chunks[k].first; i < chunks[k].second; ++i) {
          const Task task = tasks[i];
          Case& c = cases_[task.case_idx];
          const int node = Target(c, task.kind);
          if (!conns.count(node)) {
            if (conns.size() >= 96) conns.clear();  // bounded: a worker visits many nodes
            conns[node] = std::make_unique<KeepAlive>(nodes_[node].port, 120);
          }
          const std::string body = Body(c, task.case_idx, task.kind, &auth);
          const std::string path =
              task.kind == kFile ? "/api/v1/complaints" : "/api/v1/complaints/" + c.id + "/actions";
          const int status = conns[node]->Send(
              "POST", path, auth.empty() ? "" : "Authorization: Bearer " + auth + "\r\n", body,
              &reply);
          const bool done = task.kind == kFile ? status == 201 : status == 200;
          if (done) {
            if (task.kind == kFile) {
              json r = json::parse(reply, nullptr, false);
              c.id = r.value("tracking_id", "");
              c.access_code = r.value("access_code", "");
            }
            if (task.kind == kDispose)
              c.agency = static_cast<uint8_t>((c.agency + 1) % kAgencies.size());
            c.retries = 0;
            ++ok_[task.kind];
            Next(&scheduled, task.case_idx, task.kind, slot);
          } else if (((status == 0 || status == 404 || status == 409 || status == 503) &&
                      task.kind != kFile && c.retries < kMaxRetries) ||
                     (status == 503 && task.kind == kFile && c.retries < kMaxRetries)) {
            // Not ready yet (the case is on its way to the owner, the owner's answer on its way
            // to the reporter's member, the auto-completion not done): the next slot.
            ++c.retries;
            ++retried_[task.kind];
            scheduled.push_back({slot + 1, task});
          } else {
            ++(status == 0 || status == 404 || status == 409 || status == 503 ? abandoned_
                                                                              : failed_)[task.kind];
            std::lock_guard<std::mutex> lock(mu_);
            if (first_failure_.empty() || (status != 409 && first_failure_409_)) {
              first_failure_409_ = status == 409;
              first_failure_ = std::string(kKindNames[task.kind]) + " " + c.id + " at " +
                               nodes_[node].code + ": HTTP " + std::to_string(status) + " " +
                               reply.substr(0, 300);
            }
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [at, t] : scheduled) {
        if (at / kSlotsPerDay >= o_.days) {
          ++left_open_;
          continue;
        }
        if (static_cast<size_t>(at) >= buckets_.size()) buckets_.resize(at + 1);
        buckets_[at].push_back(t);
      }
    });
  }
  for (auto& t : threads) t.join();
}

// One member's own filing rate, on all the workers' connections.
void Sim::Ceiling() {
  if (o_.ceiling <= 0) return;
  auto it = index_.find(o_.ceiling_node);
  if (it == index_.end())
    throw std::runtime_error("no member " + o_.ceiling_node + " for the ceiling");
  const uint16_t node = static_cast<uint16_t>(it->second);
  std::vector<Task> tasks;
  for (long i = 0; i < o_.ceiling; ++i) {
    Case c;
    const uint32_t idx = static_cast<uint32_t>(cases_.size());
    c.origin = c.owner = node;
    c.agency = static_cast<uint8_t>(Unit(o_.seed, idx, 250) * kAgencies.size());
    c.step = 0;
    cases_.push_back(c);
    tasks.push_back({idx, kFile});
  }
  const double t0 = SteadyS();
  RunSlot(0, tasks);
  const double s = SteadyS() - t0;
  ceiling_rate_ = static_cast<double>(ok_[kFile].load()) / s;
  char line[200];
  std::snprintf(line, sizeof line,
                "ceiling: %ld complaints at %s about its own region in %.1f s: %.0f/s", o_.ceiling,
                o_.ceiling_node.c_str(), s, ceiling_rate_);
  report_.push_back(line);
  std::printf("%s\n", line);
}

int Sim::Run() {
  LoadNodes();
  LoadWeights();
  LoadHolidays();
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  std::printf("%zu nodes (hub + %zu members); adding a liaison per agency per member...\n",
              nodes_.size(), nodes_.size() - 1);
  std::fflush(stdout);
  AddLiaisons();
  if (o_.liaisons_only) return 0;

  // The year starts at the Monday 00:00 WIB after tomorrow (1970-01-05 was a Monday).
  const int64_t now = WallMs() + kDayMs;
  const int64_t monday0 = 4 * kDayMs - 7 * kHourMs;  // 1970-01-05 00:00 WIB in UTC ms
  start_ms_ = monday0 + ((now - monday0) / (7 * kDayMs) + 1) * 7 * kDayMs;
  std::printf("simulated year from %s (WIB midnight), %d days, %ld complaints\n",
              lapor::FormatUtc(start_ms_).c_str(), o_.days, o_.complaints);

  // Every filing of the year, by slot: the day by weight (weekends and holidays at half), the
  // reporter's member by population, the region by cross_share.
  std::vector<double> day_cum;
  double acc = 0;
  for (int d = 0; d < o_.days; ++d) {
    acc += Working(d) ? 1.0 : 0.5;
    day_cum.push_back(acc);
  }
  buckets_.assign(static_cast<size_t>(o_.days) * kSlotsPerDay, {});
  cases_.reserve(static_cast<size_t>(std::max(0L, o_.ceiling) + o_.complaints));
  SetClock(start_ms_ - kDayMs + 9 * kHourMs);  // the ceiling, on the Sunday before
  auto log_sizes = [&] {
    std::vector<int64_t> v;
    for (size_t i = 0; i < nodes_.size(); ++i) v.push_back(LogSize(static_cast<int>(i)));
    return v;
  };
  Ceiling();
  const std::vector<int64_t> sizes_before = log_sizes();
  for (long i = 0; i < o_.complaints; ++i) {
    const uint32_t idx = static_cast<uint32_t>(cases_.size());
    Case c;
    const size_t origin = PickCumulative(cumulative_, Unit(o_.seed, idx, 200)) + 1;
    size_t owner = origin;
    if (Unit(o_.seed, idx, 201) < o_.cross_share && nodes_.size() > 2) {
      for (int tries = 0; tries < 64 && owner == origin; ++tries) {
        owner = PickCumulative(cumulative_, Unit(o_.seed, idx, 210 + tries)) + 1;
      }
    }
    c.origin = static_cast<uint16_t>(origin);
    c.owner = static_cast<uint16_t>(owner);
    {
      double u = Unit(o_.seed, idx, 202), a = 0;
      for (size_t k = 0; k < kAgencies.size(); ++k) {
        a += kAgencies[k].share;
        if (u < a || k + 1 == kAgencies.size()) {
          c.agency = static_cast<uint8_t>(k);
          break;
        }
      }
      u = Unit(o_.seed, idx, 203), a = 0;
      for (size_t k = 0; k < kReportTypes.size(); ++k) {
        a += kReportTypes[k].share;
        if (u < a || k + 1 == kReportTypes.size()) {
          c.type = static_cast<uint8_t>(k);
          break;
        }
      }
    }
    c.confidential = Unit(o_.seed, idx, 204) < 0.05;
    c.anonymous = !c.confidential && Unit(o_.seed, idx, 205) < 0.10;
    const int day = static_cast<int>(PickCumulative(day_cum, Unit(o_.seed, idx, 206)));
    const int slot = day * kSlotsPerDay + static_cast<int>(Unit(o_.seed, idx, 207) * kSlotsPerDay);
    cases_.push_back(c);
    buckets_[slot].push_back({idx, kFile});
  }

  // The year.
  auto hub_ticks = [&] { return ProcTicks("/proc/" + std::to_string(nodes_[0].pid) + "/stat"); };
  const long long hub_ticks0 = hub_ticks();
  const double t0 = SteadyS();
  const int last_slot = o_.days * kSlotsPerDay;
  for (int slot = 0; slot < last_slot; ++slot) {
    SetClock(SlotMs(slot));
    std::vector<Task> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(buckets_[slot]);
    }
    RunSlot(slot, tasks);
    if (slot % (kSlotsPerDay * 7) == kSlotsPerDay * 7 - 1 || slot + 1 == last_slot) {
      std::printf(
          "day %3d: %.0f s, filed %ld, actions %ld, retried %ld\n", slot / kSlotsPerDay + 1,
          SteadyS() - t0, ok_[kFile].load(),
          [&] {
            long n = 0;
            for (int k = 1; k < kKinds; ++k) n += ok_[k].load();
            return n;
          }(),
          [&] {
            long n = 0;
            for (int k = 0; k < kKinds; ++k) n += retried_[k].load();
            return n;
          }());
      std::fflush(stdout);
    }
  }
  year_s_ = SteadyS() - t0;
  const std::vector<int64_t> sizes_after = log_sizes();
  const double hub_cores = static_cast<double>(hub_ticks() - hub_ticks0) /
                           static_cast<double>(sysconf(_SC_CLK_TCK)) / year_s_;
  // The year's last slot is done; what the nodes still sign by themselves (escalations,
  // auto-completions at the end of the day) counts once they have settled.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (sizes_after[i] >= 0 && sizes_before[i] >= 0) events_ += sizes_after[i] - sizes_before[i];
  }
  const bool settled = Settle();

  long actions = 0, retried = 0, abandoned = 0, failed = 0;
  for (int k = 0; k < kKinds; ++k) {
    if (k != kFile) actions += ok_[k];
    retried += retried_[k];
    abandoned += abandoned_[k];
    failed += failed_[k];
  }
  char line[400];
  std::snprintf(line, sizeof line,
                "year: %d days in %.0f s wall (%.0f s of it waiting for the clocks to move): %ld "
                "complaints filed (%ld in the ceiling), %ld actions; %ld retried in a later slot, "
                "%ld given up, %ld refused; %ld actions fell after the year's end",
                o_.days, year_s_, slot_wait_s_, ok_[kFile].load(), o_.ceiling, actions, retried,
                abandoned, failed, left_open_);
  report_.push_back(line);
  std::string by_kind = "by action:";
  for (int k = 0; k < kKinds; ++k) {
    by_kind += " " + std::string(kKindNames[k]) + " " + std::to_string(ok_[k].load());
    if (retried_[k] + abandoned_[k] + failed_[k] > 0) {
      by_kind += " (" + std::to_string(retried_[k].load()) + " retried, " +
                 std::to_string(abandoned_[k].load()) + " given up, " +
                 std::to_string(failed_[k].load()) + " refused)";
    }
  }
  report_.push_back(by_kind);
  if (!first_failure_.empty()) report_.push_back("first failure: " + first_failure_);
  const double eps = static_cast<double>(events_) / year_s_;
  std::snprintf(line, sizeof line,
                "events signed across the federation: %lld, %.0f/s over the year's wall time = "
                "%.3f of the one-node filing ceiling (%.0f/s); the hub used %.2f cores",
                static_cast<long long>(events_), eps, ceiling_rate_ > 0 ? eps / ceiling_rate_ : 0,
                ceiling_rate_, hub_cores);
  report_.push_back(line);
  figures_["wall_s"] = std::to_string(static_cast<long>(year_s_));
  figures_["complaints"] = std::to_string(ok_[kFile].load());
  figures_["actions"] = std::to_string(actions);
  figures_["events"] = std::to_string(events_);
  figures_["eps"] = std::to_string(static_cast<long>(eps));
  figures_["ceiling_per_s"] = std::to_string(static_cast<long>(ceiling_rate_));
  snprintf(line, sizeof line, "%.3f", ceiling_rate_ > 0 ? eps / ceiling_rate_ : 0);
  figures_["eps_of_ceiling"] = line;
  snprintf(line, sizeof line, "%.2f", hub_cores);
  figures_["hub_cores"] = line;
  if (failed > 0) ok_all_ = false;
  // An action given up after kMaxRetries slots is one the federation never became ready for (a
  // case that never reached its owner, an answer that never reached the reporter's member).
  if (abandoned > std::max<long>(10, actions / 1000)) {
    report_.push_back("actions: FAILED: " + std::to_string(abandoned) + " given up");
    ok_all_ = false;
  }

  bool checks = settled;
  if (settled) {
    checks = CompareTotals() && checks;
    checks = CheckCases() && checks;
    checks = Audit() && checks;
  }
  MeasureApi();
  MeasureResources();
  ok_all_ = ok_all_ && checks;

  std::printf("\n==== national simulation ====\n");
  for (const auto& l : report_) std::printf("%s\n", l.c_str());
  std::printf("BENCH_NATIONAL");
  for (const auto& [k, v] : figures_) std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf(" checks=%s\n", ok_all_ ? "PASS" : "FAIL");
  return ok_all_ ? 0 : 1;
}

// Until no node has anything left to deliver and every member's latest report at the hub is
// dated after that.
bool Sim::Settle() {
  const double t0 = SteadyS();
  const double deadline = t0 + o_.settle_timeout_s;
  // Until nothing is left to deliver and no node signed anything since the last look (the nodes'
  // own escalations and auto-completions due by now included).
  long backlog = 0;
  for (std::vector<int64_t> last;;) {
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < nodes_.size(); ++i) sizes.push_back(LogSize(static_cast<int>(i)));
    backlog = 0;
    int down = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      int status = 0;
      json j = GetJson(static_cast<int>(i), "/federation/v1/status", nodes_[i].admin, &status);
      if (status != 200) {
        ++down;
        continue;
      }
      for (const auto& d : j.value("destinations", json::array()))
        backlog += d.value("backlog", 0L);
    }
    if (backlog == 0 && down == 0 && sizes == last) break;
    last = std::move(sizes);
    if (SteadyS() > deadline) {
      report_.push_back("settle: FAILED: " + std::to_string(backlog) + " items still to deliver, " +
                        std::to_string(down) + " nodes not answering, after " +
                        std::to_string(o_.settle_timeout_s) + " s");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  const double delivered_s = SteadyS() - t0;
  const int64_t quiet = SimNow();
  std::string late;
  for (;;) {
    int status = 0;
    json j = GetJson(0, "/national/v1/alerts", nodes_[0].admin, &status);
    late.clear();
    size_t n = 0;
    if (status == 200) {
      for (const auto& m : j.value("members", json::array())) {
        ++n;
        const auto t = m["last_report"].is_string()
                           ? lapor::ParseUtc(m["last_report"].get<std::string>())
                           : std::nullopt;
        if (!t || *t <= quiet) late += (late.empty() ? "" : " ") + m.value("node_id", "?");
      }
    }
    if (status == 200 && late.empty() && n + 1 == nodes_.size()) break;
    if (SteadyS() > deadline) {
      report_.push_back("settle: FAILED: no report after the last delivery from: " +
                        late.substr(0, 300));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  // Each node caches its own /api/v1/stats for 30 s.
  std::this_thread::sleep_for(std::chrono::seconds(31));
  char line[200];
  std::snprintf(line, sizeof line,
                "settle: every delivery done %.0f s after the year, every member's report after "
                "it %.0f s after the year",
                delivered_s, SteadyS() - t0);
  report_.push_back(line);
  return true;
}

// The hub's totals equal the members' own, summed, figure by figure (shares and medians are not
// sums).
bool Sim::CompareTotals() {
  static constexpr std::array<const char*, 5> kSummed = {"totals", "by_status", "by_report_type",
                                                         "by_category", "by_agency"};
  for (int attempt = 0; attempt < 3; ++attempt) {
    int status = 0;
    json hub = GetJson(0, "/national/v1/stats", nodes_[0].admin, &status);
    if (status != 200) {
      report_.push_back("totals: FAILED: the hub's /national/v1/stats answered " +
                        std::to_string(status));
      return false;
    }
    std::map<std::string, int64_t> sum;
    std::function<void(const std::string&, const json&, std::map<std::string, int64_t>*)> add =
        [&](const std::string& prefix, const json& j, std::map<std::string, int64_t>* out) {
          for (auto it = j.begin(); it != j.end(); ++it) {
            const std::string key = prefix + "." + it.key();
            if (it->is_object()) {
              add(key, *it, out);
            } else if (it->is_number_integer() && key.find("share") == std::string::npos &&
                       key.find("median") == std::string::npos) {
              (*out)[key] += it->get<int64_t>();
            }
          }
        };
    bool members_ok = true;
    for (size_t i = 1; i < nodes_.size(); ++i) {
      json own = GetJson(static_cast<int>(i), "/api/v1/stats", nodes_[i].admin, &status);
      if (status != 200) {
        members_ok = false;
        break;
      }
      for (const char* k : kSummed) add(k, own.value(k, json::object()), &sum);
    }
    std::map<std::string, int64_t> national;
    for (const char* k : kSummed) add(k, hub.value(k, json::object()), &national);
    std::string diff;
    for (const auto& [k, v] : national) {
      if (sum[k] != v)
        diff +=
            " " + k + ": hub " + std::to_string(v) + ", members " + std::to_string(sum[k]) + ";";
    }
    for (const auto& [k, v] : sum) {
      if (!national.count(k) && v != 0) diff += " " + k + ": only at the members;";
    }
    // An independent count: every complaint the driver saw acknowledged (and federation.sh's
    // sample), nothing else, nothing lost.
    const int64_t filed = ok_[kFile].load() + (fs::exists(o_.fed_dir + "/sample.txt") ? 1 : 0);
    if (national["totals.cases"] != filed) {
      diff += " cases: hub " + std::to_string(national["totals.cases"]) + ", acknowledged " +
              std::to_string(filed) + ";";
    }
    if (members_ok && diff.empty() && !national.empty()) {
      report_.push_back("totals: the hub's national totals equal the sum of the " +
                        std::to_string(nodes_.size() - 1) + " members' own (" +
                        std::to_string(national.size()) +
                        " figures; cases, as many as complaints acknowledged: " +
                        std::to_string(national["totals.cases"]) + ", selesai " +
                        std::to_string(national["by_status.selesai"]) + ", escalated " +
                        std::to_string(national["totals.escalated"]) + ", overdue " +
                        std::to_string(national["totals.overdue"]) + ")");
      figures_["national_cases"] = std::to_string(national["totals.cases"]);
      return true;
    }
    if (attempt == 2) {
      report_.push_back("totals: FAILED:" + (members_ok ? diff.substr(0, 600)
                                                        : std::string(" a member did not answer")));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::seconds(40));
  }
  return false;
}

// Per case, the count and XOR of its event hashes at one node.
struct Digest {
  uint32_t n = 0;
  std::array<uint64_t, 4> x{};
  bool operator==(const Digest& o) const { return n == o.n && x == o.x; }
};

std::unordered_map<std::string, Digest> ReadDigests(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 10000);
  std::unordered_map<std::string, Digest> out;
  const char* sql =
      "SELECT c.case_id, e.hash FROM events e JOIN cases c ON c.ref = e.case_ref "
      "UNION ALL SELECT c.case_id, f.hash FROM foreign_events f JOIN cases c ON c.ref = f.case_ref";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    std::string e = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("sqlite: " + e);
  }
  // One read transaction: a consistent snapshot of the node.
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char* id = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    const auto* h = static_cast<const unsigned char*>(sqlite3_column_blob(st, 1));
    const int len = sqlite3_column_bytes(st, 1);
    Digest& d = out[id != nullptr ? id : ""];
    ++d.n;
    for (int i = 0; i < 4 && (i + 1) * 8 <= len; ++i) {
      uint64_t v;
      std::memcpy(&v, h + i * 8, 8);
      d.x[i] ^= v;
    }
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return out;
}

// Every case the hub holds has the same events at every node that holds it; every
// cross-jurisdiction case is at its origin, its owner and the hub.
bool Sim::CheckCases() {
  const double t0 = SteadyS();
  auto hub = ReadDigests(o_.fed_dir + "/00/lapor.db");
  std::unordered_map<std::string, uint32_t> by_id;  // tracking id -> case index
  by_id.reserve(cases_.size());
  for (uint32_t i = 0; i < cases_.size(); ++i) {
    if (!cases_[i].id.empty()) by_id[cases_[i].id] = i;
  }
  long cross = 0, missing = 0, differ = 0, compared = 0;
  std::string first;
  std::vector<std::unordered_set<uint32_t>> seen_at(nodes_.size());
  for (size_t n = 1; n < nodes_.size(); ++n) {
    auto mine = ReadDigests(o_.fed_dir + "/" + nodes_[n].code + "/lapor.db");
    for (const auto& [id, d] : mine) {
      auto it = by_id.find(id);
      if (it != by_id.end()) seen_at[n].insert(it->second);
      auto h = hub.find(id);
      if (h == hub.end()) continue;
      ++compared;
      if (!(h->second == d)) {
        ++differ;
        if (first.empty()) {
          first = id + " differs at " + nodes_[n].code + " (" + std::to_string(d.n) +
                  " events) and the hub (" + std::to_string(h->second.n) + ")";
        }
      }
    }
  }
  for (uint32_t i = 0; i < cases_.size(); ++i) {
    const Case& c = cases_[i];
    if (c.id.empty() || c.origin == c.owner) continue;
    ++cross;
    const bool ok = hub.count(c.id) && seen_at[c.origin].count(i) && seen_at[c.owner].count(i);
    if (!ok) {
      ++missing;
      if (first.empty()) first = c.id + " is missing at its origin, owner or the hub";
    }
  }
  char line[400];
  std::snprintf(
      line, sizeof line,
      "cases: %ld cross-jurisdiction cases each at its origin, owner and the hub; %zu "
      "cases at the hub compared at the %ld member copies: %ld differ, %ld missing (%.0f s)%s%s",
      cross, hub.size(), compared, differ, missing, SteadyS() - t0,
      first.empty() ? "" : "; first: ", first.c_str());
  report_.push_back(line);
  figures_["cross_cases"] = std::to_string(cross);
  return differ == 0 && missing == 0 && cross > 0;
}

// lapor-audit verify on the hub, the busiest member and a few others.
bool Sim::Audit() {
  std::vector<int> sample = {0};
  int busiest = 1;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    if (nodes_[i].weight > nodes_[busiest].weight) busiest = static_cast<int>(i);
  }
  sample.push_back(busiest);
  for (int k = 0; static_cast<int>(sample.size()) < o_.audit_sample && k < 1000; ++k) {
    const int i = 1 + static_cast<int>(Unit(o_.seed, 777, k) * (nodes_.size() - 1));
    if (std::find(sample.begin(), sample.end(), i) == sample.end()) sample.push_back(i);
  }
  const std::string manifest = o_.fed_dir + "/bench-manifest.bin";
  {
    // The hub may be busy with the members' reports: a few tries, a fresh connection each.
    std::string body;
    int status = 0;
    for (int attempt = 0; attempt < 20 && status != 200; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      KeepAlive client(nodes_[0].port);
      status = client.Send("GET", "/federation/v1/manifest", "", "", &body);
    }
    if (status != 200) {
      report_.push_back("audit: FAILED: no manifest from the hub (last answer: HTTP " +
                        std::to_string(status) + ", 0 = no answer; 20 tries)");
      return false;
    }
    std::ofstream(manifest, std::ios::binary) << body;
  }
  std::string hub_key;
  {
    std::ifstream in(o_.fed_dir + "/00/node.json");
    json j = json::parse(in, nullptr, false);
    hub_key = j.value("public_key", "");
  }
  bool ok = true;
  std::string names;
  const double t0 = SteadyS();
  for (int i : sample) {
    KeepAlive client(nodes_[i].port);
    std::string vkey;
    client.Send("GET", "/log/vkey", "", "", &vkey);
    while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == ' ')) vkey.pop_back();
    const std::string url = "http://127.0.0.1:" + std::to_string(nodes_[i].port);
    auto r = lapor::testing::RunCommand({o_.audit_bin, "verify", "--url", url, "--vkey", vkey,
                                         "--manifest", manifest, "--hub-key", hub_key,
                                         "--case-events-token", nodes_[i].admin});
    names += (names.empty() ? "" : " ") + nodes_[i].code + (r.exit_code == 0 ? "" : "(FAILED)");
    if (r.exit_code != 0) {
      ok = false;
      std::printf("lapor-audit verify %s FAILED:\n%s\n", nodes_[i].code.c_str(),
                  r.output.substr(0, 3000).c_str());
    }
  }
  char line[200];
  std::snprintf(line, sizeof line, " (%.0f s, with every case's chain across logs)",
                SteadyS() - t0);
  report_.push_back("audit: lapor-audit verify " + std::string(ok ? "passed" : "FAILED") + " on " +
                    names + line);
  return ok;
}

// The national API over the year's data: a fixed mix of queries, one client, --api-rounds times.
void Sim::MeasureApi() {
  // Dates are 00:00 WIB: start_ms_ is that, so its UTC date is the day before.
  const auto wib = [&](int d) {
    return lapor::FormatUtc(start_ms_ + static_cast<int64_t>(d) * kDayMs + 7 * kHourMs)
        .substr(0, 10);
  };
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"totals", "/national/v1/stats"},
      {"province", "/national/v1/stats?province=32"},
      {"regency", "/national/v1/stats?regency=32.04"},
      {"category", "/national/v1/stats?category=kesehatan"},
      {"type+agency", "/national/v1/stats?report_type=pengaduan&agency=dinas-pu"},
      {"half-year", "/national/v1/stats?from=" + wib(o_.days / 2) + "&to=" + wib(o_.days - 1)},
      {"12 weeks", "/national/v1/stats?weeks=12"},
      {"52 weeks", "/national/v1/stats?weeks=52"},
      {"csv", "/national/v1/stats?format=csv"},
      {"alerts", "/national/v1/alerts"},
  };
  std::map<std::string, std::vector<double>> lat;
  std::vector<double> all;
  std::map<std::string, double> first;
  KeepAlive client(nodes_[0].port, 300);
  std::string reply;
  const std::string auth = "Authorization: Bearer " + nodes_[0].admin + "\r\n";
  int errors = 0;
  for (int r = 0; r < o_.api_rounds; ++r) {
    for (const auto& [name, path] : queries) {
      const double t = SteadyS();
      const int status = client.Send("GET", path, auth, "", &reply);
      const double ms = (SteadyS() - t) * 1000;
      if (status != 200) {
        ++errors;
        if (errors == 1)
          report_.push_back("api: " + path + " answered " + std::to_string(status) + " " +
                            reply.substr(0, 200));
      }
      if (r == 0) first[name] = ms;
      lat[name].push_back(ms);
      all.push_back(ms);
    }
  }
  std::sort(all.begin(), all.end());
  std::string per = "api per query (first call / p50 / p95 ms):";
  for (const auto& [name, path] : queries) {
    auto v = lat[name];
    std::sort(v.begin(), v.end());
    char b[120];
    std::snprintf(b, sizeof b, " %s %.0f/%.0f/%.0f;", name.c_str(), first[name], Pct(v, 0.5),
                  Pct(v, 0.95));
    per += b;
  }
  char line[300];
  std::snprintf(
      line, sizeof line,
      "api: %zu national queries over the year's data: p50 %.1f ms, p95 %.1f ms, max %.0f "
      "ms (goal p95 < 100 ms: %.2f of it); %d errors",
      all.size(), Pct(all, 0.5), Pct(all, 0.95), all.empty() ? 0.0 : all.back(),
      Pct(all, 0.95) / 100.0, errors);
  report_.push_back(line);
  report_.push_back(per);
  std::snprintf(line, sizeof line, "%.1f", Pct(all, 0.95));
  figures_["api_p95_ms"] = line;
  if (errors > 0) ok_all_ = false;
}

void Sim::MeasureResources() {
  std::vector<long> rss;  // kB, members
  long hub_rss = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::ifstream in("/proc/" + std::to_string(nodes_[i].pid) + "/status");
    for (std::string l; std::getline(in, l);) {
      if (l.rfind("VmRSS:", 0) == 0) {
        const long kb = std::atol(l.c_str() + 6);
        if (i == 0) {
          hub_rss = kb;
        } else {
          rss.push_back(kb);
        }
      }
    }
  }
  std::sort(rss.begin(), rss.end());
  long total = hub_rss;
  for (long r : rss) total += r;
  auto du = [](const std::string& dir) {
    uintmax_t bytes = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!ec && it->is_regular_file(ec)) bytes += it->file_size(ec);
    }
    return bytes;
  };
  const double hub_mb = static_cast<double>(du(o_.fed_dir + "/00")) / 1e6;
  const double all_mb = static_cast<double>(du(o_.fed_dir)) / 1e6;
  char line[300];
  std::snprintf(line, sizeof line,
                "resources: RSS per member min %.0f / median %.0f / max %.0f MB, hub %.0f MB, all "
                "nodes %.1f GB; disk: hub %.0f MB, all nodes %.1f GB",
                rss.empty() ? 0.0 : rss.front() / 1024.0, Pct(rss, 0.5) / 1024.0,
                rss.empty() ? 0.0 : rss.back() / 1024.0, hub_rss / 1024.0, total / 1048576.0,
                hub_mb, all_mb / 1000);
  report_.push_back(line);
  figures_["rss_median_mb"] = std::to_string(Pct(rss, 0.5) / 1024);
  figures_["hub_disk_mb"] = std::to_string(static_cast<long>(hub_mb));
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Sim::Options o;
  CLI::App app{"lapor-bench-national: a simulated national year across a running federation"};
  app.add_option("--fed-dir", o.fed_dir, "the federation folder (deploy/federation.sh)")
      ->required();
  app.add_option("--offset-file", o.offset_file, "the nodes' LAPOR_CLOCK_OFFSET_FILE")->required();
  app.add_option("--node-bin", o.node_bin, "lapor-node")->required();
  app.add_option("--audit-bin", o.audit_bin, "lapor-audit")->required();
  app.add_option("--population", o.population, "bench/population.csv")->required();
  app.add_option("--holidays", o.holidays, "data/holidays")->required();
  app.add_option("--complaints", o.complaints, "complaints over the year");
  app.add_option("--days", o.days, "days simulated")->check(CLI::Range(7, 3660));
  app.add_option("--cross-share", o.cross_share, "share about another member's region")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--workers", o.workers, "concurrent connections")->check(CLI::Range(1, 512));
  app.add_option("--seed", o.seed, "the draws' seed");
  app.add_option("--ceiling", o.ceiling, "complaints of the one-node ceiling (0: none)");
  app.add_option("--ceiling-node", o.ceiling_node, "the member that takes them");
  app.add_option("--api-rounds", o.api_rounds, "rounds of the national API query mix");
  app.add_option("--audit-sample", o.audit_sample, "nodes lapor-audit verifies");
  app.add_option("--settle-timeout-s", o.settle_timeout_s,
                 "how long deliveries may take to finish");
  app.add_flag("--liaisons-only", o.liaisons_only,
               "only add the liaisons (with the nodes stopped: operator add is a process each)");
  CLI11_PARSE(app, argc, argv);
  try {
    Sim sim(o);
    return sim.Run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lapor-bench-national: %s\n", e.what());
    return 2;
  }
}
