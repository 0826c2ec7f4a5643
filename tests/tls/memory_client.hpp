// An OpenSSL TLS client over memory BIOs, the peer of tls_session in tests
// and in the memory probe. Its OpenSSL calls are not checked: the tests
// check the outcome on both ends instead.
#pragma once

#include "protocol/tls/tls_session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace starling::tls::test {

class memory_client {
public:
  struct options {
    std::string sni = {};
    std::vector<std::string> alpn = {};
    int max_version = 0; ///< 0: OpenSSL's maximum.
    int min_version = 0;
  };

  explicit memory_client(const options& opts) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (opts.max_version != 0) {
      SSL_CTX_set_max_proto_version(ctx_, opts.max_version);
      // Debian's default security level forbids TLS 1.1 even in a client.
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
    }
    if (opts.min_version != 0)
      SSL_CTX_set_min_proto_version(ctx_, opts.min_version);
    ssl_ = SSL_new(ctx_);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(ssl_, in, out);
    in_ = in;
    out_ = out;
    if (!opts.sni.empty())
      SSL_set_tlsext_host_name(ssl_, opts.sni.c_str());
    if (!opts.alpn.empty()) {
      std::string wire;
      for (const auto& name : opts.alpn)
        wire += static_cast<char>(name.size()) + name;
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned int>(wire.size()));
    }
    SSL_set_connect_state(ssl_);
  }

  ~memory_client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  memory_client(const memory_client&) = delete;
  memory_client& operator=(const memory_client&) = delete;

  SSL* ssl() const { return ssl_; }

  /// Moves bytes both ways until neither side has anything to send; at most
  /// 20 rounds. Returns true when both handshakes completed.
  bool pump(tls_session& server) {
    for (int round = 0; round < 20; ++round) {
      ERR_clear_error();
      if (!SSL_is_init_finished(ssl_))
        SSL_do_handshake(ssl_);
      std::string to_server = drain();
      if (!to_server.empty())
        server.feed_ciphertext(to_server);
      std::string to_client;
      server.take_ciphertext(to_client);
      if (!to_client.empty())
        BIO_write(in_, to_client.data(), static_cast<int>(to_client.size()));
      if (to_server.empty() && to_client.empty())
        break;
    }
    return SSL_is_init_finished(ssl_) && server.handshake_done();
  }

  std::string drain() {
    std::string out;
    char buffer[4096];
    int read = 0;
    while ((read = BIO_read(out_, buffer, sizeof(buffer))) > 0)
      out.append(buffer, static_cast<std::size_t>(read));
    return out;
  }

  void write(std::string_view data) {
    SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
  }

  void receive(std::string_view ciphertext) {
    BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
  }

  std::string read() {
    std::string out;
    char buffer[4096];
    int read = 0;
    while ((read = SSL_read(ssl_, buffer, sizeof(buffer))) > 0)
      out.append(buffer, static_cast<std::size_t>(read));
    return out;
  }

private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
};

} // namespace starling::tls::test
