// One server-side TLS connection over OpenSSL memory BIOs: the caller moves
// bytes between the socket and this object, so no socket or thread is
// involved here. Owned by one connection actor and used from it only (not
// thread-safe). Failures are sticky. After the first one, failed() is true,
// error() has OpenSSL's text, and every later call does nothing and returns
// false, except take_ciphertext(), which still hands out the alert to send.
//
// Memory of one idle session after a completed TLS 1.3 handshake, measured
// by tests/tls/tls_memory_probe.cpp: heap growth (glibc mallinfo2
// uordblks) over 1000 server sessions, each handshaken against an in-memory
// OpenSSL client that is freed afterwards; P-256 ECDSA certificate, OpenSSL
// 3.0.22, glibc 2.36, x86-64, Debug build:
//   SSL_MODE_RELEASE_BUFFERS on:  about 14.7 KiB per session (15,095 bytes)
//   SSL_MODE_RELEASE_BUFFERS off: about 47.1 KiB per session (48,217 bytes)
#pragma once

#include "protocol/tls/tls_context.hpp"

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace starling::tls {

class tls_session {
public:
  /// Creates the session for a new connection. A failure to allocate is
  /// reported through failed().
  explicit tls_session(std::shared_ptr<const tls_context> context);
  ~tls_session();
  tls_session(tls_session&&) noexcept;
  tls_session& operator=(tls_session&&) noexcept;

  /// Hands over bytes read from the socket and advances the handshake.
  bool feed_ciphertext(std::string_view bytes);

  /// Appends decrypted application data to out; returns false after a failure.
  bool read_plaintext(std::string& out);

  /// Encrypts application data. Data written before the handshake completes
  /// is kept and sent right after it.
  bool write_plaintext(std::string_view data);

  /// Appends the bytes to send on the socket to out and drains them.
  void take_ciphertext(std::string& out);

  /// Sends close_notify (RFC 8446 section 6.1); the alert is then in
  /// take_ciphertext().
  void close_notify();

  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  /// True once the peer sent close_notify.
  bool peer_closed() const { return peer_closed_; }

  /// "TLSv1.2" or "TLSv1.3"; empty before the handshake completes.
  std::string protocol_version() const;
  /// The negotiated cipher suite's OpenSSL name.
  std::string cipher() const;
  /// The server name the client sent (RFC 6066), or empty.
  std::string sni() const;
  /// The ALPN protocol selected, "xmpp-client" or empty.
  std::string alpn() const;

  /// tls-exporter channel binding (RFC 9266): 32 bytes exported with the
  /// label "EXPORTER-Channel-Binding" and no context. Empty unless the
  /// handshake completed with TLS 1.3, since RFC 9266 section 3 requires
  /// TLS 1.3 (or extended master secret) for it to be unique.
  std::string tls_exporter() const;

  /// tls-server-end-point channel binding (RFC 5929 section 4.1): the hash
  /// of this server's certificate, with SHA-256 when its signature uses MD5
  /// or SHA-1, else with the signature's hash. Empty before the handshake
  /// completes or when the signature has no single hash (e.g. Ed25519).
  std::string tls_server_end_point() const;

private:
  bool advance_handshake();
  bool fail(std::string_view what);
  bool flush_pending();

  std::shared_ptr<const tls_context> context_;
  SSL* ssl_ = nullptr;
  BIO* network_in_ = nullptr;  // ciphertext from the socket, read by OpenSSL
  BIO* network_out_ = nullptr; // ciphertext from OpenSSL, for the socket
  std::string pending_plaintext_;
  std::string error_;
  bool handshake_done_ = false;
  bool peer_closed_ = false;
};

} // namespace starling::tls
