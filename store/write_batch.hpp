// A write batch: an ordered list of operations on named tables that commits
// atomically, all of it or none of it. Plain data without CAF, so the admin
// tool commits it with lmdb_env::commit and the server sends it to the writer
// actor. Not thread-safe; build it in one place, then hand it over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starling::store {

enum class op_kind : std::uint8_t {
  put,              ///< Insert or overwrite.
  put_if_absent,    ///< Insert; the batch fails with errc::already_exists when the key exists.
  erase,            ///< Delete when present; a missing key is fine.
  erase_existing,   ///< Delete; the batch fails with errc::not_found when the key is missing.
  compare_and_set,  ///< Overwrite only when the stored value equals `expected`;
                    ///< otherwise the batch fails with errc::value_mismatch
                    ///< (errc::not_found when the key is missing).
};

struct write_op {
  op_kind kind = op_kind::put;
  std::string table;
  std::string key;
  std::string value;     ///< Unused by erase and erase_existing.
  std::string expected;  ///< Used only by compare_and_set.
};

class write_batch {
public:
  write_batch& put(std::string_view table, std::string_view key, std::string_view value);
  write_batch& put_if_absent(std::string_view table, std::string_view key, std::string_view value);
  write_batch& erase(std::string_view table, std::string_view key);
  write_batch& erase_existing(std::string_view table, std::string_view key);
  write_batch& compare_and_set(std::string_view table, std::string_view key,
                               std::string_view expected, std::string_view value);

  /// Appends the operations of `other` after those of this batch.
  write_batch& append(const write_batch& other);

  const std::vector<write_op>& ops() const noexcept { return ops_; }
  std::size_t size() const noexcept { return ops_.size(); }
  bool empty() const noexcept { return ops_.empty(); }
  void clear() noexcept { ops_.clear(); }

private:
  std::vector<write_op> ops_;
};

} // namespace starling::store
