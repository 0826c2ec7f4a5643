#include "store/account_record.hpp"

#include "store/record_codec.hpp"

namespace starling::store {

namespace {

using codec::put_string;
using codec::put_uint;
using codec::reader;

status corrupt(const std::string& why) {
  return {errc::corrupt, "account record: " + why};
}

} // namespace

std::string encode_account(const account_record& record) {
  std::string out;
  put_uint(out, account_record_version, 1);
  put_uint(out, static_cast<std::uint64_t>(record.created_unix), 8);
  put_uint(out, record.credentials.size(), 1);
  for (const auto& cred : record.credentials) {
    put_uint(out, static_cast<std::uint8_t>(cred.hash), 1);
    put_uint(out, cred.iterations, 4);
    put_string(out, cred.salt, 1);
    put_string(out, cred.stored_key, 1);
    put_string(out, cred.server_key, 1);
  }
  return out;
}

expected<account_record> decode_account(std::string_view bytes) {
  reader in(bytes);
  std::string why;
  if (!in.version(account_record_version, why))
    return corrupt(why);

  account_record record;
  std::uint64_t created = 0;
  std::uint64_t n = 0;
  if (!in.uint(created, 8) || !in.uint(n, 1))
    return corrupt("truncated header");
  record.created_unix = static_cast<std::int64_t>(created);

  for (std::uint64_t i = 0; i < n; ++i) {
    scram_credentials cred;
    std::uint64_t hash = 0;
    std::uint64_t iterations = 0;
    if (!in.uint(hash, 1) || !in.uint(iterations, 4) || !in.string(cred.salt, 1) ||
        !in.string(cred.stored_key, 1) || !in.string(cred.server_key, 1))
      return corrupt("truncated credential " + std::to_string(i));
    if (hash > static_cast<std::uint8_t>(sasl::scram_hash::sha512))
      return corrupt("unknown hash id " + std::to_string(hash));
    cred.hash = static_cast<sasl::scram_hash>(hash);
    cred.iterations = static_cast<std::uint32_t>(iterations);
    if (cred.iterations == 0 || cred.salt.empty())
      return corrupt("credential " + std::to_string(i) + " has no salt or no iterations");
    std::size_t size = sasl::digest_size(cred.hash);
    if (cred.stored_key.size() != size || cred.server_key.size() != size)
      return corrupt("credential " + std::to_string(i) + " has keys of the wrong length");
    record.credentials.push_back(std::move(cred));
  }
  if (!in.at_end())
    return corrupt("trailing bytes");
  return record;
}

} // namespace starling::store
