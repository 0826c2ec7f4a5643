#include "benchmarks/loadgen/xmpp_connection.hpp"

#include "benchmarks/loadgen/scram_client.hpp"

#include <expat.h>
#include <openssl/err.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace starling::loadgen {

namespace {

constexpr std::string_view ns_stream = "http://etherx.jabber.org/streams";
constexpr std::string_view ns_tls = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view ns_sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr std::string_view ns_bind = "urn:ietf:params:xml:ns:xmpp-bind";
constexpr std::string_view ns_session = "urn:ietf:params:xml:ns:xmpp-session";
constexpr std::string_view ns_client = "jabber:client";
constexpr std::string_view ns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
constexpr std::string_view ns_streams_error = "urn:ietf:params:xml:ns:xmpp-streams";

std::string qualified(std::string_view ns, std::string_view local) {
  std::string out(ns);
  out += '|';
  out += local;
  return out;
}

std::string local_name(std::string_view name) {
  auto bar = name.rfind('|');
  return std::string(bar == std::string_view::npos ? name : name.substr(bar + 1));
}

std::string escape_xml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* mechanism_name(sasl_mechanism mechanism) {
  switch (mechanism) {
    case sasl_mechanism::plain: return "PLAIN";
    case sasl_mechanism::scram_sha1: return "SCRAM-SHA-1";
    case sasl_mechanism::scram_sha256: return "SCRAM-SHA-256";
  }
  return "?";
}

} // namespace

// -- xml_node ----------------------------------------------------------------

const xml_node* xml_node::child(std::string_view child_name) const {
  for (const auto& c : children)
    if (c.name == child_name)
      return &c;
  return nullptr;
}

std::string_view xml_node::attribute(std::string_view key) const {
  for (const auto& [k, v] : attributes)
    if (k == key)
      return v;
  return {};
}

std::string xml_node::condition(std::string_view ns) const {
  for (const auto& c : children)
    if (c.name.size() > ns.size() && c.name.compare(0, ns.size(), ns) == 0 && c.name[ns.size()] == '|'
        && local_name(c.name) != "text")
      return local_name(c.name);
  return "";
}

// -- lifecycle ---------------------------------------------------------------

void xmpp_connection::expat_parser_deleter::operator()(void* parser) const {
  XML_ParserFree(static_cast<XML_Parser>(parser));
}

xmpp_connection::xmpp_connection(const client_options& options, SSL_CTX* tls_context,
                                 std::string username, std::string password)
  : options_(options),
    tls_context_(tls_context),
    username_(std::move(username)),
    password_(std::move(password)) {
}

xmpp_connection::~xmpp_connection() {
  if (tls_ != nullptr)
    SSL_free(tls_);
  if (fd_ >= 0)
    ::close(fd_);
}

const char* xmpp_connection::phase_name(phase p) {
  switch (p) {
    case phase::connecting: return "connect";
    case phase::tls_handshake: return "tls-handshake";
    case phase::wait_features_starttls: return "features-starttls";
    case phase::wait_proceed: return "starttls-proceed";
    case phase::wait_features_auth: return "features-auth";
    case phase::wait_register_result: return "register";
    case phase::wait_sasl: return "sasl";
    case phase::wait_features_bind: return "features-bind";
    case phase::wait_bind: return "bind";
    case phase::wait_session: return "session";
    case phase::established: return "established";
    case phase::closed: return "closed";
  }
  return "?";
}

void xmpp_connection::start(const sockaddr_in& source, const sockaddr_in& server) {
  started_at_ = std::chrono::steady_clock::now();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd_ < 0) {
    fail(std::string("socket:") + std::strerror(errno));
    return;
  }
  // Let connect() pick the port per destination, so each source address
  // gives a full ephemeral port range.
  int one = 1;
  ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
    fail(std::string("bind:") + std::strerror(errno));
    return;
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0
      && errno != EINPROGRESS) {
    fail(std::string("connect:") + std::strerror(errno));
    return;
  }
  phase_ = phase::connecting;
}

uint32_t xmpp_connection::wanted_events() const {
  if (fd_ < 0)
    return 0;
  if (phase_ == phase::connecting)
    return EPOLLOUT;
  uint32_t events = EPOLLIN | EPOLLRDHUP;
  if (!output_.empty() || tls_wants_write_)
    events |= EPOLLOUT;
  return events;
}

void xmpp_connection::fail(std::string reason) {
  if (status_ == status::failed || status_ == status::closed)
    return;
  if (status_ == status::established && reason.rfind("closed", 0) != 0)
    reason = "after-login:" + reason;
  failure_reason_ = std::move(reason);
  status_ = status::failed;
  finished_at_ = std::chrono::steady_clock::now();
  phase_ = phase::closed;
  if (tls_ != nullptr) {
    SSL_free(tls_);
    tls_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void xmpp_connection::finish(status result) {
  status_ = result;
  finished_at_ = std::chrono::steady_clock::now();
}

void xmpp_connection::time_out() {
  if (status_ == status::in_progress)
    fail(std::string("timeout:") + phase_name(phase_));
}

void xmpp_connection::close_stream() {
  if (fd_ < 0)
    return;
  output_ += "</stream:stream>";
  flush();
  if (tls_ != nullptr) {
    SSL_shutdown(tls_);
    SSL_free(tls_);
    tls_ = nullptr;
  }
  ::close(fd_);
  fd_ = -1;
  phase_ = phase::closed;
  if (status_ != status::failed)
    status_ = status::closed;
}

// -- transport ---------------------------------------------------------------

void xmpp_connection::on_event(uint32_t events) {
  if (fd_ < 0)
    return;
  if (phase_ == phase::connecting) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      fail(std::string("connect:") + std::strerror(error));
      return;
    }
    on_connected();
    return;
  }
  if (phase_ == phase::tls_handshake) {
    continue_handshake();
    return;
  }
  if ((events & EPOLLOUT) != 0)
    flush();
  if (fd_ >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0)
    read_available();
}

void xmpp_connection::on_connected() {
  if (options_.security == security_mode::direct_tls) {
    begin_tls();
    return;
  }
  open_stream();
}

void xmpp_connection::begin_tls() {
  tls_ = SSL_new(tls_context_);
  if (tls_ == nullptr) {
    fail("tls:ssl-new");
    return;
  }
  SSL_set_fd(tls_, fd_);
  SSL_set_tlsext_host_name(tls_, options_.domain.c_str());
  SSL_set_connect_state(tls_);
  phase_ = phase::tls_handshake;
  continue_handshake();
}

void xmpp_connection::continue_handshake() {
  int result = SSL_do_handshake(tls_);
  if (result == 1) {
    tls_wants_write_ = false;
    reset_parser();
    open_stream();
    return;
  }
  int error = SSL_get_error(tls_, result);
  if (error == SSL_ERROR_WANT_READ) {
    tls_wants_write_ = false;
    return;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    tls_wants_write_ = true;
    return;
  }
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  fail(std::string("tls-handshake:") + (reason != nullptr ? reason : "closed"));
}

void xmpp_connection::send(std::string_view data) {
  output_.append(data);
  flush();
}

void xmpp_connection::send_stanza(std::string_view stanza) {
  if (status_ == status::established && fd_ >= 0)
    send(stanza);
}

void xmpp_connection::flush() {
  while (!output_.empty() && fd_ >= 0) {
    if (tls_ != nullptr) {
      int written = SSL_write(tls_, output_.data(), static_cast<int>(output_.size()));
      if (written > 0) {
        output_.erase(0, static_cast<size_t>(written));
        tls_wants_write_ = false;
        continue;
      }
      int error = SSL_get_error(tls_, written);
      if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
        tls_wants_write_ = error == SSL_ERROR_WANT_WRITE;
        return;
      }
      ERR_clear_error();
      fail(std::string("closed:write:") + phase_name(phase_));
      return;
    }
    ssize_t written = ::send(fd_, output_.data(), output_.size(), MSG_NOSIGNAL);
    if (written > 0) {
      output_.erase(0, static_cast<size_t>(written));
      continue;
    }
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (written < 0 && errno == EINTR)
      continue;
    fail(std::string("closed:write:") + phase_name(phase_));
    return;
  }
  if (output_.capacity() > 4096)
    output_.shrink_to_fit();
}

void xmpp_connection::read_available() {
  char buffer[16384];
  // Bounded so one busy connection cannot starve the others.
  for (int round = 0; round < 64 && fd_ >= 0; ++round) {
    // After <proceed/> the handshake is driven by continue_handshake().
    if (phase_ == phase::tls_handshake)
      return;
    if (tls_ != nullptr) {
      int got = SSL_read(tls_, buffer, sizeof buffer);
      if (got > 0) {
        feed(buffer, static_cast<size_t>(got));
        continue;
      }
      int error = SSL_get_error(tls_, got);
      if (error == SSL_ERROR_WANT_READ)
        return;
      if (error == SSL_ERROR_WANT_WRITE) {
        tls_wants_write_ = true;
        return;
      }
      ERR_clear_error();
      fail(std::string("closed:") + phase_name(phase_));
      return;
    }
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got > 0) {
      feed(buffer, static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (got < 0 && errno == EINTR)
      continue;
    fail(std::string("closed:") + phase_name(phase_));
    return;
  }
}

// -- XML ---------------------------------------------------------------------

void xmpp_connection::reset_parser() {
  XML_Parser parser = XML_ParserCreateNS(nullptr, '|');
  XML_SetUserData(parser, this);
  XML_SetElementHandler(parser, &xmpp_connection::on_start, &xmpp_connection::on_end);
  XML_SetCharacterDataHandler(parser, &xmpp_connection::on_text);
  parser_.reset(parser);
  bytes_fed_ = 0;
  depth_ = 0;
  open_elements_.clear();
  restart_pending_ = false;
}

void xmpp_connection::feed(const char* data, size_t size) {
  while (size > 0 && status_ != status::failed && parser_) {
    auto parser = static_cast<XML_Parser>(parser_.get());
    uint64_t fed_before = bytes_fed_;
    bytes_fed_ += size;
    if (XML_Parse(parser, data, static_cast<int>(size), XML_FALSE) == XML_STATUS_OK)
      return;
    if (status_ == status::failed)
      return;
    if (!restart_pending_) {
      fail(std::string("xml-error:") + XML_ErrorString(XML_GetErrorCode(parser)));
      return;
    }

    // The element that ended the old stream was parsed: start a new parser
    // and give it the bytes that followed (pipelined stream header).
    size_t used = static_cast<size_t>(restart_offset_ - fed_before);
    data += used;
    size -= used;
    reset_parser();
    if (phase_ == phase::tls_handshake) {
      // RFC 6120 5.4.3.3: no plaintext may follow <proceed/>.
      if (size != 0)
        fail("starttls:data-after-proceed");
      else
        continue_handshake();
      return;
    }
  }
}

void xmpp_connection::on_start(void* self_ptr, const char* name, const char** attributes) {
  auto* self = static_cast<xmpp_connection*>(self_ptr);
  ++self->depth_;
  if (self->depth_ == 1) {
    if (std::string_view(name) != qualified(ns_stream, "stream"))
      self->fail("unexpected-stream-root");
    return;
  }
  xml_node node;
  node.name = name;
  for (int i = 0; attributes[i] != nullptr; i += 2)
    node.attributes.emplace_back(attributes[i], attributes[i + 1]);
  self->open_elements_.push_back(std::move(node));
}

void xmpp_connection::on_end(void* self_ptr, const char*) {
  auto* self = static_cast<xmpp_connection*>(self_ptr);
  auto parser = static_cast<XML_Parser>(self->parser_.get());
  --self->depth_;
  if (self->depth_ == 0) {
    self->fail(std::string("closed-by-server:") + phase_name(self->phase_));
    XML_StopParser(parser, XML_FALSE);
    return;
  }
  xml_node node = std::move(self->open_elements_.back());
  self->open_elements_.pop_back();
  if (!self->open_elements_.empty()) {
    self->open_elements_.back().children.push_back(std::move(node));
    return;
  }
  self->handle_element(node);
  if (self->status_ == status::failed) {
    XML_StopParser(parser, XML_FALSE);
    return;
  }
  if (self->restart_pending_) {
    self->restart_offset_ = static_cast<uint64_t>(XML_GetCurrentByteIndex(parser))
                            + static_cast<uint64_t>(XML_GetCurrentByteCount(parser));
    XML_StopParser(parser, XML_FALSE);
  }
}

void xmpp_connection::on_text(void* self_ptr, const char* text, int length) {
  auto* self = static_cast<xmpp_connection*>(self_ptr);
  if (!self->open_elements_.empty())
    self->open_elements_.back().text.append(text, static_cast<size_t>(length));
}

// -- XMPP state machine --------------------------------------------------------

void xmpp_connection::open_stream() {
  if (!parser_)
    reset_parser();
  std::string header = "<?xml version='1.0'?><stream:stream to='" + escape_xml(options_.domain)
                       + "' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
                         " version='1.0'>";
  bool tls_done = options_.security == security_mode::plain || tls_ != nullptr;
  if (authenticated_) {
    phase_ = phase::wait_features_bind;
    if (!pipelined_)
      send(header);
    return;
  }
  if (!tls_done) {
    phase_ = phase::wait_features_starttls;
    send(header);
    return;
  }
  phase_ = phase::wait_features_auth;

  // Pipelining (PLAIN only): everything up to the bind request in one write.
  if (options_.pipeline && options_.goal == connection_goal::login
      && options_.mechanism == sasl_mechanism::plain) {
    pipelined_ = true;
    std::string batch = header;
    std::string credentials = std::string(1, '\0') + username_ + '\0' + password_;
    batch += "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
             + base64_encode(credentials) + "</auth>";
    batch += header;
    batch += "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
             + escape_xml(options_.resource) + "</resource></bind></iq>";
    send(batch);
    return;
  }
  send(header);
}

void xmpp_connection::handle_element(const xml_node& element) {
  if (element.name == qualified(ns_stream, "error")) {
    std::string condition = element.condition(ns_streams_error);
    fail("stream-error:" + (condition.empty() ? std::string("unknown") : condition));
    return;
  }
  if (element.name == qualified(ns_stream, "features")) {
    handle_features(element);
    return;
  }

  switch (phase_) {
    case phase::wait_proceed:
      if (element.name == qualified(ns_tls, "proceed")) {
        phase_ = phase::tls_handshake;
        restart_pending_ = true;
        // The handshake starts in feed() once the parser has stopped.
        tls_ = SSL_new(tls_context_);
        if (tls_ == nullptr) {
          fail("tls:ssl-new");
          return;
        }
        SSL_set_fd(tls_, fd_);
        SSL_set_tlsext_host_name(tls_, options_.domain.c_str());
        SSL_set_connect_state(tls_);
        return;
      }
      fail("starttls-rejected:" + local_name(element.name));
      return;

    case phase::wait_sasl:
      if (element.name == qualified(ns_sasl, "challenge") && scram_) {
        auto server_first = base64_decode(element.text);
        auto response = server_first ? scram_->final_message(*server_first) : std::nullopt;
        if (!response) {
          fail("scram:invalid-server-first-message");
          return;
        }
        send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64_encode(*response)
             + "</response>");
        return;
      }
      if (element.name == qualified(ns_sasl, "success")) {
        if (scram_) {
          auto server_final = base64_decode(element.text);
          if (!server_final || !scram_->verify_server_final(*server_final)) {
            fail("scram:server-signature-mismatch");
            return;
          }
          scram_.reset();
        }
        on_authenticated();
        return;
      }
      if (element.name == qualified(ns_sasl, "failure")) {
        std::string condition = element.condition(ns_sasl);
        fail("sasl-failure:" + (condition.empty() ? std::string("unknown") : condition));
        return;
      }
      break;

    case phase::wait_register_result:
    case phase::wait_bind:
    case phase::wait_session: {
      if (element.name != qualified(ns_client, "iq"))
        break;
      std::string_view expected_id = phase_ == phase::wait_bind           ? "bind1"
                                     : phase_ == phase::wait_session      ? "sess1"
                                                                          : "reg1";
      if (element.attribute("id") != expected_id)
        break;
      std::string_view type = element.attribute("type");
      if (type == "error") {
        const xml_node* error = element.child(qualified(ns_client, "error"));
        std::string condition = error != nullptr ? error->condition(ns_stanzas) : "";
        if (phase_ == phase::wait_register_result && condition == "conflict") {
          account_existed_ = true;
          finish(status::registered);
          return;
        }
        fail(std::string(phase_name(phase_)) + "-error:" + (condition.empty() ? "unknown" : condition));
        return;
      }
      if (type != "result")
        break;
      if (phase_ == phase::wait_register_result) {
        finish(status::registered);
        return;
      }
      if (phase_ == phase::wait_bind) {
        // RFC 6120 7.6.1: the result carries the full JID that was bound.
        const xml_node* bind = element.child(qualified(ns_bind, "bind"));
        const xml_node* jid = bind != nullptr ? bind->child(qualified(ns_bind, "jid")) : nullptr;
        if (jid == nullptr || jid->text.find('/') == std::string::npos) {
          fail("bind-result-without-jid");
          return;
        }
        bound_jid_ = jid->text;
        if (session_required_) {
          phase_ = phase::wait_session;
          send("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
          return;
        }
      }
      on_bound();
      return;
    }

    case phase::established:
      // Without a handler (hold-idle) presence echoes, pushes and the like
      // are ignored.
      if (stanza_handler_)
        stanza_handler_(element);
      return;

    default:
      break;
  }
  fail(std::string("unexpected:") + phase_name(phase_) + ":" + local_name(element.name));
}

void xmpp_connection::handle_features(const xml_node& features) {
  switch (phase_) {
    case phase::wait_features_starttls:
      if (features.child(qualified(ns_tls, "starttls")) == nullptr) {
        fail("starttls-not-offered");
        return;
      }
      phase_ = phase::wait_proceed;
      send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      return;

    case phase::wait_features_auth: {
      if (options_.goal == connection_goal::register_account) {
        // XEP-0077 3.1: a set with username and password creates the account.
        phase_ = phase::wait_register_result;
        send("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>"
             + escape_xml(username_) + "</username><password>" + escape_xml(password_)
             + "</password></query></iq>");
        return;
      }
      const xml_node* mechanisms = features.child(qualified(ns_sasl, "mechanisms"));
      bool offered = false;
      if (mechanisms != nullptr)
        for (const auto& m : mechanisms->children)
          offered = offered || m.text == mechanism_name(options_.mechanism);
      if (!offered) {
        fail(std::string("mechanism-not-offered:") + mechanism_name(options_.mechanism));
        return;
      }
      phase_ = phase::wait_sasl;
      if (!pipelined_)
        send_auth();
      return;
    }

    case phase::wait_features_bind: {
      if (features.child(qualified(ns_bind, "bind")) == nullptr) {
        fail("bind-not-offered");
        return;
      }
      // RFC 3921 3 session establishment, still required by servers that
      // advertise <session/> without <optional/> (RFC 6121 Appendix E).
      const xml_node* session = features.child(qualified(ns_session, "session"));
      session_required_ =
        session != nullptr && session->child(qualified(ns_session, "optional")) == nullptr;
      phase_ = phase::wait_bind;
      if (!pipelined_)
        send_bind();
      return;
    }

    default:
      fail(std::string("unexpected:") + phase_name(phase_) + ":features");
  }
}

void xmpp_connection::send_auth() {
  if (options_.mechanism == sasl_mechanism::plain) {
    // RFC 4616: authzid (empty) NUL authcid NUL password.
    std::string credentials = std::string(1, '\0') + username_ + '\0' + password_;
    send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
         + base64_encode(credentials) + "</auth>");
    return;
  }
  auto hash = options_.mechanism == sasl_mechanism::scram_sha1 ? scram_hash::sha1 : scram_hash::sha256;
  scram_ = std::make_unique<scram_client>(hash, username_, password_);
  send(std::string("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='")
       + mechanism_name(options_.mechanism) + "'>" + base64_encode(scram_->first_message())
       + "</auth>");
}

void xmpp_connection::send_bind() {
  send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
       + escape_xml(options_.resource) + "</resource></bind></iq>");
}

void xmpp_connection::on_authenticated() {
  // RFC 6120 6.4.6: after <success/> both sides restart the stream.
  authenticated_ = true;
  restart_pending_ = true;
  open_stream();
}

void xmpp_connection::on_bound() {
  phase_ = phase::established;
  if (options_.send_presence)
    send("<presence/>");
  finish(status::established);
}

} // namespace starling::loadgen
