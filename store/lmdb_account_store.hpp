// The LMDB implementation of account_store: one record per account in the
// "accounts" table, keyed by the username, value in the format of
// store/account_record.hpp. Reads use their own read transaction; writes are
// returned as batches. Thread-safe.
#pragma once

#include "store/account_store.hpp"
#include "store/lmdb_env.hpp"

#include <memory>

namespace starling::store {

inline constexpr std::string_view accounts_table = "accounts";

/// PBKDF2 iteration counts above this are rejected, in options and in stored
/// records, so a damaged record cannot stall a login for minutes.
inline constexpr std::uint32_t max_scram_iterations = 10'000'000;

class lmdb_account_store final : public account_store {
public:
  /// `iterations` applies to credentials created from now on; existing
  /// records keep theirs. REQUIRES: 1 <= iterations <= max_scram_iterations.
  lmdb_account_store(std::shared_ptr<lmdb_env> env, std::uint32_t iterations);

  expected<write_batch> make_register(std::string_view username,
                                      std::string_view password) override;
  expected<write_batch> make_change_password(std::string_view username,
                                             std::string_view password) override;
  write_batch make_remove(std::string_view username) override;
  expected<scram_credentials> credentials(std::string_view username,
                                          sasl::scram_hash hash) override;
  expected<bool> exists(std::string_view username) override;
  expected<std::vector<std::string>> list(std::string_view after, std::size_t limit) override;
  expected<std::uint64_t> count() override;
  expected<bool> verify_plain(std::string_view username, std::string_view password) override;

private:
  expected<std::string> encode_new_record(std::string_view password);
  expected<std::string> read_record(std::string_view username);

  std::shared_ptr<lmdb_env> env_;
  std::uint32_t iterations_;
};

} // namespace starling::store
