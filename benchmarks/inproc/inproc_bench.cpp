// inproc_bench: runs Starling's server tree in this process and connects
// clients to it through the in-process transport (actors/memory_transport),
// so one process serves far more sessions than it could have sockets.
//
// Every session is real: a c2s broker parses a pipelined login (stream
// header, SASL PLAIN, stream restart, resource binding, initial presence),
// the password is checked against SCRAM credentials in LMDB, and a session
// actor is bound in the session table. Clients reply to the server's
// XEP-0199 pings. The clients are a small state machine on the I/O thread, 16 bytes
// each, allocated before the baseline is sampled.
//
// Phases:
//   1. Register the missing accounts with --scram-iterations PBKDF2
//      iterations. The default of 1 makes a million registrations take
//      seconds, and the count changes only the cost of hashing.
//   2. Sample memory, log every client in, let idle connections hibernate,
//      and sample memory again.
//   3. Route one-to-one messages between random pairs with a fixed window
//      in flight, and record each message's latency.
// Prints a table and writes JSON.
#include "actors/memory_transport.hpp"
#include "actors/server_context.hpp"
#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/server.hpp"
#include "protocol/sasl/scram_crypto.hpp"
#include "protocol/xml/stream_parser.hpp"
#include "store/lmdb_account_store.hpp"

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <fmt/format.h>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace starling;
using clock_type = std::chrono::steady_clock;
using actors::memory_scribe_ptr;

struct bench_options {
  std::size_t sessions = 10'000;
  std::size_t concurrency = 2'000;
  std::size_t messages = 100'000;
  std::size_t window = 2'000;
  std::uint32_t scram_iterations = 1;
  std::string config_path;
  std::string data_dir;
  std::string json_path;
  double settle_s = 3;
  double stall_timeout_s = 60;
  bool require_all = false;
};

std::string username(std::size_t index) {
  return "u" + std::to_string(index);
}

std::string password(std::size_t index) {
  return "p" + std::to_string(index) + "-secret";
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           clock_type::now().time_since_epoch())
    .count();
}

struct memory_sample {
  std::uint64_t rss_bytes = 0;
  /// Resident anonymous memory: RSS without the pages of the LMDB file,
  /// which belong to the page cache and are shared with other readers.
  std::uint64_t anon_bytes = 0;
  std::uint64_t heap_bytes = 0; ///< malloc's bytes in use (mallinfo2).
  double cpu_seconds = 0;
};

memory_sample sample_memory() {
  memory_sample out;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      out.rss_bytes = std::stoull(line.substr(6)) * 1024;
    else if (line.rfind("RssAnon:", 0) == 0)
      out.anon_bytes = std::stoull(line.substr(8)) * 1024;
  auto info = mallinfo2();
  out.heap_bytes = info.uordblks + info.hblkhd;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
                    + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return out;
}

// -- accounts --------------------------------------------------------------

// Registers u0..u(count-1) except those a previous run left. Accounts are
// created in order, so bisection finds the first missing index.
bool register_accounts(actors::server_context& ctx, std::size_t count, std::uint32_t iterations) {
  store::lmdb_account_store accounts{ctx.env, iterations};
  auto exists = [&](std::size_t index) {
    return accounts.credentials(username(index), sasl::scram_hash::sha256).has_value();
  };

  std::size_t low = 0;
  std::size_t high = count;
  while (low < high) {
    auto middle = low + (high - low) / 2;
    if (exists(middle))
      low = middle + 1;
    else
      high = middle;
  }
  if (low == count) {
    fmt::print("accounts: all {} exist\n", count);
    return true;
  }

  fmt::print("accounts: registering u{}..u{} (PBKDF2 iterations {})\n", low, count - 1,
             iterations);

  auto started = clock_type::now();
  store::write_batch batch;
  for (std::size_t index = low; index < count; ++index) {
    auto registration = accounts.make_register(username(index), password(index));
    if (!registration) {
      fmt::print(stderr, "accounts: registering u{} failed: {}\n", index,
                 registration.error().message());
      return false;
    }
    batch.append(*registration);
    if (batch.size() >= 20'000 || index + 1 == count) {
      if (auto status = ctx.env->commit(batch); !status.ok()) {
        fmt::print(stderr, "accounts: commit failed: {}\n", status.message());
        return false;
      }
      batch.clear();
    }
  }
  std::chrono::duration<double> took = clock_type::now() - started;
  fmt::print("accounts: {} registered in {:.1f} s\n", count - low, took.count());
  return true;
}

// -- clients ---------------------------------------------------------------

enum class client_state : std::uint8_t { idle, logging_in, online, failed, closed };

struct client {
  memory_scribe_ptr link;
  client_state state = client_state::idle;
};

struct latency_summary {
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

// Drives every client. All members except the atomics are touched only on
// CAF's I/O thread.
class driver final : public actors::memory_client_handler {
public:
  driver(caf::actor_system& system, std::shared_ptr<actors::server_context> ctx,
         std::size_t sessions, std::size_t concurrency)
      : system_(system), ctx_(std::move(ctx)), clients_(sessions), concurrency_(concurrency),
        host_(ctx_->default_host()) {
  }

  // -- main thread --

  void start_logins() {
    actors::run_on_io_thread(system_, [this] {
      for (std::size_t i = 0; i < concurrency_ && next_login_ < clients_.size(); ++i)
        open_next();
    });
  }

  void start_routing(std::size_t messages, std::size_t window, std::uint64_t seed) {
    actors::run_on_io_thread(system_, [=, this] {
      rng_.seed(seed);
      to_send_ = messages;
      latencies_ns_.reserve(messages);
      routing_ = true;
      for (std::size_t i = 0; i < window && to_send_ > 0; ++i)
        send_one();
    });
  }

  std::atomic<std::size_t> online{0};
  std::atomic<std::size_t> failed{0};
  std::atomic<std::size_t> closed_early{0};
  std::atomic<std::size_t> received{0};
  std::atomic<std::size_t> sent{0};
  std::atomic<std::size_t> pings_answered{0};
  std::atomic<std::size_t> stream_errors{0};
  std::atomic<std::size_t> closed{0};
  std::atomic<bool> shutting_down{false};

  // Read after routing ended (the I/O thread no longer appends).
  latency_summary latencies() {
    latency_summary out;
    std::promise<void> done;
    actors::run_on_io_thread(system_, [&] {
      auto& v = latencies_ns_;
      std::sort(v.begin(), v.end());
      auto at = [&](double q) {
        return v.empty() ? 0.0 : v[std::min(v.size() - 1, std::size_t(q * v.size()))] / 1e3;
      };
      out = {at(0.50), at(0.90), at(0.99), v.empty() ? 0.0 : v.back() / 1e3};
      done.set_value();
    });
    done.get_future().wait();
    return out;
  }

  std::string first_failure() {
    std::lock_guard guard{failure_mutex_};
    return first_failure_;
  }

  // -- memory_client_handler, I/O thread --

  void on_server_bytes(std::uint64_t tag, std::string_view bytes) override {
    auto& c = clients_[tag];
    switch (c.state) {
      case client_state::logging_in:
        on_login_bytes(tag, c, bytes);
        return;
      case client_state::online:
        on_online_bytes(tag, c, bytes);
        return;
      default:
        return;
    }
  }

  void on_server_closed(std::uint64_t tag) override {
    auto& c = clients_[tag];
    auto was = c.state;
    c.state = client_state::closed;
    c.link = nullptr;
    closed.fetch_add(1, std::memory_order_relaxed);
    if (shutting_down.load())
      return;
    if (was == client_state::logging_in) {
      fail(tag, "closed during login");
      login_finished();
    } else if (was == client_state::online) {
      closed_early.fetch_add(1, std::memory_order_relaxed);
      record_failure(fmt::format("u{}: closed while online", tag));
    }
  }

private:
  // Opens the next client; false when the server refused it.
  bool try_open_next() {
    auto index = next_login_++;
    auto& c = clients_[index];
    c.link = actors::open_memory_connection(system_, ctx_, *this, index);
    if (!c.link) {
      fail(index, "server refused the connection");
      return false;
    }
    c.state = client_state::logging_in;
    auto user = username(index);
    // RFC 4616: authzid (empty), NUL, authcid, NUL, password.
    std::string nul{"\0", 1};
    auto auth = sasl::base64_encode(nul + user + nul + password(index));
    auto header = fmt::format("<?xml version='1.0'?><stream:stream to='{}' xmlns='jabber:client' "
                              "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
                              host_);
    // One write for the whole login. Starling keeps later input unparsed
    // while it checks the password, so the pipelined restart is safe.
    c.link->client_write(
      header
      + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + auth + "</auth>"
      + header
      + "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
        "<resource>r</resource></bind></iq><presence/>");
    return true;
  }

  // A loop, not recursion: when the server refuses every connection, a
  // million clients must not become a million stack frames.
  void open_next() {
    while (next_login_ < clients_.size() && !try_open_next()) {
    }
  }

  void login_finished() {
    if (next_login_ < clients_.size() && !shutting_down.load())
      open_next();
  }

  void fail(std::uint64_t tag, std::string_view reason) {
    auto& c = clients_[tag];
    c.state = client_state::failed;
    if (c.link)
      c.link->client_close();
    c.link = nullptr;
    failed.fetch_add(1, std::memory_order_relaxed);
    record_failure(fmt::format("u{}: {}", tag, reason));
  }

  void record_failure(std::string text) {
    std::lock_guard guard{failure_mutex_};
    if (first_failure_.empty())
      first_failure_ = std::move(text);
  }

  void on_login_bytes(std::uint64_t tag, client& c, std::string_view bytes) {
    if (bytes.find("<failure") != std::string_view::npos
        || bytes.find("<stream:error") != std::string_view::npos) {
      fail(tag, fmt::format("login refused: {}", bytes.substr(0, 200)));
      login_finished();
      return;
    }
    auto jid = bytes.find("<jid>");
    if (jid == std::string_view::npos)
      return;
    auto expected = fmt::format("<jid>{}@{}/r</jid>", username(tag), host_);
    if (bytes.compare(jid, expected.size(), expected) != 0) {
      fail(tag, fmt::format("unexpected bind result: {}", bytes.substr(0, 200)));
      login_finished();
      return;
    }
    c.state = client_state::online;
    online.fetch_add(1, std::memory_order_relaxed);
    login_finished();
  }

  void on_online_bytes(std::uint64_t tag, client& c, std::string_view bytes) {
    if (bytes.find("<stream:error") != std::string_view::npos) {
      stream_errors.fetch_add(1, std::memory_order_relaxed);
      record_failure(fmt::format("u{}: {}", tag, bytes.substr(0, 200)));
      return;
    }
    // XEP-0199: a client that ignores the server's pings is disconnected.
    if (auto ping = bytes.find("id='s2c-ping-"); ping != std::string_view::npos) {
      auto start = ping + 4;
      auto end = bytes.find('\'', start);
      c.link->client_write(fmt::format("<iq type='result' id='{}' to='{}'/>",
                                       bytes.substr(start, end - start), host_));
      pings_answered.fetch_add(1, std::memory_order_relaxed);
    }
    for (auto at = bytes.find("<message"); at != std::string_view::npos;
         at = bytes.find("<message", at + 1)) {
      auto body = bytes.find("<body>", at);
      if (body == std::string_view::npos)
        continue;
      auto sent_at = std::strtoll(bytes.data() + body + 6, nullptr, 10);
      if (routing_)
        latencies_ns_.push_back(now_ns() - sent_at);
      received.fetch_add(1, std::memory_order_relaxed);
      if (to_send_ > 0)
        send_one();
    }
  }

  void send_one() {
    std::uniform_int_distribution<std::size_t> pick{0, clients_.size() - 1};
    for (int attempt = 0; attempt < 64; ++attempt) {
      auto from = pick(rng_);
      auto to = pick(rng_);
      if (from == to || clients_[from].state != client_state::online
          || clients_[to].state != client_state::online)
        continue;
      --to_send_;
      sent.fetch_add(1, std::memory_order_relaxed);
      clients_[from].link->client_write(
        fmt::format("<message to='{}@{}/r' type='chat'><body>{}</body></message>", username(to),
                    host_, now_ns()));
      return;
    }
  }

  caf::actor_system& system_;
  std::shared_ptr<actors::server_context> ctx_;
  std::vector<client> clients_;
  std::size_t concurrency_;
  std::string host_;
  std::size_t next_login_ = 0;

  bool routing_ = false;
  std::size_t to_send_ = 0;
  std::mt19937_64 rng_;
  std::vector<std::int64_t> latencies_ns_;

  std::mutex failure_mutex_;
  std::string first_failure_;
};

std::string no_detail(std::size_t) {
  return {};
}

// Waits until `done` holds, printing progress and `detail` every 5 s;
// false when nothing moved for `stall` seconds.
template <class Done, class Progress, class Detail = decltype(&no_detail)>
bool wait_for(Done done, Progress progress, double stall, Detail detail = &no_detail) {
  auto last_change = clock_type::now();
  auto last_print = clock_type::now();
  auto last_value = progress();
  while (!done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    auto value = progress();
    auto now = clock_type::now();
    if (value != last_value) {
      last_value = value;
      last_change = now;
    }
    if (now - last_print > std::chrono::seconds{5}) {
      fmt::print("  ... {} {}\n", value, detail(value));
      std::fflush(stdout);
      last_print = now;
    }
    if (std::chrono::duration<double>(now - last_change).count() > stall)
      return false;
  }
  return true;
}

// `holder` outlives the server: connections still call the clients while
// the tree shuts down after run() returns.
int run(const bench_options& opts, app::running_server& server,
        std::unique_ptr<driver>& holder) {
  auto& ctx = *server.context;
  if (!register_accounts(ctx, opts.sessions, opts.scram_iterations))
    return 1;

  holder = std::make_unique<driver>(server.system, server.context, opts.sessions,
                                    opts.concurrency);
  auto& clients = *holder;
  std::this_thread::sleep_for(std::chrono::duration<double>(opts.settle_s));
  malloc_trim(0);
  auto before = sample_memory();

  fmt::print("login: {} sessions, {} in flight\n", opts.sessions, opts.concurrency);
  auto login_started = clock_type::now();
  clients.start_logins();
  bool logins_done = wait_for(
    [&] { return clients.online.load() + clients.failed.load() >= opts.sessions; },
    [&] { return clients.online.load() + clients.failed.load(); }, opts.stall_timeout_s,
    [&](std::size_t) {
      auto now = sample_memory();
      auto online = std::max<std::size_t>(clients.online.load(), 1);
      return fmt::format("online, {:.0f} B RSS and {:.0f} B heap per session, {} parsers awake",
                         (double(now.rss_bytes) - double(before.rss_bytes)) / online,
                         (double(now.heap_bytes) - double(before.heap_bytes)) / online,
                         xml::stream_parser::live_expat_instances());
    });
  std::chrono::duration<double> login_time = clock_type::now() - login_started;
  auto after_login = sample_memory();
  auto online = clients.online.load();
  fmt::print("login: {} online, {} failed in {:.1f} s{}\n", online, clients.failed.load(),
             login_time.count(), logins_done ? "" : " (stalled)");

  // Idle connections release their parsers after c2s.hibernate_after_ms.
  std::this_thread::sleep_for(std::chrono::milliseconds{ctx.config.c2s.hibernate_after_ms}
                              + std::chrono::duration<double>(opts.settle_s));
  malloc_trim(0);
  auto idle = sample_memory();
  auto idle_parsers = xml::stream_parser::live_expat_instances();
  auto per_session = [&](std::uint64_t a, std::uint64_t b) {
    return online == 0 ? 0.0 : (double(b) - double(a)) / double(online);
  };

  std::size_t messages = online >= 2 ? opts.messages : 0;
  fmt::print("routing: {} messages, {} in flight\n", messages, opts.window);
  auto route_started = clock_type::now();
  auto cpu_before_routing = sample_memory().cpu_seconds;
  clients.start_routing(messages, opts.window, 42);
  bool routing_done = wait_for([&] { return clients.received.load() >= messages; },
                               [&] { return clients.received.load(); }, opts.stall_timeout_s);
  std::chrono::duration<double> route_time = clock_type::now() - route_started;
  auto cpu_routing = sample_memory().cpu_seconds - cpu_before_routing;
  auto latency = clients.latencies();
  auto received = clients.received.load();
  double rate = route_time.count() > 0 ? received / route_time.count() : 0;

  // Per-session figures exclude the clients: their table was allocated
  // before the baseline.
  fmt::print("\n{:<44} {:>16}\n", "in-process sessions", "value");
  auto row = [](std::string_view name, std::string value) {
    fmt::print("{:<44} {:>16}\n", name, value);
  };
  row("sessions online", std::to_string(online));
  row("login failures", std::to_string(clients.failed.load()));
  row("logins/s", fmt::format("{:.0f}", online / login_time.count()));
  row("RSS before logins (MiB)", fmt::format("{:.1f}", before.rss_bytes / 1048576.0));
  row("RSS idle, all online (MiB)", fmt::format("{:.1f}", idle.rss_bytes / 1048576.0));
  row("RSS per session, idle (bytes)",
      fmt::format("{:.0f}", per_session(before.rss_bytes, idle.rss_bytes)));
  row("anonymous RSS per session, idle (bytes)",
      fmt::format("{:.0f}", per_session(before.anon_bytes, idle.anon_bytes)));
  row("heap per session, idle (bytes)",
      fmt::format("{:.0f}", per_session(before.heap_bytes, idle.heap_bytes)));
  row("RSS per session, right after login (bytes)",
      fmt::format("{:.0f}", per_session(before.rss_bytes, after_login.rss_bytes)));
  row("messages routed", std::to_string(received));
  row("messages/s", fmt::format("{:.0f}", rate));
  row("CPU s per 1000 messages", fmt::format("{:.3f}", received ? cpu_routing * 1000 / received : 0));
  row("latency p50 / p90 (ms)",
      fmt::format("{:.2f} / {:.2f}", latency.p50_us / 1e3, latency.p90_us / 1e3));
  row("latency p99 / max (ms)",
      fmt::format("{:.2f} / {:.2f}", latency.p99_us / 1e3, latency.max_us / 1e3));
  row("parsers awake at the idle sample", std::to_string(idle_parsers));
  row("pings answered", std::to_string(clients.pings_answered.load()));
  row("closed while online", std::to_string(clients.closed_early.load()));
  row("stream errors", std::to_string(clients.stream_errors.load()));
  if (auto failure = clients.first_failure(); !failure.empty())
    fmt::print("first failure: {}\n", failure);

  if (!opts.json_path.empty()) {
    std::ofstream json{opts.json_path};
    json << fmt::format(
      "{{\"sessions_requested\": {}, \"sessions_online\": {}, \"login_failures\": {}, "
      "\"login_seconds\": {:.3f}, \"rss_before_bytes\": {}, \"rss_idle_bytes\": {}, "
      "\"heap_before_bytes\": {}, \"heap_idle_bytes\": {}, "
      "\"rss_per_session_bytes\": {:.1f}, \"anon_rss_per_session_bytes\": {:.1f}, "
      "\"heap_per_session_bytes\": {:.1f}, "
      "\"messages_sent\": {}, \"messages_received\": {}, \"messages_per_second\": {:.1f}, "
      "\"latency_us\": {{\"p50\": {:.1f}, \"p90\": {:.1f}, \"p99\": {:.1f}, \"max\": {:.1f}}}, "
      "\"pings_answered\": {}, \"closed_while_online\": {}, \"stream_errors\": {}}}\n",
      opts.sessions, online, clients.failed.load(), login_time.count(), before.rss_bytes,
      idle.rss_bytes, before.heap_bytes, idle.heap_bytes,
      per_session(before.rss_bytes, idle.rss_bytes),
      per_session(before.anon_bytes, idle.anon_bytes), per_session(before.heap_bytes, idle.heap_bytes), clients.sent.load(), received, rate,
      latency.p50_us, latency.p90_us, latency.p99_us, latency.max_us,
      clients.pings_answered.load(), clients.closed_early.load(), clients.stream_errors.load());
  }

  clients.shutting_down.store(true);
  bool complete = logins_done && routing_done && clients.closed_early.load() == 0
                  && clients.stream_errors.load() == 0;
  if (opts.require_all && (!complete || online != opts.sessions || received != messages)) {
    fmt::print(stderr, "failed: {} of {} sessions online, {} of {} messages arrived\n", online,
               opts.sessions, received, messages);
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  bench_options opts;
  CLI::App cli{"Holds many sessions in one Starling process through the in-process transport"};
  cli.add_option("-n,--sessions", opts.sessions, "Sessions to log in")->capture_default_str();
  cli.add_option("--concurrency", opts.concurrency, "Logins in flight")->capture_default_str();
  cli.add_option("-m,--messages", opts.messages, "One-to-one messages to route")
    ->capture_default_str();
  cli.add_option("-w,--window", opts.window, "Messages in flight")->capture_default_str();
  cli.add_option("--scram-iterations", opts.scram_iterations,
                 "PBKDF2 iterations of the accounts this run registers")
    ->capture_default_str()
    ->check(CLI::Range(1u, 10'000'000u));
  cli.add_option("-c,--config", opts.config_path,
                 "Starling configuration (default: the embedded one); listeners are turned off");
  cli.add_option("-d,--data-dir", opts.data_dir,
                 "Store directory; kept, so a second run reuses the accounts")
    ->required();
  cli.add_option("--json", opts.json_path, "Write the results as JSON here");
  cli.add_option("--settle", opts.settle_s, "Seconds to wait before each memory sample")
    ->capture_default_str();
  cli.add_option("--stall-timeout", opts.stall_timeout_s,
                 "Give up a phase after this many seconds without progress")
    ->capture_default_str();
  cli.add_flag("--require-all", opts.require_all,
               "Exit 1 unless every session came online and every message arrived");
  CLI11_PARSE(cli, argc, argv);

  auto loaded = opts.config_path.empty()
                  ? app::parse_config(app::embedded_default_config(), "(embedded default)")
                  : app::load_config_file(opts.config_path);
  if (auto errors = std::get_if<app::config_errors>(&loaded)) {
    for (auto& message : errors->messages)
      std::cerr << message << '\n';
    return 2;
  }
  auto cfg = std::get<app::config>(loaded);
  cfg.server.data_dir = opts.data_dir;
  cfg.c2s.starttls_port = 0;
  cfg.c2s.direct_tls_port = 0;
  cfg.c2s.allow_plaintext_auth = true;
  // A line per login would dominate the run; a given file decides itself.
  if (opts.config_path.empty())
    cfg.server.log_level = "warn";
  // Ending a million streams in order takes longer than the default allows.
  cfg.server.shutdown_timeout_ms = std::max<std::uint32_t>(cfg.server.shutdown_timeout_ms, 60'000);
  std::filesystem::create_directories(opts.data_dir);

  app::init_logging(cfg.server.log_level);
  app::block_stop_signals();
  std::unique_ptr<driver> clients;
  auto shutdown_started = clock_type::now();
  auto code = app::run_server_with(std::move(cfg), [&](app::running_server& server) {
    auto result = run(opts, server, clients);
    std::fflush(stdout);
    shutdown_started = clock_type::now();
    return result;
  });
  std::chrono::duration<double> shutdown = clock_type::now() - shutdown_started;
  fmt::print("shutdown: {:.1f} s, {} connections closed\n", shutdown.count(),
             clients ? clients->closed.load() : 0);
  return code;
}
