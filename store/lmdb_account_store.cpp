#include "store/lmdb_account_store.hpp"

#include "store/account_record.hpp"

#include <cassert>
#include <chrono>
#include <stdexcept>

namespace starling::store {

namespace {

constexpr std::size_t salt_size = 16;

constexpr sasl::scram_hash all_hashes[] = {sasl::scram_hash::sha1, sasl::scram_hash::sha256,
                                           sasl::scram_hash::sha512};

// The hash whose StoredKey verify_plain compares.
constexpr sasl::scram_hash plain_hash = sasl::scram_hash::sha256;

// SCRAM key derivation with OpenSSL errors turned into a status.
expected<scram_credentials> derive(sasl::scram_hash hash, std::string_view password,
                                   std::string salt, std::uint32_t iterations) {
  try {
    std::string salted = sasl::salted_password(hash, password, salt, iterations);
    sasl::scram_keys keys = sasl::derive_keys(hash, salted);
    return scram_credentials{hash, std::move(salt), iterations, std::move(keys.stored_key),
                             std::move(keys.server_key)};
  } catch (const std::exception& e) {
    return status{errc::crypto_error, std::string{sasl::mechanism_name(hash)} + ": " + e.what()};
  }
}

status check_username(std::string_view username) {
  if (username.empty())
    return {errc::invalid_argument, "the username is empty"};
  return {};
}

} // namespace

lmdb_account_store::lmdb_account_store(std::shared_ptr<lmdb_env> env, std::uint32_t iterations)
    : env_(std::move(env)), iterations_(iterations) {
  assert(env_ != nullptr);
  assert(iterations_ >= 1 && iterations_ <= max_scram_iterations);
}

expected<std::string> lmdb_account_store::encode_new_record(std::string_view password) {
  account_record record;
  record.created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  for (auto hash : all_hashes) {
    std::string salt;
    try {
      salt = sasl::random_bytes(salt_size);
    } catch (const std::exception& e) {
      return status{errc::crypto_error, std::string{"random salt: "} + e.what()};
    }
    auto cred = derive(hash, password, std::move(salt), iterations_);
    if (!cred)
      return cred.error();
    record.credentials.push_back(std::move(*cred));
  }
  return encode_account(record);
}

expected<std::string> lmdb_account_store::read_record(std::string_view username) {
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  std::string_view value;
  if (auto st = txn->get(accounts_table, username, value); !st.ok()) {
    if (st.code() == errc::not_found)
      return status{errc::not_found, "account '" + std::string{username} + "'"};
    return st;
  }
  return std::string{value};
}

expected<write_batch> lmdb_account_store::make_register(std::string_view username,
                                                        std::string_view password) {
  if (auto st = check_username(username); !st.ok())
    return st;
  auto record = encode_new_record(password);
  if (!record)
    return record.error();
  write_batch batch;
  batch.put_if_absent(accounts_table, username, *record);
  return batch;
}

expected<write_batch> lmdb_account_store::make_change_password(std::string_view username,
                                                               std::string_view password) {
  if (auto st = check_username(username); !st.ok())
    return st;
  auto current = read_record(username);
  if (!current)
    return current.error();
  auto record = encode_new_record(password);
  if (!record)
    return record.error();
  // Compare-and-set against the record read above, so a concurrent remove or
  // password change makes this commit fail instead of being overwritten.
  write_batch batch;
  batch.compare_and_set(accounts_table, username, *current, *record);
  return batch;
}

write_batch lmdb_account_store::make_remove(std::string_view username) {
  write_batch batch;
  batch.erase_existing(accounts_table, username);
  return batch;
}

expected<scram_credentials> lmdb_account_store::credentials(std::string_view username,
                                                            sasl::scram_hash hash) {
  auto bytes = read_record(username);
  if (!bytes)
    return bytes.error();
  auto record = decode_account(*bytes);
  if (!record)
    return status{errc::corrupt, "account '" + std::string{username} + "': " +
                                     record.error().detail()};
  for (auto& cred : record->credentials) {
    if (cred.hash != hash)
      continue;
    if (cred.iterations > max_scram_iterations)
      return status{errc::corrupt, "account '" + std::string{username} + "' has " +
                                       std::to_string(cred.iterations) + " iterations"};
    return std::move(cred);
  }
  return status{errc::not_found, "account '" + std::string{username} + "' has no " +
                                     std::string{sasl::mechanism_name(hash)} + " credentials"};
}

expected<bool> lmdb_account_store::exists(std::string_view username) {
  auto bytes = read_record(username);
  if (bytes)
    return true;
  if (bytes.error().code() == errc::not_found)
    return false;
  return bytes.error();
}

expected<std::vector<std::string>> lmdb_account_store::list(std::string_view after,
                                                            std::size_t limit) {
  std::vector<std::string> names;
  if (limit == 0)
    return names;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  status st = txn->scan(accounts_table, after, [&](std::string_view key, std::string_view) {
    if (!after.empty() && key == after)
      return true;  // The page starts after the given name.
    names.emplace_back(key);
    return names.size() < limit;
  });
  if (!st.ok())
    return st;
  return names;
}

expected<std::uint64_t> lmdb_account_store::count() {
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  return txn->count(accounts_table);
}

expected<bool> lmdb_account_store::verify_plain(std::string_view username,
                                                std::string_view password) {
  auto cred = credentials(username, plain_hash);
  if (!cred && cred.error().code() != errc::not_found)
    return cred.error();

  if (!cred) {
    // Same work as for a real account, so the response time does not tell an
    // attacker which usernames exist.
    auto dummy = derive(plain_hash, password, std::string(salt_size, '\0'), iterations_);
    if (!dummy)
      return dummy.error();
    return false;
  }

  auto derived = derive(plain_hash, password, cred->salt, cred->iterations);
  if (!derived)
    return derived.error();
  return sasl::constant_time_equal(derived->stored_key, cred->stored_key);
}

} // namespace starling::store
