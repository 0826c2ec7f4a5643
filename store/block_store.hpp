// Blocking lists (XEP-0191): the JIDs a user has blocked. A blocked JID is a
// bare JID, a full JID or a domain, stored normalised as the caller gives
// it. Writes are built as write_batch values and committed by the caller,
// reads run on the calling thread; implementations are thread-safe.
#pragma once

#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace starling::store {

/// Entries one user may block; more would make every routed stanza to the
/// user check a longer list.
inline constexpr std::size_t max_blocked_per_user = 1000;

class block_store {
public:
  virtual ~block_store() = default;

  /// Lists the blocked JIDs of `user` in byte order.
  virtual expected<std::vector<std::string>> blocked(std::string_view user) = 0;

  /// Returns whether any of `candidates` (e.g. the full JID, bare JID and
  /// domain of a sender) is blocked by `user`.
  virtual expected<bool> is_blocked(std::string_view user,
                                    const std::vector<std::string>& candidates) = 0;

  /// Returns a batch that adds `jids`. Fails now with errc::quota_exceeded
  /// when the list would grow past max_blocked_per_user, and with
  /// errc::invalid_argument for an empty or too long JID.
  virtual expected<write_batch> make_block(std::string_view user,
                                           const std::vector<std::string>& jids) = 0;

  /// Returns a batch that removes `jids`; an empty list removes all.
  virtual expected<write_batch> make_unblock(std::string_view user,
                                             const std::vector<std::string>& jids) = 0;
};

} // namespace starling::store
