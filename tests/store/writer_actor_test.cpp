// Tests of the writer actor: group commit by operation count and by delay,
// replies only after the commit, flush, per-batch errors inside a group,
// committing on exit, and the sticky error after a failed commit.
#define BOOST_TEST_MODULE store_writer_actor
#include <boost/test/unit_test.hpp>

#include "store/writer_actor.hpp"
#include "tests/store/test_support.hpp"

#include <caf/all.hpp>

#include <fstream>
#include <optional>

using namespace starling::store;
using namespace std::chrono_literals;
using starling::store::test::child_checks;
using starling::store::test::isolation_unavailable;
using starling::store::test::run_with_tmpfs;
using starling::store::test::temp_dir;

namespace {

schema test_schema() {
  schema layout;
  layout.tables = {"t"};
  return layout;
}

options test_options(const std::filesystem::path& dir, std::size_t max_ops,
                      std::chrono::milliseconds max_delay) {
  options opts;
  opts.data_dir = dir;
  opts.map_size_initial = 1 << 20;
  opts.map_size_max = 64 << 20;
  opts.group_commit_max_ops = max_ops;
  opts.group_commit_max_delay = max_delay;
  return opts;
}

bool visible(lmdb_env& env, std::string_view key) {
  auto txn = env.begin_read();
  std::string_view v;
  return txn && txn->get("t", key, v).ok();
}

// One actor system and writer per test; stops the writer at the end.
struct fixture {
  temp_dir tmp;
  std::shared_ptr<lmdb_env> env;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> system;
  writer_actor writer;

  void start(std::size_t max_ops, std::chrono::milliseconds max_delay) {
    auto opened = lmdb_env::open(test_options(tmp.path(), max_ops, max_delay), test_schema());
    BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
    env = *opened;
    system.emplace(cfg);
    writer = spawn_writer(*system, env, test_options(tmp.path(), max_ops, max_delay));
  }

  ~fixture() {
    if (system) {
      caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
      writer = nullptr;
      system.reset();
    }
  }

  writer_counters counters() {
    caf::scoped_actor self{*system};
    writer_counters out;
    self->request(writer, caf::infinite, counters_atom::value)
      .receive([&](writer_counters c) { out = c; },
               [&](caf::error& e) { BOOST_FAIL(system->render(e)); });
    return out;
  }
};

using handle = decltype(std::declval<caf::scoped_actor&>()->request(
  std::declval<writer_actor&>(), caf::infinite, std::declval<write_batch>()));

status await(handle& h, caf::actor_system& sys) {
  status out{errc::writer_stopped, "no answer"};
  h.receive([&](status st) { out = std::move(st); },
            [&](caf::error& e) { out = status{errc::writer_stopped, sys.render(e)}; });
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(group_commits_when_max_ops_reached, fixture) {
  start(4, 60s);  // The delay is long enough that only the count can trigger.
  caf::scoped_actor self{*system};
  std::vector<handle> pending;
  for (int i = 0; i < 4; ++i)
    pending.push_back(self->request(writer, caf::infinite,
                                    write_batch{}.put("t", "k" + std::to_string(i), "v")));
  auto start_time = std::chrono::steady_clock::now();
  for (auto& h : pending)
    BOOST_CHECK(await(h, *system).ok());
  BOOST_CHECK_LT(std::chrono::steady_clock::now() - start_time, 10s);

  auto c = counters();
  BOOST_CHECK_EQUAL(c.groups, 1u);
  BOOST_CHECK_EQUAL(c.batches, 4u);
  BOOST_CHECK_EQUAL(c.ops, 4u);
  BOOST_CHECK_EQUAL(c.max_group_batches, 4u);
  for (int i = 0; i < 4; ++i)
    BOOST_CHECK(visible(*env, "k" + std::to_string(i)));
}

BOOST_FIXTURE_TEST_CASE(group_commits_after_max_delay, fixture) {
  start(1000, 200ms);
  caf::scoped_actor self{*system};
  auto start_time = std::chrono::steady_clock::now();
  auto h = self->request(writer, caf::infinite, write_batch{}.put("t", "k", "v"));

  // Before the delay ran out nothing is committed and no reply was sent.
  std::this_thread::sleep_for(50ms);
  BOOST_CHECK(!visible(*env, "k"));
  BOOST_CHECK_EQUAL(self->mailbox().size(), 0u);

  BOOST_CHECK(await(h, *system).ok());
  auto waited = std::chrono::steady_clock::now() - start_time;
  BOOST_CHECK_GE(waited, 190ms);
  BOOST_CHECK_LT(waited, 10s);
  BOOST_CHECK(visible(*env, "k"));
  BOOST_CHECK_EQUAL(counters().groups, 1u);
}

BOOST_FIXTURE_TEST_CASE(flush_commits_pending_batches, fixture) {
  start(1000, 60s);
  caf::scoped_actor self{*system};
  std::vector<handle> pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(self->request(writer, caf::infinite,
                                    write_batch{}.put("t", "k" + std::to_string(i), "v")));
  status flushed{errc::writer_stopped, "no answer"};
  self->request(writer, caf::infinite, flush_atom::value)
    .receive([&](status st) { flushed = st; }, [&](caf::error&) {});
  BOOST_CHECK(flushed.ok());
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK(visible(*env, "k" + std::to_string(i)));
  for (auto& h : pending)
    BOOST_CHECK(await(h, *system).ok());
  BOOST_CHECK_EQUAL(counters().groups, 1u);
}

BOOST_FIXTURE_TEST_CASE(failing_batch_does_not_fail_its_group, fixture) {
  start(4, 60s);  // The three batches contain four operations.
  BOOST_REQUIRE(env->commit(write_batch{}.put("t", "taken", "0")).ok());
  caf::scoped_actor self{*system};
  auto a = self->request(writer, caf::infinite, write_batch{}.put("t", "a", "1"));
  auto b = self->request(writer, caf::infinite,
                         write_batch{}.put("t", "b", "1").put_if_absent("t", "taken", "1"));
  auto c = self->request(writer, caf::infinite, write_batch{}.put("t", "c", "1"));
  BOOST_CHECK(await(a, *system).ok());
  BOOST_CHECK(await(b, *system).code() == errc::already_exists);
  BOOST_CHECK(await(c, *system).ok());
  BOOST_CHECK(visible(*env, "a"));
  BOOST_CHECK(!visible(*env, "b"));
  BOOST_CHECK(visible(*env, "c"));
  auto counted = counters();
  BOOST_CHECK_EQUAL(counted.groups, 1u);
  BOOST_CHECK_EQUAL(counted.failed_batches, 1u);
}

BOOST_FIXTURE_TEST_CASE(exit_commits_pending_batches_first, fixture) {
  start(1000, 60s);
  caf::scoped_actor self{*system};
  auto h = self->request(writer, caf::infinite, write_batch{}.put("t", "k", "v"));
  caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  BOOST_CHECK(await(h, *system).ok());
  BOOST_CHECK(visible(*env, "k"));
}

BOOST_FIXTURE_TEST_CASE(many_concurrent_requesters_share_groups, fixture) {
  start(64, 5ms);
  caf::scoped_actor self{*system};
  std::vector<handle> pending;
  for (int i = 0; i < 500; ++i)
    pending.push_back(self->request(writer, caf::infinite,
                                    write_batch{}.put("t", "m" + std::to_string(i), "v")));
  for (auto& h : pending)
    BOOST_CHECK(await(h, *system).ok());
  auto c = counters();
  BOOST_CHECK_EQUAL(c.batches, 500u);
  BOOST_CHECK_LT(c.groups, 100u);
  BOOST_CHECK_GT(c.commit_time_total.count(), 0);
  auto txn = env->begin_read();
  BOOST_CHECK_EQUAL(txn->count("t").value(), 500u);
}

BOOST_AUTO_TEST_CASE(failed_commit_makes_later_writes_fail) {
  temp_dir tmp;
  int code = run_with_tmpfs(tmp.path(), "2m", [&](child_checks& check) {
    options opts = test_options(tmp.path() / "store", 1000, 1ms);
    opts.map_size_initial = 16 << 20;
    opts.map_size_max = 16 << 20;
    auto opened = lmdb_env::open(opts, test_schema());
    check.expect(opened.has_value(), "store opens on the 2 MiB tmpfs");
    if (!opened)
      return;
    {
      std::ofstream filler(tmp.path() / "filler", std::ios::binary);
      std::string block(512 << 10, 'f');
      filler.write(block.data(), static_cast<std::streamsize>(block.size()));
    }

    caf::actor_system_config cfg;
    caf::actor_system system{cfg};
    auto writer = spawn_writer(system, *opened, opts);
    caf::scoped_actor self{system};
    const std::string value(8000, 'x');
    status failure;
    for (int b = 0; b < 100 && failure.ok(); ++b) {
      write_batch batch;
      for (int i = 0; i < 32; ++i)
        batch.put("t", "k" + std::to_string(b) + "-" + std::to_string(i), value);
      auto h = self->request(writer, caf::infinite, std::move(batch));
      failure = await(h, system);
    }
    check.expect(failure.code() == errc::disk_full, "commit on a full disk: " + failure.message());

    std::filesystem::remove(tmp.path() / "filler");
    auto h = self->request(writer, caf::infinite, write_batch{}.put("t", "tiny", "t"));
    auto later = await(h, system);
    check.expect(later.code() == errc::store_failed, "write after freeing space: " + later.message());

    status flushed;
    self->request(writer, caf::infinite, flush_atom::value)
      .receive([&](status st) { flushed = st; }, [&](caf::error&) {});
    check.expect(flushed.code() == errc::store_failed, "flush reports the failure");
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  });
  if (code == isolation_unavailable)
    BOOST_TEST_MESSAGE("NOTE: mount namespaces are not available here, so this case is untested");
  else
    BOOST_CHECK_EQUAL(code, 0);
}
