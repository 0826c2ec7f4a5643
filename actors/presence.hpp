// Presence of one session (RFC 6121 4): initial and updated presence
// broadcast to subscribed contacts and the user's own resources, probes,
// directed presence, and unavailable presence to everyone who saw the
// session available, also when the session ends without saying so.
// Subscription stanzas (RFC 6121 3) go on to the roster service.
// Everything here runs inside the session actor, except
// broadcast_final_unavailable, which runs after it ended.
#pragma once

#include <memory>
#include <string>

#include "actors/session_state.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

/// Handles presence without `to` from the client (RFC 6121 4.2 and 4.4).
void handle_presence_broadcast(session_actor* self, xml::element presence);

/// Handles presence with a `to` on a local domain: subscription types go
/// to the roster service, available and unavailable are directed presence
/// (RFC 6121 4.6), probes from clients are ignored.
void handle_addressed_presence(session_actor* self, xml::element presence, const jid::jid& to);

/// Sends this session's current presence, or unavailable presence, to the
/// available resources of `watcher` (a bare or full JID).
void present_to(session_actor* self, const std::string& watcher, bool available);

/// Broadcasts unavailable presence for a session that ended while
/// available. Safe after the actor is gone: it uses only its arguments.
void broadcast_final_unavailable(const std::shared_ptr<server_context>& ctx,
                                 const std::string& full, const std::string& bare,
                                 const presence_info& presence);

} // namespace starling::actors
