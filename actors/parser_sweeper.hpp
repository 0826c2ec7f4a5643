// Releases the XML parsers of connections that have been quiet for
// c2s.hibernate_after_ms.
//
// Connections with an awake parser are kept in one list ordered by their
// last input. A sweeper actor ticks every tenth of that time and has the I/O
// thread release the parsers at the quiet end of the list. This replaces a
// timer per connection: at hundreds of thousands of sessions, those timers
// each woke a broker from another thread through CAF's pipe, fell seconds
// behind, and kept tens of thousands of parsers (about 11 KB each) awake.
//
// The list belongs to CAF's I/O thread, where every c2s broker runs: it is
// only touched by brokers and by the sweep that the sweeper posts there.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace starling::actors {

struct server_context;

/// A connection's place in the awake-parser list.
class awake_parser {
public:
  awake_parser() = default;
  awake_parser(const awake_parser&) = delete;
  awake_parser& operator=(const awake_parser&) = delete;
  virtual ~awake_parser() = default;

  /// Releases the parser if it can be released now. Returns false when it
  /// must stay (an element is half received, or a store or hashing result
  /// is pending).
  virtual bool release_parser() = 0;

private:
  friend class awake_parser_list;
  awake_parser* newer_ = nullptr;
  awake_parser* older_ = nullptr;
  std::chrono::steady_clock::time_point last_input_{};
  bool listed_ = false;
};

/// Connections with an awake parser, the most recent input first.
class awake_parser_list {
public:
  /// Records input on `connection` now and moves it to the front.
  void touch(awake_parser& connection, std::chrono::steady_clock::time_point now);

  /// Takes `connection` out of the list; a no-op when it is not listed.
  void remove(awake_parser& connection);

  /// Releases the parsers whose last input is at or before `cutoff`. A
  /// connection whose parser must stay is moved to the front as if it had
  /// received input at `now`. Returns how many parsers were released.
  std::size_t sweep(std::chrono::steady_clock::time_point cutoff,
                    std::chrono::steady_clock::time_point now);

  std::size_t size() const { return size_; }

private:
  awake_parser* newest_ = nullptr;
  awake_parser* oldest_ = nullptr;
  std::size_t size_ = 0;
};

/// Starts the actor that sweeps `context->awake_parsers` every
/// c2s.hibernate_after_ms / 10 (at least 10 ms). Returns an invalid handle
/// when hibernation is turned off (hibernate_after_ms = 0).
caf::actor spawn_parser_sweeper(caf::actor_system& system,
                                std::shared_ptr<server_context> context);

} // namespace starling::actors
