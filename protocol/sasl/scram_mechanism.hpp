// SCRAM-SHA-1, SCRAM-SHA-256 and SCRAM-SHA-512, with and without channel
// binding (-PLUS), server side (RFC 5802, RFC 7677). Created through
// make_mechanism. Unknown users get a challenge with a fake salt derived from
// the server secret, so the exchange looks the same until the proof fails.
//
// Failure conditions (RFC 6120 section 6.5):
//   malformed-request  any syntax error, the reserved m= attribute, an
//                      extension attribute, a proof of the wrong size
//   invalid-authzid    a= that is not a valid saslname, or an authzid that
//                      credentials_source::authorize rejects
//   not-authorized     channel binding mismatch or downgrade, wrong nonce,
//                      wrong password, unknown user, failed SASLprep
//   temporary-auth-failure  OpenSSL or the credentials source threw
#pragma once

#include "protocol/sasl/mechanism.hpp"

namespace starling::sasl {

class scram_mechanism final : public mechanism {
public:
  /// plus selects the -PLUS variant. server_offers_plus tells whether this
  /// connection announced any -PLUS mechanism, which decides how the 'y'
  /// flag is judged (RFC 5802 section 6).
  scram_mechanism(scram_hash hash, bool plus, bool server_offers_plus,
                  connection_info connection, credentials_source credentials,
                  mechanism_config config);

  step_result start(std::optional<std::string_view> initial_response) override;
  step_result step(std::string_view response) override;

private:
  enum class state { wait_for_client_first, wait_for_client_final, done };

  step_result run(std::string_view message);
  step_result handle_client_first(std::string_view message);
  step_result handle_client_final(std::string_view message);
  step_result fail(failure_condition condition);
  void load_credentials();

  scram_hash hash_;
  bool plus_;
  bool server_offers_plus_;
  connection_info connection_;
  credentials_source credentials_;
  mechanism_config config_;

  state state_ = state::wait_for_client_first;
  bool started_ = false;
  std::string gs2_header_;
  std::string channel_binding_data_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  std::string authcid_;
  std::string authzid_;
  stored_credentials stored_;
  bool unknown_user_ = false;
};

} // namespace starling::sasl
