// lapor-bench-verify-rate: the raw libsodium crypto_sign_verify_detached rate, the ceiling the
// auditor's signature checking is compared with. THREADS threads verify at once (as the auditor's
// workers do, so the figure includes what running both cores costs each one), each over its own
// BYTES-byte message (the size of the audited events' pre-authentication encoding).
//   lapor-bench-verify-rate [SECONDS [THREADS [BYTES]]]
// Prints the rate per thread: the machine's rate divided by THREADS.
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const long bytes = argc > 3 ? std::atol(argv[3]) : 450;
  if (seconds <= 0 || threads < 1 || bytes < 1 || sodium_init() < 0) {
    std::fprintf(stderr, "usage: lapor-bench-verify-rate [SECONDS [THREADS [BYTES]]]\n");
    return 2;
  }
  std::atomic<bool> failed{false};
  std::vector<long> counts(threads, 0);
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
      crypto_sign_keypair(pk, sk);
      std::vector<unsigned char> msg(bytes, static_cast<unsigned char>('a' + t));
      unsigned char sig[crypto_sign_BYTES];
      crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
      long n = 0;
      while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
             seconds) {
        for (int i = 0; i < 1000; ++i) {
          if (crypto_sign_verify_detached(sig, msg.data(), msg.size(), pk) != 0) failed = true;
        }
        n += 1000;
      }
      counts[t] = n;
    });
  }
  for (auto& w : workers) w.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) return 1;
  long total = 0;
  for (long n : counts) total += n;
  std::printf("VERIFY_RATE per_core=%.0f threads=%d bytes=%ld\n", total / elapsed / threads,
              threads, bytes);
  return 0;
}
