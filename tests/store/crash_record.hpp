// Shared by the crash writer and the crash test: the schema of the test store
// and the value that belongs to a key, so the test can tell a record that is
// present but damaged from one that is intact.
#pragma once

#include "store/lmdb_env.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace starling::store::test {

inline constexpr std::string_view crash_table = "crash";

inline schema crash_schema() {
  schema layout;
  layout.tables = {std::string{crash_table}};
  return layout;
}

/// 100 pseudo-random bytes seeded by the FNV-1a hash of the key.
inline std::string value_for_key(std::string_view key) {
  std::uint64_t state = 1469598103934665603ull;
  for (unsigned char c : key)
    state = (state ^ c) * 1099511628211ull;
  std::string value(100, '\0');
  for (char& c : value) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    c = static_cast<char>(state & 0xff);
  }
  return value;
}

} // namespace starling::store::test
