#include "benchmarks/loadgen/scram_client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <vector>

namespace starling::loadgen {

namespace {

const EVP_MD* digest_of(scram_hash hash) {
  return hash == scram_hash::sha1 ? EVP_sha1() : EVP_sha256();
}

std::string hmac(scram_hash hash, std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  HMAC(digest_of(hash), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return std::string(reinterpret_cast<const char*>(out.data()), length);
}

std::string digest(scram_hash hash, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &length, digest_of(hash), nullptr);
  return std::string(reinterpret_cast<const char*>(out.data()), length);
}

// RFC 5802 5.1: "=" and "," in a username are sent as "=3D" and "=2C".
std::string escape_saslname(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '=')
      out += "=3D";
    else if (c == ',')
      out += "=2C";
    else
      out += c;
  }
  return out;
}

// Returns the value of attribute `key` in a comma-separated SCRAM message.
std::optional<std::string_view> attribute(std::string_view message, char key) {
  while (!message.empty()) {
    auto comma = message.find(',');
    auto part = message.substr(0, comma);
    if (part.size() >= 2 && part[0] == key && part[1] == '=')
      return part.substr(2);
    if (comma == std::string_view::npos)
      break;
    message.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

} // namespace

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(data.data()),
                               static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(length));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  if (text.empty())
    return std::string{};
  std::string out(3 * text.size() / 4 + 1, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(text.data()),
                               static_cast<int>(text.size()));
  if (length < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts padding characters as zero bytes of output.
  size_t padding = 0;
  if (text.back() == '=')
    ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=')
    ++padding;
  out.resize(static_cast<size_t>(length) - padding);
  return out;
}

scram_client::scram_client(scram_hash hash, std::string username, std::string password)
  : hash_(hash), username_(std::move(username)), password_(std::move(password)) {
}

std::string scram_client::first_message() {
  std::array<unsigned char, 18> random{};
  RAND_bytes(random.data(), static_cast<int>(random.size()));
  client_nonce_ = base64_encode(
    std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
  client_first_bare_ = "n=" + escape_saslname(username_) + ",r=" + client_nonce_;
  return "n,," + client_first_bare_;
}

std::optional<std::string> scram_client::final_message(std::string_view server_first) {
  auto nonce = attribute(server_first, 'r');
  auto salt_b64 = attribute(server_first, 's');
  auto iterations_text = attribute(server_first, 'i');
  if (!nonce || !salt_b64 || !iterations_text)
    return std::nullopt;
  // RFC 5802 5.1: the server nonce starts with the client's nonce.
  if (nonce->size() <= client_nonce_.size() || nonce->substr(0, client_nonce_.size()) != client_nonce_)
    return std::nullopt;
  auto salt = base64_decode(*salt_b64);
  int iterations = 0;
  for (char c : *iterations_text) {
    if (c < '0' || c > '9' || iterations > 10'000'000)
      return std::nullopt;
    iterations = iterations * 10 + (c - '0');
  }
  if (!salt || iterations < 1)
    return std::nullopt;

  // RFC 5802 3: SaltedPassword, ClientKey, StoredKey, AuthMessage, proof.
  auto md = digest_of(hash_);
  std::string salted(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                    reinterpret_cast<const unsigned char*>(salt->data()),
                    static_cast<int>(salt->size()), iterations, md, static_cast<int>(salted.size()),
                    reinterpret_cast<unsigned char*>(salted.data()));
  auto client_key = hmac(hash_, salted, "Client Key");
  auto stored_key = digest(hash_, client_key);
  std::string without_proof = "c=biws,r=" + std::string(*nonce);
  std::string auth_message =
    client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  auto client_signature = hmac(hash_, stored_key, auth_message);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i)
    proof[i] = static_cast<char>(proof[i] ^ client_signature[i]);
  auto server_key = hmac(hash_, salted, "Server Key");
  expected_server_signature_ = hmac(hash_, server_key, auth_message);
  return without_proof + ",p=" + base64_encode(proof);
}

bool scram_client::verify_server_final(std::string_view server_final) const {
  auto verifier = attribute(server_final, 'v');
  if (!verifier)
    return false;
  auto signature = base64_decode(*verifier);
  return signature && !expected_server_signature_.empty() && *signature == expected_server_signature_;
}

} // namespace starling::loadgen
