// Small per-user records that belong to no bigger store: the vCard
// (XEP-0054) and the last logout time and status (XEP-0012). One value per
// (user, kind); writes are built as write_batch values for the caller to
// commit; reads run on the calling thread. Thread-safe.
#pragma once

#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace starling::store {

inline constexpr std::string_view user_data_table = "user_data";

/// Largest value stored, in bytes; a vCard with a photo fits.
inline constexpr std::size_t max_user_data_bytes = 256 * 1024;

class user_data_store {
public:
  virtual ~user_data_store() = default;

  /// Returns the value, or nothing when none was stored.
  virtual expected<std::optional<std::string>> get(std::string_view user,
                                                   std::string_view kind) = 0;

  /// Returns a batch that stores `value`. Fails now with
  /// errc::invalid_argument for an empty user or kind, a NUL byte in
  /// either, or a value larger than max_user_data_bytes.
  virtual expected<write_batch> make_put(std::string_view user, std::string_view kind,
                                         std::string_view value) = 0;

  /// Returns a batch that removes every value of `user` of the given kinds.
  virtual write_batch make_remove(std::string_view user,
                                  std::initializer_list<std::string_view> kinds) = 0;
};

} // namespace starling::store
