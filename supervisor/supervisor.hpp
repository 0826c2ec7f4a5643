// OTP-style supervisor actor on CAF 0.17: starts children from child specs in
// order, restarts them by strategy and restart intensity, and stops them in
// reverse order.
//
// Contract:
// - The supervisor monitors its children, so no exit of a child is missed,
//   not even one that comes while a restart is in progress. It traps exit
//   messages, which is how its parent asks it to stop. Children are not
//   linked, because CAF drops a link when an exit message arrives over it
//   and a trapping child would then never report its exit. A child must not
//   link itself to its supervisor either: its exit would count as a request
//   to shut down.
// - Start: children start one after another in spec order. If a start
//   function throws or returns an invalid handle, or a child supervisor
//   fails its own start, the supervisor stops the children it already
//   started in reverse order and exits with supervisor_errc::start_failed.
// - Restart: see restart_type and restart_strategy in child_spec.hpp. More
//   than `intensity` restarts within `period` make the supervisor stop all
//   children and exit with supervisor_errc::intensity_exceeded.
// - Shutdown: an exit message with a non-normal reason from an actor that is
//   not one of its children (normally the parent sends
//   caf::exit_reason::user_shutdown) makes the supervisor stop its children
//   in reverse start order and then exit with that reason. Each child gets
//   caf::exit_reason::user_shutdown, and the supervisor waits for its exit up
//   to the child's shutdown timeout, then sends caf::exit_reason::kill. The
//   next child is stopped only after the previous one has exited, so a tree
//   stops depth-first. The children of a simple_one_for_one supervisor are
//   stopped all at once, as in OTP, because there can be thousands of them.
// - caf::exit_reason::kill cannot be trapped: a killed supervisor exits at
//   once, and on its way out it kills the children that still run, as OTP's
//   links would.
// - Failures are values: replies carry a caf::error of category "supervisor"
//   (supervisor_errc), and the supervisor's exit reason says why it stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include "supervisor/child_spec.hpp"

namespace starling::supervisor {

// -- errors -------------------------------------------------------------------

// Error codes of category "supervisor". Where a child is involved, the
// error's context message contains its name and, if known, the cause as text.
enum class supervisor_errc : std::uint8_t {
  // The supervisor restarted more than `intensity` times within `period` and
  // gave up. Its exit reason, seen by its parent.
  intensity_exceeded = 1,
  // A child failed to start: the exit reason of a supervisor whose initial
  // start failed, and the reply to a failed start_child().
  start_failed,
  // The flags or child specs are inconsistent; see validate().
  invalid_spec,
  // which_child(): no child has this name.
  child_not_found,
  // which_child(): the child exists but is not running at the moment, e.g.
  // between its exit and its restart.
  child_not_running,
  // start_child() or adopt_child() sent to a supervisor whose strategy is not
  // simple_one_for_one.
  wrong_strategy,
  // The supervisor is shutting down and accepts no new children.
  shutting_down,
};

std::string_view to_string(supervisor_errc x);

// Error category of supervisor_errc ("supervisor").
inline constexpr caf::atom_value error_category = caf::atom("supervisor");

caf::error make_error(supervisor_errc x);
caf::error make_error(supervisor_errc x, std::string child_name,
                      std::string cause = {});

// Registers the "supervisor" error category so that actor_system::render()
// and CAF's own logs print supervisor errors by name. Optional.
void add_error_category(caf::actor_system_config& cfg);

// True for the exit reasons OTP treats as normal: none,
// caf::exit_reason::normal and caf::exit_reason::user_shutdown.
bool is_normal_exit(const caf::error& reason);

// -- messages -----------------------------------------------------------------

// (which_child_atom, std::string name) -> caf::actor
// Returns the current handle of a child; fails with child_not_found or
// child_not_running.
using which_child_atom = caf::atom_constant<caf::atom("whichchild")>;

// (start_child_atom, caf::message args) -> caf::actor
// simple_one_for_one only: starts a new child from the template spec, passing
// `args` to its start function (and again on every restart). Returns the new
// handle once the start function has returned; for a template marked
// is_supervisor it does not wait for the new supervisor's own children.
using start_child_atom = caf::atom_constant<caf::atom("startchild")>;

// (adopt_child_atom, caf::actor child) -> caf::ok_atom
// simple_one_for_one only: supervises an actor spawned elsewhere (e.g. a
// broker forked by an acceptor) as a temporary child, so it is never
// restarted but is stopped with the others at shutdown. If the supervisor is
// shutting down it sends caf::exit_reason::user_shutdown to `child` and
// fails with shutting_down. If the request fails because the supervisor is
// gone, the caller still owns `child` and must stop it.
using adopt_child_atom = caf::atom_constant<caf::atom("adoptchild")>;

// (count_children_atom) -> std::uint64_t
// Returns the number of children that are running now.
using count_children_atom = caf::atom_constant<caf::atom("countchild")>;

// (await_started_atom) -> caf::ok_atom
// Returns once all initial children have started; fails with start_failed if
// the start failed or shutting_down if the supervisor is stopping.
using await_started_atom = caf::atom_constant<caf::atom("awaitstart")>;

// -- spawning -----------------------------------------------------------------

// Checks flags and specs: intensity >= 0, period > 0, every child has a name
// that is unique and a start function, simple_one_for_one has exactly one
// spec without a registry key, and no registry key is used twice. Returns an
// invalid_spec error whose context names the problem, or an empty error.
caf::error validate(const supervisor_flags& flags,
                    const std::vector<child_spec>& children);

// Validates, then spawns a supervisor that starts `children` in order. The
// start itself runs asynchronously in the new actor: use await_started() or
// watch its exit reason to learn whether it succeeded. The caller monitors
// the returned actor as it needs; a parent supervisor monitors its children.
caf::expected<caf::actor> spawn_supervisor(caf::actor_system& system,
                                           supervisor_flags flags,
                                           std::vector<child_spec> children);

// Builds the spec of a child that is a supervisor: is_supervisor set,
// shutdown timeout infinity, start function spawn_supervisor().
child_spec supervisor_child(std::string name, supervisor_flags flags,
                            std::vector<child_spec> children,
                            restart_type restart = restart_type::permanent);

// -- helpers ------------------------------------------------------------------

// Each helper sends one request and returns CAF's response handle. `self` is
// an event-based actor pointer (continue with .then(...)) or a
// caf::scoped_actor (continue with .receive(...)). `timeout` is any
// std::chrono duration or caf::infinite.

template <class Self, class Timeout>
auto which_child(Self&& self, const caf::actor& sup, Timeout timeout,
                 std::string name) {
  return self->request(sup, timeout, which_child_atom::value, std::move(name));
}

template <class Self, class Timeout>
auto start_child(Self&& self, const caf::actor& sup, Timeout timeout,
                 caf::message args = {}) {
  return self->request(sup, timeout, start_child_atom::value, std::move(args));
}

template <class Self, class Timeout>
auto adopt_child(Self&& self, const caf::actor& sup, Timeout timeout,
                 caf::actor child) {
  return self->request(sup, timeout, adopt_child_atom::value, std::move(child));
}

template <class Self, class Timeout>
auto count_children(Self&& self, const caf::actor& sup, Timeout timeout) {
  return self->request(sup, timeout, count_children_atom::value);
}

template <class Self, class Timeout>
auto await_started(Self&& self, const caf::actor& sup, Timeout timeout) {
  return self->request(sup, timeout, await_started_atom::value);
}

// Returns the handle published under `key` (child_spec::registry_key), or an
// invalid handle while the child is not running. One read-locked map lookup,
// no message: meant for hot paths.
caf::actor published_child(caf::actor_system& system, caf::atom_value key);

} // namespace starling::supervisor
