// The iq queries the server answers itself: those addressed to the domain,
// to the sender's own bare JID, or without `to` (RFC 6120 10.3.3). Each
// payload namespace maps to one handler; an unknown namespace gets
// <service-unavailable/> (RFC 6120 8.4).
#pragma once

#include "actors/session_state.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

/// Replies to `iq` on behalf of the server through the session's
/// connection. Results and errors addressed to the server are dropped.
void handle_server_iq(session_actor* self, xml::element iq);

} // namespace starling::actors
