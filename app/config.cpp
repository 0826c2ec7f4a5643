#include "app/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "app/embedded_config.hpp"
#include "protocol/jid/jid.hpp"

namespace starling::app {

namespace {

constexpr std::array log_levels{"trace", "debug", "info", "warn", "error", "critical", "off"};

constexpr std::array known_mechanisms{
  "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-512",      "SCRAM-SHA-256",      "SCRAM-SHA-1",
  "PLAIN",
};

// Reads the keys of one TOML table, remembers which were read and reports
// the rest as unknown. Every message carries the source and line.
class section_reader {
public:
  section_reader(const toml::table* table, std::string prefix, std::string_view source,
                 const toml::source_region& where, std::vector<std::string>& errors)
    : table_(table), prefix_(std::move(prefix)), source_(source), where_(where), errors_(errors) {
  }

  ~section_reader() {
    if (table_ == nullptr)
      return;
    for (auto&& [key, node] : *table_)
      if (!known_.contains(std::string{key.str()}))
        error(node.source(), qualified(key.str()), "unknown key");
  }

  section_reader(const section_reader&) = delete;
  section_reader& operator=(const section_reader&) = delete;

  void error(const toml::source_region& at, std::string_view key, std::string_view what) {
    errors_.push_back(fmt::format("{}:{}: {}: {}", source_, at.begin.line, key, what));
  }

  // Reports a value of the wrong type, quoting it as written in TOML.
  void type_error(const toml::node& node, std::string_view key, std::string_view expected) {
    std::ostringstream value;
    node.visit([&value](const auto& concrete) { value << concrete; });
    error(node.source(), key, fmt::format("invalid value {}, {}", value.str(), expected));
  }

  std::string qualified(std::string_view key) const {
    return prefix_.empty() ? std::string{key} : fmt::format("{}.{}", prefix_, key);
  }

  const toml::node* find(std::string_view key) {
    known_.emplace(key);
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  void read(std::string_view key, bool& out) {
    auto node = find(key);
    if (node == nullptr)
      return;
    if (auto value = node->value<bool>())
      out = *value;
    else
      type_error(*node, qualified(key), "expected true or false");
  }

  void read(std::string_view key, std::string& out) {
    auto node = find(key);
    if (node == nullptr)
      return;
    if (auto value = node->value<std::string>())
      out = *value;
    else
      type_error(*node, qualified(key), "expected a string");
  }

  template <class Integer>
  void read(std::string_view key, Integer& out, std::int64_t min, std::int64_t max) {
    auto node = find(key);
    if (node == nullptr)
      return;
    auto value = node->is_integer() ? node->value<std::int64_t>() : std::nullopt;
    if (!value) {
      type_error(*node, qualified(key), "expected an integer");
      return;
    }
    if (*value < min || *value > max) {
      error(node->source(), qualified(key),
            fmt::format("value {} is out of range, expected {} to {}", *value, min, max));
      return;
    }
    out = static_cast<Integer>(*value);
  }

  void read(std::string_view key, std::vector<std::string>& out) {
    auto node = find(key);
    if (node == nullptr)
      return;
    auto array = node->as_array();
    if (array == nullptr) {
      error(node->source(), qualified(key), "expected an array of strings");
      return;
    }
    std::vector<std::string> values;
    for (auto& item : *array) {
      auto value = item.value<std::string>();
      if (!value) {
        error(item.source(), qualified(key), "expected an array of strings");
        return;
      }
      values.push_back(*value);
    }
    out = std::move(values);
  }

  // Opens a sub-table; a key that exists but is not a table is an error.
  const toml::table* table(std::string_view key) {
    auto node = find(key);
    if (node == nullptr)
      return nullptr;
    if (auto sub = node->as_table())
      return sub;
    error(node->source(), qualified(key), "expected a table");
    return nullptr;
  }

  const toml::source_region& where() const {
    return where_;
  }

  // The position of a key for messages about its value, or of the table
  // when the key is absent and its default was used.
  const toml::source_region& where(std::string_view key) const {
    auto node = table_ == nullptr ? nullptr : table_->get(key);
    return node == nullptr ? where_ : node->source();
  }

private:
  const toml::table* table_;
  std::string prefix_;
  std::string_view source_;
  const toml::source_region& where_;
  std::vector<std::string>& errors_;
  std::set<std::string, std::less<>> known_;
};

constexpr std::int64_t max_u32 = std::numeric_limits<std::uint32_t>::max();

void read_server(section_reader& root, config::server_section& out,
                 std::string_view source, std::vector<std::string>& errors) {
  auto table = root.table("server");
  section_reader in{table, "server", source, table ? table->source() : root.where(), errors};
  in.read("hosts", out.hosts);
  in.read("data_dir", out.data_dir);
  in.read("log_level", out.log_level);
  in.read("mask_addresses", out.mask_addresses);
  in.read("shutdown_timeout_ms", out.shutdown_timeout_ms, 100, 600'000);
  in.read("worker_threads", out.worker_threads, 0, 1024);
  in.read("fault_injection", out.fault_injection);

  if (out.hosts.empty())
    in.error(in.where("hosts"), "server.hosts", "at least one virtual host is required");
  for (auto& host : out.hosts) {
    // RFC 7622 3.2: a host is a domainpart, compared in Nameprep form.
    auto prepared = jid::nameprep(host);
    if (!prepared || prepared->empty() || !jid::jid::parse(*prepared)
        || jid::jid::parse(*prepared)->domain() != *prepared)
      in.error(in.where("hosts"), "server.hosts",
               fmt::format("invalid host '{}', expected a domain name", host));
    else
      host = *prepared;
  }
  if (out.data_dir.empty())
    in.error(in.where("data_dir"), "server.data_dir", "a data directory is required");
  if (!is_log_level(out.log_level))
    in.error(in.where("log_level"), "server.log_level",
             fmt::format("invalid value '{}', expected one of {}", out.log_level,
                         fmt::join(log_levels, ", ")));
}

void read_store(section_reader& root, config::store_section& out, std::string_view source,
                std::vector<std::string>& errors) {
  auto table = root.table("store");
  section_reader in{table, "store", source, table ? table->source() : root.where(), errors};
  in.read("map_size_mib", out.map_size_mib, 1, 1 << 24);
  in.read("max_map_size_mib", out.max_map_size_mib, 1, 1 << 24);
  in.read("group_commit_max_ops", out.group_commit_max_ops, 1, 1'000'000);
  in.read("group_commit_max_delay_ms", out.group_commit_max_delay_ms, 0, 10'000);
  in.read("scram_iterations", out.scram_iterations, 4096, 10'000'000);
  if (out.max_map_size_mib < out.map_size_mib)
    in.error(in.where("max_map_size_mib"), "store.max_map_size_mib",
             fmt::format("value {} is smaller than store.map_size_mib ({})",
                         out.max_map_size_mib, out.map_size_mib));
}

void read_tls(section_reader& root, config::tls_section& out, std::string_view source,
              std::vector<std::string>& errors) {
  auto table = root.table("tls");
  section_reader in{table, "tls", source, table ? table->source() : root.where(), errors};
  in.read("min_version", out.min_version);
  if (out.min_version != "1.2" && out.min_version != "1.3")
    in.error(in.where("min_version"), "tls.min_version",
             fmt::format("invalid value '{}', expected \"1.2\" or \"1.3\"", out.min_version));

  auto node = in.find("certificates");
  if (node == nullptr)
    return;
  auto array = node->as_array();
  if (array == nullptr) {
    in.error(node->source(), "tls.certificates", "expected an array of tables ([[tls.certificates]])");
    return;
  }
  for (auto& item : *array) {
    auto entry = item.as_table();
    if (entry == nullptr) {
      in.error(item.source(), "tls.certificates", "expected a table");
      continue;
    }
    tls_certificate cert;
    section_reader fields{entry, "tls.certificates", source, entry->source(), errors};
    fields.read("host", cert.host);
    fields.read("cert_file", cert.cert_file);
    fields.read("key_file", cert.key_file);
    if (cert.host.empty() || cert.cert_file.empty() || cert.key_file.empty())
      fields.error(entry->source(), "tls.certificates",
                   "each entry needs host, cert_file and key_file");
    out.certificates.push_back(std::move(cert));
  }
}

void read_c2s(section_reader& root, config::c2s_section& out, std::string_view source,
              std::vector<std::string>& errors) {
  auto table = root.table("c2s");
  section_reader in{table, "c2s", source, table ? table->source() : root.where(), errors};
  in.read("starttls_address", out.starttls_address);
  in.read("starttls_port", out.starttls_port, 0, 65535);
  in.read("direct_tls_address", out.direct_tls_address);
  in.read("direct_tls_port", out.direct_tls_port, 0, 65535);
  in.read("allow_plaintext_auth", out.allow_plaintext_auth);
  in.read("allow_registration", out.allow_registration);
  in.read("read_buffer_bytes", out.read_buffer_bytes, 512, 1 << 20);
  in.read("stream_open_timeout_s", out.stream_open_timeout_s, 1, 3600);
  in.read("auth_timeout_s", out.auth_timeout_s, 1, 3600);
  in.read("max_bytes_per_second", out.max_bytes_per_second, 0, max_u32);
  in.read("hibernate_after_ms", out.hibernate_after_ms, 0, 3'600'000);
  in.read("max_output_bytes", out.max_output_bytes, 16384, 1 << 30);
  in.read("ping_interval_s", out.ping_interval_s, 0, 86'400);
  in.read("ping_timeout_s", out.ping_timeout_s, 1, 3'600);

  std::string conflict = out.resource_conflict == conflict_policy::replace ? "replace" : "reject";
  in.read("resource_conflict", conflict);
  if (conflict == "replace")
    out.resource_conflict = conflict_policy::replace;
  else if (conflict == "reject")
    out.resource_conflict = conflict_policy::reject;
  else
    in.error(in.where("resource_conflict"), "c2s.resource_conflict",
             fmt::format("invalid value '{}', expected \"replace\" or \"reject\"", conflict));

  auto limits_table = in.table("limits");
  section_reader limits{limits_table, "c2s.limits", source,
                        limits_table ? limits_table->source() : in.where(), errors};
  auto& l = out.limits;
  limits.read("max_stanza_bytes", l.max_stanza_bytes, 1024, 64 << 20);
  limits.read("max_depth", l.max_depth, 2, 1024);
  limits.read("max_attributes", l.max_attributes, 1, 4096);
  limits.read("max_attribute_bytes", l.max_attribute_bytes, 64, 64 << 20);
  limits.read("max_text_bytes", l.max_text_bytes, 64, 64 << 20);
}

void read_offline(section_reader& root, config::offline_section& out, std::string_view source,
                  std::vector<std::string>& errors) {
  auto table = root.table("offline");
  section_reader in{table, "offline", source, table ? table->source() : root.where(), errors};
  in.read("max_messages_per_user", out.max_messages_per_user, 0, 1'000'000);
}

void read_auth(section_reader& root, config::auth_section& out, std::string_view source,
               std::vector<std::string>& errors) {
  auto table = root.table("auth");
  section_reader in{table, "auth", source, table ? table->source() : root.where(), errors};
  in.read("mechanisms", out.mechanisms);
  in.read("max_failures_per_address", out.max_failures_per_address, 0, max_u32);
  in.read("max_failures_per_account", out.max_failures_per_account, 0, max_u32);
  in.read("failure_window_s", out.failure_window_s, 1, 86400);
  in.read("max_failures_per_stream", out.max_failures_per_stream, 1, 1000);
  if (out.mechanisms.empty())
    in.error(in.where("mechanisms"), "auth.mechanisms", "at least one SASL mechanism is required");
  for (auto& name : out.mechanisms)
    if (std::find(known_mechanisms.begin(), known_mechanisms.end(), name) == known_mechanisms.end())
      in.error(in.where("mechanisms"), "auth.mechanisms",
               fmt::format("unknown mechanism '{}', expected one of {}", name,
                           fmt::join(known_mechanisms, ", ")));
}

} // namespace

bool is_log_level(std::string_view level) {
  return std::find(log_levels.begin(), log_levels.end(), level) != log_levels.end();
}

std::string_view embedded_default_config() {
  return embedded_config_text;
}

config_result parse_config(std::string_view text, std::string_view source) {
  toml::table document;
  try {
    document = toml::parse(text, source);
  } catch (const toml::parse_error& failure) {
    return config_errors{{fmt::format("{}:{}: invalid TOML: {}", source,
                                      failure.source().begin.line, failure.description())}};
  }

  config result;
  // Defaults that the C++ struct cannot express as member initialisers.
  result.server.hosts = {"localhost"};
  result.server.data_dir = "./var";
  result.server.log_level = "info";
  result.auth.mechanisms = {known_mechanisms.begin(), known_mechanisms.end()};

  std::vector<std::string> errors;
  {
    section_reader root{&document, "", source, document.source(), errors};
    read_server(root, result.server, source, errors);
    read_store(root, result.store, source, errors);
    read_tls(root, result.tls, source, errors);
    read_c2s(root, result.c2s, source, errors);
    read_offline(root, result.offline, source, errors);
    read_auth(root, result.auth, source, errors);
  }
  if (!errors.empty())
    return config_errors{std::move(errors)};
  return result;
}

config_result load_config_file(const std::string& path) {
  std::ifstream file{path, std::ios::binary};
  if (!file)
    return config_errors{{fmt::format("{}: cannot open the configuration file", path)}};
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad())
    return config_errors{{fmt::format("{}: failed to read the configuration file", path)}};
  return parse_config(text.str(), path);
}

} // namespace starling::app
