#include "actors/c2s_connection.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/c2s_connection_state.hpp"
#include "actors/features.hpp"
#include "actors/messages.hpp"
#include "actors/server_context.hpp"
#include "app/logging.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/sasl/scram_crypto.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/serializer.hpp"

namespace starling::actors {

namespace {

using resume_atom = caf::atom_constant<caf::atom("resume")>;

// RFC 6120 4.7.5: the major version must be 1 or higher.
bool starts_with_version_one(std::string_view version) {
  auto major = version.substr(0, version.find('.'));
  if (major.empty() || major.size() > 9
      || major.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  return std::stoi(std::string{major}) >= 1;
}

std::string hex(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

} // namespace

std::string_view state_name(stream_state state) {
  switch (state) {
    case stream_state::wait_for_stream:
      return "wait_for_stream";
    case stream_state::wait_for_starttls:
      return "wait_for_starttls";
    case stream_state::wait_for_sasl:
      return "wait_for_sasl";
    case stream_state::wait_for_bind:
      return "wait_for_bind";
    case stream_state::established:
      return "established";
    case stream_state::closed:
      return "closed";
  }
  return "unknown";
}

c2s_connection::c2s_connection(c2s_broker* broker) : self(broker) {
}

c2s_connection::~c2s_connection() {
  if (ctx) {
    leave_idle_lists();
    ctx->open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (timers)
    caf::anon_send(timers, unregister_atom::value, id);
}

caf::behavior c2s_connection_actor(c2s_broker* self, caf::io::connection_handle hdl,
                                   std::shared_ptr<server_context> context, bool direct_tls) {
  return self->state.start(hdl, std::move(context), direct_tls);
}

caf::behavior c2s_connection::start(caf::io::connection_handle handle,
                                    std::shared_ptr<server_context> context, bool direct_tls) {
  hdl = handle;
  ctx = std::move(context);
  ctx->open_connections.fetch_add(1, std::memory_order_relaxed);
  id = ctx->next_connection_id.fetch_add(1, std::memory_order_relaxed);
  peer_raw = self->remote_addr(hdl);
  peer = app::mask_address(peer_raw, ctx->config.server.mask_addresses);
  parser = std::make_unique<xml::stream_parser>(*this, ctx->limits);
  rate_tokens = ctx->config.c2s.max_bytes_per_second;
  rate_refilled = std::chrono::steady_clock::now();

  timers = ctx->timer_relay();
  if (timers)
    self->send(timers, register_atom::value, id, caf::actor_cast<caf::actor>(self));
  self->configure_read(hdl, caf::io::receive_policy::at_most(ctx->config.c2s.read_buffer_bytes));
  // data_transferred_msg reports how much output still waits in CAF's
  // buffers (c2s.max_output_bytes).
  self->ack_writes(hdl, true);
  spdlog::debug("c2s#{} {}: connected{}", id, peer, direct_tls ? " (direct TLS)" : "");
  if (direct_tls)
    begin_tls({});
  arm_timer(std::chrono::seconds{ctx->config.c2s.stream_open_timeout_s});

  // A shutdown asks every connection to end its stream first (RFC 6120
  // 4.9.3.18 system-shutdown); the supervisor kills it after its timeout.
  self->set_exit_handler([this](const caf::exit_msg& msg) {
    quit_reason = msg.reason;
    if (state != stream_state::closed)
      close_stream(xml::stream_error_condition::system_shutdown);
    self->quit(quit_reason);
  });
  self->set_down_handler([this](const caf::down_msg& msg) {
    if (msg.source == session.address()) {
      spdlog::warn("c2s#{} {}: session of {} ended ({}), closing the stream", id, peer,
                   full_jid, caf::to_string(msg.reason));
      session = nullptr;
      close_stream(xml::stream_error_condition::internal_server_error);
    }
  });

  return {
    [this](const caf::io::new_data_msg& msg) {
      on_bytes({msg.buf.data(), msg.buf.size()});
    },
    [this](const caf::io::connection_closed_msg&) {
      spdlog::debug("c2s#{} {}: peer closed the connection in {}", id, peer, state_name(state));
      state = stream_state::closed;
      release_binding();
      self->quit(quit_reason);
    },
    [this](deliver_atom, const xml::element& stanza) {
      if (state == stream_state::established)
        send(stanza);
    },
    [this](deliver_raw_atom, const std::string& xml) {
      if (state == stream_state::established)
        send(xml);
    },
    [this](deliver_raw_atom, const std::vector<std::string>& stanzas) -> caf::result<caf::ok_atom> {
      // The answer tells the session that the stanzas reached this socket,
      // so it may drop its stored copies.
      if (state != stream_state::established)
        return caf::sec::request_receiver_down;
      for (auto& xml : stanzas)
        send(xml);
      return caf::ok_atom::value;
    },
    [this](close_atom, xml::stream_error_condition condition) {
      if (condition == xml::stream_error_condition::conflict)
        spdlog::info("c2s#{} {}: {} replaced by a newer login", id, peer, full_jid);
      close_stream(condition);
    },
    [this](timeout_atom, std::uint64_t generation) {
      if (generation != timer_generation || state == stream_state::established
          || state == stream_state::closed)
        return;
      auto now = std::chrono::steady_clock::now();
      if (now < timer_deadline) {
        schedule_timer(now);
        return;
      }
      spdlog::info("c2s#{} {}: timed out in {}", id, peer, state_name(state));
      close_stream(xml::stream_error_condition::connection_timeout);
    },
    [this](ping_due_atom) {
      send_ping();
    },
    [this](ping_timeout_atom) {
      end_unanswered_ping();
    },
    [this](const caf::io::data_transferred_msg& msg) {
      output_pending = msg.remaining;
    },
    [](const caf::io::connection_passivated_msg&) {
      // Reading paused by the rate limit; resume_atom restarts it.
    },
    [this](resume_atom) {
      // The read that arrived after the pause began is charged too, so the
      // debt may not be paid yet.
      refill_rate_tokens();
      if (rate_tokens < 0) {
        wait_for_rate_tokens();
        return;
      }
      reading_halted = false;
      self->trigger(hdl);
    },
  };
}

// -- I/O ----------------------------------------------------------------------

void c2s_connection::on_bytes(std::string_view bytes) {
  if (state == stream_state::closed)
    return;
  auto now = std::chrono::steady_clock::now();
  auto limit = std::chrono::milliseconds{ctx->config.c2s.hibernate_after_ms};
  // A read after a quiet spell, such as a ping reply, usually comes alone.
  // Its parser is released right after it instead of through a timer, so
  // the ping replies of a million idle clients do not keep parsers awake
  // while their timers wait in line.
  bool after_quiet = limit.count() > 0 && state == stream_state::established
                     && now - last_input >= limit;
  last_input = now;
  charge_rate_limit(bytes.size());
  read_bytes(bytes);
  if (state == stream_state::closed)
    return;

  // Any input counts as the reply to a ping (XEP-0199 4.1) and restarts
  // the quiet time.
  if (state == stream_state::established && ctx->config.c2s.ping_interval_s > 0) {
    ping_sent = false;
    ctx->pinged_streams.remove(*this);
    ctx->quiet_streams.touch(*this, now);
  }

  if (limit.count() == 0)
    return;
  if (after_quiet && release_parser()) {
    ctx->awake_parsers.remove(*this);
    return;
  }
  // The idle sweeper releases the parser once this connection has been
  // quiet for hibernate_after_ms.
  ctx->awake_parsers.touch(*this, now);
}

void c2s_connection::leave_idle_lists() {
  ctx->awake_parsers.remove(*this);
  ctx->quiet_streams.remove(*this);
  ctx->pinged_streams.remove(*this);
}

bool c2s_connection::release_parser() {
  if (state == stream_state::closed || parser->hibernating())
    return true;
  return !busy && parser->hibernate();
}

void c2s_connection::read_bytes(std::string_view bytes) {
  if (!tls) {
    on_plaintext(bytes);
    return;
  }

  if (!tls->feed_ciphertext(bytes)) {
    spdlog::info("c2s#{} {}: TLS failed: {}", id, peer, tls->error());
    flush_tls_output();
    close_socket();
    return;
  }
  // read_plaintext drains everything decrypted so far in one call.
  std::string plaintext;
  if (tls->read_plaintext(plaintext) && !plaintext.empty())
    on_plaintext(plaintext);
  if (tls && tls->failed()) {
    spdlog::info("c2s#{} {}: TLS failed: {}", id, peer, tls->error());
    flush_tls_output();
    close_socket();
    return;
  }
  if (tls && tls->peer_closed() && state != stream_state::closed) {
    // RFC 8446 6.1: close_notify means no more data will come, so the
    // stream ends now instead of at the next ping timeout.
    spdlog::debug("c2s#{} {}: peer sent TLS close_notify in {}", id, peer, state_name(state));
    close_stream(std::nullopt);
    return;
  }
  flush_tls_output();
}

void c2s_connection::on_plaintext(std::string_view bytes) {
  if (busy) {
    hold_input(bytes);
    return;
  }
  // The parser stops right after an element that may change how the next
  // bytes are read (STARTTLS, SASL) or that waits for another actor. The
  // rest of this read then goes to TLS, to a fresh parser after a stream
  // restart, or waits in held_input; the old parser never sees it.
  while (!bytes.empty() && state != stream_state::closed) {
    // COMPAT: go-xmpp (go-sendxmpp 0.5) ends every element with a newline,
    // also the one before a restarted stream's XML declaration, which must be
    // the first byte of a stream. Whitespace before a stream header is
    // dropped instead of failing the stream.
    if (skip_leading_whitespace) {
      auto first = bytes.find_first_not_of(" \t\r\n");
      if (first == std::string_view::npos)
        return;
      bytes.remove_prefix(first);
      skip_leading_whitespace = false;
    }

    pending_transition = after_element::nothing;
    parser_suspended = false;
    if (!parser->feed(bytes) || !parser_suspended)
      return;
    bytes = bytes.substr(bytes.size() - parser->unparsed_tail_bytes());
    if (busy) {
      hold_input(bytes);
      return;
    }
    if (!apply_transition(bytes))
      return;
  }
}

bool c2s_connection::apply_transition(std::string_view rest) {
  auto transition = pending_transition;
  pending_transition = after_element::nothing;
  switch (transition) {
    case after_element::nothing:
      return true;
    case after_element::start_tls:
      begin_tls(rest);
      return false;
    case after_element::restart_stream:
      parser->reset();
      skip_leading_whitespace = true;
      return true;
  }
  return true;
}

void c2s_connection::hold_input(std::string_view bytes) {
  // Bounded like a stanza: a client that floods while it waits for an
  // answer gets the same error as one that sends an oversized stanza.
  if (held_input.size() + bytes.size() > ctx->limits.max_stanza_bytes) {
    close_stream(xml::stream_error_condition::policy_violation, "too much input while waiting");
    return;
  }
  held_input.append(bytes);
}

void c2s_connection::suspend_parser() {
  parser->suspend();
  parser_suspended = true;
}

void c2s_connection::begin_tls(std::string_view ciphertext_after_request) {
  // COMPAT: go-xmpp (go-sendxmpp 0.5) writes a newline after <starttls/>.
  // A TLS record never starts with XML whitespace, so dropping it cannot
  // eat a byte of the handshake.
  auto first = ciphertext_after_request.find_first_not_of(" \t\r\n");
  ciphertext_after_request.remove_prefix(std::min(first, ciphertext_after_request.size()));

  tls = std::make_unique<tls::tls_session>(ctx->tls.current());
  secured = true;
  parser->reset();
  skip_leading_whitespace = true;
  header_sent = false;
  state = stream_state::wait_for_stream;
  // These bytes came with the read that carried <starttls/>, which on_bytes
  // has already charged and recorded.
  if (!ciphertext_after_request.empty())
    read_bytes(ciphertext_after_request);
}

void c2s_connection::send(std::string_view xml) {
  if (state == stream_state::closed && !header_sent)
    return;
  spdlog::trace("c2s#{} {}: out: {}", id, peer, xml);
  if (tls) {
    tls->write_plaintext(xml);
    flush_tls_output();
    return;
  }
  write_socket(xml);
}

void c2s_connection::send(const xml::element& element) {
  send(xml::serialize(element));
}

void c2s_connection::write_socket(std::string_view bytes) {
  self->write(hdl, bytes.size(), bytes.data());
  self->flush(hdl);
  output_pending += bytes.size();

  // The peer does not read what it is sent. Ending the stream bounds what
  // this connection holds; the session ends with it, so later messages go
  // to offline storage instead of this buffer.
  if (output_pending > ctx->config.c2s.max_output_bytes && !output_overflow
      && state != stream_state::closed) {
    output_overflow = true;
    spdlog::warn("c2s#{} {}: {} bytes of output are not read by the client, closing", id, peer,
                 output_pending);
    close_stream(xml::stream_error_condition::resource_constraint);
  }
}

void c2s_connection::flush_tls_output() {
  std::string ciphertext;
  tls->take_ciphertext(ciphertext);
  if (ciphertext.empty())
    return;
  write_socket(ciphertext);
}

void c2s_connection::close_stream(std::optional<xml::stream_error_condition> error,
                                  std::string_view text) {
  if (state == stream_state::closed)
    return;

  // RFC 6120 4.9.1.1: an error before the stream header still needs one.
  if (!header_sent)
    send_stream_header({});
  if (error) {
    spdlog::info("c2s#{} {}: stream error <{}/> in {}{}{}", id, peer,
                 xml::condition_name(*error), state_name(state), text.empty() ? "" : ": ",
                 text);
    send(xml::stream_error_xml(*error, text));
  }
  send(xml::stream_close_xml);
  if (tls) {
    tls->close_notify();
    flush_tls_output();
  }
  close_socket();
}

void c2s_connection::release_binding() {
  // Routing stops choosing this resource at once, before the session
  // learns that the connection is gone. Stanzas already on their way to
  // the session are still lost.
  if (session)
    ctx->sessions.unbind(bare_jid, resource, session);
}

void c2s_connection::close_socket() {
  state = stream_state::closed;
  release_binding();
  if (session)
    self->demonitor(session);
  // close() writes what is still buffered before the socket goes away.
  self->close(hdl);
  self->quit(quit_reason);
}

void c2s_connection::arm_timer(std::chrono::seconds timeout) {
  // Each pending timer costs about 270 bytes until it fires, and CAF 0.17
  // cannot cancel one. So a pending timer that fires before the new deadline
  // is kept and re-arms itself for the rest. Only an earlier deadline
  // schedules another timer, and the older one is ignored when it fires.
  auto now = std::chrono::steady_clock::now();
  timer_deadline = now + timeout;
  if (timer_due > now && timer_due <= timer_deadline)
    return;
  schedule_timer(now);
}

void c2s_connection::schedule_timer(std::chrono::steady_clock::time_point now) {
  ++timer_generation;
  timer_due = timer_deadline;
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(timer_deadline - now);
  send_later(delay, timeout_atom::value, timer_generation);
}

void c2s_connection::request_ping() {
  // From the I/O thread to a broker on it: queued without waking anything.
  caf::anon_send(caf::actor_cast<caf::actor>(self), ping_due_atom::value);
}

void c2s_connection::request_ping_timeout() {
  caf::anon_send(caf::actor_cast<caf::actor>(self), ping_timeout_atom::value);
}

void c2s_connection::send_ping() {
  if (state != stream_state::established)
    return;
  xml::element ping{"iq", std::string{xml::ns::client}};
  ping.set_attr("type", "get");
  ping.set_attr("id", "s2c-ping-" + std::to_string(++pings));
  ping.set_attr("from", host);
  ping.set_attr("to", full_jid);
  ping.add_child({"ping", std::string{xml::ns::ping}});
  send(ping);
  if (state != stream_state::established)
    return;
  ping_sent = true;
  ctx->pinged_streams.touch(*this, std::chrono::steady_clock::now());
}

void c2s_connection::end_unanswered_ping() {
  if (state != stream_state::established || !ping_sent)
    return;
  spdlog::info("c2s#{} {}: {} sent nothing after a ping, closing", id, peer, full_jid);
  close_stream(xml::stream_error_condition::connection_timeout);
}

void c2s_connection::charge_rate_limit(std::size_t bytes) {
  auto limit = ctx->config.c2s.max_bytes_per_second;
  if (limit == 0)
    return;

  // Token bucket holding at most one second of traffic. The read that
  // overdraws it is still processed; reading then pauses until the debt
  // is paid, which slows the sender down without dropping anything.
  refill_rate_tokens();
  rate_tokens -= static_cast<double>(bytes);
  if (rate_tokens < 0 && !reading_halted) {
    reading_halted = true;
    // halt() would take effect only after CAF's consecutive reads on this
    // socket, up to 50 by default. One activity token stops reading after
    // the next read and ends that loop at once.
    self->trigger(hdl, 1);
    wait_for_rate_tokens();
  }
}

void c2s_connection::refill_rate_tokens() {
  auto limit = static_cast<double>(ctx->config.c2s.max_bytes_per_second);
  auto now = std::chrono::steady_clock::now();
  std::chrono::duration<double> elapsed = now - rate_refilled;
  rate_refilled = now;
  rate_tokens = std::min(limit, rate_tokens + elapsed.count() * limit);
}

void c2s_connection::wait_for_rate_tokens() {
  auto limit = static_cast<double>(ctx->config.c2s.max_bytes_per_second);
  auto wait = std::chrono::microseconds{static_cast<std::int64_t>(-rate_tokens * 1e6 / limit)};
  send_later(wait + std::chrono::milliseconds{1}, resume_atom::value);
}

// -- stream level ---------------------------------------------------------------

void c2s_connection::send_stream_header(const xml::stream_header& client_header) {
  xml::stream_header reply;
  reply.from = host.empty() ? ctx->default_host() : host;
  reply.to = client_header.from;
  reply.id = stream_id;
  reply.version = "1.0";
  reply.lang = lang;
  reply.default_ns = std::string{xml::ns::client};
  reply.stream_ns = std::string{xml::ns::stream};
  send(xml::stream_header_xml(reply));
  header_sent = true;
}

void c2s_connection::on_stream_header(const xml::stream_header& header) {
  // A new stream id for every stream, also after restarts (RFC 6120 4.7.3).
  stream_id = hex(sasl::random_bytes(16));
  if (!header.lang.empty() && header.lang.size() <= 35)
    lang = header.lang;

  auto requested = header.to.empty() ? std::optional<std::string>{ctx->default_host()}
                                     : jid::nameprep(header.to);
  if (requested && !host.empty() && *requested != host) {
    // A restarted stream must stay on the host it began with.
    send_stream_header(header);
    close_stream(xml::stream_error_condition::host_unknown, "the host changed on restart");
    return;
  }
  if (requested && ctx->is_local_domain(*requested))
    host = *requested;
  send_stream_header(header);

  // RFC 6120 4.8.1 and 4.9.3.10: only the streams namespace and jabber:client.
  if (header.stream_ns != xml::ns::stream || header.default_ns != xml::ns::client) {
    close_stream(xml::stream_error_condition::invalid_namespace);
    return;
  }
  if (!requested || !ctx->is_local_domain(*requested)) {
    close_stream(xml::stream_error_condition::host_unknown);
    return;
  }
  // RFC 6120 4.7.5: a stream without version="1.0" or higher is not XMPP 1.0.
  if (!starts_with_version_one(header.version)) {
    close_stream(xml::stream_error_condition::unsupported_version);
    return;
  }
  if (ctx->shutting_down.load()) {
    close_stream(xml::stream_error_condition::system_shutdown);
    return;
  }

  if (!authenticated) {
    bool tls_required = !ctx->config.c2s.allow_plaintext_auth;
    state = (!secured && tls_required) ? stream_state::wait_for_starttls
                                       : stream_state::wait_for_sasl;
    arm_timer(std::chrono::seconds{ctx->config.c2s.auth_timeout_s});
  } else {
    state = stream_state::wait_for_bind;
  }
  send_features();
}

void c2s_connection::send_features() {
  xml::element features{"features", std::string{xml::ns::stream}};
  if (state == stream_state::wait_for_starttls || (state == stream_state::wait_for_sasl && !secured)) {
    auto& starttls = features.add_child({"starttls", std::string{xml::ns::tls}});
    if (state == stream_state::wait_for_starttls)
      starttls.add_child({"required", std::string{xml::ns::tls}});
  }
  if (state == stream_state::wait_for_sasl) {
    auto info = sasl_connection_info();
    auto& mechanisms = features.add_child({"mechanisms", std::string{xml::ns::sasl}});
    for (auto& name : sasl::offered_mechanisms(info, ctx->sasl))
      mechanisms.add_child({"mechanism", std::string{xml::ns::sasl}}).add_text(name);
    // XEP-0440: the channel-binding types this connection supports.
    auto types = sasl::offered_channel_binding_types(info);
    if (!types.empty()) {
      auto& list = features.add_child({"sasl-channel-binding", std::string{xml::ns::sasl_cb}});
      for (auto& type : types)
        list.add_child({"channel-binding", std::string{xml::ns::sasl_cb}}).set_attr("type", type);
    }
  }
  if (state == stream_state::wait_for_sasl && ctx->config.c2s.allow_registration)
    features.add_child({"register", std::string{xml::ns::register_feature}});
  if (state == stream_state::wait_for_bind) {
    features.add_child({"bind", std::string{xml::ns::bind}});
    // XEP-0237 2: roster versioning is supported.
    features.add_child({"ver", "urn:xmpp:features:rosterver"});
    // XEP-0115 6.3: the server's capabilities, so clients can cache them.
    features.add_child({"c", "http://jabber.org/protocol/caps"})
      .set_attr("hash", "sha-1")
      .set_attr("node", std::string{caps_node})
      .set_attr("ver", server_caps_ver());
    // RFC 3921 3 required session establishment and RFC 6121 dropped it;
    // advertising it as optional serves clients of both eras.
    features.add_child({"session", std::string{xml::ns::session}})
      .add_child({"optional", std::string{xml::ns::session}});
  }
  send(xml::serialize(features, xml::ns::client));
}

void c2s_connection::on_element(xml::element&& element) {
  switch (state) {
    case stream_state::wait_for_stream:
      // The parser reports a header before any element; this is a bug.
      close_stream(xml::stream_error_condition::internal_server_error);
      return;
    case stream_state::wait_for_starttls:
      wait_for_starttls(std::move(element));
      return;
    case stream_state::wait_for_sasl:
      wait_for_sasl(std::move(element));
      return;
    case stream_state::wait_for_bind:
      wait_for_bind(std::move(element));
      return;
    case stream_state::established:
      established(std::move(element));
      return;
    case stream_state::closed:
      return;
  }
}

void c2s_connection::set_busy(bool value) {
  busy = value;
  if (busy) {
    suspend_parser();
    return;
  }
  std::string input = std::move(held_input);
  held_input.clear();
  if (state == stream_state::closed || !apply_transition(input))
    return;
  on_plaintext(input);
}

void c2s_connection::on_stream_end() {
  spdlog::debug("c2s#{} {}: client closed its stream in {}", id, peer, state_name(state));
  close_stream(std::nullopt);
}

void c2s_connection::on_stream_error(xml::stream_error_condition condition,
                                     std::string_view detail) {
  // The detail stays in the log: it describes our parser, not the protocol.
  spdlog::debug("c2s#{} {}: parser: {}", id, peer, detail);
  close_stream(condition);
}

sasl::connection_info c2s_connection::sasl_connection_info() const {
  sasl::connection_info info;
  info.tls = secured;
  if (tls) {
    if (auto exporter = tls->tls_exporter(); !exporter.empty())
      info.bindings.push_back({"tls-exporter", std::move(exporter)});
    if (auto endpoint = tls->tls_server_end_point(); !endpoint.empty())
      info.bindings.push_back({"tls-server-end-point", std::move(endpoint)});
  }
  return info;
}

void c2s_connection::reply_error(const xml::element& request,
                                 xml::stanza_error_condition condition) {
  // RFC 6120 8.3.1: an error stanza is never answered with an error.
  if (xml::is_error_stanza(request))
    return;
  send(xml::make_error_reply(request, condition));
}

} // namespace starling::actors
