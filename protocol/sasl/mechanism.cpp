#include "protocol/sasl/mechanism.hpp"

#include "protocol/sasl/plain_mechanism.hpp"
#include "protocol/sasl/scram_mechanism.hpp"

#include <algorithm>
#include <array>

namespace starling::sasl {

namespace {

struct scram_variant {
  std::string_view name;
  scram_hash hash;
  bool plus;
};

constexpr std::array<scram_variant, 6> scram_variants = {{
  {"SCRAM-SHA-1", scram_hash::sha1, false},
  {"SCRAM-SHA-1-PLUS", scram_hash::sha1, true},
  {"SCRAM-SHA-256", scram_hash::sha256, false},
  {"SCRAM-SHA-256-PLUS", scram_hash::sha256, true},
  {"SCRAM-SHA-512", scram_hash::sha512, false},
  {"SCRAM-SHA-512-PLUS", scram_hash::sha512, true},
}};

const scram_variant* find_scram_variant(std::string_view name) {
  for (const auto& variant : scram_variants)
    if (variant.name == name)
      return &variant;
  return nullptr;
}

bool is_offerable(std::string_view name, const connection_info& connection,
                  const mechanism_config& config) {
  if (name == "PLAIN")
    return connection.tls || config.allow_plain_without_tls;
  auto variant = find_scram_variant(name);
  if (variant == nullptr)
    return false;
  return !variant->plus || !connection.bindings.empty();
}

} // namespace

std::string_view condition_name(failure_condition condition) {
  switch (condition) {
    case failure_condition::aborted:
      return "aborted";
    case failure_condition::account_disabled:
      return "account-disabled";
    case failure_condition::credentials_expired:
      return "credentials-expired";
    case failure_condition::encryption_required:
      return "encryption-required";
    case failure_condition::incorrect_encoding:
      return "incorrect-encoding";
    case failure_condition::invalid_authzid:
      return "invalid-authzid";
    case failure_condition::invalid_mechanism:
      return "invalid-mechanism";
    case failure_condition::malformed_request:
      return "malformed-request";
    case failure_condition::mechanism_too_weak:
      return "mechanism-too-weak";
    case failure_condition::not_authorized:
      return "not-authorized";
    case failure_condition::temporary_auth_failure:
      return "temporary-auth-failure";
  }
  return "not-authorized";
}

step_result mechanism::abort() {
  finished_ = true;
  step_result result;
  result.kind = step_kind::failure;
  result.condition = failure_condition::aborted;
  return result;
}

bool is_authorized(const credentials_source& credentials, const mechanism_config& config,
                   std::string_view authcid, std::string_view authzid) {
  if (credentials.authorize)
    return credentials.authorize(authcid, authzid);
  if (authzid.empty())
    return true;
  // NOTE: a byte comparison, so an authzid that differs from the bare JID
  // only in case or normalisation is rejected. Servers that need more
  // supply their own authorize callback with JID normalisation.
  return authzid.size() == authcid.size() + 1 + config.domain.size()
         && authzid.substr(0, authcid.size()) == authcid && authzid[authcid.size()] == '@'
         && authzid.substr(authcid.size() + 1) == config.domain;
}

std::vector<std::string> offered_mechanisms(const connection_info& connection,
                                            const mechanism_config& config) {
  std::vector<std::string> offered;
  for (const auto& name : config.enabled)
    if (is_offerable(name, connection, config)
        && std::find(offered.begin(), offered.end(), name) == offered.end())
      offered.push_back(name);
  return offered;
}

std::unique_ptr<mechanism> make_mechanism(std::string_view name,
                                          const connection_info& connection,
                                          const credentials_source& credentials,
                                          const mechanism_config& config) {
  auto offered = offered_mechanisms(connection, config);
  if (std::find(offered.begin(), offered.end(), name) == offered.end())
    return nullptr;

  if (name == "PLAIN")
    return std::make_unique<plain_mechanism>(credentials, config);

  auto variant = find_scram_variant(name);
  if (variant == nullptr)
    return nullptr;
  bool server_offers_plus = std::any_of(offered.begin(), offered.end(), [](const auto& offer) {
    return offer.ends_with("-PLUS");
  });
  return std::make_unique<scram_mechanism>(variant->hash, variant->plus, server_offers_plus,
                                           connection, credentials, config);
}

std::vector<std::string> offered_channel_binding_types(const connection_info& connection) {
  std::vector<std::string> types;
  for (const auto& binding : connection.bindings)
    if (!binding.data.empty())
      types.push_back(binding.type);
  return types;
}

} // namespace starling::sasl
