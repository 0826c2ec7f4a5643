#include "protocol/sasl/plain_mechanism.hpp"

#include "protocol/sasl/saslprep.hpp"

#include <utility>

namespace starling::sasl {

namespace {

// RFC 4616 section 2 requires accepting at least 255 octets per field; the
// cap keeps a hostile client from handing megabytes to SASLprep.
constexpr std::size_t max_field_size = 1024;

step_result fail(failure_condition condition) {
  step_result result;
  result.kind = step_kind::failure;
  result.condition = condition;
  return result;
}

} // namespace

plain_mechanism::plain_mechanism(credentials_source credentials, mechanism_config config)
  : credentials_(std::move(credentials)), config_(std::move(config)) {
}

step_result plain_mechanism::start(std::optional<std::string_view> initial_response) {
  if (finished_)
    return fail(failure_condition::malformed_request);
  if (!initial_response) {
    // RFC 4422 section 5: the client sends the message after an empty challenge.
    challenged_ = true;
    return {step_kind::challenge, {}, {}, {}, {}};
  }
  return verify(*initial_response);
}

step_result plain_mechanism::step(std::string_view response) {
  if (finished_ || !challenged_) {
    finished_ = true;
    return fail(failure_condition::malformed_request);
  }
  challenged_ = false;
  return verify(response);
}

step_result plain_mechanism::verify(std::string_view message) {
  finished_ = true;

  // RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd,
  // each field 1*SAFE (UTF-8 without NUL) except the optional authzid.
  auto first = message.find('\0');
  if (first == std::string_view::npos)
    return fail(failure_condition::malformed_request);
  auto second = message.find('\0', first + 1);
  if (second == std::string_view::npos)
    return fail(failure_condition::malformed_request);
  auto authzid = message.substr(0, first);
  auto authcid = message.substr(first + 1, second - first - 1);
  auto password = message.substr(second + 1);
  if (authcid.empty() || password.empty() || password.find('\0') != std::string_view::npos)
    return fail(failure_condition::malformed_request);
  if (authzid.size() > max_field_size || authcid.size() > max_field_size
      || password.size() > max_field_size)
    return fail(failure_condition::malformed_request);
  if (!is_valid_utf8(authzid) || !is_valid_utf8(authcid) || !is_valid_utf8(password))
    return fail(failure_condition::malformed_request);

  // RFC 4616 section 4: when preparation fails or yields an empty string,
  // verification fails.
  auto prepared_authcid = saslprep(authcid);
  auto prepared_password = saslprep(password);
  if (!prepared_authcid || !prepared_password)
    return fail(failure_condition::not_authorized);
  if (!credentials_.verify_plain
      || !credentials_.verify_plain(*prepared_authcid, *prepared_password))
    return fail(failure_condition::not_authorized);

  // RFC 6120 section 6.4.6: an authzid the user may not act as is rejected
  // only after the credentials were verified.
  if (!is_authorized(credentials_, config_, *prepared_authcid, authzid))
    return fail(failure_condition::invalid_authzid);

  step_result result;
  result.kind = step_kind::success;
  result.authcid = std::move(*prepared_authcid);
  result.authzid = std::string(authzid);
  return result;
}

} // namespace starling::sasl
