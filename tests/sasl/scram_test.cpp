#include <boost/test/unit_test.hpp>

#include "protocol/sasl/mechanism.hpp"
#include "tests/sasl/test_support.hpp"

#include <vector>

using namespace starling::sasl;
using kind = step_kind;

namespace {

const std::string exporter_data(32, '\x42');

struct scram_fixture {
  test::fake_accounts accounts{{{"user", "pencil"}, {"us=er", "pencil"}, {"IX", "pencil"}}};
  credentials_source source = accounts.source();
  mechanism_config config;
  connection_info plain_tls{true, {}};
  connection_info with_binding{true, {{"tls-exporter", exporter_data}}};

  scram_fixture() {
    config.domain = "example.com";
    config.server_nonce = [] { return std::string("SERVERNONCE"); };
  }

  std::unique_ptr<mechanism> make(std::string_view name, const connection_info& connection) {
    auto made = make_mechanism(name, connection, source, config);
    BOOST_REQUIRE(made != nullptr);
    return made;
  }

  /// Runs a whole exchange for a client-first message and returns the final result.
  step_result exchange(std::string_view name, const connection_info& connection,
                       std::string_view gs2_header, std::string_view bare,
                       std::string_view password, std::string_view cbind_data = {}) {
    auto mech = make(name, connection);
    auto first = mech->start(std::string(gs2_header) + std::string(bare));
    if (first.kind != kind::challenge)
      return first;
    auto hash = name.starts_with("SCRAM-SHA-1") ? scram_hash::sha1
                : name.starts_with("SCRAM-SHA-256") ? scram_hash::sha256
                                                     : scram_hash::sha512;
    auto cb = base64_encode(std::string(gs2_header) + std::string(cbind_data));
    return mech->step(test::client_final(hash, password, bare, first.data, cb));
  }
};

credentials_source rfc_source(std::string salt_b64, scram_hash expected_hash) {
  credentials_source source;
  source.scram_lookup = [salt_b64, expected_hash](std::string_view user, scram_hash hash)
    -> std::optional<stored_credentials> {
    if (user != "user" || hash != expected_hash)
      return std::nullopt;
    return make_stored_credentials(hash, "pencil", base64_decode(salt_b64).value(), 4096);
  };
  return source;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(scram, scram_fixture)

// RFC 5802 section 5, the SCRAM-SHA-1 example exchange.
BOOST_AUTO_TEST_CASE(rfc5802_sha1_example) {
  config.server_nonce = [] { return std::string("3rfcNHYJY1ZVvWVs7j"); };
  auto mech = make_mechanism("SCRAM-SHA-1", plain_tls, rfc_source("QSXCR+Q6sek8bf92", scram_hash::sha1), config);
  BOOST_REQUIRE(mech);
  auto first = mech->start("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  BOOST_TEST((first.kind == kind::challenge));
  BOOST_TEST(first.data == "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  auto last = mech->step("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                         "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  BOOST_TEST((last.kind == kind::success));
  BOOST_TEST(last.data == "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  BOOST_TEST(last.authcid == "user");
  BOOST_TEST(last.authzid == "");
}

// RFC 7677 section 3, the SCRAM-SHA-256 example exchange.
BOOST_AUTO_TEST_CASE(rfc7677_sha256_example) {
  config.server_nonce = [] { return std::string("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"); };
  auto mech = make_mechanism("SCRAM-SHA-256", plain_tls,
                             rfc_source("W22ZaJ0SNY7soEsUEjb6gQ==", scram_hash::sha256), config);
  BOOST_REQUIRE(mech);
  auto first = mech->start("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  BOOST_TEST((first.kind == kind::challenge));
  BOOST_TEST(first.data
             == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  auto last = mech->step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                         "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  BOOST_TEST((last.kind == kind::success));
  BOOST_TEST(last.data == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

BOOST_AUTO_TEST_CASE(default_server_nonce_is_24_random_bytes) {
  config.server_nonce = nullptr;
  auto first = make("SCRAM-SHA-256", plain_tls)->start("n,,n=user,r=abc");
  BOOST_REQUIRE((first.kind == kind::challenge));
  auto nonce = first.data.substr(2, first.data.find(',') - 2);
  BOOST_TEST(nonce.starts_with("abc"));
  BOOST_TEST(base64_decode(nonce.substr(3)).value_or("").size() == 24u);
  auto other = make("SCRAM-SHA-256", plain_tls)->start("n,,n=user,r=abc");
  BOOST_TEST(other.data != first.data);
}

BOOST_AUTO_TEST_CASE(every_hash_authenticates) {
  for (auto name : {"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    auto result = exchange(name, plain_tls, "n,,", "n=user,r=client", "pencil");
    BOOST_TEST((result.kind == kind::success), name);
  }
}

BOOST_AUTO_TEST_CASE(no_initial_response_gets_empty_challenge) {
  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto empty = mech->start(std::nullopt);
  BOOST_TEST((empty.kind == kind::challenge));
  BOOST_TEST(empty.data.empty());
  auto first = mech->step("n,,n=user,r=client");
  BOOST_REQUIRE((first.kind == kind::challenge));
  auto cb = base64_encode("n,,");
  auto last = mech->step(test::client_final(scram_hash::sha256, "pencil", "n=user,r=client", first.data, cb));
  BOOST_TEST((last.kind == kind::success));
}

BOOST_AUTO_TEST_CASE(empty_initial_response_is_malformed) {
  auto result = make("SCRAM-SHA-256", plain_tls)->start("");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(server_final_matches_client_computation) {
  auto mech = make("SCRAM-SHA-512", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  std::string expected;
  auto final_message = test::client_final(scram_hash::sha512, "pencil", "n=user,r=client",
                                          first.data, base64_encode("n,,"), &expected);
  auto last = mech->step(final_message);
  BOOST_TEST(last.data == expected);
}

BOOST_AUTO_TEST_CASE(wrong_password_is_not_authorized) {
  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,,", "n=user,r=client", "pencil2");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(unknown_user_gets_stable_fake_salt_then_fails) {
  config.server_secret = "secret";
  auto first = make("SCRAM-SHA-256", plain_tls)->start("n,,n=nobody,r=client");
  BOOST_REQUIRE((first.kind == kind::challenge));
  auto again = make("SCRAM-SHA-256", plain_tls)->start("n,,n=nobody,r=client");
  BOOST_TEST(first.data == again.data);
  BOOST_TEST(first.data.find(",i=4096") != std::string::npos);
  auto salt = first.data.substr(first.data.find(",s=") + 3);
  salt = salt.substr(0, salt.find(','));
  BOOST_TEST(base64_decode(salt).value_or("").size() == 16u);
  auto other_user = make("SCRAM-SHA-256", plain_tls)->start("n,,n=nobody2,r=client");
  BOOST_TEST(other_user.data != first.data);

  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,,", "n=nobody,r=client", "pencil");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(reserved_m_attribute_fails_without_challenge) {
  auto result = make("SCRAM-SHA-256", plain_tls)->start("n,,m=ext,n=user,r=client");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::malformed_request));
  BOOST_TEST(result.data.empty());
}

BOOST_AUTO_TEST_CASE(y_flag_accepted_when_no_plus_offered) {
  auto result = exchange("SCRAM-SHA-256", plain_tls, "y,,", "n=user,r=client", "pencil");
  BOOST_TEST((result.kind == kind::success));
}

BOOST_AUTO_TEST_CASE(y_flag_rejected_as_downgrade_when_plus_offered) {
  auto result = make("SCRAM-SHA-256", with_binding)->start("y,,n=user,r=client");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(y_flag_allowed_when_plus_disabled_in_config) {
  config.enabled = {"SCRAM-SHA-256"};
  auto result = exchange("SCRAM-SHA-256", with_binding, "y,,", "n=user,r=client", "pencil");
  BOOST_TEST((result.kind == kind::success));
}

BOOST_AUTO_TEST_CASE(plus_with_matching_binding_succeeds) {
  auto result = exchange("SCRAM-SHA-256-PLUS", with_binding, "p=tls-exporter,,",
                         "n=user,r=client", "pencil", exporter_data);
  BOOST_TEST((result.kind == kind::success));
}

BOOST_AUTO_TEST_CASE(plus_with_other_binding_data_fails) {
  auto result = exchange("SCRAM-SHA-256-PLUS", with_binding, "p=tls-exporter,,",
                         "n=user,r=client", "pencil", std::string(32, '\x43'));
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(plus_without_binding_data_in_c_fails) {
  auto result = exchange("SCRAM-SHA-256-PLUS", with_binding, "p=tls-exporter,,",
                         "n=user,r=client", "pencil");
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(plus_with_unsupported_binding_type_fails) {
  auto result = make("SCRAM-SHA-256-PLUS", with_binding)->start("p=tls-unique,,n=user,r=client");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(plus_rejects_n_and_y_flags) {
  for (auto message : {"n,,n=user,r=client", "y,,n=user,r=client"}) {
    auto result = make("SCRAM-SHA-256-PLUS", with_binding)->start(message);
    BOOST_TEST((result.condition == failure_condition::not_authorized), message);
  }
}

BOOST_AUTO_TEST_CASE(p_flag_rejected_outside_plus) {
  auto result = make("SCRAM-SHA-256", with_binding)->start("p=tls-exporter,,n=user,r=client");
  BOOST_TEST((result.kind == kind::failure));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(plus_not_available_without_bindings) {
  BOOST_TEST(make_mechanism("SCRAM-SHA-256-PLUS", plain_tls, source, config) == nullptr);
}

BOOST_AUTO_TEST_CASE(binding_flag_must_match_c_attribute) {
  // The client claims 'n' in the first message but sends the header of 'y'.
  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  auto result = mech->step(test::client_final(scram_hash::sha256, "pencil", "n=user,r=client",
                                              first.data, base64_encode("y,,")));
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(malformed_gs2_headers_fail) {
  for (auto message : {"x,,n=user,r=client", "p=,,n=user,r=client", "p=tls exporter,,n=user,r=c",
                       "n,b=x,n=user,r=client", "n,n=user,r=client", "n,,", "n"}) {
    auto result = make("SCRAM-SHA-256", plain_tls)->start(message);
    BOOST_TEST((result.kind == kind::failure), message);
  }
}

BOOST_AUTO_TEST_CASE(authzid_own_bare_jid_accepted) {
  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,a=user@example.com,", "n=user,r=c", "pencil");
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(result.authzid == "user@example.com");
}

BOOST_AUTO_TEST_CASE(authzid_of_other_user_rejected) {
  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,a=admin@example.com,", "n=user,r=c", "pencil");
  BOOST_TEST((result.condition == failure_condition::invalid_authzid));
}

BOOST_AUTO_TEST_CASE(authzid_escapes_decoded) {
  std::string seen;
  source.authorize = [&seen](std::string_view, std::string_view authzid) {
    seen = authzid;
    return true;
  };
  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,a=a=2Cb=3Dc,", "n=user,r=c", "pencil");
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(seen == "a,b=c");
}

BOOST_AUTO_TEST_CASE(authzid_invalid_escape_fails) {
  for (auto message : {"n,a=x=2D,n=user,r=c", "n,a=x=,n=user,r=c", "n,a=,n=user,r=c"}) {
    auto result = make("SCRAM-SHA-256", plain_tls)->start(message);
    BOOST_TEST((result.condition == failure_condition::invalid_authzid), message);
  }
}

BOOST_AUTO_TEST_CASE(username_escapes_decoded) {
  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,,", "n=us=3Der,r=c", "pencil");
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(result.authcid == "us=er");
}

BOOST_AUTO_TEST_CASE(username_invalid_escape_fails) {
  for (auto message : {"n,,n=us=3der,r=c", "n,,n=us=,r=c", "n,,n=,r=c", "n,,n=\xC3,r=c"}) {
    auto result = make("SCRAM-SHA-256", plain_tls)->start(message);
    BOOST_TEST((result.condition == failure_condition::malformed_request), message);
  }
}

BOOST_AUTO_TEST_CASE(username_is_saslpreped) {
  auto result = exchange("SCRAM-SHA-256", plain_tls, "n,,", "n=I\xC2\xADX,r=c", "pencil");
  BOOST_TEST((result.kind == kind::success));
  BOOST_TEST(result.authcid == "IX");
}

BOOST_AUTO_TEST_CASE(username_failing_saslprep_is_not_authorized) {
  auto result = make("SCRAM-SHA-256", plain_tls)->start("n,,n=a\x07,r=c");
  BOOST_TEST((result.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(client_nonce_must_be_printable) {
  for (auto message : {"n,,n=user,r=", "n,,n=user,r=a b", "n,,n=user,r=\xC3\xA9", "n,,n=user,r=a\x7F"}) {
    auto result = make("SCRAM-SHA-256", plain_tls)->start(message);
    BOOST_TEST((result.condition == failure_condition::malformed_request), message);
  }
}

BOOST_AUTO_TEST_CASE(attribute_order_enforced) {
  auto result = make("SCRAM-SHA-256", plain_tls)->start("n,,r=client,n=user");
  BOOST_TEST((result.condition == failure_condition::malformed_request));

  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  auto final_message = test::client_final(scram_hash::sha256, "pencil", "n=user,r=client",
                                          first.data, base64_encode("n,,"));
  // Swap c= and r=.
  auto c_end = final_message.find(',');
  auto r_end = final_message.find(',', c_end + 1);
  auto swapped = final_message.substr(c_end + 1, r_end - c_end - 1) + ","
                 + final_message.substr(0, c_end) + final_message.substr(r_end);
  auto last = mech->step(swapped);
  BOOST_TEST((last.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(extensions_rejected) {
  auto result = make("SCRAM-SHA-256", plain_tls)->start("n,,n=user,r=client,x=1");
  BOOST_TEST((result.condition == failure_condition::malformed_request));

  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  auto nonce = first.data.substr(2, first.data.find(',') - 2);
  auto last = mech->step("c=biws,r=" + nonce + ",x=1,p=" + base64_encode(std::string(32, 'a')));
  BOOST_TEST((last.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(nonce_mismatch_fails) {
  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  auto tampered = first.data;
  tampered.replace(tampered.find("SERVERNONCE"), 11, "SERVERNONCX");
  auto result = mech->step(test::client_final(scram_hash::sha256, "pencil", "n=user,r=client",
                                              tampered, base64_encode("n,,")));
  BOOST_TEST((result.condition == failure_condition::not_authorized));

  // A prefix of the combined nonce is not enough either.
  auto mech2 = make("SCRAM-SHA-256", plain_tls);
  mech2->start("n,,n=user,r=client");
  auto prefix = mech2->step("c=biws,r=clientSERVERNONC,p=" + base64_encode(std::string(32, 'a')));
  BOOST_TEST((prefix.condition == failure_condition::not_authorized));
}

BOOST_AUTO_TEST_CASE(proof_must_be_digest_size_base64) {
  for (auto proof : {base64_encode(std::string(20, 'a')), std::string("not base64!"),
                     std::string("YQ"), std::string()}) {
    auto mech = make("SCRAM-SHA-256", plain_tls);
    mech->start("n,,n=user,r=client");
    auto result = mech->step("c=biws,r=clientSERVERNONCE,p=" + proof);
    BOOST_TEST((result.condition == failure_condition::malformed_request), proof);
  }
}

BOOST_AUTO_TEST_CASE(oversized_message_rejected) {
  auto result = make("SCRAM-SHA-256", plain_tls)->start("n,,n=user,r=" + std::string(5000, 'a'));
  BOOST_TEST((result.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(abort_ends_exchange) {
  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  BOOST_REQUIRE((first.kind == kind::challenge));
  auto aborted = mech->abort();
  BOOST_TEST((aborted.kind == kind::failure));
  BOOST_TEST((aborted.condition == failure_condition::aborted));
  BOOST_TEST(condition_name(aborted.condition) == "aborted");
  auto later = mech->step(test::client_final(scram_hash::sha256, "pencil", "n=user,r=client",
                                             first.data, base64_encode("n,,")));
  BOOST_TEST((later.kind == kind::failure));
}

BOOST_AUTO_TEST_CASE(step_after_success_fails) {
  auto mech = make("SCRAM-SHA-256", plain_tls);
  auto first = mech->start("n,,n=user,r=client");
  auto final_message = test::client_final(scram_hash::sha256, "pencil", "n=user,r=client",
                                          first.data, base64_encode("n,,"));
  BOOST_TEST((mech->step(final_message).kind == kind::success));
  auto again = mech->step(final_message);
  BOOST_TEST((again.condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(second_start_or_early_step_fails) {
  auto mech = make("SCRAM-SHA-256", plain_tls);
  BOOST_TEST((mech->start(std::nullopt).kind == kind::challenge));
  BOOST_TEST((mech->start("n,,n=user,r=client").condition == failure_condition::malformed_request));

  auto unstarted = make("SCRAM-SHA-256", plain_tls);
  BOOST_TEST((unstarted->step("n,,n=user,r=client").condition == failure_condition::malformed_request));
}

BOOST_AUTO_TEST_CASE(throwing_lookup_is_temporary_failure) {
  source.scram_lookup = [](std::string_view, scram_hash) -> std::optional<stored_credentials> {
    throw std::runtime_error("store down");
  };
  auto result = make("SCRAM-SHA-256", plain_tls)->start("n,,n=user,r=client");
  BOOST_TEST((result.condition == failure_condition::temporary_auth_failure));
}

BOOST_AUTO_TEST_SUITE_END()
