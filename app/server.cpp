#include "app/server.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <pthread.h>

#include "actors/c2s_listener.hpp"
#include "actors/registry_keys.hpp"
#include "actors/server_context.hpp"
#include "app/logging.hpp"
#include "app/startup.hpp"
#include "store/lmdb_account_store.hpp"
#include "store/lmdb_env.hpp"
#include "store/lmdb_block_store.hpp"
#include "store/lmdb_offline_store.hpp"
#include "store/lmdb_user_data_store.hpp"
#include "store/lmdb_roster_store.hpp"
#include "actors/roster_service.hpp"
#include "actors/idle_sweeper.hpp"
#include "actors/timer_relay.hpp"
#include "store/writer_actor.hpp"
#include "supervisor/supervisor.hpp"

namespace starling::app {

namespace {

namespace sup = starling::supervisor;
using actors::server_context;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void log_supervisor_event(sup::log_level level, std::string line) {
  switch (level) {
    case sup::log_level::debug:
      spdlog::debug("{}", line);
      break;
    case sup::log_level::info:
      spdlog::info("{}", line);
      break;
    case sup::log_level::warning:
      spdlog::warn("{}", line);
      break;
    case sup::log_level::error:
      spdlog::error("{}", line);
      break;
  }
}

sup::supervisor_flags flags(std::string name, sup::restart_strategy strategy) {
  sup::supervisor_flags out;
  out.name = std::move(name);
  out.strategy = strategy;
  out.intensity = 3;
  out.period = std::chrono::seconds{5};
  out.log = log_supervisor_event;
  return out;
}

// A simple_one_for_one supervisor whose children are all adopted: created
// elsewhere (connections by a listener, sessions by a connection) and
// handed over so that shutdown ends them in order.
sup::child_spec adopting_supervisor(std::string name, caf::atom_value key,
                                    std::chrono::milliseconds child_shutdown) {
  sup::child_spec child_template;
  child_template.name = name + "-child";
  child_template.restart = sup::restart_type::temporary;
  child_template.shutdown = child_shutdown;
  child_template.start = [](caf::actor_system&, const caf::message&) { return caf::actor{}; };
  auto spec = sup::supervisor_child(
    name, flags(name, sup::restart_strategy::simple_one_for_one), {std::move(child_template)});
  spec.registry_key = key;
  return spec;
}

sup::child_spec listener_spec(std::shared_ptr<server_context> ctx, std::string name,
                              std::string address, std::uint16_t port, bool direct_tls) {
  sup::child_spec spec;
  spec.name = name;
  spec.restart = sup::restart_type::permanent;
  spec.shutdown = std::chrono::seconds{5};
  spec.start = [ctx, name, address, port, direct_tls](caf::actor_system& system,
                                                       const caf::message&) {
    actors::listener_options options{address, port, direct_tls, name};
    auto connections = sup::published_child(system, actors::registry_keys::connections);
    return actors::spawn_c2s_listener(system, ctx, options, connections);
  };
  return spec;
}

// The application tree (rest_for_one): a failure of the store restarts
// everything started after it, a failure of a listener only the listeners.
std::vector<sup::child_spec> application_tree(std::shared_ptr<server_context> ctx,
                                              std::shared_ptr<store::lmdb_env> env,
                                              store::options store_opts) {
  auto& c2s = ctx->config.c2s;
  std::chrono::milliseconds shutdown{ctx->config.server.shutdown_timeout_ms};

  sup::child_spec store_spec;
  store_spec.name = "store";
  store_spec.restart = sup::restart_type::permanent;
  // The writer commits what is pending before it exits.
  store_spec.shutdown = shutdown;
  store_spec.registry_key = actors::registry_keys::writer;
  store_spec.start = [env, store_opts](caf::actor_system& system, const caf::message&) {
    return caf::actor_cast<caf::actor>(store::spawn_writer(system, env, store_opts));
  };

  sup::child_spec roster_spec;
  roster_spec.name = "roster";
  roster_spec.restart = sup::restart_type::permanent;
  roster_spec.shutdown = shutdown;
  roster_spec.registry_key = actors::registry_keys::roster;
  roster_spec.start = [ctx](caf::actor_system& system, const caf::message&) {
    return actors::spawn_roster_service(system, ctx);
  };

  sup::child_spec timers_spec;
  timers_spec.name = "timers";
  timers_spec.restart = sup::restart_type::permanent;
  timers_spec.shutdown = std::chrono::seconds{1};
  timers_spec.registry_key = actors::registry_keys::timers;
  timers_spec.start = [](caf::actor_system& system, const caf::message&) {
    return actors::spawn_timer_relay(system);
  };

  std::vector<sup::child_spec> services;
  services.push_back(std::move(roster_spec));
  services.push_back(std::move(timers_spec));
  if (c2s.hibernate_after_ms > 0 || c2s.ping_interval_s > 0) {
    sup::child_spec sweeper_spec;
    sweeper_spec.name = "idle-sweeper";
    sweeper_spec.restart = sup::restart_type::permanent;
    sweeper_spec.shutdown = std::chrono::seconds{1};
    sweeper_spec.start = [ctx](caf::actor_system& system, const caf::message&) {
      return actors::spawn_idle_sweeper(system, ctx);
    };
    services.push_back(std::move(sweeper_spec));
  }

  std::vector<sup::child_spec> listeners;
  listeners.push_back(adopting_supervisor("connections", actors::registry_keys::connections,
                                          shutdown));
  if (c2s.starttls_port != 0)
    listeners.push_back(listener_spec(ctx, "c2s", c2s.starttls_address, c2s.starttls_port, false));
  if (c2s.direct_tls_port != 0)
    listeners.push_back(
      listener_spec(ctx, "c2s-tls", c2s.direct_tls_address, c2s.direct_tls_port, true));

  return {
    std::move(store_spec),
    sup::supervisor_child("services", flags("services", sup::restart_strategy::one_for_one),
                          std::move(services)),
    adopting_supervisor("sessions", actors::registry_keys::sessions, shutdown),
    sup::supervisor_child("listeners", flags("listeners", sup::restart_strategy::one_for_one),
                          std::move(listeners)),
  };
}

void reload(const std::optional<std::string>& config_path, server_context& ctx) {
  if (!config_path) {
    spdlog::info("reload: running on the embedded default configuration, nothing to reload");
    return;
  }
  auto loaded = load_config_file(*config_path);
  if (auto errors = std::get_if<config_errors>(&loaded)) {
    for (auto& message : errors->messages)
      spdlog::error("reload: {}", message);
    spdlog::error("reload: configuration invalid, nothing changed");
    return;
  }
  auto& fresh = std::get<config>(loaded);

  set_log_level(fresh.server.log_level);
  spdlog::info("reload: log level {}", fresh.server.log_level);

  auto prepared = prepare_certificates(fresh);
  if (auto error = std::get_if<std::string>(&prepared)) {
    spdlog::error("reload: certificates not reloaded: {}", *error);
  } else if (auto failure = ctx.tls.reload(std::get<tls::context_config>(prepared));
             !failure.empty()) {
    spdlog::error("reload: certificates not reloaded: {}", failure);
  } else {
    spdlog::info("reload: certificates reloaded for new connections");
  }

  // Everything else is fixed at start; say so instead of ignoring it.
  auto warn_if_changed = [](bool changed, std::string_view section) {
    if (changed)
      spdlog::warn("reload: changes in [{}] take effect only after a restart", section);
  };
  auto& old = ctx.config;
  warn_if_changed(fresh.server.hosts != old.server.hosts
                    || fresh.server.data_dir != old.server.data_dir,
                  "server");
  warn_if_changed(fresh.c2s.starttls_port != old.c2s.starttls_port
                    || fresh.c2s.direct_tls_port != old.c2s.direct_tls_port
                    || fresh.c2s.starttls_address != old.c2s.starttls_address
                    || fresh.c2s.direct_tls_address != old.c2s.direct_tls_address
                    || fresh.c2s.allow_plaintext_auth != old.c2s.allow_plaintext_auth
                    || fresh.c2s.allow_registration != old.c2s.allow_registration,
                  "c2s");
  warn_if_changed(fresh.auth.mechanisms != old.auth.mechanisms, "auth");
}

} // namespace

void block_stop_signals() {
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

namespace {

// Starts the tree, then waits for a stop signal, or runs `workload` when
// one is given, and shuts the tree down in order.
int serve(config cfg, std::optional<std::string> config_path, const workload_fn* workload) {
  spdlog::info("starlingd {} starting, hosts: {}, data: {}", STARLING_VERSION,
               fmt::join(cfg.server.hosts, ", "), cfg.server.data_dir);

  auto store_opts = store_options(cfg);
  auto env = store::lmdb_env::open(store_opts);
  if (!env) {
    spdlog::critical("store: {}", env.error().message());
    return 1;
  }
  auto accounts = std::make_shared<store::lmdb_account_store>(*env, cfg.store.scram_iterations);
  auto rosters = std::make_shared<store::lmdb_roster_store>(*env);
  auto offline = std::make_shared<store::lmdb_offline_store>(*env);
  auto blocks = std::make_shared<store::lmdb_block_store>(*env);
  auto user_data = std::make_shared<store::lmdb_user_data_store>(*env);

  auto tls_context = make_tls_context(cfg);
  if (auto error = std::get_if<std::string>(&tls_context)) {
    spdlog::critical("tls: {}", *error);
    return 1;
  }

  caf::actor_system_config system_config;
  system_config.load<caf::io::middleman>();
  // Large fan-out collapses under work stealing; sharing keeps 1M+ msgs/s.
  system_config.set("scheduler.policy", caf::atom("sharing"));
  if (cfg.server.worker_threads > 0)
    system_config.set("scheduler.max-threads", static_cast<size_t>(cfg.server.worker_threads));
  system_config.set("logger.verbosity", caf::atom("quiet"));
  sup::add_error_category(system_config);
  caf::actor_system system{system_config};

  auto ctx = std::make_shared<server_context>(
    cfg, std::get<std::shared_ptr<const tls::tls_context>>(tls_context), *env, accounts, rosters, offline, blocks, user_data);
  ctx->system = &system;

  auto root = sup::spawn_supervisor(system, flags("starling", sup::restart_strategy::rest_for_one),
                                    application_tree(ctx, *env, store_opts));
  if (!root) {
    spdlog::critical("supervisor: {}", system.render(root.error()));
    return 1;
  }

  int exit_code = 0;
  {
    caf::scoped_actor self{system};
    self->monitor(*root);
    bool started = false;
    sup::await_started(self, *root, std::chrono::seconds{30})
      .receive([&](caf::ok_atom) { started = true; },
               [&](const caf::error& error) {
                 spdlog::critical("start failed: {}", system.render(error));
               });
    if (!started) {
      self->send_exit(*root, caf::exit_reason::kill);
      return 1;
    }
    spdlog::info("starlingd ready");

    if (workload != nullptr) {
      running_server running{system, ctx};
      exit_code = (*workload)(running);
      spdlog::info("workload finished, shutting down");
    } else {
      auto set = stop_signals();
      for (;;) {
        int signal = 0;
        if (sigwait(&set, &signal) != 0)
          continue;
        if (signal == SIGHUP) {
          spdlog::info("SIGHUP: reloading");
          reload(config_path, *ctx);
          continue;
        }
        spdlog::info("{}: shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
      }
    }

    // Listeners stop first, then every stream gets <system-shutdown/>,
    // then sessions end and the writer commits what is pending.
    ctx->shutting_down.store(true);
    self->send_exit(*root, caf::exit_reason::user_shutdown);
    auto limit = std::chrono::milliseconds{cfg.server.shutdown_timeout_ms} * 4;
    bool stopped = false;
    self->receive(
      [&](const caf::down_msg&) { stopped = true; },
      caf::after(limit) >> [&] {
        spdlog::error("shutdown did not finish within {} ms, killing the remaining actors",
                      limit.count());
        self->send_exit(*root, caf::exit_reason::kill);
        exit_code = 1;
      });
    if (stopped)
      spdlog::info("all actors stopped");
  }
  return exit_code;
}

} // namespace

int run_server(config cfg, std::optional<std::string> config_path) {
  return serve(std::move(cfg), std::move(config_path), nullptr);
}

int run_server_with(config cfg, const workload_fn& workload) {
  return serve(std::move(cfg), std::nullopt, &workload);
}

} // namespace starling::app
