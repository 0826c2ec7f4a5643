// Runs starlingd: opens the store, builds the TLS context, starts the
// supervision tree of the server and serves until SIGTERM or SIGINT, then
// shuts the tree down in reverse start order. SIGHUP reloads the log level
// and the certificates from the configuration file.
#pragma once

#include <optional>
#include <string>

#include "app/config.hpp"

namespace starling::app {

/// Serves until a stop signal; returns the process exit code. The caller
/// must have blocked SIGINT, SIGTERM and SIGHUP in every thread (see
/// block_stop_signals) before calling, so that only this function's
/// sigwait receives them.
int run_server(config cfg, std::optional<std::string> config_path);

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every
/// thread started after it.
void block_stop_signals();

} // namespace starling::app
