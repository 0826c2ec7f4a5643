#include "supervisor/supervisor_actor.hpp"

#include <cassert>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_view.hpp>
#include <caf/response_promise.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include "supervisor/restart_intensity.hpp"
#include "supervisor/supervisor.hpp"

namespace starling::supervisor::detail {
namespace {

// Messages the supervisor sends to itself.
using begin_start_atom = caf::atom_constant<caf::atom("supbegin")>;
using shutdown_timeout_atom = caf::atom_constant<caf::atom("suptimeout")>;

enum class phase { starting, running, shutting_down };

// One supervised actor and the spec it is started from. A static child keeps
// its entry across restarts and after it stops for good. A dynamic child
// (simple_one_for_one) loses its entry once it will not run again.
struct child {
  std::string name;
  const child_spec* spec = nullptr;
  restart_type restart = restart_type::permanent;
  caf::message args;
  caf::actor handle;
  // Counts start attempts, so that an exit queued before a restart is not
  // taken for an exit of the restarted actor.
  std::uint64_t generation = 0;
  bool dynamic = false;
};

// An exit of a child that still needs a restart decision.
struct pending_exit {
  std::uint64_t key;
  std::uint64_t generation;
  caf::error reason;
};

// One step of a start, restart or shutdown sequence. Steps run strictly one
// after another. A step that waits (a stop, or the start of a child
// supervisor) blocks the queue until its message arrives.
struct action {
  enum class kind { start, stop, stop_all_dynamic };
  kind what;
  std::uint64_t key = 0;
};

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_flags flags,
                   std::vector<child_spec> specs)
    : caf::event_based_actor(cfg),
      flags_(std::move(flags)),
      specs_(std::move(specs)),
      intensity_(flags_.intensity, flags_.period),
      next_dynamic_key_(specs_.size()) {
    // Dynamic children exist only once the supervisor runs, so a
    // simple_one_for_one supervisor accepts start_child() from its first
    // message on.
    if (flags_.strategy == restart_strategy::simple_one_for_one)
      phase_ = phase::running;
  }

  const char* name() const override {
    return "starling.supervisor";
  }

  caf::behavior make_behavior() override;

  void on_exit() override;

private:
  // -- events ---------------------------------------------------------------

  void on_exit_msg(caf::exit_msg& msg);
  void on_down_msg(caf::down_msg& msg);
  void on_stopped(std::uint64_t key, const caf::error& reason);
  void on_shutdown_timeout(std::uint64_t token);
  void on_ready(std::uint64_t key, std::uint64_t generation);
  void on_ready_error(std::uint64_t key, std::uint64_t generation,
                      const caf::error& err);
  void on_start_failure(std::uint64_t key, caf::error reason);

  // -- requests -------------------------------------------------------------

  caf::result<caf::actor> find_child(const std::string& name);
  caf::result<caf::actor> start_dynamic(const caf::message& args);
  caf::result<caf::ok_atom> adopt(const caf::actor& handle);
  caf::response_promise await_started();

  // -- sequencing -----------------------------------------------------------

  bool busy() const {
    return !stopping_.empty() || awaiting_ready_.has_value();
  }

  // Runs queued actions and pending restart decisions until one has to wait.
  void pump();
  void run(const action& next);
  void run_start(std::uint64_t key);
  void stop_children(const std::vector<std::uint64_t>& keys,
                     std::chrono::milliseconds timeout);
  void decide_restart(const pending_exit& event);
  void queue_group_restart(std::uint64_t failed_key, bool from_first);
  void finish_start();
  void begin_shutdown(caf::error reason);
  bool stop_queued(std::uint64_t key) const;

  // -- children -------------------------------------------------------------

  caf::error start(std::uint64_t key);
  void publish(const child& c);
  void unpublish(const child& c);

  // -- logging --------------------------------------------------------------

  void log(log_level level, const std::string& text) const;
  std::string describe(const caf::error& reason) const;

  supervisor_flags flags_;
  // Never resized after construction: children point into it.
  const std::vector<child_spec> specs_;
  restart_intensity intensity_;
  phase phase_ = phase::starting;

  // Keyed by start order: static children by spec index, dynamic children by
  // a counter that starts after the last spec index.
  std::map<std::uint64_t, child> children_;
  std::uint64_t next_dynamic_key_;
  // Running children by actor id, to map a down_msg to its child.
  std::unordered_map<caf::actor_id, std::uint64_t> by_actor_;

  std::deque<action> actions_;
  std::deque<pending_exit> pending_exits_;

  // Children that were sent an exit and whose down_msg has not arrived yet.
  std::set<std::uint64_t> stopping_;
  // Identifies the shutdown timer of the current stop, so a timer of an
  // earlier stop is ignored.
  std::uint64_t stop_token_ = 0;
  // A child supervisor whose own start we wait for before the next step.
  std::optional<std::uint64_t> awaiting_ready_;

  caf::error final_reason_;
  bool quitting_ = false;
  std::vector<caf::response_promise> start_waiters_;
};

// -- setup and teardown --------------------------------------------------------

caf::behavior supervisor_actor::make_behavior() {
  set_exit_handler([this](caf::exit_msg& msg) { on_exit_msg(msg); });
  set_down_handler([this](caf::down_msg& msg) { on_down_msg(msg); });
  set_default_handler(
    [this](caf::scheduled_actor*,
           caf::message_view& view) -> caf::result<caf::message> {
      log(log_level::warning,
          "dropped unexpected message "
            + caf::to_string(view.copy_content_to_message()));
      return caf::make_error(caf::sec::unexpected_message);
    });

  log(log_level::info,
      "starting with strategy " + std::string{to_string(flags_.strategy)}
        + ", intensity " + std::to_string(flags_.intensity) + " restarts in "
        + std::to_string(flags_.period.count()) + " ms");

  if (flags_.strategy != restart_strategy::simple_one_for_one) {
    for (std::uint64_t key = 0; key < specs_.size(); ++key) {
      child c;
      c.name = specs_[key].name;
      c.spec = &specs_[key];
      c.restart = specs_[key].restart;
      children_.emplace(key, std::move(c));
      actions_.push_back({action::kind::start, key});
    }
    // Starting from a message, not from here, keeps a failed start (which
    // ends in quit()) out of actor initialization.
    send(this, begin_start_atom::value);
  }

  return {
    [this](begin_start_atom) { pump(); },
    [this](shutdown_timeout_atom, std::uint64_t token) {
      on_shutdown_timeout(token);
    },
    [this](which_child_atom, const std::string& name) {
      return find_child(name);
    },
    [this](start_child_atom, const caf::message& args) {
      return start_dynamic(args);
    },
    [this](adopt_child_atom, const caf::actor& handle) {
      return adopt(handle);
    },
    [this](count_children_atom) {
      return static_cast<std::uint64_t>(by_actor_.size());
    },
    [this](await_started_atom) { return await_started(); },
  };
}

void supervisor_actor::on_exit() {
  // Reached with running children only when the supervisor did not stop
  // them itself: it was killed, or an exception escaped a handler. Links
  // would do this in OTP.
  for (const auto& [key, c] : children_) {
    if (!c.handle)
      continue;
    unpublish(c);
    send_exit(c.handle, caf::exit_reason::kill);
  }
}

// -- events --------------------------------------------------------------------

void supervisor_actor::on_exit_msg(caf::exit_msg& msg) {
  // A normal exit is no request to stop, and a child that linked itself to
  // the supervisor is reported through its down_msg as well.
  if (!msg.reason || by_actor_.count(msg.source.id()) > 0)
    return;
  log(log_level::info, "received exit " + describe(msg.reason)
                         + " from actor " + std::to_string(msg.source.id())
                         + ", shutting down");
  begin_shutdown(std::move(msg.reason));
  pump();
}

void supervisor_actor::on_down_msg(caf::down_msg& msg) {
  auto found = by_actor_.find(msg.source.id());
  if (found == by_actor_.end())
    return;

  auto key = found->second;
  by_actor_.erase(found);
  auto& c = children_.at(key);
  unpublish(c);
  c.handle = nullptr;

  if (stopping_.erase(key) > 0) {
    on_stopped(key, msg.reason);
    pump();
    return;
  }

  if (awaiting_ready_ == key) {
    awaiting_ready_.reset();
    log(log_level::error, "child supervisor '" + c.name
                            + "' exited during its start: "
                            + describe(msg.reason));
    on_start_failure(key, make_error(supervisor_errc::start_failed, c.name,
                                     describe(msg.reason)));
    pump();
    return;
  }

  log(is_normal_exit(msg.reason) ? log_level::info : log_level::warning,
      "child '" + c.name + "' exited: " + describe(msg.reason));

  // A child that was going to be stopped anyway needs no restart decision:
  // the sequence it is part of either starts it again or ends in shutdown.
  if (phase_ == phase::shutting_down || stop_queued(key)) {
    if (c.dynamic)
      children_.erase(key);
    pump();
    return;
  }
  pending_exits_.push_back({key, c.generation, std::move(msg.reason)});
  pump();
}

void supervisor_actor::on_stopped(std::uint64_t key, const caf::error& reason) {
  auto& c = children_.at(key);
  if (reason == caf::exit_reason::user_shutdown)
    log(log_level::info, "stopped child '" + c.name + "'");
  else
    log(log_level::warning, "child '" + c.name + "' exited with "
                              + describe(reason) + " while being stopped");
  // Dynamic children are stopped only at shutdown and never come back.
  if (c.dynamic)
    children_.erase(key);
}

void supervisor_actor::on_shutdown_timeout(std::uint64_t token) {
  if (token != stop_token_ || stopping_.empty())
    return;
  for (auto key : stopping_) {
    const auto& c = children_.at(key);
    log(log_level::warning,
        "child '" + c.name + "' did not exit within "
          + std::to_string(c.spec->shutdown.count())
          + " ms of its shutdown request, killing it");
    send_exit(c.handle, caf::exit_reason::kill);
  }
  // The kill cannot be ignored, so the exit messages follow without a
  // second timer.
}

void supervisor_actor::on_ready(std::uint64_t key, std::uint64_t generation) {
  if (awaiting_ready_ != key || children_.at(key).generation != generation)
    return;
  awaiting_ready_.reset();
  log(log_level::debug,
      "child supervisor '" + children_.at(key).name + "' finished its start");
  pump();
}

void supervisor_actor::on_ready_error(std::uint64_t key,
                                      std::uint64_t generation,
                                      const caf::error& err) {
  if (awaiting_ready_ != key || children_.at(key).generation != generation)
    return;
  if (err != caf::sec::unexpected_message) {
    // The child supervisor failed or is gone; its down message is on the
    // way and decides what happens next.
    return;
  }
  awaiting_ready_.reset();
  log(log_level::warning,
      "child '" + children_.at(key).name
        + "' is marked as a supervisor but does not answer await_started, "
          "treating it as started");
  pump();
}

void supervisor_actor::on_start_failure(std::uint64_t key, caf::error reason) {
  switch (phase_) {
    case phase::starting:
      log(log_level::error, "start failed at child '" + children_.at(key).name
                              + "', stopping the children started so far");
      begin_shutdown(std::move(reason));
      break;
    case phase::running:
      // A failed restart counts like another exit: it is restarted again
      // until the restart intensity runs out.
      pending_exits_.push_back(
        {key, children_.at(key).generation, std::move(reason)});
      break;
    case phase::shutting_down:
      break;
  }
}

// -- requests ------------------------------------------------------------------

caf::result<caf::actor> supervisor_actor::find_child(const std::string& name) {
  for (const auto& [key, c] : children_) {
    if (c.name != name)
      continue;
    if (!c.handle)
      return make_error(supervisor_errc::child_not_running, name);
    return c.handle;
  }
  return make_error(supervisor_errc::child_not_found, name);
}

caf::result<caf::actor>
supervisor_actor::start_dynamic(const caf::message& args) {
  if (flags_.strategy != restart_strategy::simple_one_for_one)
    return make_error(supervisor_errc::wrong_strategy);
  if (phase_ != phase::running)
    return make_error(supervisor_errc::shutting_down);

  auto key = next_dynamic_key_++;
  child c;
  c.name = specs_.front().name + "#" + std::to_string(key);
  c.spec = &specs_.front();
  c.restart = specs_.front().restart;
  c.args = args;
  c.dynamic = true;
  children_.emplace(key, std::move(c));

  if (auto err = start(key)) {
    children_.erase(key);
    return err;
  }
  return children_.at(key).handle;
}

caf::result<caf::ok_atom> supervisor_actor::adopt(const caf::actor& handle) {
  if (flags_.strategy != restart_strategy::simple_one_for_one)
    return make_error(supervisor_errc::wrong_strategy);
  if (!handle)
    return make_error(supervisor_errc::start_failed, specs_.front().name,
                      "adopt_child got an invalid handle");
  if (phase_ != phase::running) {
    send_exit(handle, caf::exit_reason::user_shutdown);
    return make_error(supervisor_errc::shutting_down);
  }
  if (by_actor_.count(handle.id()) > 0)
    return caf::ok_atom::value;

  auto key = next_dynamic_key_++;
  child c;
  c.name = specs_.front().name + "#" + std::to_string(key);
  c.spec = &specs_.front();
  c.restart = restart_type::temporary;
  c.handle = handle;
  c.generation = 1;
  c.dynamic = true;
  by_actor_.emplace(handle.id(), key);
  // Monitoring an actor that already exited delivers its down message at
  // once, so an adopted child that died in transit is still accounted for.
  monitor(handle);
  log(log_level::info, "adopted child '" + c.name + "' (actor "
                         + std::to_string(handle.id()) + ")");
  children_.emplace(key, std::move(c));
  return caf::ok_atom::value;
}

caf::response_promise supervisor_actor::await_started() {
  auto promise = make_response_promise();
  switch (phase_) {
    case phase::starting:
      start_waiters_.push_back(promise);
      break;
    case phase::running:
      promise.deliver(caf::ok_atom::value);
      break;
    case phase::shutting_down:
      promise.deliver(make_error(supervisor_errc::shutting_down));
      break;
  }
  return promise;
}

// -- sequencing ------------------------------------------------------------------

void supervisor_actor::pump() {
  while (!busy() && !quitting_) {
    if (!actions_.empty()) {
      auto next = actions_.front();
      actions_.pop_front();
      run(next);
      continue;
    }
    if (phase_ == phase::starting) {
      finish_start();
      continue;
    }
    if (phase_ == phase::shutting_down) {
      log(log_level::info,
          "all children stopped, exiting with " + describe(final_reason_));
      quitting_ = true;
      quit(final_reason_);
      return;
    }
    // Exits that arrived while a sequence ran are decided only now, so each
    // decision sees the children as the last sequence left them.
    if (pending_exits_.empty())
      return;
    auto event = std::move(pending_exits_.front());
    pending_exits_.pop_front();
    decide_restart(event);
  }
}

void supervisor_actor::run(const action& next) {
  switch (next.what) {
    case action::kind::start:
      run_start(next.key);
      break;
    case action::kind::stop: {
      auto found = children_.find(next.key);
      if (found != children_.end() && found->second.handle)
        stop_children({next.key}, found->second.spec->shutdown);
      break;
    }
    case action::kind::stop_all_dynamic: {
      std::vector<std::uint64_t> keys;
      for (const auto& [key, c] : children_)
        if (c.handle)
          keys.push_back(key);
      if (!keys.empty())
        stop_children(keys, specs_.front().shutdown);
      break;
    }
  }
}

void supervisor_actor::run_start(std::uint64_t key) {
  auto found = children_.find(key);
  if (found == children_.end() || found->second.handle)
    return;
  if (auto err = start(key)) {
    on_start_failure(key, std::move(err));
    return;
  }

  auto& c = found->second;
  if (!c.spec->is_supervisor || c.dynamic)
    return;
  // Wait until the child supervisor has started its own children, so the
  // tree comes up depth-first and a failure below fails this start.
  awaiting_ready_ = key;
  auto generation = c.generation;
  request(c.handle, caf::infinite, await_started_atom::value)
    .then([this, key, generation](
            caf::ok_atom) { on_ready(key, generation); },
          [this, key, generation](caf::error& err) {
            on_ready_error(key, generation, err);
          });
}

void supervisor_actor::stop_children(const std::vector<std::uint64_t>& keys,
                                     std::chrono::milliseconds timeout) {
  ++stop_token_;
  for (auto key : keys) {
    const auto& c = children_.at(key);
    assert(c.handle);
    stopping_.insert(key);
    if (timeout == brutal_kill) {
      log(log_level::info, "killing child '" + c.name + "' (brutal_kill)");
      send_exit(c.handle, caf::exit_reason::kill);
    } else {
      log(log_level::debug, "stopping child '" + c.name + "'");
      send_exit(c.handle, caf::exit_reason::user_shutdown);
    }
  }
  if (timeout != brutal_kill && timeout != infinity)
    delayed_send(this, timeout, shutdown_timeout_atom::value, stop_token_);
}

void supervisor_actor::decide_restart(const pending_exit& event) {
  auto found = children_.find(event.key);
  if (found == children_.end())
    return;
  auto& c = found->second;
  // Started again since this exit, e.g. by a group restart.
  if (c.generation != event.generation || c.handle)
    return;

  bool wanted = c.restart == restart_type::permanent
                || (c.restart == restart_type::transient
                    && !is_normal_exit(event.reason));
  if (!wanted) {
    if (c.dynamic)
      children_.erase(found);
    return;
  }

  if (!intensity_.record(restart_intensity::clock::now())) {
    log(log_level::error,
        "restart intensity exceeded: more than "
          + std::to_string(flags_.intensity) + " restarts in "
          + std::to_string(flags_.period.count()) + " ms, last exit of child '"
          + c.name + "': " + describe(event.reason)
          + "; stopping all children");
    begin_shutdown(make_error(supervisor_errc::intensity_exceeded, c.name,
                              describe(event.reason)));
    return;
  }

  log(log_level::warning, "restarting child '" + c.name + "' ("
                            + std::string{to_string(flags_.strategy)}
                            + ") after exit: " + describe(event.reason));
  switch (flags_.strategy) {
    case restart_strategy::one_for_one:
    case restart_strategy::simple_one_for_one:
      actions_.push_back({action::kind::start, event.key});
      break;
    case restart_strategy::one_for_all:
      queue_group_restart(event.key, true);
      break;
    case restart_strategy::rest_for_one:
      queue_group_restart(event.key, false);
      break;
  }
}

void supervisor_actor::queue_group_restart(std::uint64_t failed_key,
                                           bool from_first) {
  auto first = from_first ? children_.begin() : children_.find(failed_key);
  std::vector<std::uint64_t> group;
  for (auto i = first; i != children_.end(); ++i)
    group.push_back(i->first);

  for (auto i = group.rbegin(); i != group.rend(); ++i)
    actions_.push_back({action::kind::stop, *i});
  // Temporary children stopped by a group restart stay stopped, as in OTP.
  for (auto key : group)
    if (key == failed_key
        || children_.at(key).restart != restart_type::temporary)
      actions_.push_back({action::kind::start, key});
}

void supervisor_actor::finish_start() {
  phase_ = phase::running;
  log(log_level::info,
      "started " + std::to_string(by_actor_.size()) + " children");
  for (auto& promise : start_waiters_)
    promise.deliver(caf::ok_atom::value);
  start_waiters_.clear();
}

void supervisor_actor::begin_shutdown(caf::error reason) {
  if (phase_ == phase::shutting_down)
    return;
  phase_ = phase::shutting_down;
  final_reason_ = std::move(reason);
  actions_.clear();
  pending_exits_.clear();
  // A late reply of a child supervisor no longer matters, because it is
  // stopped with the others.
  awaiting_ready_.reset();

  auto waiter_error = final_reason_ == supervisor_errc::start_failed
                        ? final_reason_
                        : make_error(supervisor_errc::shutting_down);
  for (auto& promise : start_waiters_)
    promise.deliver(waiter_error);
  start_waiters_.clear();

  if (flags_.strategy == restart_strategy::simple_one_for_one) {
    actions_.push_back({action::kind::stop_all_dynamic});
    return;
  }
  for (auto i = children_.rbegin(); i != children_.rend(); ++i)
    actions_.push_back({action::kind::stop, i->first});
}

bool supervisor_actor::stop_queued(std::uint64_t key) const {
  for (const auto& next : actions_)
    if (next.what == action::kind::stop && next.key == key)
      return true;
  return false;
}

// -- children ----------------------------------------------------------------------

caf::error supervisor_actor::start(std::uint64_t key) {
  auto& c = children_.at(key);
  ++c.generation;

  caf::actor handle;
  std::string cause;
  try {
    handle = c.spec->start(system(), c.args);
    if (!handle)
      cause = "start function returned an invalid handle";
  } catch (const std::exception& e) {
    cause = std::string{"start function threw: "} + e.what();
  } catch (...) {
    cause = "start function threw a non-standard exception";
  }
  if (!cause.empty()) {
    log(log_level::error, "child '" + c.name + "' failed to start: " + cause);
    return make_error(supervisor_errc::start_failed, c.name, cause);
  }

  c.handle = handle;
  by_actor_.emplace(handle.id(), key);
  // Monitoring an actor that already exited delivers its down message at
  // once, so a child that dies right after its start is not missed.
  monitor(handle);
  publish(c);
  log(log_level::info, "started child '" + c.name + "' (actor "
                         + std::to_string(handle.id()) + ")");
  return {};
}

void supervisor_actor::publish(const child& c) {
  if (c.spec->registry_key)
    system().registry().put(*c.spec->registry_key, c.handle);
}

void supervisor_actor::unpublish(const child& c) {
  if (!c.spec->registry_key)
    return;
  auto& registry = system().registry();
  // NOTE: get and erase are two registry operations; another supervisor that
  // publishes the same key in between would lose its entry. validate() keeps
  // keys unique within one supervisor, not across supervisors.
  if (registry.get<caf::actor>(*c.spec->registry_key) == c.handle)
    registry.erase(*c.spec->registry_key);
}

// -- logging ---------------------------------------------------------------------

void supervisor_actor::log(log_level level, const std::string& text) const {
  if (flags_.log)
    flags_.log(level, "supervisor '" + flags_.name + "': " + text);
}

std::string supervisor_actor::describe(const caf::error& reason) const {
  if (!reason)
    return "normal";
  return home_system().render(reason);
}

} // namespace

caf::actor spawn_supervisor_actor(caf::actor_system& system,
                                  supervisor_flags flags,
                                  std::vector<child_spec> children) {
  return system.spawn<supervisor_actor>(std::move(flags), std::move(children));
}

} // namespace starling::supervisor::detail
