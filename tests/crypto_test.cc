// Unit tests for crypto/crypto.h and crypto/encoding.h: published test vectors (RFC 8032 Ed25519,
// FIPS 180-2 SHA-256, RFC 4648 base64/base32, the DSSE spec's PAE example) plus tamper, rejection
// and round-trip checks.

#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "tests/hex.h"

namespace lapor::crypto {
namespace {

using namespace std::string_literals;

using lapor::kat::Unhex;

std::string FlipBit(std::string s, size_t bit) {
  s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Ed25519: RFC 8032 section 7.1.

struct Ed25519Vector {
  const char* name;
  const char* secret_key;  // the 32-byte seed
  const char* public_key;
  const char* message;
  const char* signature;
};

// Copied from RFC 8032 section 7.1 (TEST 1, TEST 2, TEST 3, TEST SHA(abc)).
const Ed25519Vector kRfc8032Vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     // The message is SHA-512("abc").
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

class Rfc8032Test : public testing::TestWithParam<Ed25519Vector> {};

TEST_P(Rfc8032Test, FromSeedDerivesPublicKey) {
  const Ed25519Vector& v = GetParam();
  auto key = SigningKey::FromSeed(Unhex(v.secret_key));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(HexEncode(key->public_key()), v.public_key);
  // libsodium layout: seed || public key.
  EXPECT_EQ(HexEncode(key->secret_key()), std::string(v.secret_key) + v.public_key);
}

TEST_P(Rfc8032Test, SignProducesListedSignature) {
  const Ed25519Vector& v = GetParam();
  auto key = SigningKey::FromSeed(Unhex(v.secret_key));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string sig = key->Sign(Unhex(v.message));
  EXPECT_EQ(sig.size(), kSignatureSize);
  EXPECT_EQ(HexEncode(sig), v.signature);
}

TEST_P(Rfc8032Test, VerifyAcceptsListedSignature) {
  const Ed25519Vector& v = GetParam();
  EXPECT_TRUE(VerifySignature(Unhex(v.public_key), Unhex(v.message), Unhex(v.signature)));
}

TEST_P(Rfc8032Test, VerifyRejectsFlippedMessageBit) {
  const Ed25519Vector& v = GetParam();
  const std::string pk = Unhex(v.public_key);
  const std::string msg = Unhex(v.message);
  const std::string sig = Unhex(v.signature);
  for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
    EXPECT_FALSE(VerifySignature(pk, FlipBit(msg, bit), sig)) << "message bit " << bit;
  }
  // Extending (or, for TEST 1, making non-empty) the message must fail as well.
  EXPECT_FALSE(VerifySignature(pk, msg + "\x00"s, sig));
  EXPECT_FALSE(VerifySignature(pk, msg + "x", sig));
}

TEST_P(Rfc8032Test, VerifyRejectsFlippedSignatureBit) {
  const Ed25519Vector& v = GetParam();
  const std::string pk = Unhex(v.public_key);
  const std::string msg = Unhex(v.message);
  const std::string sig = Unhex(v.signature);
  for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
    EXPECT_FALSE(VerifySignature(pk, msg, FlipBit(sig, bit))) << "signature bit " << bit;
  }
}

TEST_P(Rfc8032Test, VerifyRejectsFlippedPublicKeyBit) {
  const Ed25519Vector& v = GetParam();
  const std::string pk = Unhex(v.public_key);
  const std::string msg = Unhex(v.message);
  const std::string sig = Unhex(v.signature);
  for (size_t bit = 0; bit < pk.size() * 8; ++bit) {
    EXPECT_FALSE(VerifySignature(FlipBit(pk, bit), msg, sig)) << "public key bit " << bit;
  }
}

TEST_P(Rfc8032Test, VerifyRejectsWrongLengths) {
  const Ed25519Vector& v = GetParam();
  const std::string pk = Unhex(v.public_key);
  const std::string msg = Unhex(v.message);
  const std::string sig = Unhex(v.signature);
  EXPECT_FALSE(VerifySignature(pk, msg, sig.substr(0, kSignatureSize - 1)));
  EXPECT_FALSE(VerifySignature(pk, msg, sig + "\x00"s));
  EXPECT_FALSE(VerifySignature(pk, msg, ""));
  EXPECT_FALSE(VerifySignature(pk.substr(0, kPublicKeySize - 1), msg, sig));
  EXPECT_FALSE(VerifySignature(pk + "\x00"s, msg, sig));
  EXPECT_FALSE(VerifySignature("", msg, sig));
}

INSTANTIATE_TEST_SUITE_P(Rfc8032Section71, Rfc8032Test, testing::ValuesIn(kRfc8032Vectors),
                         [](const testing::TestParamInfo<Ed25519Vector>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p; ++p) {
                             if (std::isalnum(static_cast<unsigned char>(*p))) name += *p;
                           }
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// SigningKey construction and key ids.

TEST(SigningKeyTest, FromSeedRejectsWrongLength) {
  EXPECT_FALSE(SigningKey::FromSeed("").ok());
  EXPECT_FALSE(SigningKey::FromSeed(std::string(kSeedSize - 1, 'a')).ok());
  auto too_long = SigningKey::FromSeed(std::string(kSeedSize + 1, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), Status::Code::kInvalidArgument);
}

TEST(SigningKeyTest, FromSecretKeyRoundTrips) {
  SigningKey original = SigningKey::Generate();
  ASSERT_EQ(original.secret_key().size(), kSecretKeySize);
  ASSERT_EQ(original.public_key().size(), kPublicKeySize);
  auto restored = SigningKey::FromSecretKey(original.secret_key());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->public_key(), original.public_key());
  EXPECT_EQ(restored->secret_key(), original.secret_key());
  // Ed25519 signatures are deterministic, so both keys sign identically.
  EXPECT_EQ(restored->Sign("laporan"), original.Sign("laporan"));
}

TEST(SigningKeyTest, FromSecretKeyRejectsMismatchedPublicHalf) {
  const Ed25519Vector& v = kRfc8032Vectors[0];
  const std::string good = Unhex(v.secret_key) + Unhex(v.public_key);
  ASSERT_TRUE(SigningKey::FromSecretKey(good).ok());

  // Public half belonging to a different seed.
  const std::string other = Unhex(v.secret_key) + Unhex(kRfc8032Vectors[1].public_key);
  auto mismatched = SigningKey::FromSecretKey(other);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), Status::Code::kCorruption);

  // Any single flipped bit in the public half.
  for (size_t bit = kSeedSize * 8; bit < kSecretKeySize * 8; ++bit) {
    EXPECT_FALSE(SigningKey::FromSecretKey(FlipBit(good, bit)).ok()) << "bit " << bit;
  }
  // All-zero public half.
  EXPECT_FALSE(SigningKey::FromSecretKey(Unhex(v.secret_key) + std::string(32, '\0')).ok());
}

TEST(SigningKeyTest, FromSecretKeyRejectsWrongLength) {
  const Ed25519Vector& v = kRfc8032Vectors[0];
  const std::string good = Unhex(v.secret_key) + Unhex(v.public_key);
  auto short_key = SigningKey::FromSecretKey(good.substr(0, kSecretKeySize - 1));
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(SigningKey::FromSecretKey(good + "\x00"s).ok());
  EXPECT_FALSE(SigningKey::FromSecretKey(Unhex(v.secret_key)).ok());  // a bare seed
  EXPECT_FALSE(SigningKey::FromSecretKey("").ok());
}

TEST(SigningKeyTest, GenerateSignsAndVerifies) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  const std::string msg = PreAuthEncoding("application/vnd.lapor+json", R"({"id":1})");
  const std::string sig = a.Sign(msg);
  EXPECT_TRUE(VerifySignature(a.public_key(), msg, sig));
  EXPECT_FALSE(VerifySignature(b.public_key(), msg, sig));
}

TEST(KeyIdTest, IsSixteenLowercaseHexChars) {
  for (int i = 0; i < 8; ++i) {
    SigningKey key = SigningKey::Generate();
    std::string id = KeyIdOf(key.public_key());
    ASSERT_EQ(id.size(), 16u);
    for (char c : id) {
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
    }
    EXPECT_EQ(key.KeyId(), id);
  }
}

TEST(KeyIdTest, IsHexOfFirstEightBytesOfSha256) {
  const std::string pk = Unhex(kRfc8032Vectors[0].public_key);
  EXPECT_EQ(KeyIdOf(pk), HexEncode(Sha256(pk).substr(0, 8)));
  // Independently computed: sha256(RFC 8032 TEST 1 public key)[:8].
  EXPECT_EQ(KeyIdOf(pk), "21fe31dfa154a261");
  EXPECT_NE(KeyIdOf(pk), KeyIdOf(Unhex(kRfc8032Vectors[1].public_key)));
}

// ---------------------------------------------------------------------------------------------
// DSSE pre-authentication encoding (secure-systems-lab/dsse protocol.md, "Test Vectors").

TEST(PreAuthEncodingTest, SpecExample) {
  EXPECT_EQ(PreAuthEncoding("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST(PreAuthEncodingTest, EmptyTypeAndPayload) {
  EXPECT_EQ(PreAuthEncoding("", ""), "DSSEv1 0  0 ");
}

TEST(PreAuthEncodingTest, LengthsAreByteCounts) {
  // Lengths count bytes, not code points, and binary payloads pass through untouched.
  EXPECT_EQ(PreAuthEncoding("t", "\xE2\x82\xAC"), "DSSEv1 1 t 3 \xE2\x82\xAC");
  const std::string binary = "a\0 b"s;
  EXPECT_EQ(PreAuthEncoding("x", binary), "DSSEv1 1 x 4 "s + binary);
  EXPECT_EQ(PreAuthEncoding("", std::string(1234, 'z')),
            "DSSEv1 0  1234 " + std::string(1234, 'z'));
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-2 examples).

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("abc").size(), kSha256Size);
}

// ---------------------------------------------------------------------------------------------
// Secretbox.

TEST(SecretboxTest, RoundTrip) {
  const std::string key = RandomBytes(kSecretboxKeySize);
  for (const std::string& plaintext :
       {""s, "x"s, "laporan warga: jalan rusak"s, "\0\1\2\xff"s, std::string(4096, 'q')}) {
    const std::string sealed = SecretboxSeal(key, plaintext);
    EXPECT_EQ(sealed.size(), plaintext.size() + 24 + 16);  // nonce + MAC
    auto opened = SecretboxOpen(key, sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(SecretboxTest, NonceIsRandom) {
  const std::string key = RandomBytes(kSecretboxKeySize);
  EXPECT_NE(SecretboxSeal(key, "same"), SecretboxSeal(key, "same"));
}

TEST(SecretboxTest, TamperingAnyByteFails) {
  const std::string key = RandomBytes(kSecretboxKeySize);
  const std::string sealed = SecretboxSeal(key, "rahasia");
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (int bit : {0, 7}) {
      auto opened = SecretboxOpen(key, FlipBit(sealed, i * 8 + bit));
      ASSERT_FALSE(opened.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
    }
  }
  EXPECT_FALSE(SecretboxOpen(key, sealed.substr(0, sealed.size() - 1)).ok());
  EXPECT_FALSE(SecretboxOpen(key, sealed + "\x00"s).ok());
}

TEST(SecretboxTest, WrongKeyFails) {
  const std::string key = RandomBytes(kSecretboxKeySize);
  const std::string sealed = SecretboxSeal(key, "rahasia");
  auto opened = SecretboxOpen(RandomBytes(kSecretboxKeySize), sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(SecretboxOpen(FlipBit(key, 0), sealed).ok());
}

TEST(SecretboxTest, WrongKeySizeFails) {
  const std::string key = RandomBytes(kSecretboxKeySize);
  const std::string sealed = SecretboxSeal(key, "rahasia");
  auto opened = SecretboxOpen(key.substr(0, 31), sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(SecretboxOpen(key + "k", sealed).ok());
  EXPECT_FALSE(SecretboxOpen("", sealed).ok());
}

TEST(SecretboxTest, TooShortInputFails) {
  const std::string key = RandomBytes(kSecretboxKeySize);
  for (size_t n : {0, 1, 16, 24, 39}) {
    auto opened = SecretboxOpen(key, std::string(n, '\0'));
    ASSERT_FALSE(opened.ok()) << n;
    EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
  }
  // Exactly nonce + MAC of zeros has the right size but fails authentication.
  EXPECT_FALSE(SecretboxOpen(key, std::string(40, '\0')).ok());
}

// ---------------------------------------------------------------------------------------------
// Misc.

TEST(RandomBytesTest, LengthAndVariety) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(33).size(), 33u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

// Small draws come from a per-thread buffer: across buffer refills, threads and sizes (the
// large ones bypass it) no two draws repeat, and none is the wiped (zero) part of the buffer.
TEST(RandomBytesTest, BufferedDrawsNeverRepeat) {
  std::set<std::string> seen;
  std::mutex mu;
  auto draw = [&](int count, size_t size) {
    for (int i = 0; i < count; ++i) {
      std::string r = RandomBytes(size);
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_NE(r, std::string(size, '\0'));
      EXPECT_TRUE(seen.insert(r).second) << "a draw of " << size << " bytes repeated";
    }
  };
  std::vector<std::thread> threads;
  for (size_t size : {16, 24, 511, 513, 4096}) threads.emplace_back(draw, 2000, size);
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 5u * 2000);
}

// A forked child must not hand out the bytes its parent will hand out next.
TEST(RandomBytesTest, ForkedChildDrawsOtherBytes) {
  RandomBytes(16);  // the parent's buffer now holds unused bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string r = RandomBytes(16);
    _exit(write(fds[1], r.data(), r.size()) == 16 ? 0 : 1);
  }
  close(fds[1]);
  std::string child(16, '\0');
  ASSERT_EQ(read(fds[0], child.data(), child.size()), 16);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_NE(RandomBytes(16), child);
}

TEST(ConstantTimeEqualsTest, Basics) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

// ---------------------------------------------------------------------------------------------
// Hex.

TEST(HexTest, Encode) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode("\x00\x01\x7f\x80\xab\xff"s), "00017f80abff");
}

TEST(HexTest, RoundTripAllBytes) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  auto decoded = HexDecode(hex);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, all);
}

TEST(HexTest, DecodeAcceptsUpperCase) {
  auto decoded = HexDecode("ABcdEF09");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "\xab\xcd\xef\x09");
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
}

TEST(HexTest, DecodeRejectsOddLength) {
  EXPECT_FALSE(HexDecode("a").has_value());
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("00112").has_value());
}

TEST(HexTest, DecodeRejectsNonHex) {
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_FALSE(HexDecode("0x12").has_value());
  EXPECT_FALSE(HexDecode(" 0").has_value());
  EXPECT_FALSE(HexDecode("12 3").has_value());
  EXPECT_FALSE(HexDecode("\x00\x00"s).has_value());
  EXPECT_FALSE(HexDecode("ab\xc3\xa9").has_value());
}

// ---------------------------------------------------------------------------------------------
// Base64 and base32: RFC 4648 section 10.

struct Rfc4648Vector {
  const char* input;
  const char* base64;
  const char* base32_unpadded;
};

const Rfc4648Vector kRfc4648Vectors[] = {
    {"", "", ""},
    {"f", "Zg==", "MY"},
    {"fo", "Zm8=", "MZXQ"},
    {"foo", "Zm9v", "MZXW6"},
    {"foob", "Zm9vYg==", "MZXW6YQ"},
    {"fooba", "Zm9vYmE=", "MZXW6YTB"},
    {"foobar", "Zm9vYmFy", "MZXW6YTBOI"},
};

TEST(Base64Test, Rfc4648Vectors) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(Base64Encode(v.input), v.base64) << v.input;
    auto decoded = Base64Decode(v.base64);
    ASSERT_TRUE(decoded.has_value()) << v.base64;
    EXPECT_EQ(*decoded, v.input);
  }
}

TEST(Base64Test, RoundTripBinary) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(255 - i));
  for (size_t n = 0; n <= all.size(); n += 17) {
    const std::string bytes = all.substr(0, n);
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.has_value()) << n;
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, DecodeRejectsGarbage) {
  EXPECT_FALSE(Base64Decode("!!!!").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Zm 9v").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());
  EXPECT_FALSE(Base64Decode("Zm9").has_value());       // truncated
  EXPECT_FALSE(Base64Decode("Zg").has_value());        // missing padding
  EXPECT_FALSE(Base64Decode("Zg=").has_value());       // short padding
  EXPECT_FALSE(Base64Decode("Zg===").has_value());     // excess padding
  EXPECT_FALSE(Base64Decode("Zm9v====").has_value());  // padding where none belongs
  EXPECT_FALSE(Base64Decode("Zm9vYg==Zm9v").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v-_").has_value());  // URL-safe alphabet
  EXPECT_FALSE(Base64Decode("Zh==").has_value());    // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("Zm9vY").has_value());
}

TEST(Base32Test, Rfc4648VectorsWithoutPadding) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(Base32Encode(v.input), v.base32_unpadded) << v.input;
  }
}

TEST(Base32Test, LengthAndAlphabet) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= 40; ++n) {
    const std::string out = Base32Encode(all.substr(0, n));
    EXPECT_EQ(out.size(), (n * 8 + 4) / 5) << n;
    for (char c : out) {
      EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << out;
    }
  }
  EXPECT_EQ(Base32Encode("\xff\xff\xff\xff\xff"), "77777777");
  EXPECT_EQ(Base32Encode("\x00\x00\x00\x00\x00"s), "AAAAAAAA");
}

// ---------------------------------------------------------------------------------------------
// UTF-8.

TEST(Utf8Test, AcceptsWellFormed) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII, 0123 ~!"));
  EXPECT_TRUE(IsValidUtf8("Jawa Barat \xE2\x80\x93 \xC3\xBC \xE2\x82\xAC"));  // "Jawa Barat – ü €"
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));                               // U+1F600
  EXPECT_TRUE(IsValidUtf8("banjir \xF0\x9F\x8C\x8A di sini"));                // U+1F30A
  EXPECT_TRUE(IsValidUtf8("\x00"s));
  EXPECT_TRUE(IsValidUtf8("\x7F"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, just above the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the largest code point
}

TEST(Utf8Test, RejectsMalformed) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // overlong 4-byte
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF, a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000, above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));  // lead byte beyond U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated euro sign
  EXPECT_FALSE(IsValidUtf8("ok \xE2\x82"));       // truncated at the end of text
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));      // truncated emoji
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(
      IsValidUtf8("a\xBF"
                  "b"));                              // lone continuation mid-text
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));          // bad second byte
  EXPECT_FALSE(IsValidUtf8("\xC3"));                  // lone lead byte
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8Test, LengthCountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("\xC3\xBC"), 1u);
  EXPECT_EQ(Utf8Length("\xE2\x82\xAC"), 1u);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1u);
  EXPECT_EQ(Utf8Length("Jawa Barat \xE2\x80\x93 \xC3\xBC \xE2\x82\xAC"), 16u);
  EXPECT_EQ(Utf8Length("a\xF0\x9F\x98\x80"
                       "b\xC3\xBC"),
            4u);
}

}  // namespace
}  // namespace lapor::crypto

namespace lapor::crypto {
namespace {

// Wipe zeroes the bytes in place (the buffer stays allocated after clear(), so they can be read).
TEST(WipeTest, ZeroesTheBytesAndEmptiesTheString) {
  std::string secret(64, 'k');  // longer than any small-string buffer: on the heap
  const char* bytes = secret.data();
  Wipe(&secret);
  EXPECT_TRUE(secret.empty());
  for (int i = 0; i < 64; ++i) ASSERT_EQ(bytes[i], '\0') << i;
  std::string empty;
  Wipe(&empty);  // nothing to do, no crash
  EXPECT_TRUE(empty.empty());
}

}  // namespace
}  // namespace lapor::crypto
