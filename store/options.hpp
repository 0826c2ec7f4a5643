// Settings of the storage layer as the application passes them in (the
// [store] section of the configuration plus the data directory). A plain
// struct, no validation here: lmdb_env::open rejects invalid values with
// errc::invalid_argument.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace starling::store {

struct options {
  /// Directory of data.mdb and lock.mdb; created when missing.
  std::filesystem::path data_dir;

  /// LMDB map size at open, in bytes. When an existing data file is larger,
  /// LMDB keeps the larger size.
  std::uint64_t map_size_initial = std::uint64_t{64} << 20;

  /// The map doubles on MDB_MAP_FULL up to this size, in bytes; past it a
  /// write fails with errc::map_full.
  std::uint64_t map_size_max = std::uint64_t{64} << 30;

  /// A group commit starts after this many operations ...
  std::size_t group_commit_max_ops = 1024;

  /// ... or this long after its first batch arrived, whichever comes first.
  std::chrono::milliseconds group_commit_max_delay{2};

  /// PBKDF2 iterations for newly stored SCRAM credentials (RFC 7677
  /// section 4 asks for at least 4096).
  std::uint32_t scram_iterations = 4096;

  /// LMDB reader slots shared by all processes that open the store. Every
  /// live read transaction holds one (MDB_NOTLS).
  unsigned max_readers = 512;
};

} // namespace starling::store
