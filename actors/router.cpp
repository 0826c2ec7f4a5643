#include "actors/router.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <functional>

#include "actors/account_services.hpp"
#include "actors/messages.hpp"
#include "actors/offline.hpp"
#include "actors/presence.hpp"
#include "actors/server_context.hpp"
#include "actors/server_iq.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/stanza_error.hpp"

namespace starling::actors {

namespace {

enum class stanza_kind { message, presence, iq };
enum class addressing { none, server, own_bare, local_bare, local_full, remote };

constexpr std::size_t kind_count = 3;
constexpr std::size_t addressing_count = 6;

struct routed {
  session_actor* self;
  xml::element& stanza;
  const std::optional<jid::jid>& to;
};

using route_handler = void (*)(routed&);

void deliver(session_actor* self, const caf::actor& session, xml::element stanza) {
  self->send(session, route_atom::value, std::move(stanza));
}

void bounce(routed& r, xml::stanza_error_condition condition) {
  // RFC 6120 8.3.1: never answer an error with an error, and 8.2.3: an iq
  // result gets no reply either.
  if (xml::is_error_stanza(r.stanza)
      || (r.stanza.name() == "iq" && r.stanza.attr("type") == "result"))
    return;
  r.self->send(r.self->state.connection, deliver_atom::value,
               xml::make_error_reply(r.stanza, condition));
}

std::string_view message_type(const xml::element& stanza) {
  return stanza.attr("type").value_or("normal");
}

bool account_exists(routed& r, const std::string& local) {
  auto found = r.self->state.ctx->accounts->exists(local);
  if (!found) {
    spdlog::warn("session {}: account lookup of '{}' failed: {}", r.self->state.full, local,
                 found.error().message());
    return false;
  }
  return *found;
}

// RFC 6121 8.5.2: a message to a bare JID of a local account.
void message_to_bare(routed& r) {
  auto type = message_type(r.stanza);
  if (type == "error")
    return;
  auto bare = r.to->bare_string();
  if (!account_exists(r, r.to->local())) {
    // RFC 6121 8.5.1: no such account.
    if (type != "headline")
      bounce(r, xml::stanza_error_condition::service_unavailable);
    return;
  }
  if (type == "groupchat") {
    // RFC 6121 8.5.2.1.3: groupchat to a bare JID of a user.
    bounce(r, xml::stanza_error_condition::service_unavailable);
    return;
  }

  // Resources with non-negative priority are eligible (RFC 6121 8.5.2.1);
  // chat and normal go to those of the highest priority, headline to all.
  auto entries = r.self->state.ctx->sessions.resources(bare);
  std::erase_if(entries, [](const resource_entry& e) { return !e.available || e.priority < 0; });
  if (entries.empty()) {
    // RFC 6121 8.5.2.2: headline is dropped; chat and normal are stored
    // (XEP-0160), except chat state notifications alone (XEP-0160 3).
    if (type == "headline" || is_chat_state_only(r.stanza))
      return;
    store_offline(r.self, r.to->local(), std::move(r.stanza));
    return;
  }
  if (type != "headline") {
    auto top = std::max_element(entries.begin(), entries.end(), [](auto& a, auto& b) {
                 return a.priority < b.priority;
               })->priority;
    std::erase_if(entries, [top](const resource_entry& e) { return e.priority != top; });
  }
  for (auto& entry : entries)
    deliver(r.self, entry.session, r.stanza);
}

// RFC 6121 8.5.3: a message to a full JID of a local account.
void message_to_full(routed& r) {
  auto entry = r.self->state.ctx->sessions.find(r.to->bare_string(), r.to->resource());
  if (entry) {
    deliver(r.self, entry->session, std::move(r.stanza));
    return;
  }
  // RFC 6121 8.5.3.2.1: no such resource, so treat it as the bare JID,
  // except groupchat, which gets an error, and errors, which are dropped.
  auto type = message_type(r.stanza);
  if (type == "error")
    return;
  if (type == "groupchat") {
    bounce(r, xml::stanza_error_condition::service_unavailable);
    return;
  }
  message_to_bare(r);
}

void message_to_server(routed& r) {
  // RFC 6120 10.4.1: the server has no use for messages addressed to it.
  if (message_type(r.stanza) != "error" && message_type(r.stanza) != "headline")
    bounce(r, xml::stanza_error_condition::service_unavailable);
}

void message_to_self_bare(routed& r) {
  message_to_bare(r);
}

void message_without_to(routed& r) {
  // RFC 6120 10.3.1: a message without `to` goes to the sender's bare JID.
  auto own = jid::jid::parse(r.self->state.bare);
  routed own_routed{r.self, r.stanza, own};
  message_to_bare(own_routed);
}

void to_remote(routed& r) {
  // No federation yet: every other domain is unreachable (RFC 6120 8.3.3.16).
  bounce(r, xml::stanza_error_condition::remote_server_not_found);
}

void iq_to_server(routed& r) {
  handle_server_iq(r.self, std::move(r.stanza));
}

void iq_to_full(routed& r) {
  auto entry = r.self->state.ctx->sessions.find(r.to->bare_string(), r.to->resource());
  if (entry) {
    deliver(r.self, entry->session, std::move(r.stanza));
    return;
  }
  // RFC 6121 8.5.3.2.2: no such resource.
  bounce(r, xml::stanza_error_condition::service_unavailable);
}

void iq_to_other_bare(routed& r) {
  // RFC 6120 10.5.3.1: the server answers for the account.
  handle_account_iq(r.self, std::move(r.stanza), r.to->bare_string());
}

void presence_broadcast(routed& r) {
  handle_presence_broadcast(r.self, std::move(r.stanza));
}

void presence_addressed(routed& r) {
  handle_addressed_presence(r.self, std::move(r.stanza), *r.to);
}

void ignore(routed&) {
}

// The routing table: one handler per stanza kind and addressing.
constexpr std::array<std::array<route_handler, addressing_count>, kind_count> routes{{
  // none, server, own_bare, local_bare, local_full, remote
  {message_without_to, message_to_server, message_to_self_bare, message_to_bare, message_to_full, to_remote},
  {presence_broadcast, ignore, presence_addressed, presence_addressed, presence_addressed, to_remote},
  {iq_to_server, iq_to_server, iq_to_server, iq_to_other_bare, iq_to_full, to_remote},
}};

stanza_kind kind_of(const xml::element& stanza) {
  if (stanza.name() == "message")
    return stanza_kind::message;
  if (stanza.name() == "presence")
    return stanza_kind::presence;
  return stanza_kind::iq;
}

addressing addressing_of(const session_state& st, const std::optional<jid::jid>& to) {
  if (!to)
    return addressing::none;
  if (!st.ctx->is_local_domain(to->domain()))
    return addressing::remote;
  if (to->local().empty())
    return addressing::server; // a domain JID, with or without resource
  if (to->bare_string() == st.bare)
    return to->is_bare() ? addressing::own_bare : addressing::local_full;
  return to->is_bare() ? addressing::local_bare : addressing::local_full;
}

// XEP-0191 3.5: a user cannot send to a JID they blocked.
bool blocked_outbound(session_actor* self, const xml::element& stanza, stanza_kind kind,
                      addressing address, const std::optional<jid::jid>& to) {
  auto& st = self->state;
  if (!to || address == addressing::server || address == addressing::own_bare
      || !st.ctx->is_blocked(st.bare, to->full()))
    return false;
  if (kind != stanza_kind::presence && !xml::is_error_stanza(stanza)) {
    auto error = xml::make_error_reply(stanza, xml::stanza_error_condition::not_acceptable);
    if (auto detail = error.child("error", xml::ns::client))
      detail->add_child({"blocked", "urn:xmpp:blocking:errors"});
    self->send(st.connection, deliver_atom::value, std::move(error));
  }
  return true;
}

// XEP-0191 3.4: a local recipient who blocked the sender gets nothing;
// messages and requests are answered as if the user did not exist.
bool blocked_inbound(session_actor* self, const xml::element& stanza, stanza_kind kind,
                     addressing address, const std::optional<jid::jid>& to) {
  auto& st = self->state;
  if (address != addressing::local_bare && address != addressing::local_full)
    return false;
  if (to->bare_string() == st.bare || !st.ctx->is_blocked(to->bare_string(), st.full))
    return false;
  auto type = stanza.attr("type").value_or("");
  bool answer = (kind == stanza_kind::message && type != "error" && type != "groupchat"
                 && type != "headline")
                || (kind == stanza_kind::iq && (type == "get" || type == "set"));
  if (answer)
    self->send(st.connection, deliver_atom::value,
               xml::make_error_reply(stanza, xml::stanza_error_condition::service_unavailable));
  return true;
}

} // namespace

void route_from_client(session_actor* self, xml::element stanza) {
  std::optional<jid::jid> to;
  if (auto text = stanza.attr("to"))
    to = jid::jid::parse(*text);
  auto kind = kind_of(stanza);
  auto address = addressing_of(self->state, to);
  if (blocked_outbound(self, stanza, kind, address, to)
      || blocked_inbound(self, stanza, kind, address, to))
    return;
  routed r{self, stanza, to};
  routes[static_cast<std::size_t>(kind)][static_cast<std::size_t>(address)](r);
}

} // namespace starling::actors
