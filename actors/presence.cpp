#include "actors/presence.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "actors/account_services.hpp"
#include "actors/messages.hpp"
#include "actors/offline.hpp"
#include "actors/roster_service.hpp"
#include "actors/server_context.hpp"
#include "protocol/im/subscription.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/stanza_error.hpp"

namespace starling::actors {

namespace {

// RFC 6121 4.7.2.3: an integer from -128 to 127; anything else counts as 0.
int parse_priority(const xml::element& presence) {
  auto element = presence.child("priority", xml::ns::client);
  if (element == nullptr)
    return 0;
  auto text = element->text();
  if (text.empty() || text.size() > 4
      || text.find_first_not_of("-0123456789") != std::string::npos)
    return 0;
  try {
    return std::clamp(std::stoi(text), -128, 127);
  } catch (const std::exception&) {
    return 0;
  }
}

// XEP-0191: neither side of a block sees the other's presence.
bool blocked_either_way(server_context& ctx, const std::string& bare, const std::string& other) {
  auto other_bare = other.substr(0, other.find('/'));
  return ctx.is_blocked(bare, other) || ctx.is_blocked(other_bare, bare);
}

// Contacts that receive the user's presence: subscription from or both,
// except those blocked either way.
std::vector<std::string> presence_audience(server_context& ctx, const std::string& bare) {
  std::vector<std::string> out;
  auto roster = ctx.rosters->roster(bare);
  if (!roster) {
    spdlog::warn("session {}: roster read failed: {}", bare, roster.error().message());
    return out;
  }
  for (auto& item : roster->items)
    if (im::sends_presence(static_cast<im::subscription>(item.subscription))
        && !blocked_either_way(ctx, bare, item.contact))
      out.push_back(item.contact);
  return out;
}

// Contacts whose presence the user receives: subscription to or both.
std::vector<std::string> probe_targets(server_context& ctx, const std::string& bare) {
  std::vector<std::string> out;
  auto roster = ctx.rosters->roster(bare);
  if (!roster)
    return out;
  for (auto& item : roster->items)
    if (im::receives_presence(static_cast<im::subscription>(item.subscription))
        && !blocked_either_way(ctx, bare, item.contact))
      out.push_back(item.contact);
  return out;
}

// Sends `stanza` to every available resource of `target`: one resource for
// a full JID, all of them for a bare JID.
template <class Send>
void to_available_resources(server_context& ctx, const std::string& target, Send send) {
  auto parsed = jid::jid::parse(target);
  if (!parsed || !ctx.is_local_domain(parsed->domain()))
    return;
  if (!parsed->is_bare()) {
    auto entry = ctx.sessions.find(parsed->bare_string(), parsed->resource());
    if (entry && entry->available)
      send(entry->session);
    return;
  }
  for (auto& entry : ctx.sessions.resources(target))
    if (entry.available)
      send(entry.session);
}

xml::element addressed(const xml::element& presence, const std::string& from,
                       const std::string& to) {
  auto copy = presence;
  copy.set_attr("from", from);
  copy.set_attr("to", to);
  return copy;
}

xml::element unavailable_from(const std::string& from) {
  xml::element out{"presence", std::string{xml::ns::client}};
  out.set_attr("from", from);
  out.set_attr("type", "unavailable");
  return out;
}

// Delivers stored subscription requests again (RFC 6121 3.1.3), now that
// the user is available to answer them.
void redeliver_pending_requests(session_actor* self) {
  auto& st = self->state;
  auto pending = st.ctx->rosters->pending(st.bare);
  if (!pending) {
    spdlog::warn("session {}: reading pending requests failed: {}", st.full,
                 pending.error().message());
    return;
  }
  for (auto& request : *pending)
    self->send(st.connection, deliver_raw_atom::value, request.stanza);
}

} // namespace

void handle_presence_broadcast(session_actor* self, xml::element presence) {
  auto& st = self->state;
  auto& info = *st.presence;
  auto type = presence.attr("type").value_or("");
  if (!type.empty() && type != "unavailable")
    return; // RFC 6121 4.2.1: other types need a `to`; probes from clients are ignored

  presence.remove_attr("to");
  presence.set_attr("from", st.full);
  bool initial = !info.available && type.empty();

  if (type == "unavailable") {
    bool was_available = info.available;
    info.available = false;
    st.ctx->sessions.set_presence(st.bare, st.resource, false, info.priority);
    if (!was_available)
      return;
    auto status = presence.child("status", xml::ns::client);
    record_last_activity(st.ctx, st.bare, status ? status->text() : std::string{});
    // RFC 6121 4.5.2: to contacts, directed-presence targets and the
    // user's own resources, including this one.
    std::set<std::string> targets;
    for (auto& contact : presence_audience(*st.ctx, st.bare))
      targets.insert(contact);
    targets.insert(info.directed.begin(), info.directed.end());
    targets.insert(st.bare);
    for (auto& target : targets)
      to_available_resources(*st.ctx, target, [&](const caf::actor& session) {
        self->send(session, route_atom::value, addressed(presence, st.full, target));
      });
    // The sender's own session is no longer marked available.
    self->send(st.connection, deliver_atom::value, addressed(presence, st.full, st.bare));
    info.directed.clear();
    info.last.reset();
    return;
  }

  bool was_eligible = info.available && info.priority >= 0;
  info.priority = parse_priority(presence);
  info.available = true;
  info.last = presence;
  st.ctx->sessions.set_presence(st.bare, st.resource, true, info.priority);

  // RFC 6121 4.2.2 and 4.4.2: to contacts with subscription from/both and
  // to all of the user's available resources, this one included.
  for (auto& contact : presence_audience(*st.ctx, st.bare))
    to_available_resources(*st.ctx, contact, [&](const caf::actor& session) {
      self->send(session, route_atom::value, addressed(presence, st.full, contact));
    });
  to_available_resources(*st.ctx, st.bare, [&](const caf::actor& session) {
    self->send(session, route_atom::value, addressed(presence, st.full, st.bare));
  });
  // RFC 6121 8.5.2.2 and XEP-0160: stored messages go to the first
  // resource that can receive messages to the bare JID.
  if (!was_eligible && info.priority >= 0)
    deliver_offline(self);
  if (!initial)
    return;

  // RFC 6121 4.2.2: probe the contacts whose presence the user receives,
  // and show the user's other resources to this one.
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& contact : probe_targets(*st.ctx, st.bare))
    to_available_resources(*st.ctx, contact, [&](const caf::actor& session) {
      self->send(session, probe_atom::value, st.full);
    });
  for (auto& entry : st.ctx->sessions.resources(st.bare))
    if (entry.available && entry.session != me)
      self->send(entry.session, probe_atom::value, st.full);
  redeliver_pending_requests(self);
}

void handle_addressed_presence(session_actor* self, xml::element presence, const jid::jid& to) {
  auto& st = self->state;
  auto type = std::string{presence.attr("type").value_or("")};

  if (auto subscription = im::parse_subscription_type(type)) {
    auto service = st.ctx->roster_service();
    if (!service) {
      spdlog::warn("session {}: roster service unavailable, {} to {} dropped", st.full, type,
                   to.bare_string());
      return;
    }
    self->send(service, subscription_atom::value, st.bare, to.bare_string(), *subscription,
               std::move(presence));
    return;
  }
  if (type == "probe")
    return; // probes come from servers, never from clients (RFC 6121 4.3)
  if (type == "error") {
    // A client's presence error (for example, bouncing a directed presence)
    // goes to the addressee like any stanza, but changes no state.
    presence.set_attr("from", st.full);
    to_available_resources(*st.ctx, to.full(), [&](const caf::actor& session) {
      self->send(session, route_atom::value, presence);
    });
    return;
  }

  // RFC 6121 4.6: directed presence; remember who saw us available so they
  // get unavailable presence later.
  auto target = to.full();
  presence.set_attr("from", st.full);
  if (type.empty())
    st.presence->directed.insert(target);
  else
    st.presence->directed.erase(target);
  to_available_resources(*st.ctx, target, [&](const caf::actor& session) {
    self->send(session, route_atom::value, presence);
  });
}

void present_to(session_actor* self, const std::string& watcher, bool available) {
  auto& st = self->state;
  auto& info = *st.presence;
  if (!info.available)
    return;
  // A newly blocked contact still gets the unavailable presence that ends
  // what it saw (XEP-0191 3.3); nothing else crosses a block.
  if (available && blocked_either_way(*st.ctx, st.bare, watcher))
    return;
  auto stanza = available && info.last ? addressed(*info.last, st.full, watcher)
                                       : addressed(unavailable_from(st.full), st.full, watcher);
  to_available_resources(*st.ctx, watcher, [&](const caf::actor& session) {
    self->send(session, route_atom::value, stanza);
  });
}

void broadcast_final_unavailable(const std::shared_ptr<server_context>& ctx,
                                 const std::string& full, const std::string& bare,
                                 const presence_info& presence) {
  if (!presence.available)
    return;
  record_last_activity(ctx, bare, {});
  std::set<std::string> targets;
  for (auto& contact : presence_audience(*ctx, bare))
    targets.insert(contact);
  targets.insert(presence.directed.begin(), presence.directed.end());
  targets.insert(bare);
  for (auto& target : targets)
    to_available_resources(*ctx, target, [&](const caf::actor& session) {
      caf::anon_send(session, route_atom::value, addressed(unavailable_from(full), full, target));
    });
}

} // namespace starling::actors
