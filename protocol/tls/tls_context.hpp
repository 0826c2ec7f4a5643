// Server-side TLS configuration over OpenSSL 3: one certificate chain and
// private key per virtual host, chosen by SNI, TLS 1.2 as the minimum, ALPN
// for XEP-0368 direct TLS. A tls_context is immutable once created and
// shared (read-only) by every tls_session made from it, on any thread.
// Reloading certificates builds a new context; context_holder swaps it in
// for new connections while old sessions keep the one they started with.
//
// Errors are values: creation returns the OpenSSL error text instead of
// throwing.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace starling::tls {

/// The certificate of one virtual host.
struct host_certificate {
  std::string host;            ///< DNS name matched against SNI, case-insensitive.
  std::string chain_path;      ///< PEM: the leaf certificate first, then intermediates.
  std::string private_key_path; ///< PEM private key for the leaf.
};

/// The oldest protocol version a context accepts. TLS 1.0 and 1.1 are
/// never accepted.
enum class tls_version { v1_2, v1_3 };

struct context_config {
  /// The first entry is the default host, used when the client sends no SNI
  /// or a name that matches no entry. Must not be empty.
  std::vector<host_certificate> hosts;
  /// SSL_MODE_RELEASE_BUFFERS: frees the read and write buffers of idle
  /// sessions. Off only to measure its effect.
  bool release_buffers = true;
  tls_version min_version = tls_version::v1_2;
};

class tls_context;

/// Either a context or the reason it could not be made.
struct context_result {
  std::shared_ptr<const tls_context> context;
  std::string error; ///< Empty on success.

  explicit operator bool() const { return context != nullptr; }
};

class tls_context {
public:
  /// Loads every host's chain and key and checks that they match.
  static context_result create(const context_config& config);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// The SSL_CTX of the default host, from which sessions are created.
  SSL_CTX* native_handle() const { return hosts_.front().ctx; }

  /// The SSL_CTX for an SNI name, or nullptr when no host matches.
  SSL_CTX* find_host(std::string_view server_name) const;

private:
  struct host_entry {
    std::string host; // lower case
    SSL_CTX* ctx = nullptr;
  };

  tls_context() = default;

  std::vector<host_entry> hosts_;
};

/// The current context for new connections; reload() replaces it. Thread-safe.
class context_holder {
public:
  explicit context_holder(std::shared_ptr<const tls_context> initial);

  std::shared_ptr<const tls_context> current() const;

  /// Builds a context from config and swaps it in. On failure the old
  /// context stays and the error text is returned; on success, "".
  std::string reload(const context_config& config);

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const tls_context> current_;
};

/// Drains OpenSSL's error queue of this thread into one line of text,
/// prefixed with what failed.
std::string openssl_error(std::string_view what);

} // namespace starling::tls
