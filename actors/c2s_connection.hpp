// The client connection actor (RFC 6120): one CAF I/O broker per accepted
// TCP connection. It owns the socket, TLS, the XML stream parser and the
// stream state machine, and knows nothing about rosters or rooms: once a
// resource is bound it hands every stanza to the session actor and writes
// what the session sends back.
//
// Stream states, as RFC 6120 and ejabberd name them:
//   wait_for_stream    no stream header yet (also after each restart)
//   wait_for_starttls  TLS is required and not yet negotiated
//   wait_for_sasl      secured (or plaintext allowed), not authenticated
//   wait_for_bind      authenticated, no resource bound
//   established        bound; stanzas go to the session actor
//
// All brokers share CAF's single I/O thread, so nothing here blocks:
// password hashing for PLAIN and store writes run in other actors, and
// stanzas that arrive meanwhile wait in a queue in arrival order.
//
// Failure: every protocol violation ends in the stream error RFC 6120
// names, written before the socket closes. A crash of this actor closes
// the socket; its session sees the down message and cleans up.
#pragma once

#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include <memory>

namespace starling::actors {

struct server_context;
class c2s_connection;

using c2s_broker = caf::io::stateful_broker<c2s_connection>;

/// The function an acceptor forks for each new connection. `direct_tls`
/// starts TLS before the first stream header (XEP-0368).
caf::behavior c2s_connection_actor(c2s_broker* self, caf::io::connection_handle hdl,
                                   std::shared_ptr<server_context> context, bool direct_tls);

} // namespace starling::actors
