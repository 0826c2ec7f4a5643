// Tests of lmdb_env on real LMDB files in temporary directories: opening,
// format versions and migrations, batch semantics, group atomicity, map
// growth, and the errors for corrupt files, lock files, read-only and full
// file systems.
#define BOOST_TEST_MODULE store_lmdb_env
#include <boost/test/unit_test.hpp>

#include "store/lmdb_env.hpp"
#include "tests/store/test_support.hpp"

#include <atomic>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

using namespace starling::store;
using starling::store::test::child_checks;
using starling::store::test::isolation_unavailable;
using starling::store::test::run_with_tmpfs;
using starling::store::test::temp_dir;

namespace {

schema test_schema(std::uint32_t version = 1) {
  schema layout;
  layout.format_version = version;
  layout.tables = {"t", "u"};
  return layout;
}

options test_options(const std::filesystem::path& dir) {
  options opts;
  opts.data_dir = dir;
  opts.map_size_initial = 1 << 20;
  opts.map_size_max = 64 << 20;
  return opts;
}

std::shared_ptr<lmdb_env> open_ok(const options& opts, const schema& layout = test_schema()) {
  auto env = lmdb_env::open(opts, layout);
  BOOST_REQUIRE_MESSAGE(env.has_value(), (env ? "" : env.error().message()));
  return *env;
}

std::optional<std::string> read_value(lmdb_env& env, std::string_view table, std::string_view key) {
  auto txn = env.begin_read();
  BOOST_REQUIRE(txn.has_value());
  std::string_view value;
  auto st = txn->get(table, key, value);
  if (st.code() == errc::not_found)
    return std::nullopt;
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  return std::string{value};
}

void report_isolation(int code) {
  if (code == isolation_unavailable) {
    BOOST_TEST_MESSAGE("NOTE: mount namespaces are not available here, so this case is untested");
    return;
  }
  BOOST_CHECK_EQUAL(code, 0);
}

} // namespace

// -- opening and format versions ---------------------------------------------

BOOST_AUTO_TEST_CASE(open_creates_missing_directory_and_tables) {
  temp_dir tmp;
  auto dir = tmp.path() / "a" / "b";
  auto env = open_ok(test_options(dir));
  BOOST_CHECK(std::filesystem::exists(dir / "data.mdb"));
  BOOST_CHECK_EQUAL(env->format_version(), 1u);

  auto stats = env->stats();
  BOOST_REQUIRE(stats.has_value());
  BOOST_CHECK_EQUAL(stats->tables.size(), 3u);  // meta, t, u
  BOOST_CHECK_EQUAL(stats->map_size, 1u << 20);
  BOOST_CHECK_EQUAL(stats->map_size_max, 64u << 20);
  BOOST_CHECK_GT(stats->used_bytes, 0u);
  BOOST_CHECK_GT(stats->page_size, 0u);
  BOOST_CHECK_GE(stats->readers_used, 1u);
  BOOST_CHECK_EQUAL(stats->readers_max, 512u);
}

BOOST_AUTO_TEST_CASE(reopen_keeps_committed_data) {
  temp_dir tmp;
  {
    auto env = open_ok(test_options(tmp.path()));
    write_batch batch;
    batch.put("t", "k", "v");
    BOOST_REQUIRE(env->commit(batch).ok());
  }
  auto env = open_ok(test_options(tmp.path()));
  BOOST_CHECK_EQUAL(read_value(*env, "t", "k").value_or("<missing>"), "v");
  auto stats = env->stats();
  BOOST_REQUIRE(stats.has_value());
  for (const auto& table : stats->tables)
    if (table.name == "t")
      BOOST_CHECK_EQUAL(table.entries, 1u);
}

BOOST_AUTO_TEST_CASE(newer_format_version_is_rejected_naming_both) {
  temp_dir tmp;
  open_ok(test_options(tmp.path()), test_schema(3));
  auto env = lmdb_env::open(test_options(tmp.path()), test_schema(2));
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::format_too_new);
  BOOST_CHECK_NE(env.error().detail().find("version 3"), std::string::npos);
  BOOST_CHECK_NE(env.error().detail().find("version 2"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(older_format_runs_migrations_in_order) {
  temp_dir tmp;
  {
    auto env = open_ok(test_options(tmp.path()), test_schema(1));
    write_batch batch;
    batch.put("t", "k", "1");
    BOOST_REQUIRE(env->commit(batch).ok());
  }

  std::vector<std::uint32_t> ran;
  schema layout = test_schema(3);
  // Registered out of order on purpose: the environment picks by version.
  layout.migrations.push_back({2, [&](write_txn& txn) {
                                 ran.push_back(2);
                                 std::string_view v;
                                 BOOST_CHECK(txn.get("t", "k", v).ok());
                                 return txn.put("t", "k", std::string{v} + "3");
                               }});
  layout.migrations.push_back({1, [&](write_txn& txn) {
                                 ran.push_back(1);
                                 return txn.put("t", "k", "12");
                               }});
  {
    auto env = open_ok(test_options(tmp.path()), layout);
    BOOST_CHECK_EQUAL(env->format_version(), 3u);
    BOOST_CHECK_EQUAL(read_value(*env, "t", "k").value_or(""), "123");
  }
  BOOST_REQUIRE_EQUAL(ran.size(), 2u);
  BOOST_CHECK_EQUAL(ran[0], 1u);
  BOOST_CHECK_EQUAL(ran[1], 2u);

  // Already at version 3: nothing runs again.
  open_ok(test_options(tmp.path()), layout);
  BOOST_CHECK_EQUAL(ran.size(), 2u);
}

BOOST_AUTO_TEST_CASE(failed_migration_leaves_store_unchanged) {
  temp_dir tmp;
  {
    auto env = open_ok(test_options(tmp.path()), test_schema(1));
    write_batch batch;
    batch.put("t", "k", "old");
    BOOST_REQUIRE(env->commit(batch).ok());
  }
  schema layout = test_schema(3);
  layout.migrations.push_back({1, [](write_txn& txn) { return txn.put("t", "k", "new"); }});
  layout.migrations.push_back(
    {2, [](write_txn&) { return status{errc::invalid_argument, "test migration fails"}; }});
  auto failed = lmdb_env::open(test_options(tmp.path()), layout);
  BOOST_REQUIRE(!failed.has_value());
  BOOST_CHECK(failed.error().code() == errc::migration_failed);
  BOOST_CHECK_NE(failed.error().detail().find("test migration fails"), std::string::npos);

  auto env = open_ok(test_options(tmp.path()), test_schema(1));
  BOOST_CHECK_EQUAL(read_value(*env, "t", "k").value_or(""), "old");
}

BOOST_AUTO_TEST_CASE(missing_migration_is_an_error) {
  temp_dir tmp;
  open_ok(test_options(tmp.path()), test_schema(1));
  auto env = lmdb_env::open(test_options(tmp.path()), test_schema(2));
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::migration_failed);
  BOOST_CHECK_NE(env.error().detail().find("no migration"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_options_are_rejected) {
  temp_dir tmp;
  options opts = test_options(tmp.path());
  opts.map_size_max = opts.map_size_initial - 1;
  auto env = lmdb_env::open(opts, test_schema());
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::invalid_argument);

  schema layout = test_schema();
  layout.tables.push_back("meta");
  env = lmdb_env::open(test_options(tmp.path()), layout);
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(data_dir_that_is_a_file_is_rejected) {
  temp_dir tmp;
  std::ofstream(tmp.path() / "file") << "x";
  auto env = lmdb_env::open(test_options(tmp.path() / "file"), test_schema());
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK_NE(env.error().message().find((tmp.path() / "file").string()), std::string::npos);
}

// -- batches -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch_operations_apply_in_order) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  write_batch batch;
  batch.put("t", "a", "1").put("t", "b", "2").erase("t", "b").erase("t", "never").put("u", "c", "3");
  BOOST_REQUIRE(env->commit(batch).ok());
  BOOST_CHECK_EQUAL(read_value(*env, "t", "a").value_or(""), "1");
  BOOST_CHECK(!read_value(*env, "t", "b").has_value());
  BOOST_CHECK_EQUAL(read_value(*env, "u", "c").value_or(""), "3");
}

BOOST_AUTO_TEST_CASE(put_if_absent_conflict_fails_whole_batch) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  write_batch first;
  first.put_if_absent("t", "k", "first");
  BOOST_REQUIRE(env->commit(first).ok());

  write_batch second;
  second.put("t", "other", "x").put_if_absent("t", "k", "second");
  auto st = env->commit(second);
  BOOST_CHECK(st.code() == errc::already_exists);
  BOOST_CHECK_EQUAL(read_value(*env, "t", "k").value_or(""), "first");
  BOOST_CHECK(!read_value(*env, "t", "other").has_value());
}

BOOST_AUTO_TEST_CASE(erase_existing_of_missing_key_fails) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  write_batch batch;
  batch.put("t", "x", "1").erase_existing("t", "missing");
  BOOST_CHECK(env->commit(batch).code() == errc::not_found);
  BOOST_CHECK(!read_value(*env, "t", "x").has_value());
}

BOOST_AUTO_TEST_CASE(compare_and_set_checks_current_value) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  BOOST_REQUIRE(env->commit(write_batch{}.put("t", "k", "1")).ok());

  BOOST_CHECK(env->commit(write_batch{}.compare_and_set("t", "k", "1", "2")).ok());
  BOOST_CHECK_EQUAL(read_value(*env, "t", "k").value_or(""), "2");

  BOOST_CHECK(env->commit(write_batch{}.compare_and_set("t", "k", "1", "3")).code() ==
              errc::value_mismatch);
  BOOST_CHECK_EQUAL(read_value(*env, "t", "k").value_or(""), "2");

  BOOST_CHECK(env->commit(write_batch{}.compare_and_set("t", "nope", "", "3")).code() ==
              errc::not_found);
}

BOOST_AUTO_TEST_CASE(unknown_table_and_bad_keys_fail_the_batch) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  BOOST_CHECK(env->commit(write_batch{}.put("nope", "k", "v")).code() == errc::unknown_table);
  BOOST_CHECK(env->commit(write_batch{}.put("t", "", "v")).code() == errc::invalid_argument);
  BOOST_CHECK(env->commit(write_batch{}.put("t", std::string(600, 'k'), "v")).code() ==
              errc::invalid_argument);
  BOOST_CHECK(env->health().ok());
}

BOOST_AUTO_TEST_CASE(group_rolls_back_only_failing_batch) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  BOOST_REQUIRE(env->commit(write_batch{}.put("t", "taken", "0")).ok());

  write_batch a, b, c;
  a.put("t", "a1", "1").put("t", "a2", "1");
  b.put("t", "b1", "2").put_if_absent("t", "taken", "2").put("t", "b2", "2");
  c.put("u", "c1", "3");
  auto results = env->commit_group({&a, &b, &c});
  BOOST_REQUIRE_EQUAL(results.size(), 3u);
  BOOST_CHECK(results[0].ok());
  BOOST_CHECK(results[1].code() == errc::already_exists);
  BOOST_CHECK(results[2].ok());

  BOOST_CHECK(read_value(*env, "t", "a1").has_value());
  BOOST_CHECK(read_value(*env, "t", "a2").has_value());
  BOOST_CHECK(!read_value(*env, "t", "b1").has_value());
  BOOST_CHECK(!read_value(*env, "t", "b2").has_value());
  BOOST_CHECK_EQUAL(read_value(*env, "t", "taken").value_or(""), "0");
  BOOST_CHECK(read_value(*env, "u", "c1").has_value());
}

BOOST_AUTO_TEST_CASE(scan_visits_keys_from_start_in_order) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  BOOST_REQUIRE(env->commit(write_batch{}.put("t", "b", "").put("t", "a", "").put("t", "c", "")).ok());
  auto txn = env->begin_read();
  BOOST_REQUIRE(txn.has_value());
  std::string seen;
  BOOST_CHECK(txn->scan("t", "b", [&](std::string_view k, std::string_view) {
                    seen += k;
                    return true;
                  }).ok());
  BOOST_CHECK_EQUAL(seen, "bc");
}

BOOST_AUTO_TEST_CASE(read_txn_may_end_on_another_thread) {
  temp_dir tmp;
  auto env = open_ok(test_options(tmp.path()));
  BOOST_REQUIRE(env->commit(write_batch{}.put("t", "k", "v")).ok());
  auto txn = env->begin_read();
  BOOST_REQUIRE(txn.has_value());
  std::string value;
  std::thread([&, moved = std::move(*txn)]() mutable {
    std::string_view v;
    if (moved.get("t", "k", v).ok())
      value = v;
  }).join();
  BOOST_CHECK_EQUAL(value, "v");
  // The slot was released: a write (which needs no reader) and a new read work.
  BOOST_CHECK(env->commit(write_batch{}.put("t", "k2", "v")).ok());
  BOOST_CHECK(read_value(*env, "t", "k2").has_value());
}

// -- map size ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(map_grows_on_map_full_and_keeps_all_data) {
  temp_dir tmp;
  options opts = test_options(tmp.path());
  opts.map_size_initial = 256 << 10;
  opts.map_size_max = 64 << 20;
  auto env = open_ok(opts);

  // A reader thread runs during growth, which must wait for its snapshots.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop) {
      auto txn = env->begin_read();
      std::string_view v;
      if (txn && txn->get("t", "k0-0", v).ok())
        ++reads;
    }
  });

  const std::string value(1000, 'v');
  for (int b = 0; b < 40; ++b) {
    write_batch batch;
    for (int i = 0; i < 100; ++i)
      batch.put("t", "k" + std::to_string(b) + "-" + std::to_string(i), value);
    auto st = env->commit(batch);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  }
  stop = true;
  reader.join();

  BOOST_CHECK_GT(env->map_size(), opts.map_size_initial);
  BOOST_CHECK_LE(env->map_size(), opts.map_size_max);
  auto txn = env->begin_read();
  BOOST_REQUIRE(txn.has_value());
  BOOST_CHECK_EQUAL(txn->count("t").value(), 4000u);
  BOOST_CHECK_GT(reads.load(), 0);
}

BOOST_AUTO_TEST_CASE(map_full_at_maximum_commits_nothing_of_batch) {
  temp_dir tmp;
  options opts = test_options(tmp.path());
  opts.map_size_initial = 1 << 20;
  opts.map_size_max = 1 << 20;
  auto env = open_ok(opts);

  write_batch small;
  small.put("t", "small", "s");
  write_batch huge;
  const std::string value(4000, 'h');
  for (int i = 0; i < 600; ++i)  // About 2.4 MB, more than the 1 MiB map.
    huge.put("t", "huge" + std::to_string(i), value);
  write_batch after;
  after.put("u", "after", "a");

  auto results = env->commit_group({&small, &huge, &after});
  BOOST_REQUIRE_EQUAL(results.size(), 3u);
  BOOST_CHECK(results[0].ok());
  BOOST_CHECK(results[1].code() == errc::map_full);
  BOOST_CHECK(results[2].ok());
  BOOST_CHECK_NE(results[1].message().find("max_map_size_mib"), std::string::npos);

  BOOST_CHECK(read_value(*env, "t", "small").has_value());
  BOOST_CHECK(read_value(*env, "u", "after").has_value());
  BOOST_CHECK(!read_value(*env, "t", "huge0").has_value());
  BOOST_CHECK(!read_value(*env, "t", "huge599").has_value());

  // Not sticky: the data on disk is fine and small writes still fit.
  BOOST_CHECK(env->health().ok());
  BOOST_CHECK(env->commit(write_batch{}.put("t", "later", "l")).ok());
}

// -- damaged files -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(garbage_data_file_is_reported_corrupt) {
  temp_dir tmp;
  {
    auto env = open_ok(test_options(tmp.path()));
    BOOST_REQUIRE(env->commit(write_batch{}.put("t", "k", "v")).ok());
  }
  auto data = tmp.path() / "data.mdb";
  auto size = std::filesystem::file_size(data);
  {
    std::mt19937 rng(42);
    std::fstream file(data, std::ios::in | std::ios::out | std::ios::binary);
    for (std::uintmax_t i = 0; i < size; ++i)
      file.put(static_cast<char>(rng()));
  }
  auto env = lmdb_env::open(test_options(tmp.path()), test_schema());
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::corrupt);
  BOOST_CHECK_NE(env.error().detail().find(tmp.path().string()), std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_file_as_data_file_is_reported_corrupt) {
  temp_dir tmp;
  {
    std::ofstream file(tmp.path() / "data.mdb");
    for (int i = 0; i < 1000; ++i)
      file << "this is not an LMDB file\n";
  }
  auto env = lmdb_env::open(test_options(tmp.path()), test_schema());
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(unusable_lock_file_is_reported_as_lock_error) {
  temp_dir tmp;
  open_ok(test_options(tmp.path()));
  std::filesystem::remove(tmp.path() / "lock.mdb");
  std::filesystem::create_directory(tmp.path() / "lock.mdb");
  auto env = lmdb_env::open(test_options(tmp.path()), test_schema());
  BOOST_REQUIRE(!env.has_value());
  BOOST_CHECK(env.error().code() == errc::lock_file);
  BOOST_CHECK_NE(env.error().detail().find("lock.mdb"), std::string::npos);
}

// -- read-only and full file systems (own mount namespace) ---------------------

BOOST_AUTO_TEST_CASE(read_only_filesystem_is_reported) {
  temp_dir tmp;
  int code = run_with_tmpfs(tmp.path(), "8m", [&](child_checks& check) {
    auto dir = tmp.path() / "store";
    {
      auto env = lmdb_env::open(test_options(dir), test_schema());
      check.expect(env.has_value(), "store opens on the writable tmpfs");
    }
    check.expect(starling::store::test::remount_read_only(tmp.path()), "remount read-only");

    auto existing = lmdb_env::open(test_options(dir), test_schema());
    check.expect(!existing.has_value() && existing.error().code() == errc::read_only_filesystem,
                 "existing store on read-only fs: " +
                   (existing ? std::string{"opened"} : existing.error().message()));

    auto fresh = lmdb_env::open(test_options(tmp.path() / "new"), test_schema());
    check.expect(!fresh.has_value() && fresh.error().code() == errc::read_only_filesystem,
                 "new store on read-only fs: " +
                   (fresh ? std::string{"opened"} : fresh.error().message()));
  });
  report_isolation(code);
}

BOOST_AUTO_TEST_CASE(disk_full_fails_commit_and_later_writes_stick) {
  temp_dir tmp;
  int code = run_with_tmpfs(tmp.path(), "2m", [&](child_checks& check) {
    auto dir = tmp.path() / "store";
    options opts = test_options(dir);
    opts.map_size_initial = 16 << 20;  // Larger than the file system.
    opts.map_size_max = 16 << 20;
    auto opened = lmdb_env::open(opts, test_schema());
    check.expect(opened.has_value(), "store opens on the 2 MiB tmpfs");
    if (!opened)
      return;
    auto env = *opened;
    check.expect(env->commit(write_batch{}.put("t", "first", "kept")).ok(), "first commit");

    // A file that takes space now and is deleted later to show the failure
    // stays until reopen even when space is back.
    {
      std::ofstream filler(tmp.path() / "filler", std::ios::binary);
      std::string block(64 << 10, 'f');
      for (int i = 0; i < 8; ++i)
        filler.write(block.data(), static_cast<std::streamsize>(block.size()));
    }

    status failure;
    const std::string value(8000, 'x');
    for (int b = 0; b < 100 && failure.ok(); ++b) {
      write_batch batch;
      for (int i = 0; i < 32; ++i)
        batch.put("t", "k" + std::to_string(b) + "-" + std::to_string(i), value);
      failure = env->commit(batch);
    }
    check.expect(failure.code() == errc::disk_full, "commit on a full disk: " + failure.message());
    check.expect(env->health().code() == errc::store_failed, "health after disk full");

    std::filesystem::remove(tmp.path() / "filler");
    auto later = env->commit(write_batch{}.put("t", "tiny", "t"));
    check.expect(later.code() == errc::store_failed, "write after freeing space: " + later.message());

    env.reset();
    auto reopened = lmdb_env::open(opts, test_schema());
    check.expect(reopened.has_value(), "reopen after disk full");
    if (!reopened)
      return;
    auto txn = (*reopened)->begin_read();
    std::string_view v;
    check.expect(txn && txn->get("t", "first", v).ok() && v == "kept", "data before the failure");
    check.expect(txn && txn->get("t", "tiny", v).code() == errc::not_found, "rejected write absent");
  });
  report_isolation(code);
}

BOOST_AUTO_TEST_CASE(directory_without_write_permission_is_reported) {
  // Root ignores permission bits, so the check runs in a child that drops to
  // the unprivileged user "nobody".
  temp_dir tmp;
  std::filesystem::permissions(tmp.path(), std::filesystem::perms::owner_all |
                                             std::filesystem::perms::group_read |
                                             std::filesystem::perms::group_exec |
                                             std::filesystem::perms::others_read |
                                             std::filesystem::perms::others_exec);
  int code = starling::store::test::run_as_nobody([&](child_checks& check) {
    auto env = lmdb_env::open(test_options(tmp.path() / "store"), test_schema());
    check.expect(!env.has_value() && env.error().code() == errc::directory_not_writable,
                 "store in a directory of another user: " +
                   (env ? std::string{"opened"} : env.error().message()));
  });
  report_isolation(code);
}
