// Offline messages (XEP-0160, RFC 6121 8.5.2.2): a message for a user with
// no eligible resource is committed to the user's queue before anything
// else happens, and delivered with a XEP-0203 delay stamp when a resource
// with non-negative priority becomes available. A message leaves the queue
// only after the connection has written it to its socket. Runs inside
// session actors.
#pragma once

#include <string>

#include "actors/session_state.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

/// Whether `message` carries only chat state notifications (XEP-0085),
/// which are not worth storing (XEP-0160 3).
bool is_chat_state_only(const xml::element& message);

/// Stores `message` for `user` (a localpart); on a full queue the sender
/// gets <resource-constraint/> and on a store failure
/// <internal-server-error/>.
void store_offline(session_actor* self, const std::string& user, xml::element message);

/// Delivers the queue of this session's user, oldest first, if the
/// session is available with priority 0 or more and no other session of
/// the user is delivering it already.
void deliver_offline(session_actor* self);

} // namespace starling::actors
