// Helper of crash_test: writes records through the writer actor as fast as it
// can from several requester actors and prints each key to stdout only after
// the writer acknowledged its batch. The test kills it with SIGKILL at a
// random moment and checks that every printed key is on disk.
//
// Usage: store_crash_writer DATA_DIR ROUND
// Each batch stores KEY#a and KEY#b; KEY is "ROUND/REQUESTER/SEQUENCE".
// Exits by itself after 20 seconds in case the test does not kill it.
#include "store/writer_actor.hpp"
#include "tests/store/crash_record.hpp"

#include <caf/all.hpp>

#include <cstdio>
#include <string>
#include <thread>

#include <unistd.h>

using namespace starling::store;

namespace {

constexpr int requesters = 4;
constexpr int in_flight_per_requester = 16;
constexpr auto max_run_time = std::chrono::seconds(20);

struct requester_state {
  std::uint64_t sequence = 0;
};

using requester_pointer = caf::stateful_actor<requester_state>*;

void print_ack(const std::string& key) {
  std::string line = key + "\n";
  // One write(2) per line, so lines of concurrent requesters never interleave
  // and nothing waits in a stdio buffer when the process is killed.
  if (::write(STDOUT_FILENO, line.data(), line.size()) < 0)
    std::_Exit(3);
}

void issue(requester_pointer self, writer_actor writer, std::string prefix) {
  std::string key = prefix + std::to_string(self->state.sequence++);
  write_batch batch;
  batch.put(test::crash_table, key + "#a", test::value_for_key(key + "#a"));
  batch.put(test::crash_table, key + "#b", test::value_for_key(key + "#b"));
  self->request(writer, caf::infinite, std::move(batch))
    .then(
      [=](status st) {
        if (!st.ok()) {
          std::fprintf(stderr, "crash writer: write of %s failed: %s\n", key.c_str(),
                       st.message().c_str());
          std::_Exit(2);
        }
        print_ack(key);
        issue(self, writer, prefix);
      },
      [=](caf::error&) { std::_Exit(2); });
}

caf::behavior requester(requester_pointer self, writer_actor writer, std::string prefix) {
  for (int i = 0; i < in_flight_per_requester; ++i)
    issue(self, writer, prefix);
  return {[](int) {}};
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DATA_DIR ROUND\n", argv[0]);
    return 64;
  }
  options opts;
  opts.data_dir = argv[1];
  opts.map_size_initial = 1 << 20;  // Small, so that map growth happens under kills too.
  opts.map_size_max = std::uint64_t{1} << 30;
  opts.group_commit_max_ops = 256;
  opts.group_commit_max_delay = std::chrono::milliseconds(1);

  auto env = lmdb_env::open(opts, test::crash_schema());
  if (!env) {
    std::fprintf(stderr, "crash writer: %s\n", env.error().message().c_str());
    return 1;
  }

  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  auto writer = spawn_writer(system, *env, opts);
  for (int r = 0; r < requesters; ++r)
    system.spawn(requester, writer, std::string{argv[2]} + "/" + std::to_string(r) + "/");

  std::this_thread::sleep_for(max_run_time);
  std::_Exit(0);
}
