#include "protocol/tls/tls_session.hpp"

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <utility>

namespace starling::tls {

namespace {

constexpr std::size_t read_chunk = 16 * 1024;

// RFC 9266 section 2.
constexpr char exporter_label[] = "EXPORTER-Channel-Binding";
constexpr std::size_t exporter_size = 32;

/// Frees the buffer of a drained memory BIO. Memory BIOs keep their largest
/// size otherwise, so one big burst would stay allocated for the life of an
/// idle connection; this is the BIO side of SSL_MODE_RELEASE_BUFFERS.
void release_drained_buffer(BIO* bio) {
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  if (memory == nullptr || memory->length != 0 || memory->max == 0)
    return;
  if (BUF_MEM* fresh = BUF_MEM_new(); fresh != nullptr)
    BIO_set_mem_buf(bio, fresh, BIO_CLOSE);
}

} // namespace

tls_session::tls_session(std::shared_ptr<const tls_context> context)
  : context_(std::move(context)) {
  ERR_clear_error();
  ssl_ = SSL_new(context_->native_handle());
  network_in_ = BIO_new(BIO_s_mem());
  network_out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || network_in_ == nullptr || network_out_ == nullptr) {
    BIO_free(network_in_);
    BIO_free(network_out_);
    network_in_ = network_out_ = nullptr;
    fail("creating the TLS session failed");
    return;
  }
  // An empty memory BIO reports "retry" instead of end of file, so OpenSSL
  // asks for more data with SSL_ERROR_WANT_READ.
  BIO_set_mem_eof_return(network_in_, -1);
  SSL_set_bio(ssl_, network_in_, network_out_); // the SSL now owns both BIOs
  SSL_set_accept_state(ssl_);
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

tls_session::tls_session(tls_session&& other) noexcept
  : context_(std::move(other.context_)),
    ssl_(std::exchange(other.ssl_, nullptr)),
    network_in_(std::exchange(other.network_in_, nullptr)),
    network_out_(std::exchange(other.network_out_, nullptr)),
    pending_plaintext_(std::move(other.pending_plaintext_)),
    error_(std::move(other.error_)),
    handshake_done_(other.handshake_done_),
    peer_closed_(other.peer_closed_) {
}

tls_session& tls_session::operator=(tls_session&& other) noexcept {
  if (this != &other) {
    SSL_free(ssl_);
    context_ = std::move(other.context_);
    ssl_ = std::exchange(other.ssl_, nullptr);
    network_in_ = std::exchange(other.network_in_, nullptr);
    network_out_ = std::exchange(other.network_out_, nullptr);
    pending_plaintext_ = std::move(other.pending_plaintext_);
    error_ = std::move(other.error_);
    handshake_done_ = other.handshake_done_;
    peer_closed_ = other.peer_closed_;
  }
  return *this;
}

bool tls_session::fail(std::string_view what) {
  if (error_.empty())
    error_ = openssl_error(what);
  return false;
}

bool tls_session::feed_ciphertext(std::string_view bytes) {
  if (failed())
    return false;
  if (!bytes.empty()
      && BIO_write(network_in_, bytes.data(), static_cast<int>(bytes.size()))
           != static_cast<int>(bytes.size()))
    return fail("buffering received TLS data failed");
  if (!handshake_done_) {
    bool ok = advance_handshake();
    release_drained_buffer(network_in_);
    return ok;
  }
  return true;
}

bool tls_session::advance_handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    return flush_pending();
  }
  int reason = SSL_get_error(ssl_, rc);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE)
    return true;
  return fail("TLS handshake failed");
}

bool tls_session::flush_pending() {
  if (pending_plaintext_.empty())
    return true;
  std::string data = std::move(pending_plaintext_);
  pending_plaintext_.clear();
  return write_plaintext(data);
}

bool tls_session::read_plaintext(std::string& out) {
  if (failed())
    return false;
  if (!handshake_done_ && (!advance_handshake() || !handshake_done_))
    return !failed();

  char buffer[read_chunk];
  while (true) {
    ERR_clear_error();
    std::size_t read = 0;
    if (SSL_read_ex(ssl_, buffer, sizeof(buffer), &read) == 1) {
      out.append(buffer, read);
      continue;
    }
    int reason = SSL_get_error(ssl_, 0);
    if (reason == SSL_ERROR_ZERO_RETURN)
      peer_closed_ = true;
    else if (reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE)
      return fail("TLS read failed");
    release_drained_buffer(network_in_);
    return true;
  }
}

bool tls_session::write_plaintext(std::string_view data) {
  if (failed())
    return false;
  if (!handshake_done_) {
    pending_plaintext_.append(data);
    return true;
  }
  if (data.empty())
    return true;
  // A memory BIO never fills up, so one call writes everything.
  ERR_clear_error();
  std::size_t written = 0;
  if (SSL_write_ex(ssl_, data.data(), data.size(), &written) != 1 || written != data.size())
    return fail("TLS write failed");
  return true;
}

void tls_session::take_ciphertext(std::string& out) {
  if (network_out_ == nullptr)
    return;
  char* data = nullptr;
  long size = BIO_get_mem_data(network_out_, &data);
  if (size > 0)
    out.append(data, static_cast<std::size_t>(size));
  (void)BIO_reset(network_out_);
  release_drained_buffer(network_out_);
}

void tls_session::close_notify() {
  if (ssl_ == nullptr || failed())
    return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
}

std::string tls_session::protocol_version() const {
  if (!handshake_done_)
    return {};
  return SSL_get_version(ssl_);
}

std::string tls_session::cipher() const {
  if (!handshake_done_)
    return {};
  const char* name = SSL_get_cipher_name(ssl_);
  return name == nullptr ? std::string() : std::string(name);
}

std::string tls_session::sni() const {
  if (ssl_ == nullptr)
    return {};
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string() : std::string(name);
}

std::string tls_session::alpn() const {
  if (ssl_ == nullptr)
    return {};
  const unsigned char* name = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &name, &size);
  return name == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(name), size);
}

std::string tls_session::tls_exporter() const {
  if (!handshake_done_ || SSL_version(ssl_) != TLS1_3_VERSION)
    return {};
  std::string out(exporter_size, '\0');
  if (SSL_export_keying_material(ssl_, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                 exporter_label, std::strlen(exporter_label), nullptr, 0, 0)
      != 1) {
    ERR_clear_error();
    return {};
  }
  return out;
}

std::string tls_session::tls_server_end_point() const {
  if (!handshake_done_)
    return {};
  X509* certificate = SSL_get_certificate(ssl_);
  if (certificate == nullptr)
    return {};

  int digest_nid = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(certificate), &digest_nid, nullptr) != 1)
    return {};
  // RFC 5929 section 4.1: MD5 and SHA-1 are replaced by SHA-256.
  const EVP_MD* md = nullptr;
  if (digest_nid == NID_md5 || digest_nid == NID_sha1)
    md = EVP_sha256();
  else if (digest_nid != NID_undef)
    md = EVP_get_digestbynid(digest_nid);
  if (md == nullptr)
    return {};

  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(certificate, md, hash, &size) != 1) {
    ERR_clear_error();
    return {};
  }
  return {reinterpret_cast<const char*>(hash), size};
}

} // namespace starling::tls
