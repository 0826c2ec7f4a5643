#include "store/lmdb_user_data_store.hpp"

namespace starling::store {

namespace {

// LMDB's default maximum key size (MDB_MAXKEYSIZE in LMDB 0.9).
constexpr std::size_t max_key_size = 511;

std::string key_of(std::string_view user, std::string_view kind) {
  std::string key{user};
  key.push_back('\0');
  key.append(kind);
  return key;
}

status check(std::string_view user, std::string_view kind) {
  if (user.empty() || kind.empty() || user.find('\0') != std::string_view::npos
      || kind.find('\0') != std::string_view::npos)
    return {errc::invalid_argument, "the user or kind of a user record is empty or contains NUL"};
  if (user.size() + 1 + kind.size() > max_key_size)
    return {errc::invalid_argument, "the user JID is too long for a user record key"};
  return {};
}

} // namespace

lmdb_user_data_store::lmdb_user_data_store(std::shared_ptr<lmdb_env> env)
  : env_(std::move(env)) {
}

expected<std::optional<std::string>> lmdb_user_data_store::get(std::string_view user,
                                                               std::string_view kind) {
  if (auto problem = check(user, kind); !problem.ok())
    return problem;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  std::string_view value;
  auto found = txn->get(user_data_table, key_of(user, kind), value);
  if (found.code() == errc::not_found)
    return std::optional<std::string>{};
  if (!found.ok())
    return found;
  return std::optional<std::string>{std::string{value}};
}

expected<write_batch> lmdb_user_data_store::make_put(std::string_view user, std::string_view kind,
                                                     std::string_view value) {
  if (auto problem = check(user, kind); !problem.ok())
    return problem;
  if (value.size() > max_user_data_bytes)
    return status{errc::invalid_argument, "a user record holds at most " +
                                            std::to_string(max_user_data_bytes) + " bytes"};
  write_batch batch;
  batch.put(user_data_table, key_of(user, kind), value);
  return batch;
}

write_batch lmdb_user_data_store::make_remove(std::string_view user,
                                              std::initializer_list<std::string_view> kinds) {
  write_batch batch;
  for (auto kind : kinds)
    batch.erase(user_data_table, key_of(user, kind));
  return batch;
}

} // namespace starling::store
