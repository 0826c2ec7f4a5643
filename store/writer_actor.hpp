// The writer actor: the only writer of the server's LMDB environment. It
// collects write batches into groups and commits each group with one sync
// (group commit), then answers every requester of the group with the status
// of its own batch. An answer therefore means the batch is on disk, or that it
// failed and nothing of it was written.
//
// A group is committed when its batches hold group_commit_max_ops operations
// or group_commit_max_delay after its first batch arrived, whichever comes
// first. While a commit runs (it blocks on fsync, so the actor is spawned
// detached on its own thread) new requests wait in the mailbox and form the
// next group.
//
// On an exit message the actor commits what is pending before it quits.
// After a failed commit the environment rejects all later batches with
// errc::store_failed (sticky) until the store is reopened.
//
// The caller must send an exit message (e.g. caf::exit_reason::user_shutdown)
// before the actor system shuts down; the actor does not stop on its own.
#pragma once

#include "store/lmdb_env.hpp"
#include "store/options.hpp"
#include "store/status.hpp"
#include "store/write_batch.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace starling::store {

/// Requests that everything sent before is committed; the answer comes when
/// it is durable.
using flush_atom = caf::atom_constant<caf::atom("st_flush")>;

/// Requests the writer_counters.
using counters_atom = caf::atom_constant<caf::atom("st_count")>;

/// Internal: the group timer. Senders other than the writer itself are ignored
/// unless they carry the current group number.
using group_timeout_atom = caf::atom_constant<caf::atom("st_gtime")>;

struct writer_counters {
  std::uint64_t batches = 0;         ///< Batches answered.
  std::uint64_t failed_batches = 0;  ///< Of those, answered with an error.
  std::uint64_t groups = 0;          ///< Group commits.
  std::uint64_t ops = 0;             ///< Operations in all batches.
  std::uint64_t max_group_batches = 0;
  std::chrono::nanoseconds commit_time_total{0};  ///< Sum over all group commits.
  std::chrono::nanoseconds commit_time_max{0};
};

using writer_actor = caf::typed_actor<
  caf::replies_to<write_batch>::with<status>,
  caf::replies_to<flush_atom>::with<status>,
  caf::replies_to<counters_atom>::with<writer_counters>,
  caf::reacts_to<group_timeout_atom, std::uint64_t>>;

/// Spawns the writer (detached) for `env` with the group commit settings of
/// `opts`. A group_commit_max_ops of 0 is treated as 1.
writer_actor spawn_writer(caf::actor_system& system, std::shared_ptr<lmdb_env> env,
                          const options& opts);

} // namespace starling::store

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::store::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::store::status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::store::writer_counters)
