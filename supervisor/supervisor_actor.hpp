// Internal to starling_supervisor: spawns the supervisor actor class, which
// stays hidden in supervisor_actor.cpp. Use spawn_supervisor() from
// supervisor/supervisor.hpp, which validates the specs first.
#pragma once

#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "supervisor/child_spec.hpp"

namespace starling::supervisor::detail {

// REQUIRES: validate(flags, children) returned no error.
caf::actor spawn_supervisor_actor(caf::actor_system& system,
                                  supervisor_flags flags,
                                  std::vector<child_spec> children);

} // namespace starling::supervisor::detail
