// Creates the certificate a fresh server starts with when no certificate is
// configured: an ECDSA P-256 key and a self-signed X.509 v3 certificate for
// one host. Called once at first start, from the application's startup code.
#pragma once

#include <string>
#include <string_view>

namespace starling::tls {

/// Writes a PEM certificate (subjectAltName DNS:host, valid for 365 days
/// from now, SHA-256 signature) to cert_path and the PEM private key to
/// key_path with mode 0600. Existing files are replaced. Returns "" on
/// success, else what failed with OpenSSL's or the system's error text.
std::string generate_self_signed(std::string_view host, const std::string& cert_path,
                                 const std::string& key_path);

} // namespace starling::tls
