// Client side of SASL SCRAM (RFC 5802) without channel binding, for the
// load generator. One scram_client object belongs to one connection and is
// used once: first_message(), then final_message() with the server's
// challenge, then verify_server_final() with the <success/> payload.
// Failures are returned as std::nullopt or false; nothing throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace starling::loadgen {

enum class scram_hash { sha1, sha256 };

// Base64 (RFC 4648) helpers over OpenSSL; decode returns nullopt on bad input.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

class scram_client {
public:
  scram_client(scram_hash hash, std::string username, std::string password);

  // Returns the client-first-message with the "n,," GS2 header (RFC 5802 7).
  std::string first_message();

  // Computes the client-final-message from the server-first-message, or
  // nullopt when that message is malformed, its nonce does not extend ours,
  // or its iteration count is below 1.
  std::optional<std::string> final_message(std::string_view server_first);

  // Checks the server-final-message "v=..." against ServerSignature.
  bool verify_server_final(std::string_view server_final) const;

private:
  scram_hash hash_;
  std::string username_;
  std::string password_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string expected_server_signature_;
};

} // namespace starling::loadgen
