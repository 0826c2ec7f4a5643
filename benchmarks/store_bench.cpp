// Durable small writes per second through the writer actor, with group
// commit and with one commit per write, from several concurrent requesters.
// Every counted write was acknowledged, i.e. synced to disk. Prints a table
// and one JSON object per run.
//
// Usage: store_bench [--dir DIR] [--seconds S] [--writers W] [--in-flight N]
//                    [--max-ops OPS] [--max-delay-ms MS] [--value-bytes B]
#include "store/writer_actor.hpp"

#include <caf/all.hpp>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

using namespace starling::store;
using clock_type = std::chrono::steady_clock;

namespace {

struct bench_settings {
  std::filesystem::path dir;
  double seconds = 3.0;
  int writers = 4;
  int in_flight = 256;  // Outstanding single-put batches per writer.
  std::size_t value_bytes = 100;
};

struct run_result {
  std::string name;
  std::size_t max_ops = 0;
  long max_delay_ms = 0;
  std::uint64_t writes = 0;
  double seconds = 0;
  writer_counters counters;
};

struct requester_state {
  std::uint64_t sequence = 0;
};

using requester_pointer = caf::stateful_actor<requester_state>*;

void issue(requester_pointer self, writer_actor writer, std::string prefix,
           std::shared_ptr<std::atomic<std::uint64_t>> acked,
           std::shared_ptr<std::atomic<bool>> stop, std::shared_ptr<const std::string> value) {
  if (stop->load())
    return;
  std::string key = prefix + std::to_string(self->state.sequence++);
  self->request(writer, caf::infinite, write_batch{}.put("bench", key, *value))
    .then(
      [=](status st) {
        if (!st.ok()) {
          std::fprintf(stderr, "store_bench: write failed: %s\n", st.message().c_str());
          std::exit(1);
        }
        acked->fetch_add(1, std::memory_order_relaxed);
        issue(self, writer, prefix, acked, stop, value);
      },
      [](caf::error&) { std::exit(1); });
}

caf::behavior requester(requester_pointer self, writer_actor writer, std::string prefix,
                        int in_flight, std::shared_ptr<std::atomic<std::uint64_t>> acked,
                        std::shared_ptr<std::atomic<bool>> stop,
                        std::shared_ptr<const std::string> value) {
  for (int i = 0; i < in_flight; ++i)
    issue(self, writer, prefix, acked, stop, value);
  return {[](int) {}};
}

run_result run(const bench_settings& settings, const std::string& name, std::size_t max_ops,
               std::chrono::milliseconds max_delay) {
  auto dir = settings.dir / name;
  std::filesystem::remove_all(dir);
  options opts;
  opts.data_dir = dir;
  opts.map_size_initial = std::uint64_t{256} << 20;
  opts.map_size_max = std::uint64_t{8} << 30;
  opts.group_commit_max_ops = max_ops;
  opts.group_commit_max_delay = max_delay;

  schema layout;
  layout.tables = {"bench"};
  auto env = lmdb_env::open(opts, layout);
  if (!env) {
    std::fprintf(stderr, "store_bench: %s\n", env.error().message().c_str());
    std::exit(1);
  }

  run_result result;
  result.name = name;
  result.max_ops = max_ops;
  result.max_delay_ms = static_cast<long>(max_delay.count());
  {
    caf::actor_system_config cfg;
    caf::actor_system system{cfg};
    auto writer = spawn_writer(system, *env, opts);
    auto acked = std::make_shared<std::atomic<std::uint64_t>>(0);
    auto stop = std::make_shared<std::atomic<bool>>(false);
    auto value = std::make_shared<const std::string>(settings.value_bytes, 'v');

    auto start = clock_type::now();
    for (int w = 0; w < settings.writers; ++w)
      system.spawn(requester, writer, "w" + std::to_string(w) + "/", settings.in_flight, acked,
                   stop, value);
    std::this_thread::sleep_for(std::chrono::duration<double>(settings.seconds));
    result.writes = acked->load();
    result.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    stop->store(true);

    caf::scoped_actor self{system};
    self->request(writer, caf::infinite, flush_atom::value).receive([](status) {}, [](caf::error&) {});
    self->request(writer, caf::infinite, counters_atom::value)
      .receive([&](writer_counters c) { result.counters = c; }, [](caf::error&) {});
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }
  std::filesystem::remove_all(dir);
  return result;
}

} // namespace

int main(int argc, char** argv) {
  bench_settings settings;
  std::size_t max_ops = 1024;
  long max_delay_ms = 2;
  std::string dir = "./store-bench-data";

  CLI::App app{"Durable writes per second through the Starling store writer actor"};
  app.add_option("--dir", dir, "Directory for the benchmark stores (removed afterwards)");
  app.add_option("--seconds", settings.seconds, "Duration of each run in seconds");
  app.add_option("--writers", settings.writers, "Concurrent requester actors");
  app.add_option("--in-flight", settings.in_flight, "Outstanding writes per requester");
  app.add_option("--max-ops", max_ops, "Group commit size in operations for the batched run");
  app.add_option("--max-delay-ms", max_delay_ms, "Group commit delay in milliseconds");
  app.add_option("--value-bytes", settings.value_bytes, "Bytes per value");
  CLI11_PARSE(app, argc, argv);
  settings.dir = dir;

  std::vector<run_result> results;
  results.push_back(run(settings, "group_commit", max_ops, std::chrono::milliseconds(max_delay_ms)));
  results.push_back(run(settings, "commit_per_write", 1, std::chrono::milliseconds(0)));

  std::printf("%-18s %8s %9s %12s %12s %10s %14s\n", "mode", "max_ops", "delay_ms", "writes",
              "writes/s", "groups", "commit_ms_avg");
  for (const auto& r : results) {
    double groups = static_cast<double>(r.counters.groups);
    double avg_ms = groups > 0 ? r.counters.commit_time_total.count() / 1e6 / groups : 0;
    std::printf("%-18s %8zu %9ld %12llu %12.0f %10llu %14.3f\n", r.name.c_str(), r.max_ops,
                r.max_delay_ms, static_cast<unsigned long long>(r.writes), r.writes / r.seconds,
                static_cast<unsigned long long>(r.counters.groups), avg_ms);
  }
  for (const auto& r : results) {
    double groups = static_cast<double>(r.counters.groups);
    std::printf("{\"mode\":\"%s\",\"writers\":%d,\"in_flight\":%d,\"value_bytes\":%zu,"
                "\"max_ops\":%zu,\"max_delay_ms\":%ld,\"seconds\":%.3f,\"writes\":%llu,"
                "\"writes_per_second\":%.0f,\"groups\":%llu,\"batches_per_group\":%.1f,"
                "\"commit_ms_avg\":%.3f,\"commit_ms_max\":%.3f}\n",
                r.name.c_str(), settings.writers, settings.in_flight, settings.value_bytes,
                r.max_ops, r.max_delay_ms, r.seconds, static_cast<unsigned long long>(r.writes),
                r.writes / r.seconds, static_cast<unsigned long long>(r.counters.groups),
                groups > 0 ? r.counters.batches / groups : 0.0,
                groups > 0 ? r.counters.commit_time_total.count() / 1e6 / groups : 0.0,
                r.counters.commit_time_max.count() / 1e6);
  }
  return 0;
}
