// The LMDB environment of one data directory: opens data.mdb with the named
// tables of a schema, checks and migrates the format version, grows the map on
// MDB_MAP_FULL, and commits write batches. Errors are `status` values with the
// codes of store/status.hpp; nothing throws.
//
// Threads: read transactions may be opened, used and closed on any thread
// (the environment uses MDB_NOTLS because actors move between threads). One
// thread at a time commits; concurrent commit calls are serialised by a mutex.
// In the server only the writer actor commits; starlingctl commits from its
// own process, and LMDB serialises writers across processes.
//
// Durability: every commit is synced (no MDB_NOSYNC, no MDB_NOMETASYNC), so a
// successful commit survives SIGKILL and power loss. A failed commit makes the
// environment fail every later write with errc::store_failed until it is
// reopened, because after a failed write or fsync the state on disk is unknown.
#pragma once

#include "store/options.hpp"
#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct MDB_env;
struct MDB_txn;

namespace starling::store {

class lmdb_env;

/// Called for each entry of a scan in key order; returns false to stop.
using scan_fn = std::function<bool(std::string_view key, std::string_view value)>;

/// Read access shared by read and write transactions. Values returned as
/// string_view point into the LMDB map and stay valid until the transaction
/// ends.
class txn_view {
public:
  /// Looks up `key`; returns ok and sets `value`, or errc::not_found.
  status get(std::string_view table, std::string_view key, std::string_view& value) const;

  /// Visits the entries with key >= `from` in key order until `fn` returns false.
  status scan(std::string_view table, std::string_view from, const scan_fn& fn) const;

  /// Counts the entries of a table.
  expected<std::uint64_t> count(std::string_view table) const;

protected:
  txn_view(lmdb_env* env, MDB_txn* txn) : env_(env), txn_(txn) {}

  lmdb_env* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
};

/// A read-only snapshot. Move-only; ends when destroyed. Holds an LMDB reader
/// slot and delays map growth while it lives, so keep it short and do not
/// open a second one on the same thread while holding the first.
class read_txn : public txn_view {
public:
  read_txn(read_txn&& other) noexcept;
  read_txn& operator=(read_txn&& other) noexcept;
  read_txn(const read_txn&) = delete;
  read_txn& operator=(const read_txn&) = delete;
  ~read_txn();

private:
  friend class lmdb_env;
  read_txn(lmdb_env* env, MDB_txn* txn) : txn_view(env, txn) {}
  void release() noexcept;
};

/// A write transaction handed to migrations; the environment commits or
/// aborts it.
class write_txn : public txn_view {
public:
  status put(std::string_view table, std::string_view key, std::string_view value);

  /// Deletes `key`; a missing key is not an error.
  status erase(std::string_view table, std::string_view key);

private:
  friend class lmdb_env;
  write_txn(lmdb_env* env, MDB_txn* txn) : txn_view(env, txn) {}
};

/// Upgrades the store from format `from_version` to `from_version + 1`.
struct migration {
  std::uint32_t from_version = 0;
  std::function<status(write_txn&)> run;
};

/// The tables and format version that a build of Starling expects.
struct schema {
  std::uint32_t format_version = 1;
  std::vector<std::string> tables;  ///< "meta" is reserved and always opened.
  std::vector<migration> migrations;
};

/// The schema of this Starling build: every store's tables. Defined in
/// store/schema.cpp; a new store adds its tables there.
schema starling_schema();

struct table_stats {
  std::string name;
  std::uint64_t entries = 0;
};

struct env_stats {
  std::filesystem::path path;
  std::uint32_t format_version = 0;
  std::uint64_t map_size = 0;      ///< Current map size in bytes.
  std::uint64_t map_size_max = 0;  ///< Configured maximum in bytes.
  std::uint64_t page_size = 0;
  std::uint64_t used_bytes = 0;    ///< (last used page + 1) * page size.
  unsigned readers_used = 0;       ///< Reader slots in use by all processes.
  unsigned readers_max = 0;
  std::vector<table_stats> tables;  ///< Including "meta".
};

class lmdb_env {
public:
  /// Opens or creates the store in `opts.data_dir`, opens the schema's tables,
  /// and checks the format version: a newer one fails with
  /// errc::format_too_new, an older one runs the schema's migrations in one
  /// transaction. Also clears reader slots of dead processes.
  static expected<std::shared_ptr<lmdb_env>> open(const options& opts,
                                                  const schema& layout = starling_schema());

  ~lmdb_env();
  lmdb_env(const lmdb_env&) = delete;
  lmdb_env& operator=(const lmdb_env&) = delete;

  /// Starts a read transaction; callable from any thread.
  expected<read_txn> begin_read();

  /// Commits one batch synchronously, all of it or none of it. For callers
  /// without a writer actor, such as starlingctl.
  status commit(const write_batch& batch);

  /// Commits several batches in one LMDB transaction with one sync (group
  /// commit). Each batch runs in a nested transaction, so a batch that fails
  /// (already_exists, not_found, value_mismatch, invalid_argument,
  /// unknown_table, or map_full at the maximum map size) is rolled back alone
  /// and the others still commit. Returns one status per batch, in order. On
  /// MDB_MAP_FULL below the maximum the map doubles and the group is retried.
  std::vector<status> commit_group(const std::vector<const write_batch*>& batches);

  expected<env_stats> stats();

  /// Ok, or the sticky failure that rejects all writes.
  status health() const;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t map_size() const noexcept { return map_size_.load(); }
  std::uint32_t format_version() const noexcept { return format_version_; }

private:
  friend class txn_view;
  friend class write_txn;
  friend class read_txn;


  lmdb_env() = default;
  status open_tables_and_migrate(const schema& layout);
  status lookup(std::string_view table, unsigned& dbi) const;
  status begin_write(MDB_txn*& txn);
  status grow_map();
  status adopt_foreign_map_size();
  void end_read() noexcept;
  void fail_sticky(const status& cause);
  std::vector<status> run_group(const std::vector<const write_batch*>& batches);

  MDB_env* env_ = nullptr;
  std::filesystem::path path_;
  std::uint64_t map_size_max_ = 0;
  std::atomic<std::uint64_t> map_size_{0};
  std::uint32_t format_version_ = 0;
  std::map<std::string, unsigned, std::less<>> dbis_;

  // Serialises commits of this process.
  std::mutex write_mutex_;

  // Sticky failure; guarded by failure_mutex_, flag readable without it.
  mutable std::mutex failure_mutex_;
  std::atomic<bool> failed_{false};
  status failure_;

  // mdb_env_set_mapsize requires that no transaction of this process is
  // active, so map growth waits until live read transactions end, and new
  // ones wait while it runs. A counter rather than a shared_mutex, because a
  // read transaction may end on another thread than the one that began it.
  std::mutex gate_mutex_;
  std::condition_variable gate_cv_;
  unsigned active_readers_ = 0;
  bool resizing_ = false;
};

} // namespace starling::store
