#include <boost/test/unit_test.hpp>

#include "protocol/sasl/mechanism.hpp"
#include "tests/sasl/test_support.hpp"

using namespace starling::sasl;
using kind = step_kind;

namespace {

struct plain_fixture {
  test::fake_accounts accounts{{{"user", "pencil"}, {"IX", "IX"}}};
  mechanism_config config;
  connection_info tls{true, {}};

  plain_fixture() { config.domain = "example.com"; }

  step_result run(std::string_view message) {
    auto mech = make_mechanism("PLAIN", tls, accounts.source(), config);
    BOOST_REQUIRE(mech != nullptr);
    return mech->start(message);
  }
};

std::string plain_message(std::string_view authzid, std::string_view authcid,
                          std::string_view password) {
  return std::string(authzid) + '\0' + std::string(authcid) + '\0' + std::string(password);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(plain, plain_fixture)

BOOST_AUTO_TEST_CASE(valid_credentials_succeed) {
  auto result = run(plain_message("", "user", "pencil"));
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(result.authcid == "user");
  BOOST_TEST(result.data.empty());
}

BOOST_AUTO_TEST_CASE(wrong_password_is_not_authorized) {
  auto result = run(plain_message("", "user", "pencil2"));
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(unknown_user_is_not_authorized) {
  auto result = run(plain_message("", "nobody", "pencil"));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(authcid_and_password_are_saslpreped) {
  // U+2168 ROMAN NUMERAL NINE normalises to "IX" under NFKC.
  auto result = run(plain_message("", "I\xC2\xADX", "\xE2\x85\xA8"));
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(result.authcid == "IX");
}

BOOST_AUTO_TEST_CASE(password_failing_saslprep_is_not_authorized) {
  auto result = run(plain_message("", "user", "pen\x07" "cil"));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(empty_fields_are_malformed) {
  for (const auto& message : {plain_message("", "", "pencil"), plain_message("", "user", ""),
                              std::string("user"), std::string(1, '\0') + "user",
                              std::string()}) {
    auto result = run(message);
    BOOST_TEST((result.condition == failure_condition::malformed_request));
  }
}

BOOST_AUTO_TEST_CASE(extra_nul_is_malformed) {
  auto result = run(plain_message("", "user", std::string("pencil\0x", 8)));
  BOOST_TEST((result.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_malformed) {
  auto result = run(plain_message("", "us\xFF" "er", "pencil"));
  BOOST_TEST((result.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(authzid_own_bare_jid_accepted) {
  auto result = run(plain_message("user@example.com", "user", "pencil"));
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(result.authzid == "user@example.com");
}

BOOST_AUTO_TEST_CASE(authzid_of_other_user_rejected) {
  auto result = run(plain_message("admin@example.com", "user", "pencil"));
  BOOST_TEST((result.condition == failure_condition::invalid_authzid));
}

BOOST_AUTO_TEST_CASE(no_initial_response_gets_empty_challenge) {
  auto mech = make_mechanism("PLAIN", tls, accounts.source(), config);
  auto challenge = mech->start(std::nullopt);
  BOOST_TEST((challenge.kind == kind::challenge));
  BOOST_TEST(challenge.data.empty());
  auto result = mech->step(plain_message("", "user", "pencil"));
  BOOST_TEST((result.kind == kind::success));
}

BOOST_AUTO_TEST_CASE(abort_ends_exchange) {
  auto mech = make_mechanism("PLAIN", tls, accounts.source(), config);
  mech->start(std::nullopt);
  BOOST_TEST((mech->abort().condition == failure_condition::aborted));
  auto result = mech->step(plain_message("", "user", "pencil"));
  BOOST_TEST((result.kind == kind::failure));
}

BOOST_AUTO_TEST_CASE(step_without_challenge_fails) {
  auto mech = make_mechanism("PLAIN", tls, accounts.source(), config);
  BOOST_TEST((mech->start(plain_message("", "user", "pencil")).kind == kind::success));
  BOOST_TEST((mech->step(plain_message("", "user", "pencil")).kind == kind::failure));
}

BOOST_AUTO_TEST_SUITE_END()
