#include "store/lmdb_block_store.hpp"

#include <set>

namespace starling::store {

namespace {

// LMDB's default maximum key size (MDB_MAXKEYSIZE in LMDB 0.9).
constexpr std::size_t max_key_size = 511;

std::string prefix_of(std::string_view user) {
  std::string key{user};
  key.push_back('\0');
  return key;
}

status check(std::string_view user, std::string_view jid) {
  if (user.empty() || user.find('\0') != std::string_view::npos)
    return {errc::invalid_argument, "the user JID is empty or contains a NUL byte"};
  if (jid.empty() || jid.find('\0') != std::string_view::npos)
    return {errc::invalid_argument, "a blocked JID is empty or contains a NUL byte"};
  if (user.size() + 1 + jid.size() > max_key_size)
    return {errc::invalid_argument, "the blocked JID '" + std::string{jid} + "' is too long"};
  return {};
}

} // namespace

lmdb_block_store::lmdb_block_store(std::shared_ptr<lmdb_env> env) : env_(std::move(env)) {
}

expected<std::vector<std::string>> lmdb_block_store::blocked(std::string_view user) {
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto prefix = prefix_of(user);
  std::vector<std::string> out;
  auto scanned = txn->scan(blocklist_table, prefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(prefix))
      return false;
    out.emplace_back(key.substr(prefix.size()));
    return true;
  });
  if (!scanned.ok())
    return scanned;
  return out;
}

expected<bool> lmdb_block_store::is_blocked(std::string_view user,
                                            const std::vector<std::string>& candidates) {
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto prefix = prefix_of(user);
  for (auto& candidate : candidates) {
    std::string_view value;
    auto found = txn->get(blocklist_table, prefix + candidate, value);
    if (found.ok())
      return true;
    if (found.code() != errc::not_found)
      return found;
  }
  return false;
}

expected<write_batch> lmdb_block_store::make_block(std::string_view user,
                                                   const std::vector<std::string>& jids) {
  auto current = blocked(user);
  if (!current)
    return current.error();
  std::set<std::string> all{current->begin(), current->end()};
  write_batch batch;
  for (auto& jid : jids) {
    if (auto problem = check(user, jid); !problem.ok())
      return problem;
    if (all.insert(jid).second)
      batch.put(blocklist_table, prefix_of(user) + jid, "");
  }
  if (all.size() > max_blocked_per_user)
    return status{errc::quota_exceeded, "a blocking list holds at most " +
                                          std::to_string(max_blocked_per_user) + " entries"};
  return batch;
}

expected<write_batch> lmdb_block_store::make_unblock(std::string_view user,
                                                     const std::vector<std::string>& jids) {
  write_batch batch;
  if (!jids.empty()) {
    for (auto& jid : jids)
      batch.erase(blocklist_table, prefix_of(user) + jid);
    return batch;
  }
  auto current = blocked(user);
  if (!current)
    return current.error();
  for (auto& jid : *current)
    batch.erase(blocklist_table, prefix_of(user) + jid);
  return batch;
}

} // namespace starling::store
