// Child specifications and supervisor flags: the plain data a supervision
// tree is built from, in the spirit of OTP's child_spec() and sup_flags().
//
// Ownership: values. spawn_supervisor() copies them into the supervisor
// actor, which owns its copy for its whole life. Nothing here fails on its
// own; validate() in supervisor/supervisor.hpp checks a set of specs before a
// supervisor is spawned.
//
// Threading: start functions and the log callback run inside the supervisor
// actor, so one supervisor never calls them concurrently, but several
// supervisors of a tree may call a shared log callback from different
// scheduler threads at the same time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace starling::supervisor {

// When a child that exited gets restarted (OTP meaning).
enum class restart_type : std::uint8_t {
  // Always restarted.
  permanent,
  // Restarted only after an abnormal exit. Normal exits are
  // caf::exit_reason::normal and caf::exit_reason::user_shutdown.
  transient,
  // Never restarted. A temporary child of a simple_one_for_one supervisor is
  // forgotten once it exits.
  temporary,
};

// Which children a supervisor restarts when one of them has to be restarted.
enum class restart_strategy : std::uint8_t {
  // Only the child that exited.
  one_for_one,
  // All children: the others are stopped in reverse start order, then all
  // are started again in start order.
  one_for_all,
  // The child that exited and every child started after it.
  rest_for_one,
  // One template spec, children added at run time with start_child() or
  // adopt_child(); each one restarted on its own like one_for_one.
  simple_one_for_one,
};

// Severity of a supervisor event passed to the log callback.
enum class log_level : std::uint8_t { debug, info, warning, error };

// Creates one child. Runs inside the supervisor actor; `args` is the message
// given to start_child() for simple_one_for_one children and empty for the
// others. It returns the spawned actor, and an invalid handle or an exception
// counts as a failed start. The supervisor monitors the returned actor; the
// actor must not link itself to the supervisor.
using start_function =
  std::function<caf::actor(caf::actor_system& system, const caf::message& args)>;

// Receives one line per supervisor event. Each line starts with the
// supervisor's name and names the child it concerns.
using log_function = std::function<void(log_level level, std::string line)>;

// Shutdown timeout that waits as long as the child needs: the OTP choice for
// children that are supervisors, because they stop their own children first.
inline constexpr std::chrono::milliseconds infinity =
  std::chrono::milliseconds::max();

// Shutdown timeout that kills the child at once with caf::exit_reason::kill
// (OTP's brutal_kill).
inline constexpr std::chrono::milliseconds brutal_kill{0};

struct child_spec {
  // Unique among the supervisor's children; used for which_child() and logs.
  std::string name;

  start_function start;

  restart_type restart = restart_type::permanent;

  // Time between caf::exit_reason::user_shutdown and caf::exit_reason::kill
  // when the supervisor stops this child.
  std::chrono::milliseconds shutdown = std::chrono::seconds{5};

  // Set for a child that is itself a supervisor. At start, the parent then
  // waits until the child supervisor has started all of its own children
  // before it starts the next sibling, and a failure of that start fails the
  // parent's start, as a synchronous start_link would in OTP.
  bool is_supervisor = false;

  // When set, the supervisor stores the current handle of this child in
  // caf::actor_system::registry() under this key after each start and erases
  // it when the child exits. Not allowed for simple_one_for_one templates.
  std::optional<caf::atom_value> registry_key;
};

struct supervisor_flags {
  // Names the supervisor in every log line.
  std::string name;

  restart_strategy strategy = restart_strategy::one_for_one;

  // Restart intensity: at most `intensity` restarts within `period`. One more
  // restart makes the supervisor stop all its children and exit with
  // supervisor_errc::intensity_exceeded, so that its own parent sees the
  // failure.
  int intensity = 3;
  std::chrono::milliseconds period = std::chrono::seconds{5};

  // Optional; without it the supervisor logs nothing.
  log_function log;
};

std::string_view to_string(restart_type x);
std::string_view to_string(restart_strategy x);
std::string_view to_string(log_level x);

} // namespace starling::supervisor
