// Offline message storage (XEP-0160, RFC 6121 section 8.5.2.2): a FIFO queue
// of serialized message stanzas per user, kept while the user has no
// available resource and delivered at the next login.
//
// Each message gets a sequence number from a per-user counter that is stored
// with the queue, so arrival order survives restarts, and the time it was
// stored, for the XEP-0203 delay stamp added at delivery. The per-user
// message count is kept in the same record and changed in the same batches,
// so the quota check costs one read.
//
// Users are bare JIDs as given: the caller normalises them.
//
// Writes are not performed here. The make_* functions read the current
// state and return a write_batch that the caller commits through the writer
// actor (server) or lmdb_env::commit (starlingctl). Every batch carries a
// compare_and_set of the user's count record, so of two batches built from
// the same state only the first commits. The second fails with
// errc::value_mismatch (errc::already_exists when the queue had no record
// yet), and the caller builds it again, which checks the quota again.
// Reads run directly on the calling thread. Implementations are thread-safe.
#pragma once

#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starling::store {

/// Messages per user when the configuration sets no quota.
inline constexpr std::uint64_t default_offline_quota = 1000;

/// The error code of make_enqueue for a full queue.
inline constexpr errc offline_queue_full = errc::quota_exceeded;

struct offline_message {
  std::uint64_t sequence = 0;  ///< Increases with arrival, starts at 1.
  std::chrono::system_clock::time_point stored;  ///< Microsecond precision.
  std::string stanza;  ///< The message stanza, serialized XML.

  bool operator==(const offline_message&) const = default;
};

/// A batch that appends one message, and the sequence number it gets.
struct offline_enqueue {
  write_batch batch;
  std::uint64_t sequence = 0;
};

class offline_store {
public:
  virtual ~offline_store() = default;

  /// Returns a batch that appends `stanza` to the queue of `user`. Fails now
  /// with offline_queue_full when the queue contains `quota` or more
  /// messages, and the server then returns an error instead of storing
  /// (RFC 6121 section 8.5.2.2). Fails with errc::invalid_argument for an
  /// empty stanza or an empty, too long or NUL-containing user.
  virtual expected<offline_enqueue> make_enqueue(std::string_view user, std::string_view stanza,
                                                 std::chrono::system_clock::time_point stored,
                                                 std::uint64_t quota) = 0;

  /// Reads the oldest `limit` messages in arrival order.
  virtual expected<std::vector<offline_message>> first_messages(std::string_view user,
                                                                std::size_t limit) = 0;

  /// Returns a batch that deletes the messages with sequence numbers up to
  /// and including `last_sequence`, e.g. after they were written to a live
  /// stream. The batch is empty when there are none.
  virtual expected<write_batch> make_remove_through(std::string_view user,
                                                    std::uint64_t last_sequence) = 0;

  /// Counts the queued messages with one read.
  virtual expected<std::uint64_t> count(std::string_view user) = 0;

  /// Returns a batch that deletes the queue and its counter (account
  /// removal). Committing it fails with errc::value_mismatch or
  /// errc::already_exists when a message arrived after this call.
  virtual expected<write_batch> make_remove_user(std::string_view user) = 0;
};

} // namespace starling::store
