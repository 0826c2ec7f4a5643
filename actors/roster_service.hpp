// The roster service: one blocking actor that applies every roster change
// (roster sets and removals, RFC 6121 2) and every presence subscription
// stanza (RFC 6121 3) of this node in arrival order. Serialising them keeps
// each read-modify-write of two rosters consistent without retries, and
// subscription changes are rare next to messages. It waits for each commit
// (the writer's group commit), then pushes roster changes to the user's
// interested resources and delivers what the state machine says.
//
// Failure: a failed commit is logged and the request gets
// <internal-server-error/>; nothing is pushed for it. The service is a
// permanent child of the services supervisor and found through the
// registry key "roster".
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/roster_xml.hpp"
#include "protocol/im/subscription.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

struct server_context;

/// (roster_update_atom, std::string user, roster_update) -> roster_reply
using roster_update_atom = caf::atom_constant<caf::atom("rosterupd")>;

/// (subscription_atom, std::string user, std::string contact,
///  im::subscription_type, xml::element stanza), no reply.
using subscription_atom = caf::atom_constant<caf::atom("subscr")>;

/// Sent to sessions: (roster_push_atom, xml::element item, std::uint64_t version)
using roster_push_atom = caf::atom_constant<caf::atom("rosterpush")>;

/// Sent to sessions: (present_to_atom, std::string contact, bool available)
/// asks an available session to send its current presence (or unavailable)
/// to every available resource of `contact`.
using present_to_atom = caf::atom_constant<caf::atom("presentto")>;

struct roster_reply {
  bool ok = true;
  xml::stanza_error_condition condition = xml::stanza_error_condition::internal_server_error;
};

caf::actor spawn_roster_service(caf::actor_system& system, std::shared_ptr<server_context> context);

} // namespace starling::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::actors::roster_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::actors::roster_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::im::subscription_type)
