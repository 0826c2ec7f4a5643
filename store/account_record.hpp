// Serialized form of one account, the value in the "accounts" table.
//
// Version 1, all integers big-endian:
//   u8  record version (1)
//   i64 creation time, seconds since the Unix epoch
//   u8  number of credentials n
//   n times: u8 hash (0 SHA-1, 1 SHA-256, 2 SHA-512), u32 iterations,
//            u8 salt length, salt, u8 StoredKey length, StoredKey,
//            u8 ServerKey length, ServerKey
// Decoding rejects unknown versions, truncation and trailing bytes with
// errc::corrupt, so a damaged record is never used for authentication.
#pragma once

#include "store/account_store.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starling::store {

inline constexpr std::uint8_t account_record_version = 1;

struct account_record {
  std::int64_t created_unix = 0;
  std::vector<scram_credentials> credentials;
};

std::string encode_account(const account_record& record);

expected<account_record> decode_account(std::string_view bytes);

} // namespace starling::store
