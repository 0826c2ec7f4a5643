#include "store/lmdb_env.hpp"

#include "store/lmdb_account_store.hpp"

namespace starling::store {

schema starling_schema() {
  schema layout;
  // Version 1: accounts.
  layout.format_version = 1;
  layout.tables = {std::string{accounts_table}};
  return layout;
}

} // namespace starling::store
