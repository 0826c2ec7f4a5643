// Server side of SASL for XMPP (RFC 6120 section 6, RFC 4422): the mechanism
// interface the c2s connection actor drives, the list of mechanisms a
// connection may offer, and the factory. PLAIN (RFC 4616) and SCRAM-SHA-1,
// -256, -512 with their -PLUS variants (RFC 5802, RFC 7677) live behind it.
//
// Wire format: every string crossing this interface is raw bytes. The caller
// base64-decodes <auth/> and <response/> content with base64_decode from
// scram_crypto.hpp (strict, padding required) and answers a decoding failure
// with <incorrect-encoding/> itself; it base64-encodes challenge data and
// success data. An empty initial response ('=' on the wire, RFC 6120 section
// 6.4.2) is passed as an empty string; an <auth/> without content is nullopt.
//
// Ownership: one mechanism object per authentication attempt, owned by the
// connection actor and used from that actor only (not thread-safe). Failures
// are returned as values; nothing throws out of start() or step().
#pragma once

#include "protocol/sasl/scram_crypto.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starling::sasl {

/// The <failure/> conditions of RFC 6120 section 6.5.
enum class failure_condition {
  aborted,
  account_disabled,
  credentials_expired,
  encryption_required,
  incorrect_encoding,
  invalid_authzid,
  invalid_mechanism,
  malformed_request,
  mechanism_too_weak,
  not_authorized,
  temporary_auth_failure,
};

/// The element name of a condition, e.g. "not-authorized".
std::string_view condition_name(failure_condition condition);

/// What the caller sends next: <challenge/>, <success/> or <failure/>.
enum class step_kind { challenge, success, failure };

/// The outcome of one step of an exchange.
struct step_result {
  step_kind kind = step_kind::failure;
  /// Challenge payload, or additional data with success (empty for PLAIN,
  /// the server-final "v=..." message for SCRAM). Raw bytes.
  std::string data;
  /// Meaningful only when kind is failure.
  failure_condition condition = failure_condition::not_authorized;
  /// On success: the SASLprep'ed user name that authenticated.
  std::string authcid;
  /// On success: the authorization identity the client asked for, or empty.
  std::string authzid;
};

/// Channel binding data that this connection can offer (RFC 5056).
struct channel_binding {
  std::string type; ///< "tls-exporter" (RFC 9266) or "tls-server-end-point" (RFC 5929).
  std::string data; ///< Raw bytes.
};

/// Callbacks into the account store, supplied by the server. Each one is
/// called with the SASLprep'ed user name from the connection actor's thread.
struct credentials_source {
  /// Returns the SCRAM credentials for one hash, or nothing for an unknown
  /// user or a user with no credentials for that hash.
  std::function<std::optional<stored_credentials>(std::string_view username, scram_hash)>
    scram_lookup;
  /// Checks a SASLprep'ed password for PLAIN.
  std::function<bool(std::string_view username, std::string_view password)> verify_plain;
  /// Decides whether authcid may act as authzid. When empty, only an empty
  /// authzid or authcid's own bare JID (authcid@domain) is accepted.
  std::function<bool(std::string_view authcid, std::string_view authzid)> authorize;
};

/// Server policy for SASL, from the configuration.
struct mechanism_config {
  /// The virtual host; used for the default authzid rule.
  std::string domain;
  /// Offer and accept PLAIN on connections without TLS. Off by default
  /// because PLAIN sends the password in the clear (RFC 6120 section 13.8).
  bool allow_plain_without_tls = false;
  /// Mechanisms this server enables, in the order of preference they are
  /// offered. Names outside the supported set are ignored.
  std::vector<std::string> enabled = {
    "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512",
    "SCRAM-SHA-256",      "SCRAM-SHA-1",        "PLAIN",
  };
  /// Key for the fake salt sent for unknown users. When empty, a random key
  /// made once per process is used, so a user's fake salt changes when the
  /// server restarts; set a persistent secret to hide that too.
  std::string server_secret;
  /// Salt size and iteration count of the fake credentials for unknown users.
  /// NOTE: set both to what the account store uses for real accounts,
  /// otherwise a client can tell unknown users apart.
  std::size_t fake_salt_size = 16;
  std::uint32_t fake_iterations = 4096;
  /// Test hook: returns the server's part of the SCRAM nonce. When empty,
  /// 24 random bytes, base64-encoded, are used.
  std::function<std::string()> server_nonce;
};

/// What the connection can offer to SASL.
struct connection_info {
  bool tls = false;
  /// Channel bindings this connection supports; empty without TLS.
  std::vector<channel_binding> bindings;
};

/// One authentication attempt of one mechanism.
class mechanism {
public:
  virtual ~mechanism() = default;

  /// Handles <auth/>. initial_response is nullopt when <auth/> had no
  /// content and "" for an empty initial response.
  virtual step_result start(std::optional<std::string_view> initial_response) = 0;

  /// Handles <response/>. After success or failure, every call fails with
  /// malformed-request.
  virtual step_result step(std::string_view response) = 0;

  /// Handles the client's <abort/> (RFC 6120 section 6.4.4): ends the
  /// exchange and returns the failure with <aborted/> to send.
  step_result abort();

protected:
  /// Set once the exchange has ended; step() then rejects further input.
  bool finished_ = false;
};

/// Applies credentials.authorize, or the default rule when it is empty:
/// authzid empty or equal to authcid@config.domain.
bool is_authorized(const credentials_source& credentials, const mechanism_config& config,
                   std::string_view authcid, std::string_view authzid);

/// Lists the mechanisms to announce in <mechanisms/>: the enabled ones,
/// -PLUS only when the connection has channel bindings, PLAIN only over TLS
/// unless the configuration allows it.
std::vector<std::string> offered_mechanisms(const connection_info& connection,
                                            const mechanism_config& config);

/// Creates the mechanism the client chose. Returns nullptr when the name is
/// not one that offered_mechanisms returns for this connection; the caller
/// then answers <invalid-mechanism/>. The credentials source and the
/// configuration are copied.
std::unique_ptr<mechanism> make_mechanism(std::string_view name,
                                          const connection_info& connection,
                                          const credentials_source& credentials,
                                          const mechanism_config& config);

/// Lists the channel binding types for <sasl-channel-binding/> (XEP-0440).
std::vector<std::string> offered_channel_binding_types(const connection_info& connection);

} // namespace starling::sasl
