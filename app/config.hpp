// Server configuration: one TOML file, loaded and validated before anything
// starts. Loading never throws; every problem found is reported with the
// source name, the line, the key and the value, and the caller refuses to
// start. The embedded default is config/starling.toml compiled into the
// binary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace starling::app {

struct tls_certificate {
  std::string host;
  std::string cert_file;
  std::string key_file;
};

enum class conflict_policy { replace, reject };

struct config {
  struct server_section {
    std::vector<std::string> hosts;
    std::string data_dir;
    std::string log_level;
    bool mask_addresses = true;
    std::uint32_t shutdown_timeout_ms = 5000;
    std::uint32_t worker_threads = 0;
    bool fault_injection = false;
  } server;

  struct store_section {
    std::uint64_t map_size_mib = 64;
    std::uint64_t max_map_size_mib = 65536;
    std::uint32_t group_commit_max_ops = 1024;
    std::uint32_t group_commit_max_delay_ms = 2;
    std::uint32_t scram_iterations = 4096;
  } store;

  struct tls_section {
    std::vector<tls_certificate> certificates;
    std::string min_version = "1.2";
  } tls;

  struct limits_section {
    std::uint32_t max_stanza_bytes = 65536;
    std::uint32_t max_depth = 32;
    std::uint32_t max_attributes = 32;
    std::uint32_t max_attribute_bytes = 4096;
    std::uint32_t max_text_bytes = 65536;
  };

  struct c2s_section {
    std::string starttls_address = "127.0.0.1";
    std::uint16_t starttls_port = 5222;
    std::string direct_tls_address = "127.0.0.1";
    std::uint16_t direct_tls_port = 5223;
    bool allow_plaintext_auth = false;
    bool allow_registration = false;
    std::uint32_t read_buffer_bytes = 1024;
    std::uint32_t stream_open_timeout_s = 10;
    std::uint32_t auth_timeout_s = 60;
    conflict_policy resource_conflict = conflict_policy::replace;
    std::uint32_t max_bytes_per_second = 0;
    std::uint32_t hibernate_after_ms = 1000;
    std::uint32_t max_output_bytes = 1 << 20;
    std::uint32_t ping_interval_s = 60;
    std::uint32_t ping_timeout_s = 30;
    limits_section limits;
  } c2s;

  struct offline_section {
    std::uint32_t max_messages_per_user = 1000;
  } offline;

  struct auth_section {
    std::vector<std::string> mechanisms;
    std::uint32_t max_failures_per_address = 10;
    std::uint32_t max_failures_per_account = 20;
    std::uint32_t failure_window_s = 300;
    std::uint32_t max_failures_per_stream = 5;
  } auth;
};

/// All problems found in one configuration source, one message each, in the
/// form "SOURCE:LINE: KEY: what is wrong".
struct config_errors {
  std::vector<std::string> messages;
};

using config_result = std::variant<config, config_errors>;

/// Parses and validates TOML text. `source` names it in error messages.
config_result parse_config(std::string_view text, std::string_view source);

/// Reads and parses a file; a missing or unreadable file is an error too.
config_result load_config_file(const std::string& path);

/// The text of config/starling.toml as compiled into the binary.
std::string_view embedded_default_config();

/// Valid values of server.log_level.
bool is_log_level(std::string_view level);

} // namespace starling::app
