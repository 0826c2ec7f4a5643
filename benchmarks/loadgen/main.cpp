// loadgen: XMPP client load generator for Starling's benchmarks.
//
// The driver (this file) parses options, forks one worker process per slice
// of accounts (one process holds at most --max-per-process connections,
// because the file descriptor limit cannot be raised past 20,000 here),
// samples the memory and CPU time of the server processes given with
// --server-pid, merges the workers' reports and prints a table and JSON.
#include "benchmarks/loadgen/load_worker.hpp"

#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace loadgen = starling::loadgen;
using clock_type = std::chrono::steady_clock;

namespace {

struct process_sample {
  uint64_t rss_kib = 0;
  uint64_t pss_kib = 0;
  double cpu_seconds = 0;
  size_t processes = 0;
};

// Adds the PIDs whose parent is in `pids`, repeatedly, so a server that
// forks helpers (Erlang's erl_child_setup, for example) is summed whole.
std::set<int> with_descendants(std::set<int> pids) {
  for (int round = 0; round < 8; ++round) {
    size_t before = pids.size();
    DIR* proc = opendir("/proc");
    if (proc == nullptr)
      return pids;
    while (dirent* entry = readdir(proc)) {
      int pid = std::atoi(entry->d_name);
      if (pid <= 0)
        continue;
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');
      if (close == std::string::npos)
        continue;
      std::istringstream fields(line.substr(close + 2));
      std::string state;
      int parent = 0;
      fields >> state >> parent;
      if (pids.count(parent) != 0)
        pids.insert(pid);
    }
    closedir(proc);
    if (pids.size() == before)
      break;
  }
  return pids;
}

// Sums Rss and Pss from /proc/PID/smaps_rollup and utime+stime from
// /proc/PID/stat over the server's processes.
process_sample sample_processes(const std::vector<int>& roots, bool include_children) {
  std::set<int> pids(roots.begin(), roots.end());
  if (include_children)
    pids = with_descendants(pids);
  process_sample sample;
  long ticks = sysconf(_SC_CLK_TCK);
  for (int pid : pids) {
    std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
    if (!rollup)
      continue;
    ++sample.processes;
    std::string key;
    uint64_t value = 0;
    std::string unit;
    std::string line;
    while (std::getline(rollup, line)) {
      std::istringstream in(line);
      if (!(in >> key >> value))
        continue;
      if (key == "Rss:")
        sample.rss_kib += value;
      else if (key == "Pss:")
        sample.pss_kib += value;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    // Fields 3..13 precede utime (14) and stime (15), proc(5).
    for (int i = 3; i <= 13; ++i)
      fields >> field;
    uint64_t utime = 0;
    uint64_t stime = 0;
    fields >> utime >> stime;
    sample.cpu_seconds += static_cast<double>(utime + stime) / static_cast<double>(ticks);
  }
  return sample;
}

struct worker_handle {
  pid_t pid = -1;
  int report_fd = -1;
  int control_fd = -1;
  std::string pending;
  bool ready = false;
  bool done = false;
};

struct merged_report {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t existed = 0;
  std::vector<uint64_t> latencies_us;
  std::map<std::string, uint64_t> failures;
  std::map<std::string, uint64_t> dropped;
  // chat and presence, summed over the workers (send_seconds: the longest).
  bool has_traffic = false;
  uint64_t sent = 0, unsent = 0, expected = 0, received = 0, reordered = 0, duplicates = 0,
           unexpected = 0, errors = 0, setup_expected = 0, setup_confirmed = 0;
  double send_seconds = 0;
  double setup_seconds = 0;
  std::vector<uint64_t> deliveries_ns;
};

void handle_line(const std::string& line, worker_handle& worker, merged_report& report) {
  auto space = line.find(' ');
  std::string key = line.substr(0, space);
  std::string value = space == std::string::npos ? "" : line.substr(space + 1);
  if (key == "latency") {
    report.latencies_us.push_back(std::stoull(value));
  } else if (key == "failure") {
    ++report.failures[value];
  } else if (key == "dropped") {
    ++report.dropped[value];
  } else if (key == "existed") {
    ++report.existed;
  } else if (key == "ready") {
    std::istringstream in(value);
    uint64_t ok = 0;
    uint64_t failed = 0;
    in >> ok >> failed;
    report.ok += ok;
    report.failed += failed;
    worker.ready = true;
  } else if (key == "delivery") {
    report.deliveries_ns.push_back(std::stoull(value));
  } else if (key == "traffic") {
    std::istringstream in(value);
    uint64_t sent = 0, unsent = 0, expected = 0, received = 0, reordered = 0, duplicates = 0,
             unexpected = 0, errors = 0, setup_expected = 0, setup_confirmed = 0;
    double send_seconds = 0;
    double setup_seconds = 0;
    in >> sent >> unsent >> expected >> received >> reordered >> duplicates >> unexpected >> errors
      >> send_seconds >> setup_expected >> setup_confirmed >> setup_seconds;
    report.has_traffic = true;
    report.sent += sent;
    report.unsent += unsent;
    report.expected += expected;
    report.received += received;
    report.reordered += reordered;
    report.duplicates += duplicates;
    report.unexpected += unexpected;
    report.errors += errors;
    report.setup_expected += setup_expected;
    report.setup_confirmed += setup_confirmed;
    report.send_seconds = std::max(report.send_seconds, send_seconds);
    report.setup_seconds = std::max(report.setup_seconds, setup_seconds);
  } else if (key == "done") {
    worker.done = true;
  }
}

double percentile_ms(const std::vector<uint64_t>& sorted, double fraction) {
  if (sorted.empty())
    return 0;
  auto index = static_cast<size_t>(std::ceil(fraction * static_cast<double>(sorted.size()))) - 1;
  index = std::min(index, sorted.size() - 1);
  return static_cast<double>(sorted[index]) / 1000.0;
}

double percentile_ns_to_ms(const std::vector<uint64_t>& sorted, double fraction) {
  return percentile_ms(sorted, fraction) / 1000.0;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      continue;
    out += c;
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  // Multi-user chat rooms are not in the server yet; the scenario name is
  // kept so that scripts can list it already.
  if (argc >= 2 && std::string(argv[1]) == "groupchat") {
    std::printf("skipped: the server has no group chat (XEP-0045) yet\n");
    return 0;
  }
  CLI::App app{"XMPP load generator: register, login-storm, hold-idle, chat, presence and groupchat"};
  std::string scenario_name;
  std::string server_address = "127.0.0.1";
  uint16_t port = 5222;
  std::string security = "plain";
  std::string mechanism = "PLAIN";
  loadgen::worker_config config;
  unsigned source_count = 8;
  unsigned processes = 0;
  uint64_t max_per_process = 19000;
  double hold_seconds = 10;
  double settle_seconds = 2;
  std::vector<int> server_pids;
  bool include_children = false;
  std::string json_path;
  std::string label;

  std::string pairing = "pairs";
  app.add_option("scenario", scenario_name, "login-storm, hold-idle, register, chat, presence or groupchat")
    ->required()
    ->check(CLI::IsMember({"login-storm", "hold-idle", "register", "chat", "presence"}));
  app.add_option("--rate", config.rate, "chat, presence: stanzas per second over all senders");
  app.add_option("--duration", config.duration_s, "chat, presence: seconds of sending");
  app.add_option("--drain-seconds", config.drain_s,
                 "chat, presence: wait after the last send before counting the rest as lost");
  app.add_option("--pairing", pairing, "chat: pairs (2k <-> 2k+1) or ring (i -> i+1)")
    ->check(CLI::IsMember({"pairs", "ring"}));
  app.add_option("--contacts", config.contacts, "presence: contacts per session (even)");
  app.add_option("--setup-timeout", config.setup_timeout_s, "presence: seconds allowed for the subscriptions");
  app.add_option("--server", server_address, "server IPv4 address (loopback only)");
  app.add_option("--port", port, "server port");
  app.add_option("--domain", config.client.domain, "XMPP domain (stream 'to')");
  app.add_option("--security", security, "plain, starttls or tls (direct TLS, XEP-0368)")
    ->check(CLI::IsMember({"plain", "starttls", "tls"}));
  app.add_option("--mechanism", mechanism, "SASL mechanism")
    ->check(CLI::IsMember({"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}));
  app.add_flag("--pipeline", config.client.pipeline,
               "PLAIN: send header, auth, restart and bind in one write");
  app.add_flag("--presence", config.client.send_presence, "send initial presence after bind");
  app.add_option("--resource", config.client.resource, "resource to bind");
  app.add_option("--count", config.count, "number of accounts (logins or sessions)")->required();
  app.add_option("--first-index", config.first_index, "index of the first account");
  app.add_option("--user-prefix", config.user_prefix, "accounts are PREFIX<index>");
  app.add_option("--password", config.password, "password of every account");
  app.add_option("--concurrency", config.concurrency, "logins in progress at once, over all processes");
  app.add_option("--login-timeout", config.login_timeout_s, "seconds before a login counts as failed");
  app.add_option("--max-seconds", config.max_seconds, "hard bound on the whole run in seconds");
  app.add_option("--hold-seconds", hold_seconds, "hold-idle: seconds to hold the sessions");
  app.add_option("--settle-seconds", settle_seconds,
                 "hold-idle: wait before the first memory sample; presence: wait after initial presence");
  app.add_option("--sources", source_count, "source addresses 127.0.0.1 .. 127.0.0.N, round-robin")
    ->check(CLI::Range(1, 250));
  app.add_option("--processes", processes, "worker processes; 0 picks ceil(count / max-per-process)");
  app.add_option("--max-per-process", max_per_process, "connections one worker may hold");
  app.add_option("--server-pid", server_pids, "server process to sample (repeatable)");
  app.add_flag("--include-children", include_children, "also sample the children of --server-pid");
  app.add_option("--json", json_path, "write the result as JSON to this file");
  app.add_option("--label", label, "name of the run in the output (e.g. the server)");
  CLI11_PARSE(app, argc, argv);

  config.kind = scenario_name == "login-storm" ? loadgen::scenario::login_storm
                : scenario_name == "hold-idle" ? loadgen::scenario::hold_idle
                : scenario_name == "chat"      ? loadgen::scenario::chat
                : scenario_name == "presence"  ? loadgen::scenario::presence
                                               : loadgen::scenario::register_accounts;
  bool with_traffic = config.kind == loadgen::scenario::chat || config.kind == loadgen::scenario::presence;
  bool keeps_sessions = config.kind == loadgen::scenario::hold_idle || with_traffic;
  // Presence: subscription requests reach only available resources.
  if (config.kind == loadgen::scenario::presence)
    config.client.send_presence = true;
  config.pairing = pairing == "ring" ? loadgen::chat_pairing::ring : loadgen::chat_pairing::pairs;
  config.settle_s = settle_seconds;
  if (config.kind == loadgen::scenario::chat && config.pairing == loadgen::chat_pairing::pairs
      && config.count % 2 != 0) {
    std::fprintf(stderr, "loadgen: chat with --pairing pairs needs an even --count\n");
    return 2;
  }
  if (with_traffic && (config.rate <= 0 || config.duration_s <= 0)) {
    std::fprintf(stderr, "loadgen: --rate and --duration must be positive\n");
    return 2;
  }
  if (config.kind == loadgen::scenario::presence
      && (config.contacts == 0 || config.contacts % 2 != 0 || config.contacts >= config.count)) {
    std::fprintf(stderr, "loadgen: presence needs an even --contacts below --count\n");
    return 2;
  }
  config.client.goal = config.kind == loadgen::scenario::register_accounts
                         ? loadgen::connection_goal::register_account
                         : loadgen::connection_goal::login;
  config.client.security = security == "plain"      ? loadgen::security_mode::plain
                           : security == "starttls" ? loadgen::security_mode::starttls
                                                    : loadgen::security_mode::direct_tls;
  config.client.mechanism = mechanism == "PLAIN"         ? loadgen::sasl_mechanism::plain
                            : mechanism == "SCRAM-SHA-1" ? loadgen::sasl_mechanism::scram_sha1
                                                         : loadgen::sasl_mechanism::scram_sha256;
  config.server.sin_family = AF_INET;
  config.server.sin_port = htons(port);
  if (inet_pton(AF_INET, server_address.c_str(), &config.server.sin_addr) != 1
      || (ntohl(config.server.sin_addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "loadgen: --server must be an IPv4 loopback address, got %s\n",
                 server_address.c_str());
    return 2;
  }
  for (unsigned i = 1; i <= source_count; ++i) {
    in_addr source{};
    source.s_addr = htonl((127u << 24) | i);
    config.sources.push_back(source);
  }
  if (processes == 0)
    processes = static_cast<unsigned>(std::max<uint64_t>(1, (config.count + max_per_process - 1) / max_per_process));
  // Presence contacts are ring neighbours over all sessions, so one process.
  if (config.kind == loadgen::scenario::presence)
    processes = 1;
  if (config.count / processes + 1 > max_per_process && keeps_sessions) {
    std::fprintf(stderr, "loadgen: %u processes cannot hold %llu sessions at %llu each\n", processes,
                 static_cast<unsigned long long>(config.count),
                 static_cast<unsigned long long>(max_per_process));
    return 2;
  }

  // Every worker may use the whole hard limit of file descriptors.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  signal(SIGPIPE, SIG_IGN);

  process_sample baseline = sample_processes(server_pids, include_children);
  auto started = clock_type::now();

  // Fork the workers, each with its slice and its share of the concurrency.
  std::vector<worker_handle> workers(processes);
  uint64_t offset = 0;
  // Chat pairs stay inside one worker: shares are whole pairs.
  uint64_t unit = config.kind == loadgen::scenario::chat && config.pairing == loadgen::chat_pairing::pairs ? 2 : 1;
  uint64_t units = config.count / unit;
  for (unsigned w = 0; w < processes; ++w) {
    uint64_t share = unit * (units / processes + (w < units % processes ? 1 : 0));
    int report_pipe[2];
    int control_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) != 0 || pipe2(control_pipe, O_CLOEXEC) != 0) {
      std::perror("loadgen: pipe2");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("loadgen: fork");
      return 1;
    }
    if (pid == 0) {
      ::close(report_pipe[0]);
      ::close(control_pipe[1]);
      for (unsigned other = 0; other < w; ++other) {
        ::close(workers[other].report_fd);
        ::close(workers[other].control_fd);
      }
      loadgen::worker_config slice = config;
      slice.first_index = config.first_index + offset;
      slice.count = share;
      slice.concurrency = std::max<uint64_t>(1, config.concurrency / processes);
      // The offered rate is spread evenly over all senders.
      slice.rate = config.count > 0 ? config.rate * static_cast<double>(share) / static_cast<double>(config.count) : 0;
      slice.report_fd = report_pipe[1];
      slice.control_fd = keeps_sessions ? control_pipe[0] : -1;
      _exit(loadgen::run_worker(slice));
    }
    ::close(report_pipe[1]);
    ::close(control_pipe[0]);
    workers[w].pid = pid;
    workers[w].report_fd = report_pipe[0];
    workers[w].control_fd = control_pipe[1];
    offset += share;
  }

  merged_report report;
  std::vector<process_sample> hold_samples;
  process_sample after_logins;
  double login_seconds = 0;
  bool all_ready = false;
  clock_type::time_point ready_at;
  clock_type::time_point next_sample;
  clock_type::time_point hold_end;
  bool hold_released = false;
  process_sample traffic_start;
  clock_type::time_point traffic_started_at;
  auto deadline = started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(config.max_seconds + 30));

  // Read the reports; in hold-idle, sample the server while the sessions are held.
  while (clock_type::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<size_t> owners;
    for (size_t w = 0; w < workers.size(); ++w) {
      if (workers[w].report_fd >= 0) {
        fds.push_back(pollfd{workers[w].report_fd, POLLIN, 0});
        owners.push_back(w);
      }
    }
    if (fds.empty())
      break;
    poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
        continue;
      auto& worker = workers[owners[i]];
      char buffer[65536];
      ssize_t got = ::read(worker.report_fd, buffer, sizeof buffer);
      if (got <= 0) {
        ::close(worker.report_fd);
        worker.report_fd = -1;
        continue;
      }
      worker.pending.append(buffer, static_cast<size_t>(got));
      size_t newline;
      while ((newline = worker.pending.find('\n')) != std::string::npos) {
        handle_line(worker.pending.substr(0, newline), worker, report);
        worker.pending.erase(0, newline + 1);
      }
    }

    auto now = clock_type::now();
    if (!all_ready && std::all_of(workers.begin(), workers.end(), [](auto& w) { return w.ready; })) {
      all_ready = true;
      ready_at = now;
      login_seconds = std::chrono::duration<double>(now - started).count();
      after_logins = sample_processes(server_pids, include_children);
      next_sample = now + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(settle_seconds));
      hold_end = now + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(std::max(hold_seconds, settle_seconds)));
      std::fprintf(stderr, "loadgen: %llu ok, %llu failed after %.2f s\n",
                   static_cast<unsigned long long>(report.ok),
                   static_cast<unsigned long long>(report.failed), login_seconds);
      if (with_traffic) {
        // All workers are logged in: start the traffic everywhere at once.
        traffic_start = sample_processes(server_pids, include_children);
        traffic_started_at = clock_type::now();
        for (auto& worker : workers)
          if (::write(worker.control_fd, "g", 1) != 1)
            std::perror("loadgen: write to worker");
      }
    }
    if (all_ready && !hold_released && config.kind == loadgen::scenario::hold_idle) {
      if (now >= next_sample && !server_pids.empty()) {
        hold_samples.push_back(sample_processes(server_pids, include_children));
        next_sample = now + std::chrono::seconds(1);
      }
      if (now >= hold_end) {
        hold_released = true;
        for (auto& worker : workers)
          ::close(worker.control_fd);
      }
    }
  }

  for (auto& worker : workers) {
    if (!hold_released)
      ::close(worker.control_fd);
    if (worker.report_fd >= 0) {
      // Past the deadline: the worker is stuck, so end it.
      kill(worker.pid, SIGKILL);
      ::close(worker.report_fd);
    }
    int status = 0;
    waitpid(worker.pid, &status, 0);
  }

  process_sample traffic_end = sample_processes(server_pids, include_children);
  double traffic_wall = with_traffic && all_ready
                          ? std::chrono::duration<double>(clock_type::now() - traffic_started_at).count() : 0;
  double traffic_server_cpu = traffic_end.cpu_seconds - traffic_start.cpu_seconds;
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);
  double loadgen_cpu = static_cast<double>(children.ru_utime.tv_sec + children.ru_stime.tv_sec)
                       + static_cast<double>(children.ru_utime.tv_usec + children.ru_stime.tv_usec) / 1e6;

  // Results.
  std::sort(report.latencies_us.begin(), report.latencies_us.end());
  double rate = login_seconds > 0 ? static_cast<double>(report.ok) / login_seconds : 0;
  double cpu_during_logins = after_logins.cpu_seconds - baseline.cpu_seconds;
  process_sample held = hold_samples.empty() ? after_logins : hold_samples.back();
  uint64_t held_sessions = report.ok;
  for (auto& [reason, count] : report.dropped)
    held_sessions -= std::min(held_sessions, count);
  double rss_per_session = held_sessions > 0 ? static_cast<double>(held.rss_kib - std::min(held.rss_kib, baseline.rss_kib)) * 1024.0 / static_cast<double>(held_sessions) : 0;
  double pss_per_session = held_sessions > 0 ? static_cast<double>(held.pss_kib - std::min(held.pss_kib, baseline.pss_kib)) * 1024.0 / static_cast<double>(held_sessions) : 0;
  uint64_t dropped_total = report.ok - held_sessions;

  std::printf("%-26s %s\n", "run", label.empty() ? scenario_name.c_str() : label.c_str());
  std::printf("%-26s %s, %s, %s%s, %u process(es), concurrency %llu\n", "setup", scenario_name.c_str(),
              security.c_str(), mechanism.c_str(), config.client.pipeline ? " pipelined" : "",
              processes, static_cast<unsigned long long>(config.concurrency));
  std::printf("%-26s %llu ok, %llu failed, %llu already existed\n", "attempts",
              static_cast<unsigned long long>(report.ok), static_cast<unsigned long long>(report.failed),
              static_cast<unsigned long long>(report.existed));
  std::printf("%-26s %.2f s, %.0f per second\n", "login phase", login_seconds, rate);
  std::printf("%-26s p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", "latency ms",
              percentile_ms(report.latencies_us, 0.50), percentile_ms(report.latencies_us, 0.90),
              percentile_ms(report.latencies_us, 0.99), percentile_ms(report.latencies_us, 1.0));
  for (auto& [reason, count] : report.failures)
    std::printf("%-26s %llu x %s\n", "failure", static_cast<unsigned long long>(count), reason.c_str());
  for (auto& [reason, count] : report.dropped)
    std::printf("%-26s %llu x %s\n", "dropped during hold", static_cast<unsigned long long>(count), reason.c_str());
  uint64_t lost = report.expected - std::min(report.expected, report.received);
  double achieved = report.send_seconds > 0 ? static_cast<double>(report.sent) / report.send_seconds : 0;
  std::sort(report.deliveries_ns.begin(), report.deliveries_ns.end());
  if (with_traffic) {
    if (config.kind == loadgen::scenario::presence)
      std::printf("%-26s %llu of %llu subscription confirmations in %.2f s\n", "subscription setup",
                  static_cast<unsigned long long>(report.setup_confirmed),
                  static_cast<unsigned long long>(report.setup_expected), report.setup_seconds);
    std::printf("%-26s %llu sent (%llu skipped, sender or partner offline), offered %.0f/s for %.1f s\n", "traffic",
                static_cast<unsigned long long>(report.sent), static_cast<unsigned long long>(report.unsent),
                config.rate, config.duration_s);
    std::printf("%-26s %.0f per second over %.2f s\n", "achieved send rate", achieved, report.send_seconds);
    std::printf("%-26s %llu expected, %llu received, %llu lost (after %.1f s drain)\n", "deliveries",
                static_cast<unsigned long long>(report.expected), static_cast<unsigned long long>(report.received),
                static_cast<unsigned long long>(lost), config.drain_s);
    std::printf("%-26s %llu reordered, %llu duplicates, %llu unexpected, %llu error stanzas\n", "checks",
                static_cast<unsigned long long>(report.reordered), static_cast<unsigned long long>(report.duplicates),
                static_cast<unsigned long long>(report.unexpected), static_cast<unsigned long long>(report.errors));
    if (!server_pids.empty())
      std::printf("%-26s %.2f s over %.2f s (%.0f%% of one core)\n", "server CPU during traffic",
                  traffic_server_cpu, traffic_wall, traffic_wall > 0 ? 100 * traffic_server_cpu / traffic_wall : 0.0);
    std::printf("%-26s %.2f s over the whole run (all workers)\n", "loadgen CPU", loadgen_cpu);
    std::printf("%-26s p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", "delivery latency ms",
                percentile_ns_to_ms(report.deliveries_ns, 0.50), percentile_ns_to_ms(report.deliveries_ns, 0.90),
                percentile_ns_to_ms(report.deliveries_ns, 0.99), percentile_ns_to_ms(report.deliveries_ns, 1.0));
  }
  if (!server_pids.empty()) {
    std::printf("%-26s %.2f s (%.3f ms per login)\n", "server CPU during logins", cpu_during_logins,
                report.ok > 0 ? cpu_during_logins * 1000.0 / static_cast<double>(report.ok) : 0.0);
    std::printf("%-26s RSS %llu KiB, PSS %llu KiB (%zu processes)\n", "server before",
                static_cast<unsigned long long>(baseline.rss_kib),
                static_cast<unsigned long long>(baseline.pss_kib), baseline.processes);
    std::printf("%-26s RSS %llu KiB, PSS %llu KiB\n", "server with sessions",
                static_cast<unsigned long long>(held.rss_kib), static_cast<unsigned long long>(held.pss_kib));
    std::printf("%-26s RSS %.0f B, PSS %.0f B\n", "per session", rss_per_session, pss_per_session);
  }

  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "{\n  \"label\": \"" << json_escape(label) << "\",\n"
        << "  \"scenario\": \"" << scenario_name << "\",\n"
        << "  \"security\": \"" << security << "\",\n"
        << "  \"mechanism\": \"" << mechanism << "\",\n"
        << "  \"pipeline\": " << (config.client.pipeline ? "true" : "false") << ",\n"
        << "  \"count\": " << config.count << ",\n"
        << "  \"concurrency\": " << config.concurrency << ",\n"
        << "  \"processes\": " << processes << ",\n"
        << "  \"ok\": " << report.ok << ",\n"
        << "  \"failed\": " << report.failed << ",\n"
        << "  \"existed\": " << report.existed << ",\n"
        << "  \"dropped\": " << dropped_total << ",\n"
        << "  \"login_seconds\": " << login_seconds << ",\n"
        << "  \"logins_per_second\": " << rate << ",\n"
        << "  \"latency_ms\": {\"p50\": " << percentile_ms(report.latencies_us, 0.5)
        << ", \"p90\": " << percentile_ms(report.latencies_us, 0.9)
        << ", \"p99\": " << percentile_ms(report.latencies_us, 0.99)
        << ", \"max\": " << percentile_ms(report.latencies_us, 1.0) << "},\n"
        << "  \"failures\": {";
    bool first = true;
    for (auto& [reason, count] : report.failures) {
      out << (first ? "" : ", ") << "\"" << json_escape(reason) << "\": " << count;
      first = false;
    }
    out << "},\n  \"server\": {\"processes\": " << baseline.processes
        << ", \"cpu_seconds_during_logins\": " << cpu_during_logins
        << ", \"rss_kib_before\": " << baseline.rss_kib << ", \"pss_kib_before\": " << baseline.pss_kib
        << ", \"rss_kib_after_logins\": " << after_logins.rss_kib
        << ", \"rss_kib_with_sessions\": " << held.rss_kib << ", \"pss_kib_with_sessions\": " << held.pss_kib
        << ", \"held_sessions\": " << held_sessions
        << ", \"rss_bytes_per_session\": " << rss_per_session
        << ", \"pss_bytes_per_session\": " << pss_per_session << "}";
    if (with_traffic) {
      out << ",\n  \"traffic\": {\"rate\": " << config.rate << ", \"duration\": " << config.duration_s
          << ", \"drain_seconds\": " << config.drain_s << ", \"sent\": " << report.sent
          << ", \"unsent\": " << report.unsent << ", \"send_seconds\": " << report.send_seconds
          << ", \"achieved_rate\": " << achieved << ", \"expected\": " << report.expected
          << ", \"received\": " << report.received << ", \"lost\": " << lost
          << ", \"reordered\": " << report.reordered << ", \"duplicates\": " << report.duplicates
          << ", \"unexpected\": " << report.unexpected << ", \"errors\": " << report.errors
          << ", \"setup_expected\": " << report.setup_expected
          << ", \"setup_confirmed\": " << report.setup_confirmed
          << ", \"setup_seconds\": " << report.setup_seconds
          << ", \"server_cpu_seconds\": " << traffic_server_cpu << ", \"wall_seconds\": " << traffic_wall
          << ", \"loadgen_cpu_seconds\": " << loadgen_cpu
          << ", \"latency_ms\": {\"p50\": " << percentile_ns_to_ms(report.deliveries_ns, 0.5)
          << ", \"p90\": " << percentile_ns_to_ms(report.deliveries_ns, 0.9)
          << ", \"p99\": " << percentile_ns_to_ms(report.deliveries_ns, 0.99)
          << ", \"max\": " << percentile_ns_to_ms(report.deliveries_ns, 1.0) << "}}";
    }
    out << "\n}\n";
  }
  bool traffic_ok = !with_traffic
                    || (report.has_traffic && lost == 0 && report.reordered == 0 && report.duplicates == 0
                        && report.unexpected == 0 && report.errors == 0 && report.unsent == 0);
  return report.failed == 0 && dropped_total == 0 && traffic_ok ? 0 : 1;
}
