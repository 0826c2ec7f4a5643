// Delivers the timer messages of connection brokers. A delayed message in
// CAF 0.17.6 keeps its receiver alive until it fires, so a broker that
// scheduled a 60-second timeout and then closed would stay in memory for
// that minute. Brokers therefore register with this actor and schedule
// their timers to it by connection id; it forwards each one only while the
// broker is registered, and a closed broker is freed at once.
//
// Messages:
//   (register_atom, std::uint64_t id, caf::actor broker)
//   (unregister_atom, std::uint64_t id)
//   (fire_atom, std::uint64_t id, caf::message timer)   scheduled by brokers
#pragma once

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace starling::actors {

using register_atom = caf::atom_constant<caf::atom("register")>;
using unregister_atom = caf::atom_constant<caf::atom("unregister")>;
using fire_atom = caf::atom_constant<caf::atom("fire")>;

caf::actor spawn_timer_relay(caf::actor_system& system);

} // namespace starling::actors
