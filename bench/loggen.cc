// lapor-bench-loggen: fills a node's data folder with N real, signed complaint events quickly
// (in-process through CaseService, no HTTP), for benchmarks of the log and the auditor.
//   lapor-bench-loggen DATA_DIR COUNT [THREADS]
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "node/case_service.h"
#include "node/data_dir.h"

using namespace lapor;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: lapor-bench-loggen DATA_DIR COUNT [THREADS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const long count = std::atol(argv[2]);
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  node::DataDir data(dir);
  auto config = data.LoadConfig();
  auto key = data.LoadSigningKey();
  auto sealing = data.LoadSealingKey();
  if (!config.ok() || !key.ok() || !sealing.ok()) {
    std::fprintf(stderr, "not a node data folder: %s\n", dir.c_str());
    return 2;
  }
  auto store = storage::Store::Open(data.DatabasePath());
  if (!store.ok()) return 2;
  node::CaseServiceOptions o;
  o.node_id = config->node_id;
  o.jurisdiction = config->jurisdiction;
  o.key = std::make_shared<const crypto::SigningKey>(std::move(*key));
  o.sealing_key = *sealing;
  auto svc =
      node::CaseService::Open(o, store->get(), std::make_shared<protocol::WorkingCalendar>());
  if (!svc.ok()) return 2;

  std::atomic<long> next{0}, failed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      // A window of submissions in flight per thread, so group commits stay large.
      std::mutex mu;
      std::condition_variable cv;
      int in_flight = 0;
      for (long i; (i = next++) < count;) {
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return in_flight < 2048; });
          ++in_flight;
        }
        node::SubmitRequest r;
        r.title = "Jalan rusak nomor " + std::to_string(i);
        r.description = "Jalan berlubang di depan sekolah, membahayakan pengendara motor.";
        r.category = "infrastruktur";
        r.report_type = "pengaduan";
        r.region_code = "32.04";
        r.reporter.name = "Warga " + std::to_string(i);
        (*svc)->Submit(r, [&](Result<node::SubmitResult> res) {
          if (!res.ok()) ++failed;
          std::lock_guard<std::mutex> lock(mu);
          --in_flight;
          cv.notify_one();
        });
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
    });
  }
  for (auto& w : workers) w.join();
  (*store)->Close();
  std::printf("loggen: %ld events written to %s (%ld failed)\n", count, dir.c_str(), failed.load());
  return failed.load() == 0 ? 0 : 1;
}
