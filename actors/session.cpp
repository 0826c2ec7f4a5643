#include "actors/session.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "actors/presence.hpp"
#include "actors/roster_service.hpp"
#include "actors/router.hpp"
#include "actors/server_context.hpp"
#include "actors/session_state.hpp"

namespace starling::actors {

session_state::~session_state() {
  // Runs when the actor ends for any reason, crashes included, so the
  // table never keeps a dead binding. unbind checks the handle, so a
  // session replaced by a newer login does not remove its successor.
  if (ctx && connection)
    spdlog::debug("session {}: ended", full);
}

namespace {

caf::behavior session_behavior(session_actor* self, std::shared_ptr<server_context> context,
                               jid::jid full, caf::actor connection) {
  auto& st = self->state;
  st.ctx = std::move(context);
  st.bare = full.bare_string();
  st.full = full.full();
  st.local = full.local();
  st.domain = full.domain();
  st.resource = full.resource();
  st.connection = connection;
  self->monitor(connection);

  // Runs when the actor ends for any reason, crashes included: everyone
  // who saw this resource available learns that it is gone.
  auto me = caf::actor_cast<caf::actor>(self);
  self->attach_functor([ctx = st.ctx, bare = st.bare, full = st.full, resource = st.resource,
                        presence = st.presence, me] {
    ctx->sessions.unbind(bare, resource, me);
    broadcast_final_unavailable(ctx, full, bare, *presence);
  });

  self->set_down_handler([self](const caf::down_msg& msg) {
    if (msg.source == self->state.connection.address())
      self->quit();
  });

  return {
    [self](stanza_atom, xml::element& stanza) {
      route_from_client(self, std::move(stanza));
    },
    [self](route_atom, xml::element& stanza) {
      self->send(self->state.connection, deliver_atom::value, std::move(stanza));
    },
    [self](close_atom, xml::stream_error_condition condition) {
      self->send(self->state.connection, close_atom::value, condition);
    },
    [self](roster_push_atom, xml::element& item, std::uint64_t version) {
      // RFC 6121 2.1.6: only resources that requested the roster get pushes.
      auto& st = self->state;
      if (!st.roster_requested)
        return;
      xml::element push{"iq", "jabber:client"};
      push.set_attr("type", "set");
      push.set_attr("id", "push-" + std::to_string(++st.pushes));
      push.set_attr("to", st.full);
      auto& query = push.add_child({"query", std::string{roster_ns}});
      query.set_attr("ver", std::to_string(version));
      query.add_child(std::move(item));
      self->send(st.connection, deliver_atom::value, std::move(push));
    },
    [self](block_push_atom, xml::element& payload) {
      auto& st = self->state;
      if (!st.blocklist_requested)
        return;
      xml::element push{"iq", "jabber:client"};
      push.set_attr("type", "set");
      push.set_attr("id", "push-" + std::to_string(++st.pushes));
      push.set_attr("to", st.full);
      push.add_child(std::move(payload));
      self->send(st.connection, deliver_atom::value, std::move(push));
    },
    [self](present_to_atom, const std::string& watcher, bool available) {
      present_to(self, watcher, available);
    },
    [self](probe_atom, const std::string& requester) {
      present_to(self, requester, true);
    },
  };
}

} // namespace

caf::actor spawn_session(caf::actor_system& system, std::shared_ptr<server_context> context,
                         jid::jid full, caf::actor connection) {
  return system.spawn(session_behavior, std::move(context), std::move(full),
                      std::move(connection));
}

} // namespace starling::actors
