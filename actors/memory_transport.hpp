// An in-process transport for client connections: the same c2s connection
// broker and session actors as over TCP, but the bytes travel through memory
// instead of a socket. It exists so that one process can hold far more
// sessions than it can hold file descriptors (20,000 here), for benchmarks
// that measure memory per session and routing at a million sessions.
//
// The server end is a CAF scribe (memory_scribe) attached to a c2s broker in
// place of a socket scribe. It supports every socket operation the c2s broker uses:
// reads of at most c2s.read_buffer_bytes, halt and trigger for the rate
// limit, write acknowledgements for c2s.max_output_bytes, close.
//
// Threading: like every broker, the scribe lives on CAF's I/O thread.
// open_memory_connection(), memory_scribe::client_write() and
// memory_scribe::client_close() must be called on that thread (see
// run_on_io_thread); the client handler is called on it too. Input from the
// client is always delivered in a later event of the I/O loop, never from
// inside the call, so a handler may write from its callback.
#pragma once

#include <caf/intrusive_ptr.hpp>
#include <caf/io/scribe.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace caf {
class actor_system;
}

namespace starling::actors {

struct server_context;

/// Callbacks of the client side of memory connections. One handler may
/// serve many connections, and `tag` identifies the connection.
class memory_client_handler {
public:
  virtual ~memory_client_handler() = default;

  /// The server wrote `bytes` (one flush: usually one element).
  virtual void on_server_bytes(std::uint64_t tag, std::string_view bytes) = 0;

  /// The server closed the connection; nothing follows.
  virtual void on_server_closed(std::uint64_t tag) = 0;
};

class memory_scribe final : public caf::io::scribe {
public:
  memory_scribe(caf::io::network::multiplexer& io, caf::io::connection_handle hdl,
                memory_client_handler& client, std::uint64_t tag);
  ~memory_scribe() override;

  // -- client side, I/O thread only --

  /// Queues bytes for the server, which reads them in a later event.
  void client_write(std::string_view bytes);

  /// Closes the connection from the client side: the broker receives
  /// connection_closed_msg, as when a TCP peer closes.
  void client_close();

  /// Returns true once either side closed. It does not test detached(),
  /// because the client may write before the new broker adopts the scribe.
  bool closed() const { return client_ == nullptr; }

  // -- caf::io::scribe --

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void flush() override;
  void graceful_shutdown() override;
  void add_to_loop() override;
  void remove_from_loop() override;
  std::string addr() const override;
  std::uint16_t port() const override;

private:
  bool readable() const;
  void schedule_delivery();
  void deliver();

  caf::io::network::multiplexer& io_;
  memory_client_handler* client_;
  std::uint64_t tag_;
  std::vector<char> read_buffer_;
  std::vector<char> write_buffer_;
  std::string input_;        ///< Written by the client, not yet read.
  std::size_t read_size_ = 0;
  std::size_t unacknowledged_ = 0; ///< Written since the last data_transferred_msg.
  caf::io::receive_policy_flag read_flag_ = caf::io::receive_policy_flag::at_most;
  bool reading_ = false;
  bool read_configured_ = false;
  bool delivery_pending_ = false;
  bool ack_writes_ = false;
  bool ack_pending_ = false;
};

using memory_scribe_ptr = caf::intrusive_ptr<memory_scribe>;

/// Starts a c2s connection actor served through memory and adopted by the
/// connections supervisor like a TCP connection. I/O thread only. Returns
/// null when the supervisor is not running.
memory_scribe_ptr open_memory_connection(caf::actor_system& system,
                                         std::shared_ptr<server_context> context,
                                         memory_client_handler& client, std::uint64_t tag);

/// Runs `fn` on CAF's I/O thread (later, also when called from it).
void run_on_io_thread(caf::actor_system& system, std::function<void()> fn);

} // namespace starling::actors
