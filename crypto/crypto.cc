#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crypto/encoding.h"

namespace lapor::crypto {
namespace {
const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// Random bytes from the kernel's generator (libsodium's randombytes_buf, i.e. getrandom(2)),
// fetched 4 KiB at a time per thread: a complaint needs three small draws (access code, salt,
// secretbox nonce), and a system call costs ~2.5 us on this project's machines, more than the
// draw. Bytes are wiped from the buffer as they are handed out, and a forked child never reuses
// its parent's buffer (fork_generation). Large draws go straight to the kernel.
std::atomic<unsigned> fork_generation{0};

void FillRandom(unsigned char* out, size_t n) {
  struct Pool {
    unsigned char buf[4096];
    size_t pos = sizeof buf;  // next unused byte; sizeof buf = empty
    unsigned generation = 0;
    ~Pool() {  // a draw after this (another thread_local's destructor) refills first
      sodium_memzero(buf, sizeof buf);
      pos = sizeof buf;
    }
  };
  thread_local Pool pool;
  if (n > sizeof pool.buf / 8) {
    randombytes_buf(out, n);
    return;
  }
  const unsigned generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation || sizeof pool.buf - pool.pos < n) {
    randombytes_buf(pool.buf, sizeof pool.buf);
    pool.pos = 0;
    pool.generation = generation;
  }
  std::memcpy(out, pool.buf + pool.pos, n);
  sodium_memzero(pool.buf + pool.pos, n);
  pool.pos += n;
}
}  // namespace

void Init() {
  static const bool ok = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return sodium_init() >= 0;
  }();
  if (!ok) {
    std::fprintf(stderr, "fatal: libsodium failed to initialise\n");
    std::abort();
  }
}

// SHA-256 from OpenSSL's libcrypto: it uses the CPU's SHA extensions where present (0.6 against
// 2.1 us for a 450-byte envelope with libsodium's portable code on this project's machines), and
// every event is hashed several times (event hash, RFC 6962 leaf, the auditor's checks). The
// digest is fetched once and each thread reuses one context: the one-shot ::SHA256() fetches the
// algorithm on every call, which costs more than hashing a 65-byte Merkle node (0.34 against
// 0.12 us).
std::string Sha256Parts(std::initializer_list<std::string_view> parts) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx local;
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  if (md == nullptr || local.ctx == nullptr || EVP_DigestInit_ex2(local.ctx, md, nullptr) != 1) {
    std::fprintf(stderr, "fatal: OpenSSL SHA-256 is unavailable\n");
    std::abort();
  }
  for (std::string_view part : parts) EVP_DigestUpdate(local.ctx, part.data(), part.size());
  EVP_DigestFinal_ex(local.ctx, U(out), &len);
  return out;
}

std::string Sha256(std::string_view data) { return Sha256Parts({data}); }

std::string RandomBytes(size_t n) {
  Init();
  std::string out(n, '\0');
  FillRandom(U(out), n);
  return out;
}

std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload) {
  std::string out;
  out.reserve(32 + payload_type.size() + payload.size());  // one allocation per event
  out += "DSSEv1 ";
  out += std::to_string(payload_type.size());
  out += ' ';
  out += payload_type;
  out += ' ';
  out += std::to_string(payload.size());
  out += ' ';
  out += payload;
  return out;
}

SigningKey SigningKey::Generate() {
  Init();
  SigningKey key;
  key.public_key_.assign(kPublicKeySize, '\0');
  key.secret_key_.assign(kSecretKeySize, '\0');
  crypto_sign_keypair(U(key.public_key_), U(key.secret_key_));
  key.DeriveBoxKeys();
  return key;
}

Result<SigningKey> SigningKey::FromSeed(std::string_view seed) {
  Init();
  if (seed.size() != kSeedSize) return Status::InvalidArgument("Ed25519 seed must be 32 bytes");
  SigningKey key;
  key.public_key_.assign(kPublicKeySize, '\0');
  key.secret_key_.assign(kSecretKeySize, '\0');
  crypto_sign_seed_keypair(U(key.public_key_), U(key.secret_key_), U(seed));
  key.DeriveBoxKeys();
  return key;
}

Result<SigningKey> SigningKey::FromSecretKey(std::string_view secret_key) {
  if (secret_key.size() != kSecretKeySize) {
    return Status::InvalidArgument("Ed25519 secret key must be 64 bytes");
  }
  auto key = FromSeed(secret_key.substr(0, kSeedSize));
  if (!key.ok()) return key.status();
  if (key->public_key() != secret_key.substr(kSeedSize)) {
    return Status::Corruption("Ed25519 secret key does not match its public half");
  }
  return key;
}

std::string SigningKey::KeyId() const { return KeyIdOf(public_key_); }

void SigningKey::DeriveBoxKeys() {
  box_public_key_.assign(crypto_box_PUBLICKEYBYTES, '\0');
  box_secret_key_.assign(crypto_box_SECRETKEYBYTES, '\0');
  // Cannot fail for a key libsodium made: its public half is a valid point of the main subgroup.
  if (crypto_sign_ed25519_pk_to_curve25519(U(box_public_key_), U(public_key_)) != 0 ||
      crypto_sign_ed25519_sk_to_curve25519(U(box_secret_key_), U(secret_key_)) != 0) {
    Wipe(&box_secret_key_);
    box_public_key_.clear();
  }
}

void Wipe(std::string* secret) {
  if (secret->empty()) return;
  sodium_memzero(secret->data(), secret->size());
  secret->clear();
}

SigningKey::~SigningKey() {
  Wipe(&secret_key_);
  Wipe(&box_secret_key_);
}

std::string KeyIdOf(std::string_view public_key) {
  return HexEncode(Sha256(public_key).substr(0, 8));
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string sig(kSignatureSize, '\0');
  crypto_sign_detached(U(sig), nullptr, U(message), message.size(), U(secret_key_));
  return sig;
}

bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature) {
  Init();
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize) return false;
  return crypto_sign_verify_detached(U(signature), U(message), message.size(), U(public_key)) == 0;
}

std::string SecretboxSeal(std::string_view key, std::string_view plaintext) {
  Init();
  if (key.size() != kSecretboxKeySize) {
    // Keys come from the node's own key file, checked at load: a wrong size is a program bug.
    std::fprintf(stderr, "fatal: secretbox key must be 32 bytes\n");
    std::abort();
  }
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  FillRandom(U(out), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(U(out) + crypto_secretbox_NONCEBYTES, U(plaintext), plaintext.size(),
                        U(out), U(key));
  return out;
}

Result<std::string> SecretboxOpen(std::string_view key, std::string_view sealed) {
  Init();
  if (key.size() != kSecretboxKeySize)
    return Status::InvalidArgument("secretbox key must be 32 bytes");
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Status::Corruption("sealed data too short");
  }
  std::string out(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(U(out), U(sealed) + crypto_secretbox_NONCEBYTES,
                                 sealed.size() - crypto_secretbox_NONCEBYTES, U(sealed),
                                 U(key)) != 0) {
    return Status::Corruption("sealed data fails authentication");
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace lapor::crypto

namespace lapor::crypto {

Result<std::string> SealToKey(std::string_view ed25519_public_key, std::string_view plaintext) {
  if (ed25519_public_key.size() != crypto_sign_PUBLICKEYBYTES) {
    return Status::InvalidArgument("not an Ed25519 public key", "public_key");
  }
  unsigned char x25519[crypto_box_PUBLICKEYBYTES];
  if (crypto_sign_ed25519_pk_to_curve25519(
          x25519, reinterpret_cast<const unsigned char*>(ed25519_public_key.data())) != 0) {
    return Status::InvalidArgument("the Ed25519 key has no X25519 form", "public_key");
  }
  std::string out(plaintext.size() + crypto_box_SEALBYTES, '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                  x25519);
  return out;
}

Result<std::string> OpenSealed(const SigningKey& key, std::string_view box) {
  if (box.size() < crypto_box_SEALBYTES) return Status::InvalidArgument("sealed box too short");
  if (key.box_public_key().empty()) return Status::Internal("the node key has no X25519 form");
  std::string out(box.size() - crypto_box_SEALBYTES, '\0');
  int rc =
      crypto_box_seal_open(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(box.data()), box.size(),
                           reinterpret_cast<const unsigned char*>(key.box_public_key().data()),
                           reinterpret_cast<const unsigned char*>(key.box_secret_key().data()));
  if (rc != 0) return Status::PermissionDenied("sealed box does not open with this node's key");
  return out;
}

}  // namespace lapor::crypto
