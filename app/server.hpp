// Runs starlingd: opens the store, builds the TLS context, starts the
// supervision tree of the server and serves until SIGTERM or SIGINT, then
// shuts the tree down in reverse start order. SIGHUP reloads the log level
// and the certificates from the configuration file.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/config.hpp"

namespace caf {
class actor_system;
}

namespace starling::actors {
struct server_context;
}

namespace starling::app {

/// Handles of a running server, passed to an in-process workload.
struct running_server {
  caf::actor_system& system;
  std::shared_ptr<actors::server_context> context;
};

/// Workload run on a started server; its result is the process exit code.
using workload_fn = std::function<int(running_server&)>;

/// Serves until a stop signal; returns the process exit code. The caller
/// must have blocked SIGINT, SIGTERM and SIGHUP in every thread (see
/// block_stop_signals) before calling, so that only this function's
/// sigwait receives them.
int run_server(config cfg, std::optional<std::string> config_path);

/// Starts the same tree as run_server, runs `workload` on the calling
/// thread once it has started, then shuts the tree down in order. Used by
/// in-process benchmarks; signals are not handled. Returns the workload's
/// code, or 1 when start or shutdown failed.
int run_server_with(config cfg, const workload_fn& workload);

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every
/// thread started after it.
void block_stop_signals();

} // namespace starling::app
