#include "protocol/tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace starling::tls {

namespace {

// TLS 1.2 suites: ECDHE for forward secrecy with AEAD ciphers only. TLS 1.3
// keeps OpenSSL's default suites (AES-GCM and ChaCha20-Poly1305).
constexpr const char* tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                      "ECDHE-RSA-AES128-GCM-SHA256:"
                                      "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                      "ECDHE-RSA-AES256-GCM-SHA384:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                      "ECDHE-RSA-CHACHA20-POLY1305";

// XEP-0368 section 2: the ALPN protocol name of direct TLS for c2s.
constexpr unsigned char xmpp_client_alpn[] = "xmpp-client";
constexpr std::size_t xmpp_client_alpn_size = sizeof(xmpp_client_alpn) - 1;

std::string lower_host(std::string_view host) {
  std::string out(host);
  if (!out.empty() && out.back() == '.')
    out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                unsigned int in_size, void*) {
  // The list is a sequence of length-prefixed names (RFC 7301 section 3.1).
  unsigned int i = 0;
  while (i < in_size) {
    unsigned int length = in[i];
    if (i + 1 + length > in_size)
      break;
    if (length == xmpp_client_alpn_size
        && std::equal(in + i + 1, in + i + 1 + length, xmpp_client_alpn)) {
      *out = in + i + 1;
      *out_size = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  // A client that offers ALPN but not xmpp-client expects another protocol
  // on this port; RFC 7301 section 3.2 and the ALPACA cross-protocol attacks
  // call for a no_application_protocol alert. Clients that send no ALPN at
  // all never reach this callback and are served.
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int select_host(SSL* ssl, int*, void* arg) {
  const auto* context = static_cast<const tls_context*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr)
    return SSL_TLSEXT_ERR_OK;
  // An unknown name keeps the default host's certificate; the client then
  // decides whether it trusts it.
  if (auto* ctx = context->find_host(name); ctx != nullptr && ctx != SSL_get_SSL_CTX(ssl))
    SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

/// Creates an SSL_CTX for one host, or returns nullptr and sets error.
SSL_CTX* make_host_ctx(const host_certificate& host, const context_config& config,
                       std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = openssl_error("SSL_CTX_new failed");
    return nullptr;
  }
  auto fail = [&](std::string message) {
    error = openssl_error(message);
    SSL_CTX_free(ctx);
    return nullptr;
  };

  auto minimum = config.min_version == tls_version::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, minimum) != 1)
    return fail("setting the minimum TLS version failed");
  if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1)
    return fail("setting the TLS 1.2 cipher list failed");

  // No session tickets and no session cache: XMPP clients resume at the
  // stream level (XEP-0198), and each cached session or ticket key costs
  // memory for every connection.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  // Frees each session's 16 KiB read and write record buffers while idle:
  // about 47 KiB per idle session shrinks to about 15 KiB (measured with
  // tests/tls/tls_memory_probe.cpp, numbers in tls_session.hpp).
  if (config.release_buffers)
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  if (SSL_CTX_use_certificate_chain_file(ctx, host.chain_path.c_str()) != 1)
    return fail("loading certificate chain " + host.chain_path + " failed");
  if (SSL_CTX_use_PrivateKey_file(ctx, host.private_key_path.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("loading private key " + host.private_key_path + " failed");
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail("private key " + host.private_key_path + " does not match certificate "
                + host.chain_path);

  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  return ctx;
}

} // namespace

std::string openssl_error(std::string_view what) {
  std::string text(what);
  bool first = true;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text += first ? ": " : "; ";
    text += buffer;
    first = false;
  }
  return text;
}

context_result tls_context::create(const context_config& config) {
  if (config.hosts.empty())
    return {nullptr, "TLS configuration has no host certificate"};

  ERR_clear_error();
  std::shared_ptr<tls_context> context(new tls_context());
  for (const auto& host : config.hosts) {
    std::string error;
    SSL_CTX* ctx = make_host_ctx(host, config, error);
    if (ctx == nullptr)
      return {nullptr, "TLS host " + host.host + ": " + error};
    context->hosts_.push_back({lower_host(host.host), ctx});
  }

  // Sessions start on the default host's SSL_CTX, whose servername callback
  // moves them to the host the client names (RFC 6066 section 3).
  SSL_CTX* default_ctx = context->hosts_.front().ctx;
  SSL_CTX_set_tlsext_servername_callback(default_ctx, select_host);
  SSL_CTX_set_tlsext_servername_arg(default_ctx, context.get());
  return {std::move(context), {}};
}

tls_context::~tls_context() {
  for (auto& entry : hosts_)
    SSL_CTX_free(entry.ctx);
}

SSL_CTX* tls_context::find_host(std::string_view server_name) const {
  auto wanted = lower_host(server_name);
  for (const auto& entry : hosts_)
    if (entry.host == wanted)
      return entry.ctx;
  return nullptr;
}

context_holder::context_holder(std::shared_ptr<const tls_context> initial)
  : current_(std::move(initial)) {
}

std::shared_ptr<const tls_context> context_holder::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::string context_holder::reload(const context_config& config) {
  auto made = tls_context::create(config);
  if (!made)
    return made.error;
  std::lock_guard lock(mutex_);
  current_ = std::move(made.context);
  return {};
}

} // namespace starling::tls
