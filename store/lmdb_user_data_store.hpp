// The LMDB implementation of user_data_store: keys "user NUL kind" in the
// table "user_data".
#pragma once

#include "store/lmdb_env.hpp"
#include "store/user_data_store.hpp"

#include <memory>

namespace starling::store {

class lmdb_user_data_store final : public user_data_store {
public:
  explicit lmdb_user_data_store(std::shared_ptr<lmdb_env> env);

  expected<std::optional<std::string>> get(std::string_view user, std::string_view kind) override;
  expected<write_batch> make_put(std::string_view user, std::string_view kind,
                                 std::string_view value) override;
  write_batch make_remove(std::string_view user,
                          std::initializer_list<std::string_view> kinds) override;

private:
  std::shared_ptr<lmdb_env> env_;
};

} // namespace starling::store
