// The LMDB implementation of offline_store. Two tables:
//   offline_messages  user NUL u64 sequence (big-endian) -> message record
//   offline_queues    user -> queue record
// Big-endian sequence numbers make key order equal arrival order, and the NUL
// separator keeps users whose JIDs share a prefix apart (a JID contains no
// NUL). Records start with a record version byte (1), integers big-endian:
//   message:  u8 1, i64 store time in microseconds since the Unix epoch,
//             then the stanza XML up to the end of the record
//   queue:    u8 1, u64 message count, u64 next sequence number
// Decoding rejects unknown versions, truncation, trailing bytes and an empty
// stanza with errc::corrupt. Reads use their own read transaction; writes are
// returned as batches. Thread-safe.
#pragma once

#include "store/lmdb_env.hpp"
#include "store/offline_store.hpp"

#include <memory>
#include <string_view>

namespace starling::store {

inline constexpr std::string_view offline_messages_table = "offline_messages";
inline constexpr std::string_view offline_queues_table = "offline_queues";

/// The record of a user's queue, exposed for tests of damaged records.
struct offline_queue_record {
  std::uint64_t count = 0;
  std::uint64_t next_sequence = 1;

  bool operator==(const offline_queue_record&) const = default;
};

std::string encode_offline_queue(const offline_queue_record& record);
expected<offline_queue_record> decode_offline_queue(std::string_view bytes);

/// Returns user + NUL + the big-endian sequence number.
std::string offline_message_key(std::string_view user, std::uint64_t sequence);

class lmdb_offline_store final : public offline_store {
public:
  explicit lmdb_offline_store(std::shared_ptr<lmdb_env> env);

  expected<offline_enqueue> make_enqueue(std::string_view user, std::string_view stanza,
                                         std::chrono::system_clock::time_point stored,
                                         std::uint64_t quota) override;
  expected<std::vector<offline_message>> first_messages(std::string_view user,
                                                        std::size_t limit) override;
  expected<write_batch> make_remove_through(std::string_view user,
                                            std::uint64_t last_sequence) override;
  expected<std::uint64_t> count(std::string_view user) override;
  expected<write_batch> make_remove_user(std::string_view user) override;

private:
  std::shared_ptr<lmdb_env> env_;
};

} // namespace starling::store
