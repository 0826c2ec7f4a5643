// Keys under which supervisors publish the current handles of long-lived
// actors in CAF's registry, so hot paths find them without a message.
#pragma once

#include <caf/atom.hpp>

namespace starling::actors::registry_keys {

inline constexpr caf::atom_value writer = caf::atom("writer");
inline constexpr caf::atom_value sessions = caf::atom("sessions");
inline constexpr caf::atom_value connections = caf::atom("conns");
inline constexpr caf::atom_value roster = caf::atom("roster");
inline constexpr caf::atom_value timers = caf::atom("timers");

} // namespace starling::actors::registry_keys
