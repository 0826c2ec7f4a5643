#include "store/account_record.hpp"

namespace starling::store {

namespace {

void put_uint(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_short_string(std::string& out, std::string_view bytes) {
  put_uint(out, bytes.size(), 1);
  out.append(bytes);
}

class reader {
public:
  explicit reader(std::string_view bytes) : rest_(bytes) {}

  bool uint(std::uint64_t& value, int bytes) {
    if (rest_.size() < static_cast<std::size_t>(bytes))
      return false;
    value = 0;
    for (int i = 0; i < bytes; ++i)
      value = (value << 8) | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(bytes);
    return true;
  }

  bool short_string(std::string& out) {
    std::uint64_t size = 0;
    if (!uint(size, 1) || rest_.size() < size)
      return false;
    out.assign(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return true;
  }

  bool at_end() const { return rest_.empty(); }

private:
  std::string_view rest_;
};

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
    put_short_string(out, cred.salt);
    put_short_string(out, cred.stored_key);
    put_short_string(out, cred.server_key);
  }
  return out;
}

expected<account_record> decode_account(std::string_view bytes) {
  reader in(bytes);
  std::uint64_t version = 0;
  if (!in.uint(version, 1))
    return corrupt("empty");
  if (version != account_record_version)
    return corrupt("unknown record version " + std::to_string(version));

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
    if (!in.uint(hash, 1) || !in.uint(iterations, 4) || !in.short_string(cred.salt) ||
        !in.short_string(cred.stored_key) || !in.short_string(cred.server_key))
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
