// The LMDB implementation of roster_store. Four tables, keys and records as
// in store/roster_record.hpp:
//   roster_items     user NUL contact -> item
//   roster_removals  user NUL contact -> tombstone (removal version)
//   roster_versions  user             -> roster version, newest pruned removal
//   roster_pending   user NUL contact -> inbound subscription request
// Reads use their own read transaction; writes are returned as batches.
// Thread-safe.
#pragma once

#include "store/lmdb_env.hpp"
#include "store/roster_store.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace starling::store {

inline constexpr std::string_view roster_items_table = "roster_items";
inline constexpr std::string_view roster_removals_table = "roster_removals";
inline constexpr std::string_view roster_versions_table = "roster_versions";
inline constexpr std::string_view roster_pending_table = "roster_pending";

/// Tombstones are kept for this many versions by default. A client that was
/// offline for fewer roster changes than this gets only the changes.
inline constexpr std::uint64_t default_roster_tombstone_horizon = 1000;

/// The largest key LMDB 0.9 accepts with its default build settings
/// (MDB_MAXKEYSIZE), in bytes. User and contact together, plus the NUL
/// separator, must fit.
inline constexpr std::size_t max_roster_key_size = 511;

class lmdb_roster_store final : public roster_store {
public:
  /// Every version change prunes the tombstones that are `tombstone_horizon`
  /// or more versions behind the new version. REQUIRES: tombstone_horizon >= 1.
  explicit lmdb_roster_store(std::shared_ptr<lmdb_env> env,
                             std::uint64_t tombstone_horizon = default_roster_tombstone_horizon);

  expected<roster_snapshot> roster(std::string_view user) override;
  expected<roster_item_lookup> find_item(std::string_view user,
                                         std::string_view contact) override;
  expected<roster_changes> changes_since(std::string_view user, std::uint64_t since) override;
  expected<std::optional<pending_subscription>> find_pending(std::string_view user,
                                                             std::string_view contact) override;
  expected<std::vector<pending_subscription>> pending(std::string_view user) override;

  expected<write_batch> make_put_item(std::string_view user, const roster_item& item,
                                      std::uint64_t base_version) override;
  expected<write_batch> make_remove_item(std::string_view user, std::string_view contact,
                                         std::uint64_t base_version) override;
  expected<write_batch> make_put_pending(std::string_view user,
                                         const pending_subscription& request) override;
  expected<write_batch> make_clear_pending(std::string_view user,
                                           std::string_view contact) override;
  expected<write_batch> make_remove_user(std::string_view user) override;

private:
  status add_version_bump(const txn_view& txn, std::string_view user,
                          std::uint64_t base_version, write_batch& batch,
                          std::uint64_t& new_version);

  std::shared_ptr<lmdb_env> env_;
  std::uint64_t tombstone_horizon_;
};

} // namespace starling::store
