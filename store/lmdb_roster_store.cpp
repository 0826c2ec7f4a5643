#include "store/lmdb_roster_store.hpp"

#include "store/roster_record.hpp"

#include <algorithm>
#include <cassert>

namespace starling::store {

namespace {

status check_jid(std::string_view what, std::string_view jid) {
  if (jid.empty())
    return {errc::invalid_argument, "the " + std::string{what} + " JID is empty"};
  if (jid.find('\0') != std::string_view::npos)
    return {errc::invalid_argument,
            "the " + std::string{what} + " JID contains a NUL byte"};
  return {};
}

status check_user(std::string_view user) {
  if (auto st = check_jid("user", user); !st.ok())
    return st;
  if (user.size() + 1 > max_roster_key_size)
    return {errc::invalid_argument, "the user JID has " + std::to_string(user.size()) +
                                        " bytes, more than a roster key allows"};
  return {};
}

status check_pair(std::string_view user, std::string_view contact) {
  if (auto st = check_user(user); !st.ok())
    return st;
  if (auto st = check_jid("contact", contact); !st.ok())
    return st;
  if (user.size() + 1 + contact.size() > max_roster_key_size)
    return {errc::invalid_argument,
            "user and contact JID have " + std::to_string(user.size() + contact.size()) +
              " bytes together, more than the " + std::to_string(max_roster_key_size - 1) +
              " that a roster key allows"};
  return {};
}

// Visits the entries of `user` in `table`; `fn` gets the contact part of the
// key and returns a non-ok status to stop with that status.
template <class Fn>
status scan_user(const txn_view& txn, std::string_view table, std::string_view user, Fn fn) {
  std::string prefix = roster_prefix(user);
  status inner;
  status st = txn.scan(table, prefix, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(prefix))
      return false;
    inner = fn(key.substr(prefix.size()), value);
    return inner.ok();
  });
  return st.ok() ? inner : st;
}

// Reads the version record of `user`: the decoded record and its raw bytes,
// or an empty optional when the user has no roster yet.
struct stored_version {
  roster_version_record record;
  std::string bytes;
};

expected<std::optional<stored_version>> read_version(const txn_view& txn,
                                                     std::string_view user) {
  std::string_view bytes;
  status st = txn.get(roster_versions_table, user, bytes);
  if (st.code() == errc::not_found)
    return std::optional<stored_version>{};
  if (!st.ok())
    return st;
  auto record = decode_roster_version(bytes);
  if (!record)
    return status{errc::corrupt, "roster of '" + std::string{user} + "': " +
                                     record.error().detail()};
  return std::optional<stored_version>{stored_version{*record, std::string{bytes}}};
}

status user_corrupt(std::string_view user, const status& cause) {
  return {errc::corrupt, "roster of '" + std::string{user} + "': " + cause.detail()};
}

expected<std::vector<roster_item>> read_items(const txn_view& txn, std::string_view user,
                                              std::uint64_t changed_after) {
  std::vector<roster_item> items;
  status st = scan_user(txn, roster_items_table, user,
                        [&](std::string_view contact, std::string_view value) {
                          auto item = decode_roster_item(contact, value);
                          if (!item)
                            return user_corrupt(user, item.error());
                          if (item->version > changed_after)
                            items.push_back(std::move(*item));
                          return status{};
                        });
  if (!st.ok())
    return st;
  return items;
}

} // namespace

lmdb_roster_store::lmdb_roster_store(std::shared_ptr<lmdb_env> env,
                                     std::uint64_t tombstone_horizon)
    : env_(std::move(env)), tombstone_horizon_(tombstone_horizon) {
  assert(env_ != nullptr);
  assert(tombstone_horizon_ >= 1);
}

// -- reads --------------------------------------------------------------------

expected<roster_snapshot> lmdb_roster_store::roster(std::string_view user) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto version = read_version(*txn, user);
  if (!version)
    return version.error();
  auto items = read_items(*txn, user, 0);
  if (!items)
    return items.error();
  return roster_snapshot{*version ? (*version)->record.version : 0, std::move(*items)};
}

expected<roster_item_lookup> lmdb_roster_store::find_item(std::string_view user,
                                                          std::string_view contact) {
  if (auto st = check_pair(user, contact); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto version = read_version(*txn, user);
  if (!version)
    return version.error();

  roster_item_lookup lookup;
  lookup.version = *version ? (*version)->record.version : 0;
  std::string_view bytes;
  status st = txn->get(roster_items_table, roster_key(user, contact), bytes);
  if (st.code() == errc::not_found)
    return lookup;
  if (!st.ok())
    return st;
  auto item = decode_roster_item(contact, bytes);
  if (!item)
    return user_corrupt(user, item.error());
  lookup.item = std::move(*item);
  return lookup;
}

expected<roster_changes> lmdb_roster_store::changes_since(std::string_view user,
                                                          std::uint64_t since) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto version = read_version(*txn, user);
  if (!version)
    return version.error();
  roster_version_record current = *version ? (*version)->record : roster_version_record{};

  roster_changes out;
  out.version = current.version;
  if (since == current.version) {
    out.kind = roster_sync::up_to_date;
    return out;
  }

  // RFC 6121 section 2.6: for a version that no diff can be computed for,
  // send the whole roster. That is a version from the future (another
  // server, or a roster that was removed and created again) or one older
  // than a pruned tombstone, whose removal the client would never learn of.
  if (since > current.version || since < current.pruned_through) {
    auto items = read_items(*txn, user, 0);
    if (!items)
      return items.error();
    out.kind = roster_sync::full;
    out.changed = std::move(*items);
    return out;
  }

  auto items = read_items(*txn, user, since);
  if (!items)
    return items.error();
  out.kind = roster_sync::changes;
  out.changed = std::move(*items);
  status st = scan_user(*txn, roster_removals_table, user,
                        [&](std::string_view contact, std::string_view value) {
                          auto removed_at = decode_roster_removal(value);
                          if (!removed_at)
                            return user_corrupt(user, removed_at.error());
                          if (*removed_at > since)
                            out.removed.push_back({std::string{contact}, *removed_at});
                          return status{};
                        });
  if (!st.ok())
    return st;
  return out;
}

expected<std::optional<pending_subscription>> lmdb_roster_store::find_pending(
  std::string_view user, std::string_view contact) {
  if (auto st = check_pair(user, contact); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  std::string_view bytes;
  status st = txn->get(roster_pending_table, roster_key(user, contact), bytes);
  if (st.code() == errc::not_found)
    return std::optional<pending_subscription>{};
  if (!st.ok())
    return st;
  auto request = decode_pending_subscription(contact, bytes);
  if (!request)
    return user_corrupt(user, request.error());
  return std::optional<pending_subscription>{std::move(*request)};
}

expected<std::vector<pending_subscription>> lmdb_roster_store::pending(std::string_view user) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  std::vector<pending_subscription> requests;
  status st = scan_user(*txn, roster_pending_table, user,
                        [&](std::string_view contact, std::string_view value) {
                          auto request = decode_pending_subscription(contact, value);
                          if (!request)
                            return user_corrupt(user, request.error());
                          requests.push_back(std::move(*request));
                          return status{};
                        });
  if (!st.ok())
    return st;
  return requests;
}

// -- batches ------------------------------------------------------------------

// Appends to `batch` the guarded version change from `base_version` to
// base_version + 1 and the pruning of old tombstones, both read in `txn`.
// Pruning is done here because every version change passes through, so the
// number of tombstones stays bounded by the horizon without a background job.
status lmdb_roster_store::add_version_bump(const txn_view& txn, std::string_view user,
                                           std::uint64_t base_version, write_batch& batch,
                                           std::uint64_t& new_version) {
  auto stored = read_version(txn, user);
  if (!stored)
    return stored.error();
  roster_version_record current = *stored ? (*stored)->record : roster_version_record{};
  if (current.version != base_version)
    return {errc::value_mismatch, "roster of '" + std::string{user} + "' is at version " +
                                      std::to_string(current.version) + ", not " +
                                      std::to_string(base_version)};

  roster_version_record next = current;
  next.version = current.version + 1;
  new_version = next.version;

  // Tombstones at or below `threshold` are pruned.
  std::uint64_t threshold =
    next.version > tombstone_horizon_ ? next.version - tombstone_horizon_ : 0;
  status st = scan_user(txn, roster_removals_table, user,
                        [&](std::string_view contact, std::string_view value) {
                          auto removed_at = decode_roster_removal(value);
                          if (!removed_at)
                            return user_corrupt(user, removed_at.error());
                          if (*removed_at <= threshold) {
                            batch.erase(roster_removals_table, roster_key(user, contact));
                            next.pruned_through = std::max(next.pruned_through, *removed_at);
                          }
                          return status{};
                        });
  if (!st.ok())
    return st;

  std::string next_bytes = encode_roster_version(next);
  if (*stored)
    batch.compare_and_set(roster_versions_table, user, (*stored)->bytes, next_bytes);
  else
    batch.put_if_absent(roster_versions_table, user, next_bytes);
  return {};
}

expected<write_batch> lmdb_roster_store::make_put_item(std::string_view user,
                                                       const roster_item& item,
                                                       std::uint64_t base_version) {
  if (auto st = check_pair(user, item.contact); !st.ok())
    return st;
  // RFC 6121 section 2.3.3: a group name is never empty.
  if (item.groups.contains(std::string{}))
    return status{errc::invalid_argument, "roster item of '" + item.contact +
                                              "' has an empty group name"};

  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  write_batch batch;
  std::uint64_t version = 0;
  if (auto st = add_version_bump(*txn, user, base_version, batch, version); !st.ok())
    return st;

  roster_item stored = item;
  stored.version = version;
  std::string key = roster_key(user, item.contact);
  batch.put(roster_items_table, key, encode_roster_item(stored));
  batch.erase(roster_removals_table, key);
  return batch;
}

expected<write_batch> lmdb_roster_store::make_remove_item(std::string_view user,
                                                          std::string_view contact,
                                                          std::uint64_t base_version) {
  if (auto st = check_pair(user, contact); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  std::string key = roster_key(user, contact);
  std::string_view unused;
  status st = txn->get(roster_items_table, key, unused);
  if (st.code() == errc::not_found)
    return status{errc::not_found, "roster of '" + std::string{user} + "' has no item '" +
                                       std::string{contact} + "'"};
  if (!st.ok())
    return st;

  write_batch batch;
  std::uint64_t version = 0;
  if (auto bump = add_version_bump(*txn, user, base_version, batch, version); !bump.ok())
    return bump;
  batch.erase_existing(roster_items_table, key);
  // After the pruning erases of add_version_bump, so the horizon never
  // removes the tombstone written here.
  batch.put(roster_removals_table, key, encode_roster_removal(version));
  return batch;
}

expected<write_batch> lmdb_roster_store::make_put_pending(std::string_view user,
                                                          const pending_subscription& request) {
  if (auto st = check_pair(user, request.contact); !st.ok())
    return st;
  if (request.stanza.empty())
    return status{errc::invalid_argument, "the subscription request from '" +
                                              request.contact + "' has no stanza"};
  write_batch batch;
  batch.put(roster_pending_table, roster_key(user, request.contact),
            encode_pending_subscription(request));
  return batch;
}

expected<write_batch> lmdb_roster_store::make_clear_pending(std::string_view user,
                                                            std::string_view contact) {
  if (auto st = check_pair(user, contact); !st.ok())
    return st;
  write_batch batch;
  batch.erase(roster_pending_table, roster_key(user, contact));
  return batch;
}

expected<write_batch> lmdb_roster_store::make_remove_user(std::string_view user) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto stored = read_version(*txn, user);
  if (!stored)
    return stored.error();

  write_batch batch;
  // Guard first: a roster change committed after this read would add keys
  // that the erases below do not cover, so the batch must fail instead.
  // A compare_and_set to the same value, or a put_if_absent when there is no
  // version record, checks that; the erase that follows removes the record.
  if (*stored) {
    batch.compare_and_set(roster_versions_table, user, (*stored)->bytes, (*stored)->bytes);
  } else {
    batch.put_if_absent(roster_versions_table, user, encode_roster_version({}));
  }
  batch.erase(roster_versions_table, user);

  for (auto table : {roster_items_table, roster_removals_table, roster_pending_table}) {
    status st = scan_user(*txn, table, user, [&](std::string_view contact, std::string_view) {
      batch.erase(table, roster_key(user, contact));
      return status{};
    });
    if (!st.ok())
      return st;
  }
  // NOTE: a request stored with make_put_pending after this read is not
  // guarded by the version record and survives the removal. And a roster
  // created again for the same user restarts at version 1, so a client that
  // cached version N of the old roster gets a wrong diff once the new one
  // passes N.
  return batch;
}

} // namespace starling::store
