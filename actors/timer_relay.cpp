#include "actors/timer_relay.hpp"

#include <caf/all.hpp>

#include <unordered_map>

namespace starling::actors {

namespace {

struct relay_state {
  static inline const char* name = "timer-relay";
  std::unordered_map<std::uint64_t, caf::actor> brokers;
};

caf::behavior timer_relay(caf::stateful_actor<relay_state>* self) {
  return {
    [self](register_atom, std::uint64_t id, caf::actor& broker) {
      self->state.brokers[id] = std::move(broker);
    },
    [self](unregister_atom, std::uint64_t id) {
      self->state.brokers.erase(id);
    },
    [self](fire_atom, std::uint64_t id, caf::message& timer) {
      auto broker = self->state.brokers.find(id);
      if (broker == self->state.brokers.end())
        return; // the connection closed before its timer fired
      broker->second->enqueue(nullptr, caf::make_message_id(), std::move(timer), nullptr);
    },
  };
}

} // namespace

caf::actor spawn_timer_relay(caf::actor_system& system) {
  return system.spawn(timer_relay);
}

} // namespace starling::actors
