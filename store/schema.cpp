#include "store/lmdb_env.hpp"

#include "store/lmdb_account_store.hpp"
#include "store/lmdb_block_store.hpp"
#include "store/lmdb_user_data_store.hpp"
#include "store/lmdb_offline_store.hpp"
#include "store/lmdb_roster_store.hpp"

namespace starling::store {

schema starling_schema() {
  schema layout;
  // Version 1: accounts. Rosters and offline queues were added later as new
  // tables, which open empty in an older store, so they need no format
  // version or migration.
  layout.format_version = 1;
  layout.tables = {std::string{accounts_table}};
  for (auto table : {roster_items_table, roster_removals_table, roster_versions_table,
                     roster_pending_table, offline_messages_table, offline_queues_table,
                     blocklist_table, user_data_table})
    layout.tables.emplace_back(table);
  return layout;
}

} // namespace starling::store
