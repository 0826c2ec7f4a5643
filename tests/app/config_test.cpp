// Configuration loading: defaults, every kind of invalid input, and the
// embedded default that starlingd and starlingctl start from.
#define BOOST_TEST_MODULE config
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "app/config.hpp"

using namespace starling::app;

namespace {

config parse_ok(std::string_view text) {
  auto result = parse_config(text, "test.toml");
  if (auto errors = std::get_if<config_errors>(&result)) {
    for (auto& message : errors->messages)
      BOOST_TEST_MESSAGE(message);
    BOOST_FAIL("expected a valid configuration");
  }
  return std::get<config>(result);
}

std::vector<std::string> parse_errors(std::string_view text) {
  auto result = parse_config(text, "test.toml");
  auto errors = std::get_if<config_errors>(&result);
  BOOST_REQUIRE_MESSAGE(errors != nullptr, "expected the configuration to be rejected");
  return errors->messages;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(embedded_default_is_valid) {
  auto cfg = parse_ok(embedded_default_config());
  BOOST_TEST(cfg.server.hosts == std::vector<std::string>{"localhost"});
  BOOST_TEST(cfg.server.data_dir == "./var");
  BOOST_TEST(cfg.c2s.starttls_address == "127.0.0.1");
  BOOST_TEST(cfg.c2s.starttls_port == 5222);
  BOOST_TEST(cfg.c2s.direct_tls_port == 5223);
  BOOST_TEST(cfg.c2s.allow_plaintext_auth);
  BOOST_TEST(cfg.c2s.allow_registration);
}

BOOST_AUTO_TEST_CASE(empty_file_gets_safe_defaults) {
  auto cfg = parse_ok("");
  BOOST_TEST(cfg.server.hosts == std::vector<std::string>{"localhost"});
  // Without the embedded file's explicit choices, the risky options are off.
  BOOST_TEST(!cfg.c2s.allow_plaintext_auth);
  BOOST_TEST(!cfg.c2s.allow_registration);
  BOOST_TEST(cfg.auth.mechanisms.size() == 7u);
  BOOST_TEST(cfg.store.scram_iterations == 4096u);
}

BOOST_AUTO_TEST_CASE(values_are_read) {
  auto cfg = parse_ok(R"(
[server]
hosts = ["chat.example.com", "example.org"]
log_level = "debug"
[c2s]
starttls_port = 15222
resource_conflict = "reject"
[c2s.limits]
max_stanza_bytes = 2048
[tls]
min_version = "1.3"
[[tls.certificates]]
host = "chat.example.com"
cert_file = "/etc/a.crt"
key_file = "/etc/a.key"
)");
  BOOST_TEST(cfg.server.hosts.size() == 2u);
  BOOST_TEST(cfg.server.log_level == "debug");
  BOOST_TEST(cfg.c2s.starttls_port == 15222);
  BOOST_TEST((cfg.c2s.resource_conflict == conflict_policy::reject));
  BOOST_TEST(cfg.c2s.limits.max_stanza_bytes == 2048u);
  BOOST_TEST(cfg.tls.min_version == "1.3");
  BOOST_REQUIRE(cfg.tls.certificates.size() == 1u);
  BOOST_TEST(cfg.tls.certificates[0].key_file == "/etc/a.key");
}

BOOST_AUTO_TEST_CASE(unknown_key_names_key_and_line) {
  auto errors = parse_errors("[c2s]\nstarttls_port = 5222\nstarttls_prot = 5222\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "test.toml:3"));
  BOOST_TEST(contains(errors[0], "c2s.starttls_prot"));
  BOOST_TEST(contains(errors[0], "unknown key"));
}

BOOST_AUTO_TEST_CASE(unknown_section_is_rejected) {
  auto errors = parse_errors("[sever]\nhosts = [\"a\"]\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "sever"));
}

BOOST_AUTO_TEST_CASE(out_of_range_value_names_value) {
  auto errors = parse_errors("[c2s]\n\nstarttls_port = 70000\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "test.toml:3"));
  BOOST_TEST(contains(errors[0], "c2s.starttls_port"));
  BOOST_TEST(contains(errors[0], "70000"));
}

BOOST_AUTO_TEST_CASE(wrong_type_is_rejected) {
  auto errors = parse_errors("[c2s]\nallow_registration = \"yes\"\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "c2s.allow_registration"));
  BOOST_TEST(contains(errors[0], "true or false"));
}

BOOST_AUTO_TEST_CASE(invalid_enumeration_values_are_rejected) {
  auto errors = parse_errors(R"([server]
log_level = "loud"
[c2s]
resource_conflict = "both"
[tls]
min_version = "1.1"
[auth]
mechanisms = ["DIGEST-MD5"]
)");
  BOOST_REQUIRE(errors.size() == 4u);
  BOOST_TEST(contains(errors[0], "test.toml:2: server.log_level: invalid value 'loud'"));
  BOOST_TEST(contains(errors[1], "tls.min_version"));
  BOOST_TEST(contains(errors[2], "c2s.resource_conflict: invalid value 'both'"));
  BOOST_TEST(contains(errors[3], "DIGEST-MD5"));
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_at_once) {
  auto errors = parse_errors("[store]\nmap_size_mib = 100\nmax_map_size_mib = 10\nbogus = 1\n");
  BOOST_TEST(errors.size() == 2u);
}

BOOST_AUTO_TEST_CASE(syntax_error_names_line) {
  auto errors = parse_errors("[server]\nhosts = [\"a\"\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "invalid TOML"));
}

BOOST_AUTO_TEST_CASE(incomplete_certificate_entry_is_rejected) {
  auto errors = parse_errors("[[tls.certificates]]\nhost = \"a\"\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "host, cert_file and key_file"));
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error) {
  auto result = load_config_file("/nonexistent/starling.toml");
  auto errors = std::get_if<config_errors>(&result);
  BOOST_REQUIRE(errors != nullptr);
  BOOST_TEST(contains(errors->messages.at(0), "/nonexistent/starling.toml"));
}

BOOST_AUTO_TEST_CASE(example_file_in_repository_is_valid) {
  auto result = load_config_file(STARLING_EXAMPLE_CONFIG);
  BOOST_TEST(std::holds_alternative<config>(result));
}

BOOST_AUTO_TEST_CASE(wrong_type_quotes_the_value) {
  auto errors = parse_errors("[store]\nmap_size_mib = \"big\"\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "store.map_size_mib"));
  BOOST_TEST(contains(errors[0], "'big'"));
  BOOST_TEST(contains(errors[0], "expected an integer"));
}

BOOST_AUTO_TEST_CASE(invalid_host_is_rejected) {
  auto errors = parse_errors("[server]\nhosts = [\"bad host!\"]\n");
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(contains(errors[0], "invalid host 'bad host!'"));
}

BOOST_AUTO_TEST_CASE(hosts_are_normalised) {
  auto cfg = parse_ok("[server]\nhosts = [\"Chat.Example.COM\"]\n");
  BOOST_TEST(cfg.server.hosts == std::vector<std::string>{"chat.example.com"});
}

BOOST_AUTO_TEST_CASE(failures_per_stream_is_read) {
  auto cfg = parse_ok("[auth]\nmax_failures_per_stream = 2\n");
  BOOST_TEST(cfg.auth.max_failures_per_stream == 2u);
}
