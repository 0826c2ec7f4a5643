#include "actors/memory_transport.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "actors/c2s_connection_state.hpp"
#include "actors/registry_keys.hpp"
#include "actors/server_context.hpp"
#include "supervisor/supervisor.hpp"

namespace starling::actors {

namespace {

// Reads handed to the broker per event of the I/O loop before other
// connections get their turn, as CAF does for sockets.
constexpr int max_consecutive_reads = 50;

// Handles of memory connections start far above any file descriptor, so a
// log line never confuses one with a socket.
std::atomic<std::int64_t> next_handle{std::int64_t{1} << 40};

caf::behavior memory_connection_actor(c2s_broker* self, memory_scribe_ptr scribe,
                                      std::shared_ptr<server_context> context,
                                      caf::actor connections) {
  auto hdl = scribe->hdl();
  self->add_scribe(std::move(scribe));
  // Adopted like a connection from a listener: never restarted, ended in
  // order at shutdown.
  supervisor::adopt_child(self, connections, caf::infinite, caf::actor_cast<caf::actor>(self))
    .then([](caf::ok_atom) {},
          [self](const caf::error& error) {
            spdlog::warn("memory connection: the connections supervisor rejected it: {}",
                         self->system().render(error));
            self->quit(caf::exit_reason::user_shutdown);
          });
  return self->state.start(hdl, std::move(context), false);
}

} // namespace

memory_scribe::memory_scribe(caf::io::network::multiplexer& io, caf::io::connection_handle hdl,
                             memory_client_handler& client, std::uint64_t tag)
    : caf::io::scribe(hdl), io_(io), client_(&client), tag_(tag) {
}

memory_scribe::~memory_scribe() = default;

void memory_scribe::client_write(std::string_view bytes) {
  if (closed())
    return;
  input_.append(bytes);
  schedule_delivery();
}

void memory_scribe::client_close() {
  if (closed())
    return;
  client_ = nullptr;
  // Later, so that a client closing from inside on_server_bytes does not
  // re-enter the broker that is writing to it.
  memory_scribe_ptr self{this};
  io_.post([self] {
    if (!self->detached())
      self->detach(&self->io_, true);
  });
}

void memory_scribe::configure_read(caf::io::receive_policy::config config) {
  read_flag_ = config.first;
  read_size_ = config.second;
  // Like CAF's socket scribe, only the first call starts reading; later
  // calls change the policy but do not undo halt().
  if (!read_configured_) {
    read_configured_ = true;
    reading_ = true;
  }
  schedule_delivery();
}

void memory_scribe::ack_writes(bool enable) {
  ack_writes_ = enable;
}

std::vector<char>& memory_scribe::wr_buf() {
  return write_buffer_;
}

std::vector<char>& memory_scribe::rd_buf() {
  return read_buffer_;
}

void memory_scribe::flush() {
  if (write_buffer_.empty())
    return;
  auto written = write_buffer_.size();
  if (client_ != nullptr)
    client_->on_server_bytes(tag_, {write_buffer_.data(), written});
  // An idle connection keeps no buffer, as a socket's kernel buffer would
  // not count against the process either.
  std::vector<char>{}.swap(write_buffer_);
  if (!ack_writes_)
    return;
  // The broker learns in a later event that the bytes left, as it would
  // from a socket; acknowledgements of one event are combined.
  unacknowledged_ += written;
  if (ack_pending_)
    return;
  ack_pending_ = true;
  memory_scribe_ptr self{this};
  io_.post([self] {
    self->ack_pending_ = false;
    auto bytes = std::exchange(self->unacknowledged_, 0);
    if (!self->detached())
      self->data_transferred(&self->io_, bytes, 0);
  });
}

void memory_scribe::graceful_shutdown() {
  // The client may drop the last reference from on_server_closed().
  memory_scribe_ptr guard{this};
  flush();
  auto client = std::exchange(client_, nullptr);
  input_ = {};
  detach(&io_, false);
  if (client != nullptr)
    client->on_server_closed(tag_);
}

void memory_scribe::add_to_loop() {
  reading_ = true;
  schedule_delivery();
}

void memory_scribe::remove_from_loop() {
  reading_ = false;
}

std::string memory_scribe::addr() const {
  return "memory";
}

std::uint16_t memory_scribe::port() const {
  return 0;
}

bool memory_scribe::readable() const {
  if (!reading_ || input_.empty() || detached())
    return false;
  if (read_flag_ == caf::io::receive_policy_flag::at_most)
    return true;
  return input_.size() >= read_size_;
}

void memory_scribe::schedule_delivery() {
  if (delivery_pending_ || !readable())
    return;
  delivery_pending_ = true;
  memory_scribe_ptr self{this};
  io_.post([self] {
    self->delivery_pending_ = false;
    self->deliver();
  });
}

void memory_scribe::deliver() {
  for (int reads = 0; reads < max_consecutive_reads && readable(); ++reads) {
    auto size = input_.size();
    if (read_size_ > 0 && read_flag_ != caf::io::receive_policy_flag::at_least)
      size = std::min(size, read_size_);
    read_buffer_.assign(input_.data(), input_.data() + size);
    input_.erase(0, size);
    // consume() hands read_buffer_ to the broker as new_data_msg and
    // reports false once the broker's activity tokens are used up.
    if (!consume(&io_, read_buffer_.data(), size))
      reading_ = false;
  }
  std::vector<char>{}.swap(read_buffer_);
  if (input_.empty())
    std::string{}.swap(input_);
  schedule_delivery();
}

memory_scribe_ptr open_memory_connection(caf::actor_system& system,
                                         std::shared_ptr<server_context> context,
                                         memory_client_handler& client, std::uint64_t tag) {
  auto connections = supervisor::published_child(system, registry_keys::connections);
  if (!connections || context->shutting_down.load())
    return nullptr;
  auto& io = system.middleman().backend();
  auto hdl = caf::io::connection_handle::from_int(next_handle.fetch_add(1));
  auto scribe = caf::make_counted<memory_scribe>(io, hdl, client, tag);
  system.middleman().spawn_broker(memory_connection_actor, scribe, std::move(context),
                                  std::move(connections));
  return scribe;
}

void run_on_io_thread(caf::actor_system& system, std::function<void()> fn) {
  system.middleman().backend().post(std::move(fn));
}

} // namespace starling::actors
