// Error values of the storage layer: one enum (errc) with its
// std::error_category, and `status`, which pairs a code with the detail of one
// failure (the path or table and the LMDB message). Every store function
// returns a status or an expected<T>; nothing in store/ throws across its
// interface. Plain values, safe to copy between threads and actors.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace starling::store {

enum class errc {
  ok = 0,
  directory_not_writable,  ///< EACCES/EPERM on the data directory or a file in it.
  read_only_filesystem,    ///< EROFS.
  disk_full,               ///< ENOSPC or EDQUOT while writing or syncing.
  map_full,                ///< MDB_MAP_FULL with the map already at its maximum size.
  corrupt,                 ///< MDB_INVALID, MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_VERSION_MISMATCH, bad record.
  lock_file,               ///< lock.mdb cannot be created, opened or locked.
  format_too_new,          ///< The store's format version is newer than this build supports.
  migration_failed,        ///< A registered migration failed or one is missing.
  already_exists,          ///< put_if_absent found the key.
  not_found,               ///< The key or record does not exist.
  value_mismatch,          ///< compare_and_set found another value.
  unknown_table,           ///< A table name that the schema does not declare.
  invalid_argument,        ///< Empty key, key too long, bad option value.
  store_failed,            ///< Sticky: an earlier commit failed, writes are rejected until reopen.
  io_error,                ///< EIO and other system errors on the data files.
  readers_full,            ///< MDB_READERS_FULL.
  writer_stopped,          ///< The writer actor exited before it answered.
  crypto_error,            ///< OpenSSL failed while deriving SCRAM keys.
  quota_exceeded,          ///< A per-user limit, such as the offline queue quota, is reached.
  lmdb_error,              ///< Any other LMDB return code; the detail names it.
};

const std::error_category& error_category() noexcept;

std::error_code make_error_code(errc code) noexcept;

/// Result of one store operation: ok, or a code plus the detail that says
/// where it failed. Default-constructed means ok.
class status {
public:
  status() = default;
  status(errc code, std::string detail) : code_(code), detail_(std::move(detail)) {}

  bool ok() const noexcept { return code_ == errc::ok; }
  errc code() const noexcept { return code_; }
  std::error_code error_code() const noexcept { return make_error_code(code_); }

  /// What failed and where, e.g. "commit on /var/lib/starling: No space left on device".
  const std::string& detail() const noexcept { return detail_; }

  /// The category text (what it means, what to do) followed by the detail.
  std::string message() const;

private:
  errc code_ = errc::ok;
  std::string detail_;
};

/// A value or the status that explains why there is none.
template <class T>
class expected {
public:
  expected(T value) : data_(std::move(value)) {}
  expected(status error) : data_(std::move(error)) { assert(!std::get<status>(data_).ok()); }

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// REQUIRES: !has_value().
  const status& error() const { return std::get<status>(data_); }

private:
  std::variant<T, status> data_;
};

} // namespace starling::store

template <>
struct std::is_error_code_enum<starling::store::errc> : std::true_type {};
