// SCRAM key derivation (RFC 5802 section 3) shared by the SASL mechanisms,
// which verify proofs, and the account store, which keeps only the derived
// keys. Stateless and thread-safe; OpenSSL 3 does the hashing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling::sasl {

enum class scram_hash : std::uint8_t { sha1, sha256, sha512 };

/// IANA name of the mechanism without the -PLUS suffix, e.g. "SCRAM-SHA-256".
std::string_view mechanism_name(scram_hash hash);

/// Digest length in bytes: 20, 32 or 64.
std::size_t digest_size(scram_hash hash);

/// The keys a server stores for one hash instead of the password.
struct scram_keys {
  std::string stored_key; ///< H(ClientKey), raw bytes.
  std::string server_key; ///< HMAC(SaltedPassword, "Server Key"), raw bytes.
};

/// Computes SaltedPassword = Hi(password, salt, iterations) with PBKDF2-HMAC.
/// The password must already be normalised (SASLprep). Throws
/// std::runtime_error when OpenSSL fails.
std::string salted_password(scram_hash hash, std::string_view password,
                            std::string_view salt, std::uint32_t iterations);

/// Derives StoredKey and ServerKey from a SaltedPassword.
scram_keys derive_keys(scram_hash hash, std::string_view salted);

/// What the account store returns for one user and one hash: everything the
/// server side of SCRAM needs, and nothing from which the password follows
/// without a dictionary attack.
struct stored_credentials {
  std::string salt;          ///< Raw bytes; sent base64-encoded as s=.
  std::uint32_t iterations = 0;
  scram_keys keys;
};

/// Derives the stored credentials for a SASLprep'ed password.
stored_credentials make_stored_credentials(scram_hash hash, std::string_view password,
                                           std::string salt, std::uint32_t iterations);

/// HMAC(key, data) with the given hash, raw bytes.
std::string hmac(scram_hash hash, std::string_view key, std::string_view data);

/// H(data) with the given hash, raw bytes.
std::string digest(scram_hash hash, std::string_view data);

/// Returns `size` bytes from OpenSSL's CSPRNG.
std::string random_bytes(std::size_t size);

/// Compares two byte strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

std::string base64_encode(std::string_view raw);

/// Decodes strict base64 (RFC 4648 section 4, padding required); returns
/// nothing on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace starling::sasl
