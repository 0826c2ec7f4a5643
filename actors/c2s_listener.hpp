// The c2s listener: a CAF I/O broker that owns one listening socket and
// forks a connection actor (c2s_connection.hpp) for each accepted client.
// Forked connections are handed to the connections supervisor, which ends
// them in order at shutdown. On exit the listener closes its socket first,
// so no connection is accepted once shutdown has begun.
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace starling::actors {

struct server_context;

struct listener_options {
  std::string address;
  std::uint16_t port = 0;
  bool direct_tls = false;
  std::string name; ///< For logs: "c2s" or "c2s-tls".
};

/// Spawns a listener. Returns an invalid handle when the socket cannot be
/// opened; the error is logged with address and port. `supervisor` is the
/// connections supervisor that adopts each new connection.
caf::actor spawn_c2s_listener(caf::actor_system& system, std::shared_ptr<server_context> context,
                              listener_options options, caf::actor supervisor);

} // namespace starling::actors
