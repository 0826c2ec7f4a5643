#include "actors/c2s_listener.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/c2s_connection_state.hpp"
#include "actors/server_context.hpp"
#include "supervisor/supervisor.hpp"

namespace starling::actors {

namespace {

caf::behavior listener(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       std::shared_ptr<server_context> context, listener_options options,
                       caf::actor connections) {
  self->add_doorman(std::move(doorman));

  // The doorman closes with the broker, so an exit stops accepting at once.
  self->set_exit_handler([self, options](const caf::exit_msg& msg) {
    spdlog::info("{}: stopped listening on {}:{}", options.name, options.address, options.port);
    self->quit(msg.reason);
  });

  return {
    [self, context, options, connections](const caf::io::new_connection_msg& msg) {
      if (context->shutting_down.load()) {
        self->close(msg.handle);
        return;
      }
      auto connection = self->fork(c2s_connection_actor, msg.handle, context, options.direct_tls);
      // A temporary child: never restarted, but ended in order at shutdown.
      supervisor::adopt_child(self, connections, caf::infinite, connection)
        .then([](caf::ok_atom) {},
              [self, connection, options](const caf::error& error) {
                spdlog::warn("{}: connections supervisor refused a connection: {}",
                             options.name, self->system().render(error));
                self->send_exit(connection, caf::exit_reason::user_shutdown);
              });
    },
    [self, options](const caf::io::acceptor_closed_msg&) {
      spdlog::error("{}: listening socket on {}:{} closed unexpectedly", options.name,
                    options.address, options.port);
      self->quit(caf::sec::socket_disconnected);
    },
  };
}

} // namespace

caf::actor spawn_c2s_listener(caf::actor_system& system, std::shared_ptr<server_context> context,
                              listener_options options, caf::actor supervisor) {
  auto& middleman = system.middleman();
  auto doorman = middleman.backend().new_tcp_doorman(options.port, options.address.c_str(), true);
  if (!doorman) {
    spdlog::error("{}: cannot listen on {}:{}: {}", options.name, options.address, options.port,
                  system.render(doorman.error()));
    return {};
  }
  options.port = (*doorman)->port();
  spdlog::info("{}: listening on {}:{}{}", options.name, options.address, options.port,
               options.direct_tls ? " (direct TLS)" : " (STARTTLS)");
  return middleman.spawn_broker(listener, std::move(*doorman), std::move(context), options,
                                std::move(supervisor));
}

} // namespace starling::actors
