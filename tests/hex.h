// Hex literals in known-answer tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "crypto/encoding.h"

namespace lapor::kat {

// Decodes hex that the test itself supplies; fails the test loudly if it is malformed.
inline std::string Unhex(std::string_view hex) {
  auto bytes = crypto::HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test: " << hex;
  return bytes.value_or("");
}

}  // namespace lapor::kat
