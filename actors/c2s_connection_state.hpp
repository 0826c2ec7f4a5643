// State of one client connection actor; see c2s_connection.hpp for the
// contract. Split from it because the listener that forks connections needs
// the complete type. Touched only by its own broker.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/io/broker.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actors/c2s_connection.hpp"
#include "actors/idle_sweeper.hpp"
#include "actors/timer_relay.hpp"
#include "protocol/sasl/mechanism.hpp"
#include "protocol/tls/tls_session.hpp"
#include "protocol/xml/element.hpp"
#include "protocol/xml/stanza_error.hpp"
#include "protocol/xml/stream_error.hpp"
#include "protocol/xml/stream_parser.hpp"

namespace starling::actors {

/// Messages from the idle sweeper to a broker (idle_sweeper.hpp).
using ping_due_atom = caf::atom_constant<caf::atom("pingdue")>;
using ping_timeout_atom = caf::atom_constant<caf::atom("pingtmo")>;

enum class stream_state {
  wait_for_stream,
  wait_for_starttls,
  wait_for_sasl,
  wait_for_bind,
  established,
  closed,
};

std::string_view state_name(stream_state state);

class c2s_connection : public xml::stream_handler,
                       public idle_node<awake_parser_tag>,
                       public idle_node<quiet_stream_tag>,
                       public idle_node<pinged_stream_tag> {
public:
  static inline const char* name = "c2s";

  explicit c2s_connection(c2s_broker* self);
  ~c2s_connection() override;

  caf::behavior start(caf::io::connection_handle hdl, std::shared_ptr<server_context> context,
                      bool direct_tls);

  // -- xml::stream_handler: called from inside parser_->feed() --

  void on_stream_header(const xml::stream_header& header) override;
  void on_element(xml::element&& element) override;
  void on_stream_end() override;
  void on_stream_error(xml::stream_error_condition condition, std::string_view detail) override;

  // -- called by the idle sweeper on the I/O thread (idle_sweeper.hpp) --
  //
  // The sweep runs outside this broker's handlers. It may free the parser,
  // which is plain data, but writing or closing must happen inside a
  // handler, so pings and timeouts go through messages to the broker.

  /// Frees the parser unless an element is half received or the result of a
  /// store or hashing step is pending. Returns false when it must stay.
  bool release_parser();

  /// Sends the broker a request to ping its client, which has been quiet
  /// for c2s.ping_interval_s.
  void request_ping();

  /// Sends the broker a request to end the stream if the client sent
  /// nothing within c2s.ping_timeout_s of the ping (XEP-0199 4.1).
  void request_ping_timeout();

private:
  // Handling of the bytes that follow the element that was just parsed.
  enum class after_element { nothing, start_tls, restart_stream };

  // -- I/O (c2s_connection.cpp) --

  void on_bytes(std::string_view bytes);
  void read_bytes(std::string_view bytes);
  void on_plaintext(std::string_view bytes);
  bool apply_transition(std::string_view rest);
  void hold_input(std::string_view bytes);
  void suspend_parser();
  void begin_tls(std::string_view ciphertext_after_request);
  void send(std::string_view xml);
  void send(const xml::element& element);
  void flush_tls_output();
  void write_socket(std::string_view bytes);
  void close_stream(std::optional<xml::stream_error_condition> error, std::string_view text = {});
  void close_socket();
  void release_binding();
  void arm_timer(std::chrono::seconds timeout);
  void schedule_timer(std::chrono::steady_clock::time_point now);

  // Delivers a timer message to this broker after `delay`, through the
  // timer relay (timer_relay.hpp) so that a pending timer does not keep a
  // closed broker in memory. Never scheduled with self as sender: in CAF
  // 0.17.6 a broker that sends itself a delayed message and ends before it
  // arrives is never freed (measured: about 1.5 KB per connection).
  template <class Duration, class... Ts>
  void send_later(Duration delay, Ts&&... xs) {
    if (timers)
      caf::delayed_anon_send(timers, delay, fire_atom::value, id,
                             caf::make_message(std::forward<Ts>(xs)...));
    else
      caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, std::forward<Ts>(xs)...);
  }
  void charge_rate_limit(std::size_t bytes);
  void refill_rate_tokens();
  void wait_for_rate_tokens();
  void leave_idle_lists();
  void send_ping();
  void end_unanswered_ping();

  // -- stream level (c2s_connection.cpp) --

  void send_stream_header(const xml::stream_header& client_header);
  void send_features();

  // -- per state (c2s_auth.cpp, c2s_bind.cpp) --

  void wait_for_starttls(xml::element&& element);
  void wait_for_sasl(xml::element&& element);
  void wait_for_bind(xml::element&& element);
  void established(xml::element&& element);

  void handle_starttls();
  void handle_auth(const xml::element& auth);
  void handle_sasl_step(std::optional<std::string> response, bool first);
  void finish_sasl_step(sasl::step_result result);
  void handle_register_before_auth(const xml::element& iq);
  void register_account(const xml::element& iq, std::string user, std::string password);
  void handle_bind(const xml::element& iq);
  void complete_bind(const xml::element& iq, std::string resource);
  sasl::connection_info sasl_connection_info() const;
  void reply_error(const xml::element& request, xml::stanza_error_condition condition);

  // Marks this connection busy until an asynchronous step (hashing, a store
  // write) answers. The parser stops after the current element and later
  // input waits unparsed in held_input, because the answer may restart the
  // stream.
  void set_busy(bool busy);

public:
  c2s_broker* self;

  caf::io::connection_handle hdl;
  std::shared_ptr<server_context> ctx;
  std::uint64_t id = 0;
  std::string peer; ///< Client address as logged (masked when configured).
  std::string peer_raw;

  stream_state state = stream_state::wait_for_stream;
  bool header_sent = false;
  bool secured = false;
  bool authenticated = false;
  std::string stream_id;
  std::string host;     ///< The virtual host this stream is for.
  std::string lang = "en";
  std::string username; ///< Normalised localpart once authenticated.
  std::string full_jid;
  std::string bare_jid;
  std::string resource;

  std::unique_ptr<tls::tls_session> tls;
  std::unique_ptr<xml::stream_parser> parser;
  std::shared_ptr<sasl::mechanism> sasl_mechanism;
  std::shared_ptr<std::string> sasl_attempted_user;
  std::string sasl_mechanism_name;
  unsigned sasl_failures = 0;

  after_element pending_transition = after_element::nothing;
  bool parser_suspended = false;
  bool skip_leading_whitespace = false;
  bool busy = false;
  std::string held_input;

  caf::actor session;
  caf::actor timers; ///< The timer relay this broker is registered with.
  std::uint64_t timer_generation = 0;
  /// When the stream must have reached the next state (stream_open_timeout_s,
  /// auth_timeout_s), and when the pending stream timer fires.
  std::chrono::steady_clock::time_point timer_deadline{};
  std::chrono::steady_clock::time_point timer_due{};
  /// Exit reason of this actor: normal, or the supervisor's shutdown request.
  caf::error quit_reason;

  // Output not yet written to the socket (c2s.max_output_bytes).
  std::uint64_t output_pending = 0;
  bool output_overflow = false;

  // When the last input arrived, to find reads after a quiet spell.
  std::chrono::steady_clock::time_point last_input{};

  // XEP-0199 pings of idle clients (c2s.ping_interval_s).
  bool ping_sent = false;
  std::uint64_t pings = 0;

  // Token bucket for c2s.max_bytes_per_second.
  double rate_tokens = 0;
  std::chrono::steady_clock::time_point rate_refilled{};
  bool reading_halted = false;
};

} // namespace starling::actors
