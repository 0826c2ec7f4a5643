// Atoms and message shapes exchanged by Starling's actors. Stanzas travel
// between actors as parsed xml::element values, never as text.
//
// Message protocol:
//   connection -> session   (stanza_atom, xml::element)      a stanza from the client
//   anyone     -> session   (route_atom, xml::element)       a stanza for this resource
//   session    -> connection(deliver_atom, xml::element)     write a stanza to the client
//   anyone     -> connection(close_atom, stream_error_condition) end the stream with an error
//   session    -> connection(bound_atom)                     the session is registered
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "protocol/sasl/mechanism.hpp"
#include "protocol/xml/element.hpp"
#include "protocol/xml/stream_error.hpp"
#include "store/status.hpp"
#include "store/write_batch.hpp"

namespace starling::actors {

using stanza_atom = caf::atom_constant<caf::atom("stanza")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;

/// connection: (deliver_raw_atom, std::string xml) writes XML that the
/// server itself serialized earlier, e.g. a stored subscription request.
using deliver_raw_atom = caf::atom_constant<caf::atom("deliverraw")>;

/// session: (probe_atom, std::string requester_full_jid) asks for the
/// session's current presence (RFC 6121 4.3).
using probe_atom = caf::atom_constant<caf::atom("probe")>;

/// session: (block_push_atom, xml::element block_or_unblock) forwards a
/// blocking list change to clients that requested the list (XEP-0191 3.3).
using block_push_atom = caf::atom_constant<caf::atom("blockpush")>;

} // namespace starling::actors

// NOTE: stanzas are only sent between local actors so far. A cluster needs
// an inspect() overload for xml::element so that CAF can serialise it.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::xml::element)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::xml::stream_error_condition)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::sasl::step_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::store::expected<starling::store::write_batch>)
