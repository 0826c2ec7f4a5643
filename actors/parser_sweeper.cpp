#include "actors/parser_sweeper.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>

#include "actors/server_context.hpp"

namespace starling::actors {

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

} // namespace

void awake_parser_list::touch(awake_parser& connection,
                              std::chrono::steady_clock::time_point now) {
  remove(connection);
  connection.last_input_ = now;
  connection.older_ = newest_;
  connection.newer_ = nullptr;
  if (newest_ != nullptr)
    newest_->newer_ = &connection;
  newest_ = &connection;
  if (oldest_ == nullptr)
    oldest_ = &connection;
  connection.listed_ = true;
  ++size_;
}

void awake_parser_list::remove(awake_parser& connection) {
  if (!connection.listed_)
    return;
  if (connection.newer_ != nullptr)
    connection.newer_->older_ = connection.older_;
  else
    newest_ = connection.older_;
  if (connection.older_ != nullptr)
    connection.older_->newer_ = connection.newer_;
  else
    oldest_ = connection.newer_;
  connection.newer_ = nullptr;
  connection.older_ = nullptr;
  connection.listed_ = false;
  --size_;
}

std::size_t awake_parser_list::sweep(std::chrono::steady_clock::time_point cutoff,
                                     std::chrono::steady_clock::time_point now) {
  std::size_t released = 0;
  // Connections that must stay go to the front with `now`, so the loop
  // ends after at most one pass over the quiet ones.
  auto remaining = size_;
  while (oldest_ != nullptr && oldest_->last_input_ <= cutoff && remaining-- > 0) {
    auto& connection = *oldest_;
    remove(connection);
    if (connection.release_parser())
      ++released;
    else
      touch(connection, now);
  }
  return released;
}

caf::actor spawn_parser_sweeper(caf::actor_system& system,
                                std::shared_ptr<server_context> context) {
  auto limit = std::chrono::milliseconds{context->config.c2s.hibernate_after_ms};
  if (limit.count() == 0)
    return {};
  auto period = std::max(limit / 10, std::chrono::milliseconds{10});
  return system.spawn([context, limit, period](caf::event_based_actor* self) -> caf::behavior {
    self->send(self, sweep_atom::value);
    return {
      [self, context, limit, period](sweep_atom) {
        // The list and the connections belong to the I/O thread.
        self->system().middleman().backend().post([context, limit] {
          auto now = std::chrono::steady_clock::now();
          context->awake_parsers.sweep(now - limit, now);
        });
        self->delayed_send(self, period, sweep_atom::value);
      },
    };
  });
}

} // namespace starling::actors
