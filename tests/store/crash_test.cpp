// Fault injection: starts store_crash_writer, kills it with SIGKILL at a
// random moment, reopens the store and checks that every key the writer
// acknowledged is present with its intact value. Many rounds on one store,
// bounded in count and time.
#define BOOST_TEST_MODULE store_crash
#include <boost/test/unit_test.hpp>

#include "tests/store/crash_record.hpp"
#include "tests/store/test_support.hpp"

#include <chrono>
#include <csignal>
#include <random>
#include <spawn.h>
#include <poll.h>

using namespace starling::store;
using namespace std::chrono_literals;

namespace {

constexpr int min_rounds = 50;
constexpr int max_rounds = 60;
constexpr auto time_budget = 40s;

// Kill moments are drawn from [0, max_kill_delay); the early ones hit the
// writer while it is still opening the store.
constexpr int max_kill_delay_ms = 150;

struct round_result {
  std::vector<std::string> acked;
  std::string partial;  // A line cut by the kill; it was never acknowledged.
};

// Runs one writer, kills it after `delay`, returns the acknowledged keys.
round_result run_round(const std::filesystem::path& dir, int round,
                       std::chrono::milliseconds delay) {
  int fds[2];
  BOOST_REQUIRE_EQUAL(::pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string exe = STARLING_CRASH_WRITER;
  std::string dir_arg = dir.string();
  std::string round_arg = std::to_string(round);
  char* argv[] = {exe.data(), dir_arg.data(), round_arg.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  BOOST_REQUIRE_EQUAL(rc, 0);

  std::string output;
  char buffer[65536];
  auto kill_at = std::chrono::steady_clock::now() + delay;
  bool killed = false;
  for (;;) {
    int timeout_ms = -1;
    if (!killed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        kill_at - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);
        killed = true;
      } else {
        timeout_ms = static_cast<int>(left.count());
      }
    }
    pollfd pfd{fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0)
      continue;
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0)
      break;  // EOF: the writer is gone and the pipe is drained.
    output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  BOOST_CHECK_MESSAGE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL,
                      "round " << round << ": the writer ended before it was killed");

  round_result result;
  std::size_t start = 0;
  for (std::size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1)
    result.acked.push_back(output.substr(start, nl - start));
  result.partial = output.substr(start);
  return result;
}

// Returns the number of acknowledged keys that are missing or damaged.
std::size_t check_keys(lmdb_env& env, const std::vector<std::string>& keys) {
  auto txn = env.begin_read();
  BOOST_REQUIRE(txn.has_value());
  std::size_t bad = 0;
  for (const auto& key : keys) {
    for (const char* part : {"#a", "#b"}) {
      std::string full = key + part;
      std::string_view value;
      auto st = txn->get(test::crash_table, full, value);
      if (!st.ok() || value != test::value_for_key(full)) {
        if (bad < 5)
          BOOST_ERROR("acknowledged record " << full << " is "
                                             << (st.ok() ? "damaged" : st.message()));
        ++bad;
      }
    }
  }
  return bad;
}

} // namespace

BOOST_AUTO_TEST_CASE(sigkill_loses_no_acknowledged_write) {
  test::temp_dir tmp;
  options opts;
  opts.data_dir = tmp.path();
  opts.map_size_initial = 1 << 20;
  opts.map_size_max = std::uint64_t{1} << 30;

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(0, max_kill_delay_ms - 1);
  std::vector<std::string> all_acked;
  std::size_t previous_round_start = 0;
  int rounds = 0;
  int rounds_with_acks = 0;
  auto started = std::chrono::steady_clock::now();

  while (rounds < max_rounds &&
         (rounds < min_rounds || std::chrono::steady_clock::now() - started < time_budget)) {
    auto delay = std::chrono::milliseconds(delay_ms(rng));
    auto result = run_round(tmp.path(), rounds, delay);
    ++rounds;
    if (!result.acked.empty())
      ++rounds_with_acks;

    std::size_t this_round_start = all_acked.size();
    all_acked.insert(all_acked.end(), result.acked.begin(), result.acked.end());

    // Reopen like a restarted server and check this round and the previous one.
    auto env = lmdb_env::open(opts, test::crash_schema());
    BOOST_REQUIRE_MESSAGE(env.has_value(), "reopen after round " << rounds << ": "
                                                                 << (env ? "" : env.error().message()));
    std::vector<std::string> recent(all_acked.begin() + static_cast<long>(previous_round_start),
                                    all_acked.end());
    BOOST_REQUIRE_EQUAL(check_keys(**env, recent), 0u);
    previous_round_start = this_round_start;
  }

  auto env = lmdb_env::open(opts, test::crash_schema());
  BOOST_REQUIRE(env.has_value());
  BOOST_CHECK_EQUAL(check_keys(**env, all_acked), 0u);

  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - started);
  BOOST_TEST_MESSAGE(rounds << " rounds, " << rounds_with_acks << " with acknowledged writes, "
                            << all_acked.size() << " acknowledged batches, " << elapsed.count()
                            << " ms");
  BOOST_CHECK_GE(rounds, min_rounds);
  // Without acknowledged writes the test would prove nothing.
  BOOST_CHECK_GE(rounds_with_acks, rounds / 2);
}
