// lapor-bench-verify-rate: the raw libsodium crypto_sign_verify_detached rate on one core, the
// ceiling the auditor's signature checking is compared with.
//   lapor-bench-verify-rate [SECONDS]
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  if (sodium_init() < 0) return 2;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  // A message of the size of a typical event's pre-authentication encoding.
  std::vector<unsigned char> msg(450, 'x');
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
  long n = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 1000; ++i) {
      if (crypto_sign_verify_detached(sig, msg.data(), msg.size(), pk) != 0) return 1;
    }
    n += 1000;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::printf("VERIFY_RATE per_core=%.0f\n", n / elapsed);
  return 0;
}
