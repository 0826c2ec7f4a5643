// Start-up steps that need no actors: store options from the configuration,
// the data directory, certificates (generated for hosts without one) and the
// TLS context. Each returns an error message for the operator instead of
// throwing; starlingd logs it and exits.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "app/config.hpp"
#include "protocol/tls/tls_context.hpp"
#include "store/options.hpp"

namespace starling::app {

/// Store options from the [store] section and server.data_dir.
store::options store_options(const config& cfg);

/// The certificate files per host: configured ones as given, the others
/// under <data_dir>/tls/, generated as self-signed ECDSA P-256 certificates
/// when missing. Returns an error message on failure.
std::variant<tls::context_config, std::string> prepare_certificates(const config& cfg);

/// Builds the TLS context from prepare_certificates' result.
std::variant<std::shared_ptr<const tls::tls_context>, std::string>
make_tls_context(const config& cfg);

} // namespace starling::app
