#include "actors/session.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
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

  auto me = caf::actor_cast<caf::actor>(self);
  self->attach_functor([ctx = st.ctx, bare = st.bare, resource = st.resource, me] {
    ctx->sessions.unbind(bare, resource, me);
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
  };
}

} // namespace

caf::actor spawn_session(caf::actor_system& system, std::shared_ptr<server_context> context,
                         jid::jid full, caf::actor connection) {
  return system.spawn(session_behavior, std::move(context), std::move(full),
                      std::move(connection));
}

} // namespace starling::actors
