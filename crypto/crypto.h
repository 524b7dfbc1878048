// Cryptographic primitives, all from libsodium: SHA-256, Ed25519 signing keys, DSSE's
// pre-authentication encoding, secretbox encryption at rest, and secure random bytes.
// Every function is thread-safe once Init() has run (it runs on first use).
#pragma once

#include <array>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lapor::crypto {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSecretKeySize = 64;  // libsodium layout: seed || public key
inline constexpr size_t kSeedSize = 32;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kSecretboxKeySize = 32;

// Initialises libsodium; aborts the process if it cannot (no safe way to continue).
void Init();

std::string Sha256(std::string_view data);
// SHA-256 of the concatenation of `parts`, without building it.
std::string Sha256Parts(std::initializer_list<std::string_view> parts);
std::string RandomBytes(size_t n);

// DSSE v1 pre-authentication encoding:
//   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body   (LEN = ASCII decimal byte length)
std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload);

// An Ed25519 key pair. Immutable after construction; Sign is thread-safe.
class SigningKey {
 public:
  static SigningKey Generate();
  static Result<SigningKey> FromSeed(std::string_view seed);
  // `secret_key` is libsodium's 64-byte form (seed || public key); checked for consistency.
  static Result<SigningKey> FromSecretKey(std::string_view secret_key);

  // The secret key is wiped (sodium_memzero) when the object is destroyed.
  ~SigningKey();
  // Copies and moves construct; a key is never assigned over (the secret it replaced would be
  // freed unwiped).
  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = delete;
  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(SigningKey&&) = delete;

  const std::string& public_key() const { return public_key_; }
  const std::string& secret_key() const { return secret_key_; }
  // The key's X25519 form, for sealed boxes (crypto_sign_ed25519_{pk,sk}_to_curve25519),
  // derived once when the key is made: the public half's conversion costs a scalar
  // multiplication, which a node opening every sealed record it receives would pay each time.
  const std::string& box_public_key() const { return box_public_key_; }
  const std::string& box_secret_key() const { return box_secret_key_; }
  // Short key id: hex of the first 8 bytes of SHA-256(public key).
  std::string KeyId() const;
  std::string Sign(std::string_view message) const;

 private:
  SigningKey() = default;
  void DeriveBoxKeys();
  std::string secret_key_;
  std::string public_key_;
  std::string box_secret_key_;
  std::string box_public_key_;
};

// Overwrites a string's bytes with zeroes (sodium_memzero: not optimized away) and empties it:
// for keys and decrypted personal data once they are no longer needed.
void Wipe(std::string* secret);

std::string KeyIdOf(std::string_view public_key);
bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature);

// Authenticated encryption at rest: XSalsa20-Poly1305 with a random nonce prepended. `key` must
// be kSecretboxKeySize bytes (the process aborts otherwise: keys are checked when loaded).
std::string SecretboxSeal(std::string_view key, std::string_view plaintext);
Result<std::string> SecretboxOpen(std::string_view key, std::string_view sealed);

// Public-key encryption to a node: a libsodium sealed box to the X25519 key derived from the
// node's Ed25519 public key (crypto_sign_ed25519_pk_to_curve25519). Only the holder of the
// Ed25519 secret key opens it. InvalidArgument if the public key cannot be converted.
Result<std::string> SealToKey(std::string_view ed25519_public_key, std::string_view plaintext);
Result<std::string> OpenSealed(const SigningKey& key, std::string_view box);

// Constant-time equality of two byte strings of equal length (false if lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace lapor::crypto
