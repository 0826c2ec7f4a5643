// The c2s connection after authentication: resource binding (RFC 6120 7),
// the established stream that hands stanzas to the session actor (RFC 6120
// 8.1.2), and the account writes that XEP-0077 registration needs.

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/c2s_connection_state.hpp"
#include "actors/messages.hpp"
#include "actors/server_context.hpp"
#include "actors/session.hpp"
#include "actors/workers.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/sasl/scram_crypto.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/serializer.hpp"
#include "supervisor/supervisor.hpp"

namespace starling::actors {

namespace {

bool is_stanza(const xml::element& element) {
  if (element.xmlns() != xml::ns::client)
    return false;
  auto& name = element.name();
  return name == "message" || name == "presence" || name == "iq";
}

xml::element iq_result(const xml::element& request) {
  xml::element reply{"iq", std::string{xml::ns::client}};
  reply.set_attr("type", "result");
  if (auto request_id = request.attr("id"))
    reply.set_attr("id", std::string{*request_id});
  return reply;
}

// RFC 6120 8.2.3: an iq has an id, a known type, and get/set carry exactly
// one payload element.
bool is_valid_iq(const xml::element& iq) {
  auto type = iq.attr("type");
  if (!iq.attr("id") || !type)
    return false;
  if (*type == "get" || *type == "set")
    return iq.child_elements().size() == 1;
  return *type == "result" || *type == "error";
}

} // namespace

void c2s_connection::wait_for_bind(xml::element&& element) {
  if (!is_stanza(element)) {
    close_stream(xml::stream_error_condition::unsupported_stanza_type);
    return;
  }
  if (element.name() == "iq" && element.attr("type") == "set"
      && element.child("bind", xml::ns::bind)) {
    handle_bind(element);
    return;
  }
  // RFC 6120 7.1: stanzas before binding are not processed.
  close_stream(xml::stream_error_condition::not_authorized, "bind a resource first");
}

void c2s_connection::handle_bind(const xml::element& iq) {
  auto bind = iq.child("bind", xml::ns::bind);
  std::string resource;
  if (auto requested = bind->child("resource", xml::ns::bind)) {
    auto text = requested->text();
    if (!text.empty()) {
      auto prepared = jid::resourceprep(text);
      if (!prepared || prepared->empty()) {
        // RFC 6120 7.7.2.1: a resource that violates Resourceprep.
        reply_error(iq, xml::stanza_error_condition::bad_request);
        return;
      }
      resource = std::move(*prepared);
    }
  }
  if (resource.empty())
    resource = "starling-" + sasl::base64_encode(sasl::random_bytes(9));
  complete_bind(iq, std::move(resource));
}

void c2s_connection::complete_bind(const xml::element& iq, std::string resource) {
  auto bound = jid::jid::parse(username + "@" + host + "/" + resource);
  if (!bound) {
    reply_error(iq, xml::stanza_error_condition::bad_request);
    return;
  }
  auto bare = bound->bare_string();
  auto me = caf::actor_cast<caf::actor>(self);
  auto new_session = spawn_session(self->home_system(), ctx, *bound, me);
  bool replace = ctx->config.c2s.resource_conflict == app::conflict_policy::replace;
  auto result = ctx->sessions.bind(bare, bound->resource(), new_session, replace);

  if (result.outcome == bind_outcome::rejected) {
    // RFC 6120 7.7.2.2: the policy keeps the existing session.
    self->send_exit(new_session, caf::exit_reason::user_shutdown);
    reply_error(iq, xml::stanza_error_condition::conflict);
    return;
  }
  if (result.outcome == bind_outcome::replaced)
    self->send(result.previous, close_atom::value, xml::stream_error_condition::conflict);

  session = new_session;
  self->monitor(session);
  // The sessions supervisor ends sessions in order at shutdown. Without it
  // (during its restart) the session still ends with this connection.
  if (auto supervisor = ctx->sessions_supervisor())
    supervisor::adopt_child(self, supervisor, caf::infinite, new_session)
      .then([](caf::ok_atom) {}, [](const caf::error&) {});
  full_jid = bound->full();
  bare_jid = bare;
  this->resource = bound->resource();
  state = stream_state::established;
  ++timer_generation; // cancels the authentication timeout
  // XEP-0199: the idle sweeper pings the client after ping_interval_s of
  // silence (idle_sweeper.hpp).
  if (ctx->config.c2s.ping_interval_s > 0)
    ctx->quiet_streams.touch(*this, std::chrono::steady_clock::now());
  spdlog::info("c2s#{} {}: bound {}", id, peer, full_jid);

  auto reply = iq_result(iq);
  reply.add_child({"bind", std::string{xml::ns::bind}})
    .add_child({"jid", std::string{xml::ns::bind}})
    .add_text(full_jid);
  send(reply);
}

void c2s_connection::established(xml::element&& element) {
  if (!is_stanza(element)) {
    close_stream(xml::stream_error_condition::unsupported_stanza_type);
    return;
  }

  // RFC 6120 8.1.2.1: the server stamps the full JID on every stanza and
  // ends the stream when the client claims another address.
  if (auto claimed = element.attr("from")) {
    auto parsed = jid::jid::parse(*claimed);
    if (!parsed || (parsed->full() != full_jid && parsed->full() != bare_jid)) {
      close_stream(xml::stream_error_condition::invalid_from);
      return;
    }
  }
  element.set_attr("from", full_jid);

  if (auto to = element.attr("to")) {
    auto parsed = jid::jid::parse(*to);
    if (!parsed) {
      reply_error(element, xml::stanza_error_condition::jid_malformed);
      return;
    }
    element.set_attr("to", parsed->full());
  }
  if (element.name() == "iq" && !is_valid_iq(element)) {
    reply_error(element, xml::stanza_error_condition::bad_request);
    return;
  }
  self->send(session, stanza_atom::value, std::move(element));
}

void c2s_connection::register_account(const xml::element& iq, std::string user,
                                      std::string password) {
  // Deriving three SCRAM key sets takes milliseconds: a worker does it, and
  // the reply waits for the commit, so "registered" means "on disk".
  set_busy(true);
  auto accounts = ctx->accounts;
  auto request = iq;
  run_in_worker(self, [accounts, user, password]() {
    return accounts->make_register(user, password);
  }, [this, request, user](store::expected<store::write_batch>& batch) {
    if (!batch) {
      spdlog::warn("c2s#{} {}: registration of '{}' failed: {}", id, peer, user,
                   batch.error().message());
      reply_error(request, xml::stanza_error_condition::internal_server_error);
      set_busy(false);
      return;
    }
    self->request(ctx->writer(), store_request_timeout, std::move(*batch))
      .then([this, request, user](const store::status& status) {
        if (status.ok()) {
          spdlog::info("c2s#{} {}: registered account {}@{}", id, peer, user, host);
          send(iq_result(request));
        } else if (status.code() == store::errc::already_exists) {
          reply_error(request, xml::stanza_error_condition::conflict);
        } else {
          spdlog::warn("c2s#{} {}: registration of '{}' failed: {}", id, peer, user,
                       status.message());
          reply_error(request, xml::stanza_error_condition::internal_server_error);
        }
        set_busy(false);
      }, [this, request](const caf::error& error) {
        spdlog::warn("c2s#{} {}: writer failed during registration: {}", id, peer,
                     caf::to_string(error));
        reply_error(request, xml::stanza_error_condition::internal_server_error);
        set_busy(false);
      });
  }, [this, request](const caf::error& error) {
    spdlog::warn("c2s#{} {}: registration worker failed: {}", id, peer, caf::to_string(error));
    reply_error(request, xml::stanza_error_condition::internal_server_error);
    set_busy(false);
  });
}

} // namespace starling::actors
