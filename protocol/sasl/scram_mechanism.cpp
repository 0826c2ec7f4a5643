#include "protocol/sasl/scram_mechanism.hpp"

#include "protocol/sasl/saslprep.hpp"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

namespace starling::sasl {

namespace {

// Both client messages are a few hundred bytes in practice; the cap keeps
// hostile input away from SASLprep and the hash functions.
constexpr std::size_t max_message_size = 4096;

// RFC 5802 section 5.1: the server nonce is fresh random data.
constexpr std::size_t server_nonce_bytes = 24;

std::vector<std::string_view> split_attributes(std::string_view message) {
  std::vector<std::string_view> fields;
  std::size_t begin = 0;
  while (true) {
    auto comma = message.find(',', begin);
    if (comma == std::string_view::npos) {
      fields.push_back(message.substr(begin));
      return fields;
    }
    fields.push_back(message.substr(begin, comma - begin));
    begin = comma + 1;
  }
}

/// Returns the value of "x=value" when the field has attribute name x.
std::optional<std::string_view> attribute_value(std::string_view field, char name) {
  if (field.size() < 2 || field[0] != name || field[1] != '=')
    return std::nullopt;
  return field.substr(2);
}

/// Decodes a saslname (RFC 5802 section 7): 1*(value-safe-char / "=2C" /
/// "=3D"). Any other '=' sequence, a NUL or invalid UTF-8 fails.
std::optional<std::string> decode_saslname(std::string_view text) {
  if (text.empty() || text.find('\0') != std::string_view::npos || !is_valid_utf8(text))
    return std::nullopt;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out.push_back(text[i]);
      continue;
    }
    auto escape = text.substr(i + 1, 2);
    if (escape == "2C")
      out.push_back(',');
    else if (escape == "3D")
      out.push_back('=');
    else
      return std::nullopt;
    i += 2;
  }
  return out;
}

/// RFC 5802 section 7: printable = %x21-2B / %x2D-7E.
bool is_printable_nonce(std::string_view nonce) {
  if (nonce.empty())
    return false;
  for (auto c : nonce) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7E || byte == ',')
      return false;
  }
  return true;
}

/// RFC 5056 section 7: cb-name = 1*(ALPHA / DIGIT / "." / "-").
bool is_channel_binding_name(std::string_view name) {
  if (name.empty())
    return false;
  for (auto c : name) {
    bool valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                 || c == '.' || c == '-';
    if (!valid)
      return false;
  }
  return true;
}

const std::string& process_secret() {
  static const std::string secret = random_bytes(32);
  return secret;
}

} // namespace

scram_mechanism::scram_mechanism(scram_hash hash, bool plus, bool server_offers_plus,
                                 connection_info connection, credentials_source credentials,
                                 mechanism_config config)
  : hash_(hash),
    plus_(plus),
    server_offers_plus_(server_offers_plus),
    connection_(std::move(connection)),
    credentials_(std::move(credentials)),
    config_(std::move(config)) {
}

step_result scram_mechanism::start(std::optional<std::string_view> initial_response) {
  if (started_ || finished_)
    return fail(failure_condition::malformed_request);
  started_ = true;
  if (!initial_response)
    return {step_kind::challenge, {}, {}, {}, {}};
  return run(*initial_response);
}

step_result scram_mechanism::step(std::string_view response) {
  if (!started_ || finished_)
    return fail(failure_condition::malformed_request);
  return run(response);
}

step_result scram_mechanism::run(std::string_view message) {
  // The crypto helpers and the credential callbacks may throw; none of that
  // may leave the mechanism interface.
  try {
    if (message.size() > max_message_size)
      return fail(failure_condition::malformed_request);
    if (state_ == state::wait_for_client_first)
      return handle_client_first(message);
    if (state_ == state::wait_for_client_final)
      return handle_client_final(message);
    return fail(failure_condition::malformed_request);
  } catch (const std::exception&) {
    return fail(failure_condition::temporary_auth_failure);
  }
}

step_result scram_mechanism::fail(failure_condition condition) {
  state_ = state::done;
  finished_ = true;
  step_result result;
  result.kind = step_kind::failure;
  result.condition = condition;
  return result;
}

step_result scram_mechanism::handle_client_first(std::string_view message) {
  // client-first-message = gs2-header client-first-message-bare
  // gs2-header = gs2-cbind-flag "," [authzid] ","
  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  auto fields = split_attributes(message);
  if (fields.size() < 4)
    return fail(failure_condition::malformed_request);

  // RFC 5802 section 6: the channel binding flag must match the mechanism.
  auto flag = fields[0];
  if (flag == "n") {
    if (plus_) // the client chose -PLUS but does not bind
      return fail(failure_condition::not_authorized);
  } else if (flag == "y") {
    // 'y': the client supports channel binding but thinks the server does
    // not. When the server did offer -PLUS, someone removed it in transit.
    if (plus_ || server_offers_plus_)
      return fail(failure_condition::not_authorized);
  } else if (auto type = attribute_value(flag, 'p')) {
    if (!is_channel_binding_name(*type))
      return fail(failure_condition::malformed_request);
    if (!plus_)
      return fail(failure_condition::not_authorized);
    const channel_binding* binding = nullptr;
    for (const auto& candidate : connection_.bindings)
      if (candidate.type == *type)
        binding = &candidate;
    if (binding == nullptr) // e=unsupported-channel-binding-type
      return fail(failure_condition::not_authorized);
    channel_binding_data_ = binding->data;
  } else {
    return fail(failure_condition::malformed_request);
  }

  if (!fields[1].empty()) {
    auto encoded = attribute_value(fields[1], 'a');
    if (!encoded)
      return fail(failure_condition::malformed_request);
    auto decoded = decode_saslname(*encoded);
    if (!decoded)
      return fail(failure_condition::invalid_authzid);
    authzid_ = std::move(*decoded);
  }
  gs2_header_ = std::string(flag) + "," + std::string(fields[1]) + ",";
  client_first_bare_ = std::string(message.substr(gs2_header_.size()));

  // RFC 5802 section 5.1: m= is reserved, and its presence must make
  // authentication fail.
  if (attribute_value(fields[2], 'm'))
    return fail(failure_condition::malformed_request);

  auto encoded_username = attribute_value(fields[2], 'n');
  if (!encoded_username)
    return fail(failure_condition::malformed_request);
  auto username = decode_saslname(*encoded_username);
  if (!username)
    return fail(failure_condition::malformed_request);

  auto client_nonce = attribute_value(fields[3], 'r');
  if (!client_nonce || !is_printable_nonce(*client_nonce))
    return fail(failure_condition::malformed_request);

  // Starling implements no SCRAM extension, so an extension attribute is
  // rejected rather than guessed at.
  if (fields.size() > 4)
    return fail(failure_condition::malformed_request);

  // RFC 5802 section 5.1: the server prepares the user name with SASLprep
  // as a query string.
  auto prepared = saslprep(*username);
  if (!prepared)
    return fail(failure_condition::not_authorized);
  authcid_ = std::move(*prepared);
  load_credentials();

  auto server_nonce = config_.server_nonce ? config_.server_nonce()
                                           : base64_encode(random_bytes(server_nonce_bytes));
  nonce_ = std::string(*client_nonce) + server_nonce;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(stored_.salt)
                  + ",i=" + std::to_string(stored_.iterations);
  state_ = state::wait_for_client_final;
  return {step_kind::challenge, server_first_, {}, {}, {}};
}

void scram_mechanism::load_credentials() {
  if (credentials_.scram_lookup) {
    if (auto found = credentials_.scram_lookup(authcid_, hash_)) {
      stored_ = std::move(*found);
      return;
    }
  }

  // Unknown user: a salt that is the same on every attempt for this name,
  // so that repeated tries cannot tell it from a real account, and random
  // keys that no proof will match.
  unknown_user_ = true;
  const auto& secret = config_.server_secret.empty() ? process_secret() : config_.server_secret;
  auto label = std::string(mechanism_name(hash_)) + '\0' + authcid_;
  auto salt = hmac(scram_hash::sha512, secret, label);
  salt.resize(std::min(config_.fake_salt_size, salt.size()));
  stored_.salt = std::move(salt);
  stored_.iterations = config_.fake_iterations;
  stored_.keys.stored_key = random_bytes(digest_size(hash_));
  stored_.keys.server_key = random_bytes(digest_size(hash_));
}

step_result scram_mechanism::handle_client_final(std::string_view message) {
  // client-final-message = channel-binding "," nonce ["," extensions] "," proof
  auto fields = split_attributes(message);
  if (fields.size() < 3)
    return fail(failure_condition::malformed_request);
  auto binding = attribute_value(fields[0], 'c');
  auto nonce = attribute_value(fields[1], 'r');
  auto proof_text = attribute_value(fields.back(), 'p');
  if (!binding || !nonce || !proof_text)
    return fail(failure_condition::malformed_request);
  if (fields.size() > 3) // extensions, see handle_client_first
    return fail(failure_condition::malformed_request);

  // RFC 5802 section 7: c= is base64(gs2-header + cbind-data), where
  // cbind-data is empty unless the flag was p=.
  if (*binding != base64_encode(gs2_header_ + channel_binding_data_))
    return fail(failure_condition::not_authorized);
  if (*nonce != nonce_)
    return fail(failure_condition::not_authorized);
  auto proof = base64_decode(*proof_text);
  if (!proof || proof->size() != digest_size(hash_))
    return fail(failure_condition::malformed_request);

  // RFC 5802 section 3: ClientKey = ClientProof XOR ClientSignature, and
  // the proof is right when H(ClientKey) equals StoredKey.
  auto without_proof = message.substr(0, message.size() - fields.back().size() - 1);
  auto auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  auto client_signature = hmac(hash_, stored_.keys.stored_key, auth_message);
  std::string client_key(proof->size(), '\0');
  for (std::size_t i = 0; i < client_key.size(); ++i)
    client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  bool proof_valid = constant_time_equal(digest(hash_, client_key), stored_.keys.stored_key);
  if (!proof_valid || unknown_user_)
    return fail(failure_condition::not_authorized);

  // RFC 6120 section 6.4.6: the authzid is checked after authentication.
  if (!is_authorized(credentials_, config_, authcid_, authzid_))
    return fail(failure_condition::invalid_authzid);

  auto server_signature = hmac(hash_, stored_.keys.server_key, auth_message);
  state_ = state::done;
  finished_ = true;
  step_result result;
  result.kind = step_kind::success;
  result.data = "v=" + base64_encode(server_signature);
  result.authcid = authcid_;
  result.authzid = authzid_;
  return result;
}

} // namespace starling::sasl
