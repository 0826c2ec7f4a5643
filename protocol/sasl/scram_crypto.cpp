#include "protocol/sasl/scram_crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <utility>

namespace starling::sasl {

namespace {

const EVP_MD* message_digest(scram_hash hash) {
  switch (hash) {
    case scram_hash::sha1:
      return EVP_sha1();
    case scram_hash::sha256:
      return EVP_sha256();
    case scram_hash::sha512:
      return EVP_sha512();
  }
  throw std::invalid_argument("unknown SCRAM hash");
}

} // namespace

std::string_view mechanism_name(scram_hash hash) {
  switch (hash) {
    case scram_hash::sha1:
      return "SCRAM-SHA-1";
    case scram_hash::sha256:
      return "SCRAM-SHA-256";
    case scram_hash::sha512:
      return "SCRAM-SHA-512";
  }
  return "";
}

std::size_t digest_size(scram_hash hash) {
  return static_cast<std::size_t>(EVP_MD_get_size(message_digest(hash)));
}

std::string salted_password(scram_hash hash, std::string_view password,
                            std::string_view salt, std::uint32_t iterations) {
  std::string out(digest_size(hash), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()),
                        static_cast<int>(iterations), message_digest(hash),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data()))
      != 1)
    throw std::runtime_error("PBKDF2 failed in OpenSSL");
  return out;
}

std::string hmac(scram_hash hash, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(message_digest(hash), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &size)
      == nullptr)
    throw std::runtime_error("HMAC failed in OpenSSL");
  return {reinterpret_cast<const char*>(out), size};
}

std::string digest(scram_hash hash, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, message_digest(hash),
                 nullptr)
      != 1)
    throw std::runtime_error("digest failed in OpenSSL");
  return {reinterpret_cast<const char*>(out), size};
}

scram_keys derive_keys(scram_hash hash, std::string_view salted) {
  auto client_key = hmac(hash, salted, "Client Key");
  return {digest(hash, client_key), hmac(hash, salted, "Server Key")};
}

stored_credentials make_stored_credentials(scram_hash hash, std::string_view password,
                                           std::string salt, std::uint32_t iterations) {
  auto keys = derive_keys(hash, salted_password(hash, password, salt, iterations));
  return {std::move(salt), iterations, std::move(keys)};
}

std::string random_bytes(std::size_t size) {
  std::string out(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(size))
      != 1)
    throw std::runtime_error("RAND_bytes failed in OpenSSL");
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  auto written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(raw.data()),
                                 static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  for (auto c : text) {
    bool valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                 || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!valid)
      return std::nullopt;
  }
  // '=' may appear only as the last one or two characters.
  auto pad = text.find('=');
  if (pad != std::string_view::npos
      && (pad < text.size() - 2 || text.find_first_not_of('=', pad) != std::string_view::npos))
    return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  auto written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(text.data()),
                                 static_cast<int>(text.size()));
  if (written < 0)
    return std::nullopt;
  // EVP_DecodeBlock keeps the zero bytes that padding stands for.
  auto padding = text.size() - (pad == std::string_view::npos ? text.size() : pad);
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

} // namespace starling::sasl
