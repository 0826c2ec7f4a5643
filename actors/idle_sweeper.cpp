#include "actors/idle_sweeper.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>

#include "actors/c2s_connection_state.hpp"
#include "actors/server_context.hpp"

namespace starling::actors {

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// Runs on the I/O thread, which owns the lists and the connections in them.
void sweep(server_context& ctx, std::chrono::steady_clock::time_point now) {
  auto& c2s = ctx.config.c2s;
  if (c2s.hibernate_after_ms > 0) {
    ctx.awake_parsers.sweep(now - std::chrono::milliseconds{c2s.hibernate_after_ms}, now,
                            [](idle_node<awake_parser_tag>& node) {
                              return static_cast<c2s_connection&>(node).release_parser();
                            });
  }
  if (c2s.ping_interval_s > 0) {
    ctx.pinged_streams.sweep(now - std::chrono::seconds{c2s.ping_timeout_s}, now,
                             [](idle_node<pinged_stream_tag>& node) {
                               static_cast<c2s_connection&>(node).request_ping_timeout();
                               return true;
                             });
    ctx.quiet_streams.sweep(now - std::chrono::seconds{c2s.ping_interval_s}, now,
                            [](idle_node<quiet_stream_tag>& node) {
                              static_cast<c2s_connection&>(node).request_ping();
                              return true;
                            });
  }
}

} // namespace

caf::actor spawn_idle_sweeper(caf::actor_system& system, std::shared_ptr<server_context> context) {
  auto& c2s = context->config.c2s;
  if (c2s.hibernate_after_ms == 0 && c2s.ping_interval_s == 0)
    return {};
  std::chrono::milliseconds period{1000};
  if (c2s.hibernate_after_ms > 0)
    period = std::clamp(std::chrono::milliseconds{c2s.hibernate_after_ms / 10},
                        std::chrono::milliseconds{10}, period);
  return system.spawn([context, period](caf::event_based_actor* self) -> caf::behavior {
    self->send(self, sweep_atom::value);
    return {
      [self, context, period](sweep_atom) {
        self->system().middleman().backend().post(
          [context] { sweep(*context, std::chrono::steady_clock::now()); });
        self->delayed_send(self, period, sweep_atom::value);
      },
    };
  });
}

} // namespace starling::actors
