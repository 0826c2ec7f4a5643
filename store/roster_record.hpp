// Keys and serialized records of the roster tables of lmdb_roster_store.
//
// Keys: the user's bare JID, a NUL byte, then the contact's bare JID, so all
// records of one user are one prefix scan and sort by contact. The version
// table is keyed by the user alone. JIDs cannot contain NUL (it is not an XML
// character), so the separator is unambiguous.
//
// Records start with a record version byte (1); integers are big-endian:
//   item:     u8 1, u64 changed-at version, u8 subscription (0..3),
//             u8 flags (bit 0 ask='subscribe', bit 1 approved, bit 2 has name),
//             [u32 name length, name], u32 group count,
//             per group: u32 length, name (non-empty, strictly ascending)
//   removal:  u8 1, u64 removal version
//   version:  u8 1, u64 roster version, u64 newest pruned removal version
//   pending:  u8 1, i64 receive time in microseconds since the Unix epoch,
//             then the stanza XML up to the end of the record
// Decoding rejects unknown record versions, unknown values and flag bits,
// truncation and trailing bytes with errc::corrupt.
#pragma once

#include "store/roster_store.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace starling::store {

inline constexpr std::uint8_t roster_record_version = 1;

/// The per-user record that versions the roster.
struct roster_version_record {
  std::uint64_t version = 0;
  /// The newest removal version whose tombstone was pruned; changes since a
  /// version below it cannot be listed.
  std::uint64_t pruned_through = 0;

  bool operator==(const roster_version_record&) const = default;
};

/// Returns user + NUL + contact.
std::string roster_key(std::string_view user, std::string_view contact);

/// Returns user + NUL, the prefix of all keys of `user`.
std::string roster_prefix(std::string_view user);

/// Encodes everything but the contact, which is in the key.
std::string encode_roster_item(const roster_item& item);
expected<roster_item> decode_roster_item(std::string_view contact, std::string_view bytes);

std::string encode_roster_removal(std::uint64_t version);
expected<std::uint64_t> decode_roster_removal(std::string_view bytes);

std::string encode_roster_version(const roster_version_record& record);
expected<roster_version_record> decode_roster_version(std::string_view bytes);

/// Encodes everything but the contact, which is in the key.
std::string encode_pending_subscription(const pending_subscription& request);
expected<pending_subscription> decode_pending_subscription(std::string_view contact,
                                                           std::string_view bytes);

} // namespace starling::store
