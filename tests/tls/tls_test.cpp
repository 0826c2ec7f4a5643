#define BOOST_TEST_MODULE tls
#include <boost/test/unit_test.hpp>

#include "protocol/tls/self_signed.hpp"
#include "protocol/tls/tls_context.hpp"
#include "protocol/tls/tls_session.hpp"
#include "tests/tls/memory_client.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <sys/stat.h>

using namespace starling::tls;
using test::memory_client;

namespace {

/// Two virtual hosts with fresh self-signed certificates in a temporary folder.
struct tls_fixture {
  std::filesystem::path dir;
  context_config config;
  std::shared_ptr<const tls_context> context;

  tls_fixture() {
    char pattern[] = "/tmp/starling-tls-test-XXXXXX";
    dir = ::mkdtemp(pattern);
    for (std::string host : {"a.example", "b.example"}) {
      auto cert = (dir / (host + ".crt")).string();
      auto key = (dir / (host + ".key")).string();
      auto error = generate_self_signed(host, cert, key);
      BOOST_REQUIRE_MESSAGE(error.empty(), error);
      config.hosts.push_back({host, cert, key});
    }
    auto made = tls_context::create(config);
    BOOST_REQUIRE_MESSAGE(made, made.error);
    context = made.context;
  }

  ~tls_fixture() { std::filesystem::remove_all(dir); }
};

std::string peer_common_name(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr)
    return {};
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof(name));
  return name;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(tls, tls_fixture)

BOOST_AUTO_TEST_CASE(handshake_completes_with_tls13) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(!server.failed());
  BOOST_TEST(server.protocol_version() == "TLSv1.3");
  BOOST_TEST(!server.cipher().empty());
}

BOOST_AUTO_TEST_CASE(data_flows_both_ways) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));

  client.write("<stream:stream>");
  BOOST_TEST(server.feed_ciphertext(client.drain()));
  std::string received;
  BOOST_TEST(server.read_plaintext(received));
  BOOST_TEST(received == "<stream:stream>");

  BOOST_TEST(server.write_plaintext("<stream:features/>"));
  std::string ciphertext;
  server.take_ciphertext(ciphertext);
  client.receive(ciphertext);
  BOOST_TEST(client.read() == "<stream:features/>");
}

BOOST_AUTO_TEST_CASE(large_payload_crosses_records) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));
  std::string big(100000, 'x');
  BOOST_TEST(server.write_plaintext(big));
  std::string ciphertext;
  server.take_ciphertext(ciphertext);
  client.receive(ciphertext);
  BOOST_TEST(client.read() == big);
}

BOOST_AUTO_TEST_CASE(write_before_handshake_is_sent_after) {
  tls_session server(context);
  BOOST_TEST(server.write_plaintext("early"));
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(client.read() == "early");
}

BOOST_AUTO_TEST_CASE(sni_selects_host_certificate) {
  tls_session server(context);
  memory_client client({.sni = "B.Example"});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(peer_common_name(client.ssl()) == "b.example");
  BOOST_TEST(server.sni() == "B.Example");
}

BOOST_AUTO_TEST_CASE(unknown_or_missing_sni_gets_default_host) {
  for (std::string sni : {"", "c.example"}) {
    tls_session server(context);
    memory_client client({.sni = sni});
    BOOST_REQUIRE(client.pump(server));
    BOOST_TEST(peer_common_name(client.ssl()) == "a.example", sni);
  }
}

BOOST_AUTO_TEST_CASE(alpn_selects_xmpp_client) {
  tls_session server(context);
  memory_client client({.alpn = {"h2", "xmpp-client"}});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(server.alpn() == "xmpp-client");
}

BOOST_AUTO_TEST_CASE(client_without_alpn_is_served) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(server.alpn() == "");
}

BOOST_AUTO_TEST_CASE(alpn_without_xmpp_client_is_rejected) {
  tls_session server(context);
  memory_client client({.alpn = {"http/1.1"}});
  BOOST_TEST(!client.pump(server));
  BOOST_TEST(server.failed());
}

BOOST_AUTO_TEST_CASE(tls11_client_is_rejected) {
  tls_session server(context);
  memory_client client({.max_version = TLS1_1_VERSION});
  BOOST_TEST(!client.pump(server));
  BOOST_TEST(server.failed());
  BOOST_TEST(server.error().find("unsupported protocol") != std::string::npos, server.error());
  BOOST_TEST(!server.feed_ciphertext("more"));
}

BOOST_AUTO_TEST_CASE(tls12_client_is_served_without_exporter) {
  tls_session server(context);
  memory_client client({.max_version = TLS1_2_VERSION});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(server.protocol_version() == "TLSv1.2");
  // The client picks among the AEAD suites the server allows.
  BOOST_TEST(server.cipher().starts_with("ECDHE-ECDSA-"), server.cipher());
  BOOST_TEST(server.tls_exporter().empty());
  BOOST_TEST(server.tls_server_end_point().size() == 32u);
}

BOOST_AUTO_TEST_CASE(exporter_equal_on_both_ends) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));
  auto server_value = server.tls_exporter();
  BOOST_REQUIRE(server_value.size() == 32u);

  std::string client_value(32, '\0');
  const char label[] = "EXPORTER-Channel-Binding";
  BOOST_REQUIRE(SSL_export_keying_material(client.ssl(),
                                           reinterpret_cast<unsigned char*>(client_value.data()),
                                           32, label, sizeof(label) - 1, nullptr, 0, 0)
                == 1);
  BOOST_TEST((server_value == client_value));

  tls_session other(context);
  memory_client other_client({});
  BOOST_REQUIRE(other_client.pump(other));
  BOOST_TEST((other.tls_exporter() != server_value));
}

BOOST_AUTO_TEST_CASE(server_end_point_equals_client_hash) {
  tls_session server(context);
  memory_client client({.sni = "b.example"});
  BOOST_REQUIRE(client.pump(server));

  // The certificates are signed with ecdsa-with-SHA256, so the hash is SHA-256.
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  BOOST_REQUIRE(X509_digest(SSL_get0_peer_certificate(client.ssl()), EVP_sha256(), hash, &size) == 1);
  std::string expected(reinterpret_cast<const char*>(hash), size);
  BOOST_TEST((server.tls_server_end_point() == expected));
}

BOOST_AUTO_TEST_CASE(garbage_input_fails_cleanly) {
  tls_session server(context);
  BOOST_TEST(!server.feed_ciphertext("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  BOOST_TEST(server.failed());
  BOOST_TEST(!server.error().empty());
  std::string out;
  BOOST_TEST(!server.read_plaintext(out));
  BOOST_TEST(!server.write_plaintext("x"));
  BOOST_TEST(!server.handshake_done());
  BOOST_TEST(server.tls_exporter().empty());
  BOOST_TEST(server.tls_server_end_point().empty());
}

BOOST_AUTO_TEST_CASE(garbage_after_handshake_fails_cleanly) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));
  BOOST_TEST(server.feed_ciphertext(std::string(64, '\x17')));
  std::string out;
  BOOST_TEST(!server.read_plaintext(out));
  BOOST_TEST(server.failed());
}

BOOST_AUTO_TEST_CASE(close_notify_reaches_both_sides) {
  tls_session server(context);
  memory_client client({});
  BOOST_REQUIRE(client.pump(server));

  SSL_shutdown(client.ssl());
  server.feed_ciphertext(client.drain());
  std::string out;
  BOOST_TEST(server.read_plaintext(out));
  BOOST_TEST(server.peer_closed());

  server.close_notify();
  std::string ciphertext;
  server.take_ciphertext(ciphertext);
  client.receive(ciphertext);
  client.read();
  BOOST_TEST((SSL_get_shutdown(client.ssl()) & SSL_RECEIVED_SHUTDOWN) != 0);
}

BOOST_AUTO_TEST_CASE(generated_certificate_loads_with_san) {
  auto cert = (dir / "gen.crt").string();
  auto key = (dir / "gen.key").string();
  BOOST_REQUIRE(generate_self_signed("chat.example", cert, key).empty());

  struct stat key_stat {};
  BOOST_REQUIRE(::stat(key.c_str(), &key_stat) == 0);
  BOOST_TEST((key_stat.st_mode & 0777) == 0600);

  FILE* file = std::fopen(cert.c_str(), "r");
  BOOST_REQUIRE(file != nullptr);
  X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  BOOST_REQUIRE(certificate != nullptr);
  BOOST_TEST(X509_check_host(certificate, "chat.example", 0, 0, nullptr) == 1);
  BOOST_TEST(X509_check_host(certificate, "other.example", 0, 0, nullptr) == 0);
  BOOST_TEST(X509_cmp_current_time(X509_get0_notAfter(certificate)) > 0);
  EVP_PKEY* key_in_cert = X509_get0_pubkey(certificate);
  BOOST_TEST(EVP_PKEY_is_a(key_in_cert, "EC"));
  X509_free(certificate);

  auto made = tls_context::create({{{"chat.example", cert, key}}});
  BOOST_TEST(made.error == "");
}

BOOST_AUTO_TEST_CASE(missing_certificate_reports_path) {
  auto made = tls_context::create({{{"x.example", "/nonexistent/x.crt", "/nonexistent/x.key"}}});
  BOOST_TEST(!made);
  BOOST_TEST(made.error.find("/nonexistent/x.crt") != std::string::npos, made.error);
}

BOOST_AUTO_TEST_CASE(mismatched_key_is_rejected) {
  auto made = tls_context::create({{{"a.example", config.hosts[0].chain_path,
                                     config.hosts[1].private_key_path}}});
  BOOST_TEST(!made);
  BOOST_TEST(made.error.find("mismatch") != std::string::npos, made.error);
}

BOOST_AUTO_TEST_CASE(reload_swaps_context_for_new_sessions) {
  context_holder holder(context);
  tls_session old_session(holder.current());

  context_config only_b;
  only_b.hosts = {config.hosts[1]};
  BOOST_TEST(holder.reload(only_b) == "");
  BOOST_TEST((holder.current() != context));

  tls_session new_session(holder.current());
  memory_client new_client({});
  BOOST_REQUIRE(new_client.pump(new_session));
  BOOST_TEST(peer_common_name(new_client.ssl()) == "b.example");

  // The session made before the reload still uses the old certificates.
  memory_client old_client({});
  BOOST_REQUIRE(old_client.pump(old_session));
  BOOST_TEST(peer_common_name(old_client.ssl()) == "a.example");

  auto current = holder.current();
  context_config broken;
  broken.hosts = {{"x.example", "/nonexistent.crt", "/nonexistent.key"}};
  BOOST_TEST(holder.reload(broken) != "");
  BOOST_TEST((holder.current() == current));
}

BOOST_AUTO_TEST_SUITE_END()
