// Test helpers: an in-memory account store and the client side of SCRAM,
// written from RFC 5802 section 3 so that the server is checked against an
// independent computation.
#pragma once

#include "protocol/sasl/mechanism.hpp"
#include "protocol/sasl/scram_crypto.hpp"

#include <map>
#include <string>
#include <utility>

namespace starling::sasl::test {

/// Accounts with SCRAM credentials for every hash and a PLAIN password.
struct fake_accounts {
  std::map<std::string, std::string> passwords;
  std::string salt = "salt-of-sixteen!";
  std::uint32_t iterations = 4096;

  credentials_source source() const {
    credentials_source source;
    source.scram_lookup = [this](std::string_view user, scram_hash hash)
      -> std::optional<stored_credentials> {
      auto found = passwords.find(std::string(user));
      if (found == passwords.end())
        return std::nullopt;
      return make_stored_credentials(hash, found->second, salt, iterations);
    };
    source.verify_plain = [this](std::string_view user, std::string_view password) {
      auto found = passwords.find(std::string(user));
      return found != passwords.end() && found->second == password;
    };
    return source;
  }
};

/// Computes a client-final message for a server-first message.
inline std::string client_final(scram_hash hash, std::string_view password,
                                std::string_view client_first_bare,
                                std::string_view server_first,
                                std::string_view channel_binding_b64,
                                std::string* expected_server_final = nullptr) {
  std::string nonce, salt_b64;
  std::uint32_t iterations = 0;
  std::size_t begin = 0;
  while (begin <= server_first.size()) {
    auto end = server_first.find(',', begin);
    if (end == std::string_view::npos)
      end = server_first.size();
    auto field = server_first.substr(begin, end - begin);
    if (field.starts_with("r="))
      nonce = field.substr(2);
    else if (field.starts_with("s="))
      salt_b64 = field.substr(2);
    else if (field.starts_with("i="))
      iterations = static_cast<std::uint32_t>(std::stoul(std::string(field.substr(2))));
    begin = end + 1;
  }
  auto salted = salted_password(hash, password, base64_decode(salt_b64).value(), iterations);
  auto client_key = hmac(hash, salted, "Client Key");
  auto stored_key = digest(hash, client_key);
  auto without_proof = "c=" + std::string(channel_binding_b64) + ",r=" + nonce;
  auto auth_message = std::string(client_first_bare) + "," + std::string(server_first) + ","
                      + without_proof;
  auto signature = hmac(hash, stored_key, auth_message);
  std::string proof(client_key.size(), '\0');
  for (std::size_t i = 0; i < proof.size(); ++i)
    proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
  if (expected_server_final != nullptr)
    *expected_server_final
      = "v=" + base64_encode(hmac(hash, hmac(hash, salted, "Server Key"), auth_message));
  return without_proof + ",p=" + base64_encode(proof);
}

} // namespace starling::sasl::test
