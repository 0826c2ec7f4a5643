// Replies to iq requests that the server answers inside a session actor:
// a result addressed back to the requester, or a stanza error. Shared by
// the server's own iq handlers and the account services.
#pragma once

#include "actors/session_state.hpp"
#include "protocol/xml/element.hpp"
#include "protocol/xml/stanza_error.hpp"

namespace starling::actors {

/// An empty iq result for `iq`, from where the request went and to its
/// sender (RFC 6120 8.2.3).
xml::element result_for(const xml::element& iq);

/// Sends `response` to the session's client.
void reply(session_actor* self, xml::element response);

/// Sends the error reply for `iq` with `condition`.
void fail(session_actor* self, const xml::element& iq, xml::stanza_error_condition condition);

} // namespace starling::actors
