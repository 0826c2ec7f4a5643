#include <boost/test/unit_test.hpp>

#include "protocol/sasl/mechanism.hpp"

#include <string>
#include <vector>

using namespace starling::sasl;
using names = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(mechanism_list)

BOOST_AUTO_TEST_CASE(tls_without_bindings_offers_no_plus) {
  mechanism_config config;
  auto offered = offered_mechanisms({true, {}}, config);
  BOOST_TEST(offered == (names{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bindings_add_plus_variants) {
  mechanism_config config;
  connection_info connection{true, {{"tls-exporter", "x"}}};
  auto offered = offered_mechanisms(connection, config);
  BOOST_TEST(offered.size() == 7u);
  BOOST_TEST(offered.front() == "SCRAM-SHA-512-PLUS");
}

BOOST_AUTO_TEST_CASE(plain_needs_tls_unless_allowed) {
  mechanism_config config;
  auto offered = offered_mechanisms({false, {}}, config);
  BOOST_TEST(offered == (names{"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"}),
             boost::test_tools::per_element());
  BOOST_TEST(make_mechanism("PLAIN", {false, {}}, {}, config) == nullptr);
  config.allow_plain_without_tls = true;
  BOOST_TEST(offered_mechanisms({false, {}}, config).back() == "PLAIN");
  BOOST_TEST(make_mechanism("PLAIN", {false, {}}, {}, config) != nullptr);
}

BOOST_AUTO_TEST_CASE(unknown_and_disabled_names_are_invalid) {
  mechanism_config config;
  config.enabled = {"SCRAM-SHA-256", "DIGEST-MD5"};
  BOOST_TEST(offered_mechanisms({true, {}}, config) == (names{"SCRAM-SHA-256"}),
             boost::test_tools::per_element());
  BOOST_TEST(make_mechanism("DIGEST-MD5", {true, {}}, {}, config) == nullptr);
  BOOST_TEST(make_mechanism("SCRAM-SHA-1", {true, {}}, {}, config) == nullptr);
  BOOST_TEST(make_mechanism("scram-sha-256", {true, {}}, {}, config) == nullptr);
}

BOOST_AUTO_TEST_CASE(channel_binding_types_listed) {
  connection_info connection{true, {{"tls-server-end-point", "a"}, {"tls-exporter", "b"}}};
  BOOST_TEST(offered_channel_binding_types(connection)
               == (names{"tls-server-end-point", "tls-exporter"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(condition_names_follow_rfc6120) {
  BOOST_TEST(condition_name(failure_condition::malformed_request) == "malformed-request");
  BOOST_TEST(condition_name(failure_condition::temporary_auth_failure) == "temporary-auth-failure");
  BOOST_TEST(condition_name(failure_condition::invalid_authzid) == "invalid-authzid");
}

BOOST_AUTO_TEST_SUITE_END()
