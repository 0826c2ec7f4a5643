// One client connection of the load generator: a non-blocking socket, an
// optional OpenSSL session and an expat parser, driven by a small state
// machine through the XMPP login (RFC 6120: stream, STARTTLS, SASL, stream
// restart, resource binding) or an in-band registration (XEP-0077).
//
// The event loop that owns the connection calls on_event() with the epoll
// events of fd() and re-arms epoll with wanted_events(). A connection never
// throws: every unexpected server reply, stream error, close or timeout ends
// it in status::failed with a short reason such as "sasl-failure:not-authorized".
#pragma once

#include <netinet/in.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace starling::loadgen {

enum class security_mode { plain, starttls, direct_tls };
enum class sasl_mechanism { plain, scram_sha1, scram_sha256 };
enum class connection_goal { login, register_account };

struct client_options {
  std::string domain = "localhost";
  security_mode security = security_mode::plain;
  sasl_mechanism mechanism = sasl_mechanism::plain;
  connection_goal goal = connection_goal::login;
  // PLAIN only: send stream header, auth, restart header and bind in one write.
  bool pipeline = false;
  // Send initial presence after binding.
  bool send_presence = false;
  std::string resource = "loadgen";
};

// Element tree built by the expat handlers; names are "namespace|local".
struct xml_node {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
  std::vector<xml_node> children;

  const xml_node* child(std::string_view child_name) const;
  std::string_view attribute(std::string_view key) const;
  // Local name of the first child in namespace `ns`, or "" when none.
  std::string condition(std::string_view ns) const;
};

class scram_client;

class xmpp_connection {
public:
  enum class status { in_progress, established, registered, failed, closed };

  xmpp_connection(const client_options& options, SSL_CTX* tls_context, std::string username,
                  std::string password);
  ~xmpp_connection();
  xmpp_connection(const xmpp_connection&) = delete;
  xmpp_connection& operator=(const xmpp_connection&) = delete;

  // Opens the socket from `source` and starts a non-blocking connect to
  // `server`. On failure the status is failed and fd() is -1.
  void start(const sockaddr_in& source, const sockaddr_in& server);

  // Handles readiness reported by epoll for fd().
  void on_event(uint32_t events);

  // Fails the connection with "timeout:<phase>" unless it already finished.
  void time_out();

  // Sends the closing stream tag (best effort) and closes the socket.
  void close_stream();

  int fd() const { return fd_; }
  uint32_t wanted_events() const;
  status current_status() const { return status_; }
  const std::string& failure_reason() const { return failure_reason_; }
  // True when a registration found the account already present (<conflict/>).
  bool account_existed() const { return account_existed_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  std::chrono::steady_clock::time_point finished_at() const { return finished_at_; }
  // The full JID from the bind result (RFC 6120 7.6.1); empty before bind.
  const std::string& bound_jid() const { return bound_jid_; }

  // Established sessions only: queues a stanza and writes what the socket
  // takes now; the rest goes out when wanted_events() reports EPOLLOUT.
  void send_stanza(std::string_view stanza);
  // Called with every top-level element that arrives once established.
  void set_stanza_handler(std::function<void(const xml_node&)> handler) {
    stanza_handler_ = std::move(handler);
  }

private:
  enum class phase {
    connecting,
    tls_handshake,
    wait_features_starttls,
    wait_proceed,
    wait_features_auth,
    wait_register_result,
    wait_sasl,
    wait_features_bind,
    wait_bind,
    wait_session,
    established,
    closed,
  };

  static const char* phase_name(phase p);

  void fail(std::string reason);
  void finish(status result);
  void on_connected();
  void begin_tls();
  void continue_handshake();
  void open_stream();
  void send(std::string_view data);
  void flush();
  void read_available();
  void feed(const char* data, size_t size);
  void reset_parser();
  void handle_element(const xml_node& element);
  void handle_features(const xml_node& features);
  void send_auth();
  void send_bind();
  void on_authenticated();
  void on_bound();

  // expat callbacks
  static void on_start(void* self, const char* name, const char** attributes);
  static void on_end(void* self, const char* name);
  static void on_text(void* self, const char* text, int length);

  const client_options& options_;
  SSL_CTX* tls_context_;
  std::string username_;
  std::string password_;

  int fd_ = -1;
  SSL* tls_ = nullptr;
  bool tls_wants_write_ = false;
  struct expat_parser_deleter {
    void operator()(void* parser) const;
  };
  std::unique_ptr<void, expat_parser_deleter> parser_;
  uint64_t bytes_fed_ = 0;
  // Set by the end handler when the element just parsed ends the current
  // XML stream (<success/>, <proceed/>); the offset is where the rest starts.
  bool restart_pending_ = false;
  uint64_t restart_offset_ = 0;
  int depth_ = 0;
  std::vector<xml_node> open_elements_;

  phase phase_ = phase::connecting;
  status status_ = status::in_progress;
  std::string failure_reason_;
  std::string output_;
  bool authenticated_ = false;
  bool pipelined_ = false;
  bool session_required_ = false;
  bool account_existed_ = false;
  std::unique_ptr<scram_client> scram_;
  std::string bound_jid_;
  std::function<void(const xml_node&)> stanza_handler_;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point finished_at_;
};

} // namespace starling::loadgen
