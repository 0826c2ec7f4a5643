#include "store/writer_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace starling::store {

namespace {

struct pending_batch {
  write_batch batch;
  caf::typed_response_promise<status> promise;
};

struct writer_state {
  std::shared_ptr<lmdb_env> env;
  std::size_t max_ops = 1;
  std::chrono::milliseconds max_delay{0};

  std::vector<pending_batch> pending;
  std::size_t pending_ops = 0;
  std::vector<caf::typed_response_promise<status>> flushes;

  // Numbers groups so that a timer of a group that was already committed
  // (because it reached max_ops) does nothing.
  std::uint64_t group_number = 0;
  bool timer_armed = false;

  writer_counters counters;

  static inline const char* name = "starling.store.writer";
};

using writer_pointer = writer_actor::stateful_pointer<writer_state>;

// Commits the pending group and answers its requesters and waiting flushes.
void commit_pending(writer_pointer self) {
  auto& st = self->state;
  auto group = std::exchange(st.pending, {});
  auto flushes = std::exchange(st.flushes, {});
  st.pending_ops = 0;
  st.timer_armed = false;
  ++st.group_number;

  std::vector<status> results;
  if (!group.empty()) {
    std::vector<const write_batch*> batches;
    batches.reserve(group.size());
    for (const auto& entry : group)
      batches.push_back(&entry.batch);

    auto start = std::chrono::steady_clock::now();
    results = st.env->commit_group(batches);
    auto elapsed = std::chrono::steady_clock::now() - start;

    auto& c = st.counters;
    ++c.groups;
    c.commit_time_total += elapsed;
    c.commit_time_max = std::max<std::chrono::nanoseconds>(c.commit_time_max, elapsed);
    c.max_group_batches = std::max<std::uint64_t>(c.max_group_batches, group.size());
  }

  for (std::size_t i = 0; i < group.size(); ++i) {
    auto& c = st.counters;
    ++c.batches;
    c.ops += group[i].batch.size();
    if (!results[i].ok())
      ++c.failed_batches;
    group[i].promise.deliver(std::move(results[i]));
  }

  // Everything sent before a flush was in this group, so its state is
  // durable now: ok, or the sticky failure.
  status health = st.env->health();
  for (auto& promise : flushes)
    promise.deliver(health);
}

writer_actor::behavior_type writer(writer_pointer self, std::shared_ptr<lmdb_env> env,
                                   std::size_t max_ops, std::chrono::milliseconds max_delay) {
  self->state.env = std::move(env);
  self->state.max_ops = std::max<std::size_t>(max_ops, 1);
  self->state.max_delay = max_delay;

  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Orderly stop: whatever was accepted is committed and answered first.
    commit_pending(self);
    self->quit(msg.reason);
  });

  return {
    [self](write_batch& batch) -> caf::typed_response_promise<status> {
      auto& st = self->state;
      auto promise = self->make_response_promise<status>();
      st.pending_ops += std::max<std::size_t>(batch.size(), 1);
      st.pending.push_back({std::move(batch), promise});
      if (st.pending_ops >= st.max_ops) {
        commit_pending(self);
      } else if (!st.timer_armed) {
        st.timer_armed = true;
        self->delayed_send(self, st.max_delay, group_timeout_atom::value, st.group_number);
      }
      return promise;
    },
    [self](flush_atom) -> caf::typed_response_promise<status> {
      auto promise = self->make_response_promise<status>();
      self->state.flushes.push_back(promise);
      commit_pending(self);
      return promise;
    },
    [self](counters_atom) -> writer_counters { return self->state.counters; },
    [self](group_timeout_atom, std::uint64_t group) {
      auto& st = self->state;
      if (group == st.group_number && !st.pending.empty())
        commit_pending(self);
    },
  };
}

} // namespace

writer_actor spawn_writer(caf::actor_system& system, std::shared_ptr<lmdb_env> env,
                          const options& opts) {
  return system.spawn<caf::detached>(writer, std::move(env), opts.group_commit_max_ops,
                                     opts.group_commit_max_delay);
}

} // namespace starling::store
