#include "supervisor/supervisor.hpp"

#include <set>
#include <unordered_set>

#include <caf/actor_registry.hpp>
#include <caf/exit_reason.hpp>

#include "supervisor/supervisor_actor.hpp"

namespace starling::supervisor {

std::string_view to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent:
      return "permanent";
    case restart_type::transient:
      return "transient";
    case restart_type::temporary:
      return "temporary";
  }
  return "invalid restart_type";
}

std::string_view to_string(restart_strategy x) {
  switch (x) {
    case restart_strategy::one_for_one:
      return "one_for_one";
    case restart_strategy::one_for_all:
      return "one_for_all";
    case restart_strategy::rest_for_one:
      return "rest_for_one";
    case restart_strategy::simple_one_for_one:
      return "simple_one_for_one";
  }
  return "invalid restart_strategy";
}

std::string_view to_string(log_level x) {
  switch (x) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
  }
  return "invalid log_level";
}

std::string_view to_string(supervisor_errc x) {
  switch (x) {
    case supervisor_errc::intensity_exceeded:
      return "intensity_exceeded";
    case supervisor_errc::start_failed:
      return "start_failed";
    case supervisor_errc::invalid_spec:
      return "invalid_spec";
    case supervisor_errc::child_not_found:
      return "child_not_found";
    case supervisor_errc::child_not_running:
      return "child_not_running";
    case supervisor_errc::wrong_strategy:
      return "wrong_strategy";
    case supervisor_errc::shutting_down:
      return "shutting_down";
  }
  return "invalid supervisor_errc";
}

caf::error make_error(supervisor_errc x) {
  return caf::error{static_cast<std::uint8_t>(x), error_category};
}

caf::error make_error(supervisor_errc x, std::string child_name,
                      std::string cause) {
  return caf::error{static_cast<std::uint8_t>(x), error_category,
                    caf::make_message(std::move(child_name), std::move(cause))};
}

void add_error_category(caf::actor_system_config& cfg) {
  auto render = [](std::uint8_t code, caf::atom_value,
                   const caf::message& context) {
    std::string result = "supervisor_errc::";
    result += to_string(static_cast<supervisor_errc>(code));
    if (context.match_elements<std::string, std::string>()) {
      result += " (child '";
      result += context.get_as<std::string>(0);
      result += "'";
      const auto& cause = context.get_as<std::string>(1);
      if (!cause.empty()) {
        result += ": ";
        result += cause;
      }
      result += ")";
    }
    return result;
  };
  cfg.add_error_category(error_category, render);
}

bool is_normal_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal
         || reason == caf::exit_reason::user_shutdown;
}

caf::error validate(const supervisor_flags& flags,
                    const std::vector<child_spec>& children) {
  auto invalid = [](std::string what) {
    return caf::error{static_cast<std::uint8_t>(supervisor_errc::invalid_spec),
                      error_category,
                      caf::make_message(std::string{}, std::move(what))};
  };
  if (flags.intensity < 0)
    return invalid("intensity must not be negative");
  if (flags.period.count() <= 0)
    return invalid("period must be positive");
  if (flags.strategy == restart_strategy::simple_one_for_one) {
    if (children.size() != 1)
      return invalid("simple_one_for_one needs exactly one template spec");
    if (children.front().registry_key)
      return invalid("a simple_one_for_one template cannot have a registry "
                     "key because it has many instances");
  }
  std::unordered_set<std::string> names;
  std::set<caf::atom_value> keys;
  for (const auto& child : children) {
    if (child.name.empty())
      return invalid("a child spec has an empty name");
    if (!names.insert(child.name).second)
      return invalid("duplicate child name '" + child.name + "'");
    if (!child.start)
      return invalid("child '" + child.name + "' has no start function");
    if (child.shutdown.count() < 0)
      return invalid("child '" + child.name
                     + "' has a negative shutdown timeout");
    if (child.registry_key && !keys.insert(*child.registry_key).second)
      return invalid("child '" + child.name + "' reuses registry key '"
                     + caf::to_string(*child.registry_key) + "'");
  }
  return {};
}

caf::expected<caf::actor> spawn_supervisor(caf::actor_system& system,
                                           supervisor_flags flags,
                                           std::vector<child_spec> children) {
  if (auto err = validate(flags, children))
    return err;
  return detail::spawn_supervisor_actor(system, std::move(flags),
                                        std::move(children));
}

child_spec supervisor_child(std::string name, supervisor_flags flags,
                            std::vector<child_spec> children,
                            restart_type restart) {
  child_spec spec;
  spec.name = std::move(name);
  spec.restart = restart;
  spec.shutdown = infinity;
  spec.is_supervisor = true;
  // An invalid nested spec shows up as a failed start of this child, with
  // the validation error logged by the parent.
  spec.start = [flags = std::move(flags), children = std::move(children)](
                 caf::actor_system& system, const caf::message&) {
    auto sup = spawn_supervisor(system, flags, children);
    if (!sup)
      throw std::invalid_argument(system.render(sup.error()));
    return std::move(*sup);
  };
  return spec;
}

caf::actor published_child(caf::actor_system& system, caf::atom_value key) {
  return system.registry().get<caf::actor>(key);
}

} // namespace starling::supervisor
