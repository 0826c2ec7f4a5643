// The user session actor: one per bound resource (RFC 6120 7). It holds
// what belongs to that resource (presence availability and priority for
// routing) and routes the stanzas its connection hands over. It ends with
// its connection and removes its binding from the session table; a crash
// of it ends only its own connection's stream.
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

#include "protocol/jid/jid.hpp"

namespace starling::actors {

struct server_context;

/// Spawns the session of `full` (a full JID) for `connection`, which it
/// monitors. The caller registers it in the session table.
caf::actor spawn_session(caf::actor_system& system, std::shared_ptr<server_context> context,
                         jid::jid full, caf::actor connection);

} // namespace starling::actors
