// Work that falls due when a connection has been quiet: freeing its XML
// parser after c2s.hibernate_after_ms, pinging a bound client after
// c2s.ping_interval_s (XEP-0199), and ending its stream when no reply came
// within c2s.ping_timeout_s.
//
// Connections wait in three idle lists (idle_list.hpp) in server_context. A
// sweeper actor ticks every tenth of hibernate_after_ms (every second when
// that is off) and has CAF's I/O thread sweep the quiet ends of the lists.
// This replaces timers per connection. At hundreds of thousands of
// sessions, each such timer woke a broker from another thread through CAF's
// pipe. The timers fell seconds behind the busy I/O thread, so tens of
// thousands of parsers (about 11 KB each) stayed awake. Each pending CAF
// timer also held about 270 bytes.
#pragma once

#include <memory>

#include "actors/idle_list.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace starling::actors {

struct server_context;

/// Connections whose XML parser is awake, by last input.
struct awake_parser_tag {};
/// Bound streams that are not waiting for a ping reply, by last input.
struct quiet_stream_tag {};
/// Bound streams that were pinged and have sent nothing since, by ping time.
struct pinged_stream_tag {};

/// Starts the actor that sweeps the idle lists of `context`. Returns an
/// invalid handle when both hibernation and pings are turned off.
caf::actor spawn_idle_sweeper(caf::actor_system& system, std::shared_ptr<server_context> context);

} // namespace starling::actors
