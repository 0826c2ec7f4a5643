// The LMDB implementation of block_store: one entry per (user, blocked
// JID) in the table "blocklist", keyed "user NUL jid" so that a prefix scan
// lists one user's entries.
#pragma once

#include "store/block_store.hpp"
#include "store/lmdb_env.hpp"

#include <memory>

namespace starling::store {

inline constexpr std::string_view blocklist_table = "blocklist";

class lmdb_block_store final : public block_store {
public:
  explicit lmdb_block_store(std::shared_ptr<lmdb_env> env);

  expected<std::vector<std::string>> blocked(std::string_view user) override;
  expected<bool> is_blocked(std::string_view user,
                            const std::vector<std::string>& candidates) override;
  expected<write_batch> make_block(std::string_view user,
                                   const std::vector<std::string>& jids) override;
  expected<write_batch> make_unblock(std::string_view user,
                                     const std::vector<std::string>& jids) override;

private:
  std::shared_ptr<lmdb_env> env_;
};

} // namespace starling::store
