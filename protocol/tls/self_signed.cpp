#include "protocol/tls/self_signed.hpp"

#include "protocol/tls/tls_context.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace starling::tls {

namespace {

constexpr long validity_seconds = 365L * 24 * 60 * 60;

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* pointer) const { Free(pointer); }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using extension_ptr
  = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::string add_extension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1)
    return openssl_error("adding certificate extension " + value + " failed");
  return {};
}

/// Opens path for writing with the given mode, also when it already exists.
FILE* open_for_write(const std::string& path, mode_t mode, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || ::fchmod(fd, mode) != 0) {
    error = "opening " + path + " for writing failed: " + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return nullptr;
  }
  FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    error = "opening " + path + " for writing failed: " + std::strerror(errno);
    ::close(fd);
  }
  return file;
}

} // namespace

std::string generate_self_signed(std::string_view host, const std::string& cert_path,
                                 const std::string& key_path) {
  ERR_clear_error();
  std::string name(host);
  if (name.empty())
    return "generating a self-signed certificate failed: the host name is empty";

  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key)
    return openssl_error("generating a P-256 key failed");

  x509_ptr certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1)
    return openssl_error("creating the certificate failed");

  // RFC 5280 section 4.1.2.2: a positive serial number of up to 20 bytes.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1)
    return openssl_error("generating the serial number failed");
  serial_bytes[0] &= 0x7F;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  bool serial_set = serial != nullptr
                    && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate.get()))
                         != nullptr;
  BN_free(serial);
  if (!serial_set)
    return openssl_error("setting the serial number failed");

  if (X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0) == nullptr
      || X509_gmtime_adj(X509_getm_notAfter(certificate.get()), validity_seconds) == nullptr)
    return openssl_error("setting the validity period failed");

  X509_NAME* subject = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0)
        != 1
      || X509_set_issuer_name(certificate.get(), subject) != 1
      || X509_set_pubkey(certificate.get(), key.get()) != 1)
    return openssl_error("setting the certificate names failed");

  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:" + name},
                            std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth")},
                            std::pair{NID_subject_key_identifier, std::string("hash")}}) {
    if (auto error = add_extension(certificate.get(), nid, value); !error.empty())
      return error;
  }

  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0)
    return openssl_error("signing the certificate failed");

  std::string error;
  FILE* key_file = open_for_write(key_path, 0600, error);
  if (key_file == nullptr)
    return error;
  bool key_written
    = PEM_write_PrivateKey(key_file, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (std::fclose(key_file) != 0 || !key_written)
    return openssl_error("writing private key " + key_path + " failed");

  FILE* cert_file = open_for_write(cert_path, 0644, error);
  if (cert_file == nullptr)
    return error;
  bool cert_written = PEM_write_X509(cert_file, certificate.get()) == 1;
  if (std::fclose(cert_file) != 0 || !cert_written)
    return openssl_error("writing certificate " + cert_path + " failed");
  return {};
}

} // namespace starling::tls
