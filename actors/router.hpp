// Routing of stanzas that a client sent (RFC 6120 10, RFC 6121 8.5): to the
// server itself, to sessions of local users, or back to the sender as an
// error. Runs inside the sending session actor and reads the session table
// directly, so routing never waits in a shared mailbox.
#pragma once

#include "actors/session_state.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

/// Routes a stanza whose `from` the connection has already stamped with
/// the sender's full JID and whose `to`, when present, is normalised.
void route_from_client(session_actor* self, xml::element stanza);

} // namespace starling::actors
