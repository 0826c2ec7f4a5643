#include "store/lmdb_offline_store.hpp"

#include <cassert>
#include <optional>

#include "store/record_codec.hpp"

namespace starling::store {

namespace {

constexpr std::uint8_t record_version = 1;

// The largest key LMDB 0.9 accepts with its default build settings
// (MDB_MAXKEYSIZE): the user, the NUL and 8 sequence bytes must fit.
constexpr std::size_t max_key_size = 511;
constexpr std::size_t sequence_size = 8;

using codec::put_uint;
using codec::reader;

std::string quoted(std::string_view user) {
  return "'" + std::string{user} + "'";
}

status check_user(std::string_view user) {
  if (user.empty())
    return {errc::invalid_argument, "the user JID is empty"};
  if (user.find('\0') != std::string_view::npos)
    return {errc::invalid_argument, "the user JID contains a NUL byte"};
  if (user.size() + 1 + sequence_size > max_key_size)
    return {errc::invalid_argument, "the user JID has " + std::to_string(user.size()) +
                                        " bytes, more than an offline queue key allows"};
  return {};
}

std::string encode_message(std::chrono::system_clock::time_point stored,
                           std::string_view stanza) {
  auto micros =
    std::chrono::duration_cast<std::chrono::microseconds>(stored.time_since_epoch()).count();
  std::string out;
  put_uint(out, record_version, 1);
  put_uint(out, static_cast<std::uint64_t>(micros), 8);
  out.append(stanza);
  return out;
}

expected<offline_message> decode_message(std::string_view user, std::uint64_t sequence,
                                         std::string_view bytes) {
  auto corrupt = [&](const std::string& why) {
    return status{errc::corrupt, "offline message " + std::to_string(sequence) + " of " +
                                     quoted(user) + ": " + why};
  };
  reader in(bytes);
  std::string why;
  if (!in.version(record_version, why))
    return corrupt(why);
  std::uint64_t micros = 0;
  if (!in.uint(micros, 8))
    return corrupt("truncated");
  if (in.at_end())
    return corrupt("no stanza");

  offline_message message;
  message.sequence = sequence;
  message.stored = std::chrono::system_clock::time_point{
    std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::microseconds{static_cast<std::int64_t>(micros)})};
  message.stanza = std::string{in.rest()};
  return message;
}

// Visits the messages of `user` in sequence order. `fn` gets the sequence
// number, the record and an error slot, and returns false to stop. A non-ok
// status that it stores in the slot fails the scan.
template <class Fn>
status scan_messages(const txn_view& txn, std::string_view user, Fn fn) {
  std::string prefix{user};
  prefix.push_back('\0');
  status inner;
  status st = txn.scan(offline_messages_table, prefix,
                       [&](std::string_view key, std::string_view value) {
                         if (!key.starts_with(prefix))
                           return false;
                         std::string_view rest = key.substr(prefix.size());
                         std::uint64_t sequence = 0;
                         if (rest.size() != sequence_size ||
                             !reader{rest}.uint(sequence, sequence_size)) {
                           inner = {errc::corrupt, "offline queue of " + quoted(user) +
                                                     " has a key with a " +
                                                     std::to_string(rest.size()) +
                                                     "-byte sequence number"};
                           return false;
                         }
                         return fn(sequence, value, inner);
                       });
  return st.ok() ? inner : st;
}

// The queue record of `user` as stored, or nothing when the user has none.
struct stored_queue {
  offline_queue_record record;
  std::string bytes;
};

expected<std::optional<stored_queue>> read_queue(const txn_view& txn, std::string_view user) {
  std::string_view bytes;
  status st = txn.get(offline_queues_table, user, bytes);
  if (st.code() == errc::not_found)
    return std::optional<stored_queue>{};
  if (!st.ok())
    return st;
  auto record = decode_offline_queue(bytes);
  if (!record)
    return status{errc::corrupt, "offline queue of " + quoted(user) + ": " +
                                     record.error().detail()};
  return std::optional<stored_queue>{stored_queue{*record, std::string{bytes}}};
}

} // namespace

std::string encode_offline_queue(const offline_queue_record& record) {
  std::string out;
  put_uint(out, record_version, 1);
  put_uint(out, record.count, 8);
  put_uint(out, record.next_sequence, 8);
  return out;
}

expected<offline_queue_record> decode_offline_queue(std::string_view bytes) {
  reader in(bytes);
  std::string why;
  if (!in.version(record_version, why))
    return status{errc::corrupt, "queue record: " + why};
  offline_queue_record record;
  if (!in.uint(record.count, 8) || !in.uint(record.next_sequence, 8))
    return status{errc::corrupt, "queue record: truncated"};
  if (!in.at_end())
    return status{errc::corrupt, "queue record: trailing bytes"};
  // Sequence numbers start at 1, so next_sequence - 1 messages were ever
  // stored and at most that many can be queued.
  if (record.next_sequence == 0 || record.count > record.next_sequence - 1)
    return status{errc::corrupt, "queue record: count " + std::to_string(record.count) +
                                     " does not fit next sequence number " +
                                     std::to_string(record.next_sequence)};
  return record;
}

std::string offline_message_key(std::string_view user, std::uint64_t sequence) {
  std::string key{user};
  key.push_back('\0');
  put_uint(key, sequence, sequence_size);
  return key;
}

lmdb_offline_store::lmdb_offline_store(std::shared_ptr<lmdb_env> env) : env_(std::move(env)) {
  assert(env_ != nullptr);
}

expected<offline_enqueue> lmdb_offline_store::make_enqueue(
  std::string_view user, std::string_view stanza, std::chrono::system_clock::time_point stored,
  std::uint64_t quota) {
  if (auto st = check_user(user); !st.ok())
    return st;
  if (stanza.empty())
    return status{errc::invalid_argument, "the offline message for " + quoted(user) +
                                              " has no stanza"};
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto queue = read_queue(*txn, user);
  if (!queue)
    return queue.error();

  offline_queue_record current = *queue ? (*queue)->record : offline_queue_record{};
  if (current.count >= quota)
    return status{offline_queue_full, "offline queue of " + quoted(user) + " is full (" +
                                          std::to_string(current.count) + " of " +
                                          std::to_string(quota) + " messages)"};

  offline_queue_record next{current.count + 1, current.next_sequence + 1};
  offline_enqueue out;
  out.sequence = current.next_sequence;

  // The guard on the queue record makes a concurrent enqueue or removal
  // fail this batch, so the count and the quota check stay exact. It comes
  // first, so a conflict fails with the guard's error and not with the
  // already_exists of a message key that the other enqueue also took.
  std::string next_bytes = encode_offline_queue(next);
  if (*queue)
    out.batch.compare_and_set(offline_queues_table, user, (*queue)->bytes, next_bytes);
  else
    out.batch.put_if_absent(offline_queues_table, user, next_bytes);
  out.batch.put_if_absent(offline_messages_table, offline_message_key(user, out.sequence),
                          encode_message(stored, stanza));
  return out;
}

expected<std::vector<offline_message>> lmdb_offline_store::first_messages(std::string_view user,
                                                                          std::size_t limit) {
  if (auto st = check_user(user); !st.ok())
    return st;
  std::vector<offline_message> messages;
  if (limit == 0)
    return messages;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  status st = scan_messages(*txn, user,
                            [&](std::uint64_t sequence, std::string_view value, status& error) {
                              auto message = decode_message(user, sequence, value);
                              if (!message) {
                                error = message.error();
                                return false;
                              }
                              messages.push_back(std::move(*message));
                              return messages.size() < limit;
                            });
  if (!st.ok())
    return st;
  return messages;
}

expected<write_batch> lmdb_offline_store::make_remove_through(std::string_view user,
                                                              std::uint64_t last_sequence) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();

  write_batch batch;
  std::uint64_t removed = 0;
  status st = scan_messages(*txn, user, [&](std::uint64_t sequence, std::string_view, status&) {
    if (sequence > last_sequence)
      return false;
    batch.erase_existing(offline_messages_table, offline_message_key(user, sequence));
    ++removed;
    return true;
  });
  if (!st.ok())
    return st;
  if (removed == 0)
    return batch;

  auto queue = read_queue(*txn, user);
  if (!queue)
    return queue.error();
  if (!*queue || (*queue)->record.count < removed)
    return status{errc::corrupt, "offline queue of " + quoted(user) + " holds " +
                                     std::to_string(removed) +
                                     " messages to remove but counts only " +
                                     std::to_string(*queue ? (*queue)->record.count : 0)};
  // The record stays when the count drops to 0, so sequence numbers are
  // never reused while the user exists.
  offline_queue_record next = (*queue)->record;
  next.count -= removed;
  batch.compare_and_set(offline_queues_table, user, (*queue)->bytes, encode_offline_queue(next));
  return batch;
}

expected<std::uint64_t> lmdb_offline_store::count(std::string_view user) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto queue = read_queue(*txn, user);
  if (!queue)
    return queue.error();
  return *queue ? (*queue)->record.count : std::uint64_t{0};
}

expected<write_batch> lmdb_offline_store::make_remove_user(std::string_view user) {
  if (auto st = check_user(user); !st.ok())
    return st;
  auto txn = env_->begin_read();
  if (!txn)
    return txn.error();
  auto queue = read_queue(*txn, user);
  if (!queue)
    return queue.error();

  write_batch batch;
  // Guard first: a message enqueued after this read would not be in the
  // erase list below, so the batch must fail instead. A compare_and_set to
  // the same value, or a put_if_absent when there is no record, checks that,
  // and the erase that follows removes the record.
  if (*queue)
    batch.compare_and_set(offline_queues_table, user, (*queue)->bytes, (*queue)->bytes);
  else
    batch.put_if_absent(offline_queues_table, user, encode_offline_queue({}));
  batch.erase(offline_queues_table, user);

  status st = scan_messages(*txn, user, [&](std::uint64_t sequence, std::string_view, status&) {
    batch.erase(offline_messages_table, offline_message_key(user, sequence));
    return true;
  });
  if (!st.ok())
    return st;
  return batch;
}

} // namespace starling::store
