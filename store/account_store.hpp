// Accounts and their SASL credentials. The store never keeps a password: for
// each of SCRAM-SHA-1, SCRAM-SHA-256 and SCRAM-SHA-512 it keeps a random salt,
// the PBKDF2 iteration count, StoredKey and ServerKey (RFC 5802 section 3).
//
// Usernames are keys as given: the caller normalises them (nodeprep of the
// localpart) and passes passwords already prepared with SASLprep.
//
// Writes are not performed here. The make_* functions build a write_batch
// that the caller commits through the writer actor (server) or
// lmdb_env::commit (starlingctl); the commit reports already_exists,
// not_found or value_mismatch when the account changed in between. Reads run
// directly on the calling thread. Implementations are thread-safe.
#pragma once

#include "protocol/sasl/scram_crypto.hpp"
#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starling::store {

/// The SCRAM secrets of one account for one hash function.
struct scram_credentials {
  sasl::scram_hash hash = sasl::scram_hash::sha256;
  std::string salt;         ///< Raw bytes.
  std::uint32_t iterations = 0;
  std::string stored_key;   ///< Raw bytes, digest_size(hash) long.
  std::string server_key;   ///< Raw bytes, digest_size(hash) long.
};

class account_store {
public:
  virtual ~account_store() = default;

  /// Derives fresh credentials for all three hashes and returns a batch that
  /// creates the account; committing it fails with errc::already_exists when
  /// the account exists. Costs three PBKDF2 runs: do not call it on the
  /// writer actor.
  virtual expected<write_batch> make_register(std::string_view username,
                                              std::string_view password) = 0;

  /// Returns a batch that replaces the credentials with fresh salts. Fails
  /// now with errc::not_found for an unknown account; the commit fails with
  /// errc::value_mismatch or errc::not_found when the account changed or was
  /// removed after this call.
  virtual expected<write_batch> make_change_password(std::string_view username,
                                                     std::string_view password) = 0;

  /// Returns a batch that removes the account; committing it fails with
  /// errc::not_found when it does not exist.
  virtual write_batch make_remove(std::string_view username) = 0;

  /// Looks up the credentials for one hash; errc::not_found for an unknown
  /// account, errc::corrupt for an undecodable record.
  virtual expected<scram_credentials> credentials(std::string_view username,
                                                  sasl::scram_hash hash) = 0;

  virtual expected<bool> exists(std::string_view username) = 0;

  /// Lists usernames in byte order, starting after `after` (empty: from the
  /// first), at most `limit` of them. Pass the last name of a page as
  /// `after` to get the next page.
  virtual expected<std::vector<std::string>> list(std::string_view after,
                                                  std::size_t limit) = 0;

  virtual expected<std::uint64_t> count() = 0;

  /// Checks a plaintext password (SASL PLAIN) against the stored
  /// SCRAM-SHA-256 StoredKey in constant time. Returns false for a wrong
  /// password and for an unknown account, which costs the same derivation so
  /// that timing does not reveal which accounts exist.
  virtual expected<bool> verify_plain(std::string_view username,
                                      std::string_view password) = 0;
};

} // namespace starling::store
