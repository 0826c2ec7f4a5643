// Runs blocking or CPU-heavy work (password hashing, key derivation) off
// the calling actor, which matters most for I/O brokers: they all share
// CAF's one I/O thread. Each call spawns a short-lived worker actor on the
// scheduler's threads; the caller gets the result as a response message,
// so it keeps handling other messages meanwhile.
#pragma once

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/local_actor.hpp>
#include <caf/spawn_options.hpp>

#include <utility>

#include "actors/messages.hpp"

namespace starling::actors {

using run_atom = caf::atom_constant<caf::atom("run")>;

/// Spawns a worker that calls `work()` and sends its result back to `self`:
/// `done(result)` runs in `self`'s context, or `failed(error)` if the worker
/// dies first. `work` must be copyable and must not touch `self`'s state.
template <class Self, class Work, class Done, class Failed>
void run_in_worker(Self* self, Work work, Done done, Failed failed) {
  auto worker = self->spawn([work](caf::event_based_actor* worker_self) -> caf::behavior {
    return {
      [worker_self, work](run_atom) {
        worker_self->quit();
        return work();
      },
    };
  });
  self->request(worker, caf::infinite, run_atom::value).then(std::move(done), std::move(failed));
}

} // namespace starling::actors
