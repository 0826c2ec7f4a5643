// libFuzzer target: runs a client-first and a client-final message through
// the server side of SCRAM-SHA-256 (or SCRAM-SHA-256-PLUS).
//
// Input layout: byte 0 holds flags, then the client-first message, a 0xFF
// byte, and the client-final message. 0xFF never occurs in UTF-8, so real
// messages cannot contain it.
//   bit 0: use SCRAM-SHA-256-PLUS
//   bit 1: the connection offers a tls-exporter channel binding
//   bit 2: send no initial response, so the client-first goes in step()
// Account "user" has password "pencil", salt "fuzz-salt-16byte", 16
// iterations; the server nonce is "FUZZNONCE". The seeds in corpus/scram
// are built with these values.
#include "protocol/sasl/mechanism.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace starling::sasl;

namespace {

const stored_credentials& fuzz_credentials() {
  static const stored_credentials credentials
    = make_stored_credentials(scram_hash::sha256, "pencil", "fuzz-salt-16byte", 16);
  return credentials;
}

void check_result(const step_result& result) {
  // A success must carry the authenticated user and a server signature.
  if (result.kind == step_kind::success
      && (result.authcid != "user" || !result.data.starts_with("v=")))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  auto flags = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto separator = input.find('\xFF');
  auto client_first = input.substr(0, separator);
  auto client_final
    = separator == std::string_view::npos ? std::string_view() : input.substr(separator + 1);

  connection_info connection{true, {}};
  if (flags & 2)
    connection.bindings.push_back({"tls-exporter", std::string(32, '\x42')});

  credentials_source source;
  source.scram_lookup = [](std::string_view user, scram_hash hash)
    -> std::optional<stored_credentials> {
    if (user != "user" || hash != scram_hash::sha256)
      return std::nullopt;
    return fuzz_credentials();
  };

  mechanism_config config;
  config.domain = "example.com";
  config.server_secret = "fuzz secret";
  config.fake_iterations = 16;
  config.server_nonce = [] { return std::string("FUZZNONCE"); };

  auto mech = make_mechanism((flags & 1) ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256", connection,
                             source, config);
  if (!mech)
    return 0;

  step_result first;
  if (flags & 4) {
    first = mech->start(std::nullopt);
    if (first.kind != step_kind::challenge || !first.data.empty())
      std::abort();
    first = mech->step(client_first);
  } else {
    first = mech->start(client_first);
  }
  check_result(first);
  if (first.kind != step_kind::challenge)
    return 0;
  auto last = mech->step(client_final);
  check_result(last);
  // The exchange is over either way; a further step must fail.
  if (mech->step(client_final).kind != step_kind::failure)
    std::abort();
  return 0;
}
