// starlingctl: administration of a Starling data directory. It opens the
// LMDB store directly, which is safe while starlingd runs because LMDB
// serialises writers across processes; commits are synced like the
// server's own.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <termios.h>
#include <unistd.h>

#include "app/config.hpp"
#include "app/startup.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/sasl/saslprep.hpp"
#include "store/lmdb_account_store.hpp"
#include "store/lmdb_env.hpp"
#include "store/lmdb_offline_store.hpp"
#include "store/lmdb_roster_store.hpp"
#include "store/lmdb_user_data_store.hpp"

namespace {

using namespace starling;

// Exit codes: 0 success, 1 the operation failed, 2 invalid usage or input.
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

struct options {
  std::optional<std::string> config_path;
  std::optional<std::string> data_dir;
};

std::optional<app::config> load(const options& opts) {
  auto loaded = opts.config_path
                  ? app::load_config_file(*opts.config_path)
                  : app::parse_config(app::embedded_default_config(), "(embedded default)");
  if (auto errors = std::get_if<app::config_errors>(&loaded)) {
    for (auto& message : errors->messages)
      std::cerr << message << '\n';
    return std::nullopt;
  }
  auto cfg = std::get<app::config>(std::move(loaded));
  if (opts.data_dir)
    cfg.server.data_dir = *opts.data_dir;
  return cfg;
}

std::shared_ptr<store::lmdb_env> open_store(const app::config& cfg) {
  auto env = store::lmdb_env::open(app::store_options(cfg));
  if (!env) {
    std::cerr << "cannot open the store: " << env.error().message() << '\n';
    return nullptr;
  }
  return *env;
}

// Reads a password from the terminal without echo, or a line from a pipe.
std::optional<std::string> read_password(const std::string& prompt) {
  bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    auto silent = saved;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &silent);
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << '\n';
  }
  if (!ok)
    return std::nullopt;
  return line;
}

// The localpart of a user given as "name" or "name@host" for a local host.
std::optional<std::string> account_name(const app::config& cfg, const std::string& user) {
  auto at = user.find('@');
  auto local = user.substr(0, at);
  if (at != std::string::npos) {
    auto host = jid::nameprep(user.substr(at + 1));
    auto& hosts = cfg.server.hosts;
    if (!host || std::find(hosts.begin(), hosts.end(), *host) == hosts.end()) {
      std::cerr << "'" << user.substr(at + 1) << "' is not a host of this server (hosts: "
                << fmt::format("{}", fmt::join(hosts, ", ")) << ")\n";
      return std::nullopt;
    }
  }
  auto normalised = jid::nodeprep(local);
  if (!normalised || normalised->empty()) {
    std::cerr << "invalid username '" << local << "': it must be a valid JID localpart\n";
    return std::nullopt;
  }
  return normalised;
}

std::optional<std::string> password_argument(const std::optional<std::string>& given) {
  auto raw = given ? given : read_password("Password: ");
  if (!raw) {
    std::cerr << "no password given\n";
    return std::nullopt;
  }
  auto prepared = sasl::saslprep(*raw, sasl::saslprep_mode::stored);
  if (!prepared) {
    std::cerr << "invalid password: it is empty or contains characters that SASLprep forbids\n";
    return std::nullopt;
  }
  return prepared;
}

int commit(store::lmdb_env& env, const store::write_batch& batch, const std::string& what) {
  auto status = env.commit(batch);
  if (status.ok()) {
    std::cout << what << '\n';
    return 0;
  }
  std::cerr << status.message() << '\n';
  return exit_failure;
}

// The configuration, normalised account name and open store that the
// account commands share. `exit_code` is set when one of them failed.
struct account_target {
  app::config cfg;
  std::string name;
  std::shared_ptr<store::lmdb_env> env;
  int exit_code = 0;
};

account_target open_account(const options& opts, const std::string& user) {
  account_target target;
  auto cfg = load(opts);
  if (!cfg) {
    target.exit_code = exit_usage;
    return target;
  }
  target.cfg = std::move(*cfg);
  auto name = account_name(target.cfg, user);
  if (!name) {
    target.exit_code = exit_usage;
    return target;
  }
  target.name = std::move(*name);
  target.env = open_store(target.cfg);
  if (!target.env)
    target.exit_code = exit_failure;
  return target;
}

int register_account(const options& opts, const std::string& user,
                     const std::optional<std::string>& given_password) {
  auto target = open_account(opts, user);
  if (target.exit_code != 0)
    return target.exit_code;
  auto password = password_argument(given_password);
  if (!password)
    return exit_usage;
  auto& env = target.env;
  auto& name = target.name;
  store::lmdb_account_store accounts{env, target.cfg.store.scram_iterations};
  auto batch = accounts.make_register(name, *password);
  if (!batch) {
    std::cerr << batch.error().message() << '\n';
    return exit_failure;
  }
  auto status = env->commit(*batch);
  if (status.code() == store::errc::already_exists) {
    std::cerr << "account '" << name << "' already exists\n";
    return exit_failure;
  }
  if (!status.ok()) {
    std::cerr << status.message() << '\n';
    return exit_failure;
  }
  std::cout << "registered " << name << '@' << target.cfg.server.hosts.front() << '\n';
  return 0;
}

int unregister_account(const options& opts, const std::string& user) {
  auto target = open_account(opts, user);
  if (target.exit_code != 0)
    return target.exit_code;
  auto& env = target.env;
  auto& name = target.name;
  store::lmdb_account_store accounts{env, target.cfg.store.scram_iterations};
  store::lmdb_roster_store rosters{env};
  store::lmdb_offline_store offline{env};

  // The rosters, vCards, last activity and the offline queue go with the
  // account. Accounts are shared by all hosts; the rest is kept per bare JID.
  auto batch = accounts.make_remove(name);
  store::lmdb_user_data_store user_data{env};
  for (auto& host : target.cfg.server.hosts) {
    auto bare = name + "@" + host;
    auto roster = rosters.make_remove_user(bare);
    if (!roster) {
      std::cerr << roster.error().message() << '\n';
      return exit_failure;
    }
    batch.append(*roster).append(user_data.make_remove(bare, {"vcard", "last"}));
  }
  auto queue = offline.make_remove_user(name);
  if (!queue) {
    std::cerr << queue.error().message() << '\n';
    return exit_failure;
  }
  batch.append(*queue);
  auto status = env->commit(batch);
  if (status.code() == store::errc::not_found) {
    std::cerr << "account '" << name << "' does not exist\n";
    return exit_failure;
  }
  if (!status.ok()) {
    std::cerr << status.message() << '\n';
    return exit_failure;
  }
  std::cout << "removed account " << name << '\n';
  return 0;
}

int change_password(const options& opts, const std::string& user,
                    const std::optional<std::string>& given_password) {
  auto target = open_account(opts, user);
  if (target.exit_code != 0)
    return target.exit_code;
  auto password = password_argument(given_password);
  if (!password)
    return exit_usage;
  auto& env = target.env;
  auto& name = target.name;
  store::lmdb_account_store accounts{env, target.cfg.store.scram_iterations};
  auto batch = accounts.make_change_password(name, *password);
  if (!batch) {
    if (batch.error().code() == store::errc::not_found)
      std::cerr << "account '" << name << "' does not exist\n";
    else
      std::cerr << batch.error().message() << '\n';
    return exit_failure;
  }
  return commit(*env, *batch, "password changed for " + name);
}

int list_accounts(const options& opts) {
  auto cfg = load(opts);
  if (!cfg)
    return exit_usage;
  auto env = open_store(*cfg);
  if (!env)
    return exit_failure;
  store::lmdb_account_store accounts{env, cfg->store.scram_iterations};
  std::string after;
  constexpr std::size_t page = 1000;
  for (;;) {
    auto names = accounts.list(after, page);
    if (!names) {
      std::cerr << names.error().message() << '\n';
      return exit_failure;
    }
    for (auto& name : *names)
      std::cout << name << '\n';
    if (names->size() < page)
      return 0;
    after = names->back();
  }
}

int check_config(const options& opts) {
  auto cfg = load(opts);
  if (!cfg)
    return exit_usage;
  std::cout << (opts.config_path ? *opts.config_path : "embedded default")
            << ": configuration is valid\n";
  return 0;
}

int show_stats(const options& opts) {
  auto cfg = load(opts);
  if (!cfg)
    return exit_usage;
  auto env = open_store(*cfg);
  if (!env)
    return exit_failure;
  auto stats = env->stats();
  if (!stats) {
    std::cerr << stats.error().message() << '\n';
    return exit_failure;
  }
  std::cout << fmt::format("path            {}\n", stats->path.string());
  std::cout << fmt::format("format version  {}\n", stats->format_version);
  std::cout << fmt::format("map size        {} MiB (maximum {} MiB)\n", stats->map_size >> 20,
                           stats->map_size_max >> 20);
  std::cout << fmt::format("used            {:.1f} MiB ({} byte pages)\n",
                           static_cast<double>(stats->used_bytes) / (1 << 20), stats->page_size);
  std::cout << fmt::format("readers         {} of {}\n", stats->readers_used, stats->readers_max);
  for (auto& table : stats->tables)
    std::cout << fmt::format("table {:<18} {} entries\n", table.name, table.entries);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Starling administration: accounts and data directory"};
  cli.require_subcommand(1);
  options opts;
  cli.add_option("-c,--config", opts.config_path,
                 "TOML configuration file of the server; without it the embedded default");
  cli.add_option("-d,--data-dir", opts.data_dir, "Data directory (overrides server.data_dir)");

  std::string user;
  std::optional<std::string> password;
  int code = 0;

  auto registration = cli.add_subcommand("register", "Create an account");
  registration->add_option("user", user, "Username or user@host")->required();
  registration->add_option("-p,--password", password,
                           "Password; read from standard input when omitted");
  registration->callback([&] { code = register_account(opts, user, password); });

  auto removal = cli.add_subcommand("unregister", "Remove an account");
  removal->add_option("user", user, "Username or user@host")->required();
  removal->callback([&] { code = unregister_account(opts, user); });

  auto passwd = cli.add_subcommand("passwd", "Change the password of an account");
  passwd->add_option("user", user, "Username or user@host")->required();
  passwd->add_option("-p,--password", password,
                     "New password; read from standard input when omitted");
  passwd->callback([&] { code = change_password(opts, user, password); });

  cli.add_subcommand("list", "List accounts, one per line")->callback([&] {
    code = list_accounts(opts);
  });
  cli.add_subcommand("check-config", "Validate the configuration file")->callback([&] {
    code = check_config(opts);
  });
  cli.add_subcommand("stats", "Show data directory statistics")->callback([&] {
    code = show_stats(opts);
  });

  CLI11_PARSE(cli, argc, argv);
  return code;
}
