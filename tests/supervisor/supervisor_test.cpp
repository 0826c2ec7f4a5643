// Supervision trees on a real actor system. Children record their start (in
// the start function, inside the supervisor) and the exit message they get
// (in their exit handler, before they quit) into a shared journal, so the
// journal order is the order in which the supervisor acted. Every wait is on
// a condition or a message with a 10 s limit that only a failure reaches.
#define BOOST_TEST_MODULE supervisor_tree
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "supervisor/supervisor.hpp"

namespace sup = starling::supervisor;
using namespace std::chrono_literals;

// Printers that Boost.Test finds by argument-dependent lookup, so a failed
// check shows the values.
namespace caf {
std::ostream& boost_test_print_type(std::ostream& out, const error& x) {
  return out << to_string(x);
}
std::ostream& boost_test_print_type(std::ostream& out, exit_reason x) {
  return out << to_string(x);
}
std::ostream& boost_test_print_type(std::ostream& out, const actor& x) {
  return out << "actor " << (x ? std::to_string(x.id()) : "invalid");
}
} // namespace caf

namespace starling::supervisor {
std::ostream& boost_test_print_type(std::ostream& out, supervisor_errc x) {
  return out << to_string(x);
}
} // namespace starling::supervisor

namespace {

constexpr auto wait_limit = 10s;

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;

// Thread-safe list of events with a blocking wait.
class journal {
public:
  void add(std::string event) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }

  std::vector<std::string> events() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_;
  }

  std::size_t count(const std::string& event) const {
    std::lock_guard<std::mutex> guard{mutex_};
    return static_cast<std::size_t>(
      std::count(events_.begin(), events_.end(), event));
  }

  // Waits until `event` was recorded `times` times; false after wait_limit.
  bool wait_for(const std::string& event, std::size_t times = 1) {
    std::unique_lock<std::mutex> guard{mutex_};
    return changed_.wait_for(guard, wait_limit, [&] {
      return static_cast<std::size_t>(
               std::count(events_.begin(), events_.end(), event))
             >= times;
    });
  }

  // Waits until some event contains `part`; false after wait_limit.
  bool wait_for_part(const std::string& part) {
    std::unique_lock<std::mutex> guard{mutex_};
    return changed_.wait_for(guard, wait_limit, [&] {
      return std::any_of(events_.begin(), events_.end(), [&](const auto& e) {
        return e.find(part) != std::string::npos;
      });
    });
  }

  // Events that start with `prefix`, in order.
  std::vector<std::string> with_prefix(const std::string& prefix) const {
    std::lock_guard<std::mutex> guard{mutex_};
    std::vector<std::string> result;
    for (const auto& e : events_)
      if (e.rfind(prefix, 0) == 0)
        result.push_back(e);
    return result;
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

using journal_ptr = std::shared_ptr<journal>;
using flag_ptr = std::shared_ptr<std::atomic<bool>>;

std::string reason_name(const caf::error& reason) {
  if (!reason)
    return "normal";
  if (reason == caf::exit_reason::user_shutdown)
    return "user_shutdown";
  if (reason == caf::exit_reason::kill)
    return "kill";
  return "other";
}

// A child that crashes, fails or stops on request. While `ignore_exit` is
// set it records exit requests and keeps running.
caf::behavior worker(caf::event_based_actor* self, journal_ptr events,
                     std::string name, flag_ptr ignore_exit) {
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (ignore_exit && ignore_exit->load()) {
      events->add("ignored:" + name);
      return;
    }
    events->add("exit:" + name + ":" + reason_name(msg.reason));
    self->quit(msg.reason);
  });
  return {
    [=](crash_atom) { throw std::runtime_error("crash requested by test"); },
    [=](fail_atom) { self->quit(caf::make_error(caf::sec::runtime_error)); },
    [=](stop_atom) { self->quit(); },
    [=](caf::get_atom) { return name; },
  };
}

sup::start_function start_worker(journal_ptr events, std::string name,
                                 flag_ptr ignore_exit = nullptr) {
  return [=](caf::actor_system& system, const caf::message&) {
    events->add("start:" + name);
    return system.spawn(worker, events, name, ignore_exit);
  };
}

sup::child_spec worker_spec(journal_ptr events, std::string name,
                            sup::restart_type restart
                            = sup::restart_type::permanent) {
  sup::child_spec spec;
  spec.name = name;
  spec.start = start_worker(events, name);
  spec.restart = restart;
  spec.shutdown = 2s;
  return spec;
}

struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("sharing"));
    sup::add_error_category(*this);
  }
};

struct fixture {
  test_config cfg;
  caf::actor_system system{cfg};
  caf::scoped_actor self{system};
  journal_ptr events = std::make_shared<journal>();
  journal_ptr log_lines = std::make_shared<journal>();
  // Killed at the end so that the actor system can shut down even after a
  // failed check.
  std::vector<caf::actor> roots;

  ~fixture() {
    for (auto& root : roots)
      self->send_exit(root, caf::exit_reason::kill);
  }

  sup::supervisor_flags flags(std::string name, sup::restart_strategy strategy,
                              int intensity = 5) {
    sup::supervisor_flags result;
    result.name = std::move(name);
    result.strategy = strategy;
    result.intensity = intensity;
    result.period = 10s;
    result.log = [lines = log_lines](sup::log_level level, std::string line) {
      lines->add(std::string{sup::to_string(level)} + " " + line);
    };
    return result;
  }

  caf::actor spawn(sup::supervisor_flags f,
                   std::vector<sup::child_spec> children) {
    auto result = sup::spawn_supervisor(system, std::move(f),
                                        std::move(children));
    if (!result)
      BOOST_FAIL("spawn_supervisor: " << system.render(result.error()));
    roots.push_back(*result);
    self->monitor(*result);
    return *result;
  }

  bool started(const caf::actor& s) {
    bool ok = false;
    sup::await_started(self, s, wait_limit)
      .receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) {
                 BOOST_TEST_MESSAGE("await_started: " << system.render(err));
               });
    return ok;
  }

  caf::expected<caf::actor> which(const caf::actor& s, std::string name) {
    caf::expected<caf::actor> result{caf::sec::request_timeout};
    sup::which_child(self, s, wait_limit, std::move(name))
      .receive([&](caf::actor& child) { result = std::move(child); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  std::uint64_t count(const caf::actor& s) {
    std::uint64_t result = 999;
    sup::count_children(self, s, wait_limit)
      .receive([&](std::uint64_t n) { result = n; },
               [&](caf::error& err) {
                 BOOST_TEST_MESSAGE("count_children: " << system.render(err));
               });
    return result;
  }

  // Waits for the down message of a monitored supervisor and returns its
  // exit reason; sec::request_timeout if none arrives in time.
  caf::error exit_reason_of(const caf::actor& s) {
    caf::error result = caf::sec::request_timeout;
    bool done = false;
    self->receive_while([&] { return !done; })(
      [&](caf::down_msg& msg) {
        if (msg.source == s.address()) {
          result = msg.reason;
          done = true;
        }
      },
      caf::after(wait_limit) >> [&] { done = true; });
    return result;
  }

  caf::actor child(const caf::actor& s, const std::string& name) {
    auto result = which(s, name);
    if (!result)
      BOOST_FAIL("which_child " << name << ": "
                                << system.render(result.error()));
    return *result;
  }
};

std::vector<std::string> strings(std::initializer_list<const char*> xs) {
  return {xs.begin(), xs.end()};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(supervisor_tree, fixture)

// -- validation ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(invalid_specs_are_rejected) {
  auto f = flags("bad", sup::restart_strategy::one_for_one);
  auto a = worker_spec(events, "a");

  auto duplicate = sup::spawn_supervisor(system, f, {a, a});
  BOOST_TEST(!duplicate);
  BOOST_TEST(duplicate.error() == sup::supervisor_errc::invalid_spec);

  auto no_start = a;
  no_start.start = nullptr;
  BOOST_TEST(sup::validate(f, {no_start}) == sup::supervisor_errc::invalid_spec);

  auto simple = flags("bad", sup::restart_strategy::simple_one_for_one);
  BOOST_TEST(sup::validate(simple, {a, worker_spec(events, "b")})
             == sup::supervisor_errc::invalid_spec);
  auto keyed = a;
  keyed.registry_key = caf::atom("keyed");
  BOOST_TEST(sup::validate(simple, {keyed})
             == sup::supervisor_errc::invalid_spec);

  auto negative = f;
  negative.intensity = -1;
  BOOST_TEST(sup::validate(negative, {a}) == sup::supervisor_errc::invalid_spec);

  BOOST_TEST(!sup::validate(f, {a}));
}

// -- start -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(children_start_in_spec_order) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), worker_spec(events, "b"),
                  worker_spec(events, "c")});
  BOOST_REQUIRE(started(s));
  BOOST_TEST(events->with_prefix("start:")
             == strings({"start:a", "start:b", "start:c"}),
             boost::test_tools::per_element());
  BOOST_TEST(count(s) == 3u);
}

BOOST_AUTO_TEST_CASE(throwing_start_rolls_back) {
  auto bad = worker_spec(events, "bad");
  bad.start = [](caf::actor_system&, const caf::message&) -> caf::actor {
    throw std::runtime_error("cannot open database");
  };
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), worker_spec(events, "b"), bad,
                  worker_spec(events, "c")});

  auto reason = exit_reason_of(s);
  BOOST_TEST(reason == sup::supervisor_errc::start_failed);
  BOOST_TEST(events->events()
             == strings({"start:a", "start:b", "exit:b:user_shutdown",
                         "exit:a:user_shutdown"}),
             boost::test_tools::per_element());
  BOOST_TEST(log_lines->wait_for_part("cannot open database"));
}

BOOST_AUTO_TEST_CASE(invalid_handle_fails_start) {
  auto bad = worker_spec(events, "bad");
  bad.start = [](caf::actor_system&, const caf::message&) {
    return caf::actor{};
  };
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), bad});

  BOOST_TEST(!started(s));
  BOOST_TEST(exit_reason_of(s) == sup::supervisor_errc::start_failed);
  BOOST_TEST(events->events()
             == strings({"start:a", "exit:a:user_shutdown"}),
             boost::test_tools::per_element());
}

// -- strategies --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(one_for_one_restarts_only_crashed_child) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), worker_spec(events, "b")});
  BOOST_REQUIRE(started(s));
  auto a = child(s, "a");
  auto b = child(s, "b");

  self->send(a, crash_atom::value);
  BOOST_REQUIRE(events->wait_for("start:a", 2));

  auto new_a = child(s, "a");
  BOOST_TEST(new_a != a);
  BOOST_TEST(child(s, "b") == b);
  BOOST_TEST(events->count("start:b") == 1u);
  BOOST_TEST(count(s) == 2u);
  BOOST_TEST(log_lines->wait_for_part("restarting child 'a'"));
}

BOOST_AUTO_TEST_CASE(one_for_all_restarts_every_child) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_all),
                 {worker_spec(events, "a"), worker_spec(events, "b"),
                  worker_spec(events, "c")});
  BOOST_REQUIRE(started(s));
  auto b = child(s, "b");

  self->send(b, fail_atom::value);
  BOOST_REQUIRE(events->wait_for("start:c", 2));

  // The others stop in reverse order, then all start in spec order.
  BOOST_TEST(events->events()
             == strings({"start:a", "start:b", "start:c",
                         "exit:c:user_shutdown", "exit:a:user_shutdown",
                         "start:a", "start:b", "start:c"}),
             boost::test_tools::per_element());
  BOOST_TEST(count(s) == 3u);
}

BOOST_AUTO_TEST_CASE(rest_for_one_restarts_later_children) {
  auto s = spawn(flags("root", sup::restart_strategy::rest_for_one),
                 {worker_spec(events, "a"), worker_spec(events, "b"),
                  worker_spec(events, "c"), worker_spec(events, "d")});
  BOOST_REQUIRE(started(s));
  auto a = child(s, "a");

  self->send(child(s, "b"), crash_atom::value);
  BOOST_REQUIRE(events->wait_for("start:d", 2));

  BOOST_TEST(events->events()
             == strings({"start:a", "start:b", "start:c", "start:d",
                         "exit:d:user_shutdown", "exit:c:user_shutdown",
                         "start:b", "start:c", "start:d"}),
             boost::test_tools::per_element());
  BOOST_TEST(child(s, "a") == a);
  BOOST_TEST(count(s) == 4u);
}

BOOST_AUTO_TEST_CASE(simple_one_for_one_restarts_with_same_args) {
  sup::child_spec session;
  session.name = "session";
  session.restart = sup::restart_type::permanent;
  session.start = [events = events](caf::actor_system& system,
                                    const caf::message& args) {
    auto name = args.get_as<std::string>(0);
    events->add("start:" + name);
    return system.spawn(worker, events, name, flag_ptr{});
  };
  auto s = spawn(flags("sessions", sup::restart_strategy::simple_one_for_one),
                 {session});
  BOOST_REQUIRE(started(s));

  caf::actor alice;
  sup::start_child(self, s, wait_limit, caf::make_message(std::string{"alice"}))
    .receive([&](caf::actor& x) { alice = x; },
             [&](caf::error& err) { BOOST_FAIL(system.render(err)); });
  sup::start_child(self, s, wait_limit, caf::make_message(std::string{"bob"}))
    .receive([](caf::actor&) {},
             [&](caf::error& err) { BOOST_FAIL(system.render(err)); });
  BOOST_TEST(count(s) == 2u);

  self->send(alice, crash_atom::value);
  BOOST_REQUIRE(events->wait_for("start:alice", 2));
  BOOST_TEST(count(s) == 2u);
  BOOST_TEST(events->count("start:bob") == 1u);
}

BOOST_AUTO_TEST_CASE(start_child_needs_simple_strategy) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a")});
  caf::error result;
  sup::start_child(self, s, wait_limit)
    .receive([](caf::actor&) {}, [&](caf::error& err) { result = err; });
  BOOST_TEST(result == sup::supervisor_errc::wrong_strategy);
  sup::adopt_child(self, s, wait_limit, child(s, "a"))
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  BOOST_TEST(result == sup::supervisor_errc::wrong_strategy);
}

// -- restart types -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(transient_child_stays_down_after_normal_exit) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "t", sup::restart_type::transient),
                  worker_spec(events, "marker")});
  BOOST_REQUIRE(started(s));

  self->send(child(s, "t"), stop_atom::value);
  BOOST_REQUIRE(log_lines->wait_for_part("child 't' exited: normal"));
  auto t = which(s, "t");
  BOOST_TEST(!t);
  BOOST_TEST(t.error() == sup::supervisor_errc::child_not_running);
  BOOST_TEST(events->count("start:t") == 1u);
  BOOST_TEST(count(s) == 1u);
}

BOOST_AUTO_TEST_CASE(transient_child_restarts_after_error_exit) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "t", sup::restart_type::transient)});
  BOOST_REQUIRE(started(s));

  self->send(child(s, "t"), fail_atom::value);
  BOOST_REQUIRE(events->wait_for("start:t", 2));
  BOOST_TEST(static_cast<bool>(which(s, "t")));
}

BOOST_AUTO_TEST_CASE(temporary_child_is_never_restarted) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "tmp", sup::restart_type::temporary),
                  worker_spec(events, "marker")});
  BOOST_REQUIRE(started(s));

  self->send(child(s, "tmp"), crash_atom::value);
  BOOST_REQUIRE(log_lines->wait_for_part("child 'tmp' exited"));
  BOOST_TEST(which(s, "tmp").error()
             == sup::supervisor_errc::child_not_running);
  BOOST_TEST(events->count("start:tmp") == 1u);
}

BOOST_AUTO_TEST_CASE(permanent_child_restarts_after_normal_exit) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "p")});
  BOOST_REQUIRE(started(s));

  self->send(child(s, "p"), stop_atom::value);
  BOOST_REQUIRE(events->wait_for("start:p", 2));
  BOOST_TEST(static_cast<bool>(which(s, "p")));
}

// -- intensity -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(too_many_restarts_escalate) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one, 2),
                 {worker_spec(events, "a"), worker_spec(events, "flaky")});
  BOOST_REQUIRE(started(s));

  // Two restarts are within the intensity, the third exit is one too many.
  for (std::size_t round = 1; round <= 2; ++round) {
    self->send(child(s, "flaky"), crash_atom::value);
    BOOST_REQUIRE(events->wait_for("start:flaky", round + 1));
  }
  self->send(child(s, "flaky"), crash_atom::value);

  auto reason = exit_reason_of(s);
  BOOST_TEST(reason == sup::supervisor_errc::intensity_exceeded);
  BOOST_TEST(events->count("exit:a:user_shutdown") == 1u);
  BOOST_TEST(events->count("start:flaky") == 3u);
  BOOST_TEST(log_lines->wait_for_part("restart intensity exceeded"));
}

// -- shutdown ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(shutdown_stops_children_in_reverse_order) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), worker_spec(events, "b"),
                  worker_spec(events, "c")});
  BOOST_REQUIRE(started(s));

  self->send_exit(s, caf::exit_reason::user_shutdown);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::user_shutdown);
  BOOST_TEST(events->with_prefix("exit:")
             == strings({"exit:c:user_shutdown", "exit:b:user_shutdown",
                         "exit:a:user_shutdown"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(child_ignoring_shutdown_is_killed) {
  auto stubborn = worker_spec(events, "stubborn");
  stubborn.start = start_worker(events, "stubborn",
                                std::make_shared<std::atomic<bool>>(true));
  stubborn.shutdown = 200ms;
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), stubborn});
  BOOST_REQUIRE(started(s));
  auto watcher = caf::scoped_actor{system};
  watcher->monitor(child(s, "stubborn"));

  self->send_exit(s, caf::exit_reason::user_shutdown);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::user_shutdown);

  caf::error stubborn_reason;
  watcher->receive([&](caf::down_msg& msg) { stubborn_reason = msg.reason; },
                   caf::after(wait_limit) >> [] {});
  BOOST_TEST(stubborn_reason == caf::exit_reason::kill);
  // `a` is stopped only after `stubborn` is gone.
  BOOST_TEST(events->events()
             == strings({"start:a", "start:stubborn", "ignored:stubborn",
                         "exit:a:user_shutdown"}),
             boost::test_tools::per_element());
  BOOST_TEST(log_lines->wait_for_part(
    "child 'stubborn' did not exit within 200 ms"));
}

// -- nesting -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(nested_tree_starts_and_stops_depth_first) {
  auto inner = sup::supervisor_child(
    "inner", flags("inner", sup::restart_strategy::one_for_all),
    {worker_spec(events, "x"), worker_spec(events, "y")});
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), inner, worker_spec(events, "b")});
  BOOST_REQUIRE(started(s));
  BOOST_TEST(events->events()
             == strings({"start:a", "start:x", "start:y", "start:b"}),
             boost::test_tools::per_element());

  self->send_exit(s, caf::exit_reason::user_shutdown);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::user_shutdown);
  BOOST_TEST(events->with_prefix("exit:")
             == strings({"exit:b:user_shutdown", "exit:y:user_shutdown",
                         "exit:x:user_shutdown", "exit:a:user_shutdown"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(escalation_restarts_child_supervisor) {
  auto inner = sup::supervisor_child(
    "inner", flags("inner", sup::restart_strategy::one_for_one, 1),
    {worker_spec(events, "x"), worker_spec(events, "y")});
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), inner});
  BOOST_REQUIRE(started(s));
  auto old_inner = child(s, "inner");
  auto a = child(s, "a");

  self->send(child(old_inner, "x"), crash_atom::value);
  BOOST_REQUIRE(events->wait_for("start:x", 2));
  self->send(child(old_inner, "x"), crash_atom::value);

  // The inner supervisor gives up, stops y and is restarted with fresh
  // children by the root, which keeps `a`.
  BOOST_REQUIRE(events->wait_for("start:y", 2));
  BOOST_REQUIRE(events->wait_for("start:x", 3));
  auto new_inner = child(s, "inner");
  BOOST_TEST(new_inner != old_inner);
  BOOST_TEST(child(s, "a") == a);
  BOOST_TEST(events->count("exit:y:user_shutdown") == 1u);
  BOOST_TEST(child(new_inner, "x") != caf::actor{});
  BOOST_TEST(log_lines->wait_for_part(
    "child 'inner' exited: supervisor_errc::intensity_exceeded"));
}

BOOST_AUTO_TEST_CASE(nested_start_failure_fails_parent) {
  auto bad = worker_spec(events, "bad");
  bad.start = [](caf::actor_system&, const caf::message&) {
    return caf::actor{};
  };
  auto inner = sup::supervisor_child(
    "inner", flags("inner", sup::restart_strategy::one_for_one),
    {worker_spec(events, "x"), bad});
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), inner, worker_spec(events, "b")});

  BOOST_TEST(exit_reason_of(s) == sup::supervisor_errc::start_failed);
  BOOST_TEST(events->events()
             == strings({"start:a", "start:x", "exit:x:user_shutdown",
                         "exit:a:user_shutdown"}),
             boost::test_tools::per_element());
}

// -- lookup ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(which_child_reports_unknown_name) {
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a")});
  auto result = which(s, "nobody");
  BOOST_TEST(!result);
  BOOST_TEST(result.error() == sup::supervisor_errc::child_not_found);
}

BOOST_AUTO_TEST_CASE(registry_follows_restarts) {
  auto key = caf::atom("testrouter");
  auto router = worker_spec(events, "router");
  router.registry_key = key;
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {router});
  BOOST_REQUIRE(started(s));

  auto first = sup::published_child(system, key);
  BOOST_TEST(first == child(s, "router"));

  self->send(first, crash_atom::value);
  BOOST_REQUIRE(events->wait_for("start:router", 2));
  // The which_child round trip orders this read after the restart.
  auto second = child(s, "router");
  BOOST_TEST(second != first);
  BOOST_TEST(sup::published_child(system, key) == second);

  self->send_exit(s, caf::exit_reason::user_shutdown);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::user_shutdown);
  BOOST_TEST(sup::published_child(system, key) == caf::actor{});
}

// -- adopt ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(adopted_child_is_stopped_at_shutdown) {
  sup::child_spec connection;
  connection.name = "connection";
  connection.restart = sup::restart_type::temporary;
  connection.shutdown = 2s;
  connection.start = start_worker(events, "template");
  auto s = spawn(flags("connections",
                       sup::restart_strategy::simple_one_for_one),
                 {connection});

  // Spawned elsewhere, as an acceptor spawns a broker.
  auto first = system.spawn(worker, events, "adopted1", flag_ptr{});
  auto second = system.spawn(worker, events, "adopted2", flag_ptr{});
  for (const auto& x : {first, second})
    sup::adopt_child(self, s, wait_limit, x)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) { BOOST_FAIL(system.render(err)); });
  BOOST_TEST(count(s) == 2u);

  // Adopted children are temporary: a crash removes them for good.
  self->send(first, crash_atom::value);
  BOOST_REQUIRE(log_lines->wait_for_part("exited: "));
  BOOST_TEST(count(s) == 1u);

  self->send_exit(s, caf::exit_reason::user_shutdown);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::user_shutdown);
  BOOST_TEST(events->count("exit:adopted2:user_shutdown") == 1u);
  BOOST_TEST(events->count("start:template") == 0u);
}

BOOST_AUTO_TEST_CASE(adopt_during_shutdown_is_rejected) {
  sup::child_spec connection;
  connection.name = "connection";
  connection.restart = sup::restart_type::temporary;
  connection.shutdown = sup::infinity;
  connection.start = start_worker(events, "template");
  auto s = spawn(flags("connections",
                       sup::restart_strategy::simple_one_for_one),
                 {connection});

  // A child that ignores its shutdown request keeps the supervisor in its
  // shutdown phase until the test releases it.
  auto hold = std::make_shared<std::atomic<bool>>(true);
  auto stubborn = system.spawn(worker, events, "stubborn", hold);
  sup::adopt_child(self, s, wait_limit, stubborn)
    .receive([](caf::ok_atom) {},
             [&](caf::error& err) { BOOST_FAIL(system.render(err)); });
  self->send_exit(s, caf::exit_reason::user_shutdown);
  BOOST_REQUIRE(events->wait_for("ignored:stubborn"));

  auto late = system.spawn(worker, events, "late", flag_ptr{});
  caf::error result;
  sup::adopt_child(self, s, wait_limit, late)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  BOOST_TEST(result == sup::supervisor_errc::shutting_down);
  BOOST_TEST(events->wait_for("exit:late:user_shutdown"));

  hold->store(false);
  self->send(stubborn, stop_atom::value);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(failed_start_child_returns_error) {
  sup::child_spec session;
  session.name = "session";
  session.start = [](caf::actor_system&, const caf::message&) -> caf::actor {
    throw std::runtime_error("no such user");
  };
  auto s = spawn(flags("sessions", sup::restart_strategy::simple_one_for_one),
                 {session});
  caf::error result;
  sup::start_child(self, s, wait_limit)
    .receive([](caf::actor&) {}, [&](caf::error& err) { result = err; });
  BOOST_TEST(result == sup::supervisor_errc::start_failed);
  BOOST_TEST(count(s) == 0u);
}

// -- kill ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(killed_supervisor_kills_children) {
  auto hold = std::make_shared<std::atomic<bool>>(true);
  auto stubborn = worker_spec(events, "stubborn");
  stubborn.start = start_worker(events, "stubborn", hold);
  auto s = spawn(flags("root", sup::restart_strategy::one_for_one),
                 {worker_spec(events, "a"), stubborn});
  BOOST_REQUIRE(started(s));
  auto watcher = caf::scoped_actor{system};
  watcher->monitor(child(s, "a"));
  watcher->monitor(child(s, "stubborn"));

  self->send_exit(s, caf::exit_reason::kill);
  BOOST_TEST(exit_reason_of(s) == caf::exit_reason::kill);
  std::size_t killed = 0;
  for (int i = 0; i < 2; ++i)
    watcher->receive(
      [&](caf::down_msg& msg) {
        if (msg.reason == caf::exit_reason::kill)
          ++killed;
      },
      caf::after(wait_limit) >> [] {});
  BOOST_TEST(killed == 2u);
}

// -- concurrent exits ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exit_during_restart_is_handled) {
  // `c` blocks the rest_for_one restart after `b` in its stop phase. While it
  // waits, `a` crashes: that exit must lead to a second restart once the
  // first one has finished.
  auto hold = std::make_shared<std::atomic<bool>>(true);
  auto c = worker_spec(events, "c");
  c.start = start_worker(events, "c", hold);
  c.shutdown = sup::infinity;
  auto s = spawn(flags("root", sup::restart_strategy::rest_for_one),
                 {worker_spec(events, "a"), worker_spec(events, "b"), c});
  BOOST_REQUIRE(started(s));
  auto old_c = child(s, "c");

  self->send(child(s, "b"), crash_atom::value);
  BOOST_REQUIRE(events->wait_for("ignored:c"));
  self->send(child(s, "a"), crash_atom::value);
  BOOST_REQUIRE(log_lines->wait_for_part("child 'a' exited"));

  hold->store(false);
  self->send(old_c, stop_atom::value);
  BOOST_REQUIRE(events->wait_for("start:c", 3));

  BOOST_TEST(count(s) == 3u);
  BOOST_TEST(events->count("start:a") == 2u);
  BOOST_TEST(events->count("start:b") == 3u);
  BOOST_TEST(events->count("start:c") == 3u);
  BOOST_TEST(static_cast<bool>(which(s, "a")));
}

BOOST_AUTO_TEST_CASE(sibling_exit_during_group_stop_is_absorbed) {
  // While one_for_all waits for `c` to stop, `b` crashes. `b` was going to
  // be stopped anyway, so it is started once more, not twice.
  auto hold = std::make_shared<std::atomic<bool>>(true);
  auto c = worker_spec(events, "c");
  c.start = start_worker(events, "c", hold);
  c.shutdown = sup::infinity;
  auto s = spawn(flags("root", sup::restart_strategy::one_for_all),
                 {worker_spec(events, "a"), worker_spec(events, "b"), c});
  BOOST_REQUIRE(started(s));
  auto old_c = child(s, "c");

  self->send(child(s, "a"), crash_atom::value);
  BOOST_REQUIRE(events->wait_for("ignored:c"));
  self->send(child(s, "b"), crash_atom::value);
  BOOST_REQUIRE(log_lines->wait_for_part("child 'b' exited"));

  hold->store(false);
  self->send(old_c, stop_atom::value);
  BOOST_REQUIRE(events->wait_for("start:c", 2));

  BOOST_TEST(count(s) == 3u);
  BOOST_TEST(events->count("start:a") == 2u);
  BOOST_TEST(events->count("start:b") == 2u);
  BOOST_TEST(events->count("start:c") == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
