// starlingd: the Starling XMPP server.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/server.hpp"

int main(int argc, char** argv) {
  using namespace starling::app;

  CLI::App cli{"Starling XMPP server"};
  std::optional<std::string> config_path;
  std::optional<std::string> data_dir;
  std::optional<std::string> log_level;
  bool check_only = false;
  cli.add_option("-c,--config", config_path,
                 "TOML configuration file; without it the embedded default is used");
  cli.add_option("-d,--data-dir", data_dir, "Data directory (overrides server.data_dir)");
  cli.add_option("-l,--log-level", log_level,
                 "trace, debug, info, warn, error, critical or off (overrides server.log_level)");
  cli.add_flag("--check-config", check_only, "Validate the configuration and exit");
  CLI11_PARSE(cli, argc, argv);

  auto loaded = config_path ? load_config_file(*config_path)
                            : parse_config(embedded_default_config(), "(embedded default)");
  if (auto errors = std::get_if<config_errors>(&loaded)) {
    for (auto& message : errors->messages)
      std::cerr << message << '\n';
    return 2;
  }
  auto cfg = std::get<config>(std::move(loaded));
  if (data_dir)
    cfg.server.data_dir = *data_dir;
  if (log_level) {
    if (!is_log_level(*log_level)) {
      std::cerr << "--log-level: invalid value '" << *log_level
                << "', expected trace, debug, info, warn, error, critical or off\n";
      return 2;
    }
    cfg.server.log_level = *log_level;
  }
  if (check_only) {
    std::cout << (config_path ? *config_path : "embedded default") << ": configuration is valid\n";
    return 0;
  }

  // Before any thread starts, so that only the signal loop receives them.
  block_stop_signals();
  init_logging(cfg.server.log_level);
  int code = run_server(std::move(cfg), config_path);
  spdlog::info("starlingd stopped with exit code {}", code);
  spdlog::shutdown();
  return code;
}
