#include "store/lmdb_env.hpp"

#include <lmdb.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/statvfs.h>
#include <unistd.h>

namespace starling::store {

namespace {

constexpr std::string_view meta_table = "meta";
constexpr std::string_view format_version_key = "format_version";

// Magic and format of an LMDB 0.9 meta page: the page header is 16 bytes,
// then mm_magic and mm_version (lmdb 0.9 mdb.c, MDB_MAGIC and MDB_DATA_VERSION).
constexpr std::uint32_t lmdb_magic = 0xBEEFC0DE;
constexpr std::uint32_t lmdb_data_version = 1;

MDB_val to_val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view to_view(const MDB_val& val) {
  return {static_cast<const char*>(val.mv_data), val.mv_size};
}

// Maps an LMDB or errno return code to a status; `what` names the operation
// and the path or table.
status from_rc(int rc, const std::string& what) {
  if (rc == MDB_SUCCESS)
    return {};
  std::string detail = what + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_MAP_FULL:
      return {errc::map_full, std::move(detail)};
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
      return {errc::corrupt, std::move(detail)};
    case MDB_READERS_FULL:
      return {errc::readers_full, std::move(detail)};
    case MDB_NOTFOUND:
      return {errc::not_found, std::move(detail)};
    case MDB_KEYEXIST:
      return {errc::already_exists, std::move(detail)};
    case MDB_BAD_VALSIZE:
      return {errc::invalid_argument, std::move(detail)};
    case ENOSPC:
    case EDQUOT:
      return {errc::disk_full, std::move(detail)};
    case EROFS:
      return {errc::read_only_filesystem, std::move(detail)};
    case EACCES:
    case EPERM:
      return {errc::directory_not_writable, std::move(detail)};
    case EIO:
    case MDB_PANIC:
      return {errc::io_error, std::move(detail)};
    default:
      return {errc::lmdb_error, std::move(detail)};
  }
}

status errno_status(int err, const std::string& what) {
  return from_rc(err, what);
}

// True when data.mdb starts with a valid LMDB meta page. Used after
// mdb_env_open failed with MDB_INVALID or MDB_VERSION_MISMATCH, which LMDB
// returns for a bad data file and for a lock file of another LMDB build alike.
bool data_file_looks_valid(const std::filesystem::path& dir) {
  std::ifstream in(dir / "data.mdb", std::ios::binary);
  unsigned char header[24];
  if (!in.read(reinterpret_cast<char*>(header), sizeof header))
    return false;
  std::uint32_t magic = 0;
  std::uint32_t version = 0;
  std::memcpy(&magic, header + 16, 4);
  std::memcpy(&version, header + 20, 4);
  return magic == lmdb_magic && version == lmdb_data_version;
}

// True when lock.mdb exists but is not a regular file that this process can
// open for writing. mdb_env_open reports such a lock file only by errno
// (EISDIR, EACCES, ...), the same codes as for the data file.
bool lock_file_unusable(const std::filesystem::path& dir) {
  std::error_code ec;
  auto lock = dir / "lock.mdb";
  auto state = std::filesystem::symlink_status(lock, ec);
  if (ec || state.type() == std::filesystem::file_type::not_found)
    return false;
  if (state.type() != std::filesystem::file_type::regular)
    return true;
  return ::access(lock.c_str(), R_OK | W_OK) != 0 && errno != EROFS;
}

// LMDB 0.9 reports a short write as EIO (mdb_page_flush), which is what a
// write that fills the disk returns, so a failed commit with EIO on a file
// system that has almost no space left is reported as disk full. The 1 MiB
// margin covers the blocks that the partial write did manage to use.
status classify_commit_failure(int rc, const std::filesystem::path& dir, const std::string& what) {
  if (rc == EIO) {
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) == 0 &&
        static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < (std::uint64_t{1} << 20))
      return {errc::disk_full, what + ": " + mdb_strerror(rc) + ", and the file system is full"};
  }
  return from_rc(rc, what);
}

std::string encode_u32(std::uint32_t value) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

bool decode_u32(std::string_view bytes, std::uint32_t& value) {
  if (bytes.size() != 4)
    return false;
  value = 0;
  for (unsigned char c : bytes)
    value = (value << 8) | c;
  return true;
}

// Errors of one operation that fail only its own batch; any other error
// fails the whole group.
bool is_batch_error(errc code) {
  switch (code) {
    case errc::already_exists:
    case errc::not_found:
    case errc::value_mismatch:
    case errc::invalid_argument:
    case errc::unknown_table:
      return true;
    default:
      return false;
  }
}

} // namespace

// -- transactions ------------------------------------------------------------

status txn_view::get(std::string_view table, std::string_view key,
                     std::string_view& value) const {
  unsigned dbi = 0;
  if (auto st = env_->lookup(table, dbi); !st.ok())
    return st;
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return {errc::not_found, std::string{table}};
  if (rc != MDB_SUCCESS)
    return from_rc(rc, "read from table " + std::string{table} + " in " + env_->path_.string());
  value = to_view(v);
  return {};
}

status txn_view::scan(std::string_view table, std::string_view from, const scan_fn& fn) const {
  unsigned dbi = 0;
  if (auto st = env_->lookup(table, dbi); !st.ok())
    return st;
  MDB_cursor* cursor = nullptr;
  std::string what = "scan of table " + std::string{table} + " in " + env_->path_.string();
  if (int rc = mdb_cursor_open(txn_, dbi, &cursor); rc != MDB_SUCCESS)
    return from_rc(rc, what);

  MDB_val k = to_val(from);
  MDB_val v{};
  int rc = from.empty() ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                        : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    if (!fn(to_view(k), to_view(v)))
      break;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
    return from_rc(rc, what);
  return {};
}

expected<std::uint64_t> txn_view::count(std::string_view table) const {
  unsigned dbi = 0;
  if (auto st = env_->lookup(table, dbi); !st.ok())
    return st;
  MDB_stat stat{};
  if (int rc = mdb_stat(txn_, dbi, &stat); rc != MDB_SUCCESS)
    return from_rc(rc, "stat of table " + std::string{table} + " in " + env_->path_.string());
  return static_cast<std::uint64_t>(stat.ms_entries);
}

read_txn::read_txn(read_txn&& other) noexcept : txn_view(other.env_, other.txn_) {
  other.env_ = nullptr;
  other.txn_ = nullptr;
}

read_txn& read_txn::operator=(read_txn&& other) noexcept {
  if (this != &other) {
    release();
    env_ = std::exchange(other.env_, nullptr);
    txn_ = std::exchange(other.txn_, nullptr);
  }
  return *this;
}

read_txn::~read_txn() {
  release();
}

void read_txn::release() noexcept {
  if (txn_ == nullptr)
    return;
  mdb_txn_abort(txn_);
  txn_ = nullptr;
  env_->end_read();
  env_ = nullptr;
}

status write_txn::put(std::string_view table, std::string_view key, std::string_view value) {
  unsigned dbi = 0;
  if (auto st = env_->lookup(table, dbi); !st.ok())
    return st;
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  return from_rc(mdb_put(txn_, dbi, &k, &v, 0),
                 "put into table " + std::string{table} + " in " + env_->path_.string());
}

status write_txn::erase(std::string_view table, std::string_view key) {
  unsigned dbi = 0;
  if (auto st = env_->lookup(table, dbi); !st.ok())
    return st;
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND)
    return {};
  return from_rc(rc, "erase from table " + std::string{table} + " in " + env_->path_.string());
}

// -- opening -----------------------------------------------------------------

expected<std::shared_ptr<lmdb_env>> lmdb_env::open(const options& opts, const schema& layout) {
  if (opts.data_dir.empty())
    return status{errc::invalid_argument, "the data directory is empty"};
  if (opts.map_size_initial == 0 || opts.map_size_max < opts.map_size_initial)
    return status{errc::invalid_argument,
                  "map sizes must satisfy 0 < initial (" + std::to_string(opts.map_size_initial) +
                      ") <= maximum (" + std::to_string(opts.map_size_max) + ")"};
  if (opts.max_readers == 0)
    return status{errc::invalid_argument, "max_readers must be at least 1"};
  for (const auto& name : layout.tables)
    if (name.empty() || name == meta_table)
      return status{errc::invalid_argument, "invalid table name '" + name + "' in the schema"};

  const std::filesystem::path& dir = opts.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return errno_status(ec.value(), "create data directory " + dir.string());
  if (!std::filesystem::is_directory(dir, ec))
    return status{errc::invalid_argument, dir.string() + " is not a directory"};
  // access() reports EROFS even for root, which bypasses permission bits.
  if (::access(dir.c_str(), W_OK) != 0)
    return errno_status(errno, "write access to data directory " + dir.string());

  std::shared_ptr<lmdb_env> env{new lmdb_env()};
  env->path_ = dir;
  env->map_size_max_ = opts.map_size_max;

  if (int rc = mdb_env_create(&env->env_); rc != MDB_SUCCESS)
    return from_rc(rc, "create LMDB environment for " + dir.string());
  int rc = mdb_env_set_maxdbs(env->env_, static_cast<MDB_dbi>(layout.tables.size() + 1));
  if (rc == MDB_SUCCESS)
    rc = mdb_env_set_maxreaders(env->env_, opts.max_readers);
  if (rc == MDB_SUCCESS)
    rc = mdb_env_set_mapsize(env->env_, opts.map_size_initial);
  if (rc != MDB_SUCCESS)
    return from_rc(rc, "configure LMDB environment for " + dir.string());

  rc = mdb_env_open(env->env_, dir.c_str(), MDB_NOTLS, 0640);
  if (rc != MDB_SUCCESS) {
    std::string what = "open LMDB environment in " + dir.string();
    if ((rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) && data_file_looks_valid(dir))
      return status{errc::lock_file, what + "/lock.mdb: " + mdb_strerror(rc)};
    if (rc == EAGAIN || rc == EBUSY || rc == ENOLCK || lock_file_unusable(dir))
      return status{errc::lock_file, what + "/lock.mdb: " + mdb_strerror(rc)};
    return from_rc(rc, what);
  }

  // Reader slots of killed processes would otherwise pin old pages forever.
  int dead = 0;
  mdb_reader_check(env->env_, &dead);

  MDB_envinfo info{};
  mdb_env_info(env->env_, &info);
  env->map_size_ = info.me_mapsize;

  if (auto st = env->open_tables_and_migrate(layout); !st.ok())
    return st;
  return env;
}

status lmdb_env::open_tables_and_migrate(const schema& layout) {
  MDB_txn* txn = nullptr;
  if (auto st = begin_write(txn); !st.ok())
    return st;
  auto abort_with = [&](status st) {
    mdb_txn_abort(txn);
    return st;
  };

  std::vector<std::string> names;
  names.emplace_back(meta_table);
  names.insert(names.end(), layout.tables.begin(), layout.tables.end());
  for (const auto& name : names) {
    MDB_dbi dbi = 0;
    if (int rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi); rc != MDB_SUCCESS)
      return abort_with(from_rc(rc, "open table " + name + " in " + path_.string()));
    dbis_.emplace(name, dbi);
  }

  write_txn wtxn{this, txn};
  std::string_view stored;
  std::uint32_t version = layout.format_version;
  status st = wtxn.get(meta_table, format_version_key, stored);
  if (st.ok()) {
    if (!decode_u32(stored, version))
      return abort_with({errc::corrupt, "format version record in " + path_.string() +
                                            " has " + std::to_string(stored.size()) +
                                            " bytes instead of 4"});
  } else if (st.code() != errc::not_found) {
    return abort_with(st);
  }

  if (version > layout.format_version)
    return abort_with({errc::format_too_new,
                       path_.string() + " has format version " + std::to_string(version) +
                           ", this build supports up to version " +
                           std::to_string(layout.format_version)});

  for (std::uint32_t from = version; from < layout.format_version; ++from) {
    const migration* step = nullptr;
    for (const auto& m : layout.migrations)
      if (m.from_version == from && m.run)
        step = &m;
    std::string what = "migration of " + path_.string() + " from format version " +
                       std::to_string(from) + " to " + std::to_string(from + 1);
    if (step == nullptr)
      return abort_with({errc::migration_failed, what + ": no migration is registered"});
    if (status result = step->run(wtxn); !result.ok())
      return abort_with({errc::migration_failed, what + ": " + result.message()});
  }

  if (st.code() == errc::not_found || version != layout.format_version) {
    if (auto put = wtxn.put(meta_table, format_version_key, encode_u32(layout.format_version));
        !put.ok())
      return abort_with(put);
  }
  if (int rc = mdb_txn_commit(txn); rc != MDB_SUCCESS)
    return from_rc(rc, "commit table setup in " + path_.string());
  format_version_ = layout.format_version;
  return {};
}

lmdb_env::~lmdb_env() {
  if (env_ != nullptr)
    mdb_env_close(env_);
}

status lmdb_env::lookup(std::string_view table, unsigned& dbi) const {
  auto it = dbis_.find(table);
  if (it == dbis_.end())
    return {errc::unknown_table, "table '" + std::string{table} + "' in " + path_.string()};
  dbi = it->second;
  return {};
}

// -- map size ----------------------------------------------------------------

status lmdb_env::begin_write(MDB_txn*& txn) {
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map; adopt its size and retry once.
    if (auto st = adopt_foreign_map_size(); !st.ok())
      return st;
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  }
  return from_rc(rc, "begin write transaction in " + path_.string());
}

status lmdb_env::grow_map() {
  std::uint64_t current = map_size_.load();
  if (current >= map_size_max_)
    return {errc::map_full, "map of " + path_.string() + " is at its maximum of " +
                                std::to_string(map_size_max_) + " bytes"};
  std::uint64_t next = std::min(current * 2, map_size_max_);

  std::unique_lock lock(gate_mutex_);
  resizing_ = true;
  gate_cv_.wait(lock, [this] { return active_readers_ == 0; });
  int rc = mdb_env_set_mapsize(env_, next);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  resizing_ = false;
  gate_cv_.notify_all();
  return from_rc(rc, "grow map of " + path_.string() + " to " + std::to_string(next) + " bytes");
}

status lmdb_env::adopt_foreign_map_size() {
  std::unique_lock lock(gate_mutex_);
  resizing_ = true;
  gate_cv_.wait(lock, [this] { return active_readers_ == 0; });
  // A size of 0 makes LMDB take the size that the other process recorded.
  int rc = mdb_env_set_mapsize(env_, 0);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  resizing_ = false;
  gate_cv_.notify_all();
  return from_rc(rc, "adopt the map size another process set on " + path_.string());
}

// -- reading -----------------------------------------------------------------

expected<read_txn> lmdb_env::begin_read() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::unique_lock lock(gate_mutex_);
      gate_cv_.wait(lock, [this] { return !resizing_; });
      ++active_readers_;
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS)
      return read_txn{this, txn};
    end_read();
    if (rc != MDB_MAP_RESIZED)
      return from_rc(rc, "begin read transaction in " + path_.string());
    if (auto st = adopt_foreign_map_size(); !st.ok())
      return st;
  }
  return status{errc::lmdb_error, "begin read transaction in " + path_.string() +
                                      ": the map was resized again during the retry"};
}

void lmdb_env::end_read() noexcept {
  std::lock_guard lock(gate_mutex_);
  --active_readers_;
  if (active_readers_ == 0)
    gate_cv_.notify_all();
}

// -- writing -----------------------------------------------------------------

status lmdb_env::health() const {
  if (!failed_.load())
    return {};
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

void lmdb_env::fail_sticky(const status& cause) {
  std::lock_guard lock(failure_mutex_);
  if (failed_.load())
    return;
  failure_ = status{errc::store_failed, cause.message()};
  failed_ = true;
}

status lmdb_env::commit(const write_batch& batch) {
  return commit_group({&batch}).front();
}

std::vector<status> lmdb_env::commit_group(const std::vector<const write_batch*>& batches) {
  std::lock_guard lock(write_mutex_);
  if (auto st = health(); !st.ok())
    return std::vector<status>(batches.size(), st);
  return run_group(batches);
}

namespace {

// Applies one operation inside `txn`.
status apply_op(MDB_txn* txn, unsigned dbi, const write_op& op, const std::string& where) {
  MDB_val key = to_val(op.key);
  MDB_val value = to_val(op.value);
  std::string what = "table " + op.table + " in " + where;
  switch (op.kind) {
    case op_kind::put:
      return from_rc(mdb_put(txn, dbi, &key, &value, 0), "put into " + what);
    case op_kind::put_if_absent: {
      int rc = mdb_put(txn, dbi, &key, &value, MDB_NOOVERWRITE);
      if (rc == MDB_KEYEXIST)
        return {errc::already_exists, "key in " + what};
      return from_rc(rc, "put_if_absent into " + what);
    }
    case op_kind::erase: {
      int rc = mdb_del(txn, dbi, &key, nullptr);
      return rc == MDB_NOTFOUND ? status{} : from_rc(rc, "erase from " + what);
    }
    case op_kind::erase_existing: {
      int rc = mdb_del(txn, dbi, &key, nullptr);
      if (rc == MDB_NOTFOUND)
        return {errc::not_found, "key in " + what};
      return from_rc(rc, "erase_existing from " + what);
    }
    case op_kind::compare_and_set: {
      MDB_val current{};
      int rc = mdb_get(txn, dbi, &key, &current);
      if (rc == MDB_NOTFOUND)
        return {errc::not_found, "key in " + what};
      if (rc != MDB_SUCCESS)
        return from_rc(rc, "compare_and_set in " + what);
      if (to_view(current) != op.expected)
        return {errc::value_mismatch, "key in " + what};
      return from_rc(mdb_put(txn, dbi, &key, &value, 0), "compare_and_set in " + what);
    }
  }
  return {errc::invalid_argument, "unknown operation kind on " + what};
}

} // namespace

std::vector<status> lmdb_env::run_group(const std::vector<const write_batch*>& batches) {
  std::vector<status> results(batches.size());
  // Batches that already failed with map_full at the maximum map size; they
  // are left out when the rest of the group is retried.
  std::vector<bool> dropped(batches.size(), false);
  const std::string where = path_.string();

  for (;;) {
    MDB_txn* parent = nullptr;
    if (auto st = begin_write(parent); !st.ok()) {
      fail_sticky(st);
      for (std::size_t i = 0; i < batches.size(); ++i)
        if (!dropped[i])
          results[i] = st;
      return results;
    }

    // Run each batch in a child transaction; stop at the first error that
    // concerns the whole group.
    status group_error;
    std::size_t full_batch = batches.size();
    for (std::size_t i = 0; i < batches.size() && group_error.ok(); ++i) {
      if (dropped[i])
        continue;
      MDB_txn* child = nullptr;
      if (int rc = mdb_txn_begin(env_, parent, 0, &child); rc != MDB_SUCCESS) {
        group_error = from_rc(rc, "begin nested transaction in " + where);
        break;
      }
      status st;
      for (const auto& op : batches[i]->ops()) {
        unsigned dbi = 0;
        st = lookup(op.table, dbi);
        if (st.ok())
          st = apply_op(child, dbi, op, where);
        if (!st.ok())
          break;
      }
      if (st.ok()) {
        st = from_rc(mdb_txn_commit(child), "commit nested transaction in " + where);
      } else {
        mdb_txn_abort(child);
      }
      results[i] = st;
      if (st.ok() || is_batch_error(st.code()))
        continue;
      if (st.code() == errc::map_full)
        full_batch = i;
      group_error = st;
    }

    if (group_error.ok()) {
      int rc = mdb_txn_commit(parent);
      if (rc == MDB_SUCCESS)
        return results;
      group_error = classify_commit_failure(rc, path_, "commit in " + where);
    } else {
      mdb_txn_abort(parent);
    }

    if (group_error.code() == errc::map_full) {
      status grown = grow_map();
      if (grown.ok())
        continue;  // Retry the whole group in the larger map.
      if (grown.code() == errc::map_full && full_batch < batches.size()) {
        // At the maximum: fail the batch that did not fit, retry the others.
        results[full_batch] = status{errc::map_full, grown.detail()};
        dropped[full_batch] = true;
        continue;
      }
      // Full at commit time or growth failed: nothing of the group committed,
      // but the data on disk is intact, so this is not sticky.
      status cause = grown.code() == errc::map_full ? status{errc::map_full, grown.detail()}
                                                    : grown;
      for (std::size_t i = 0; i < batches.size(); ++i)
        if (!dropped[i])
          results[i] = cause;
      if (grown.code() != errc::map_full)
        fail_sticky(grown);
      return results;
    }

    // A failed write or sync leaves the disk state unknown.
    fail_sticky(group_error);
    for (std::size_t i = 0; i < batches.size(); ++i)
      if (!dropped[i])
        results[i] = group_error;
    return results;
  }
}

// -- statistics --------------------------------------------------------------

expected<env_stats> lmdb_env::stats() {
  auto txn = begin_read();
  if (!txn)
    return txn.error();
  env_stats out;
  out.path = path_;
  out.format_version = format_version_;
  out.map_size_max = map_size_max_;

  MDB_envinfo info{};
  MDB_stat stat{};
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &stat);
  out.map_size = info.me_mapsize;
  out.page_size = stat.ms_psize;
  out.used_bytes = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  out.readers_used = info.me_numreaders;
  out.readers_max = info.me_maxreaders;

  for (const auto& [name, dbi] : dbis_) {
    auto entries = txn->count(name);
    if (!entries)
      return entries.error();
    out.tables.push_back({name, *entries});
  }
  return out;
}

} // namespace starling::store
