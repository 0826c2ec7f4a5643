// Connections ordered by the time of their last event, for work that is
// due once a connection has been quiet for a while: freeing its parser,
// pinging it, giving up on it. One sweep over the quiet end of a list
// replaces a timer per connection (see idle_sweeper.hpp for why).
//
// A connection derives from idle_node<Tag> once for each list it can be in.
// Tag exists only to distinguish the lists. Not thread-safe: every list belongs to
// CAF's I/O thread, where all c2s brokers run.
#pragma once

#include <chrono>
#include <cstddef>

namespace starling::actors {

template <class Tag>
class idle_list;

/// A connection's place in one idle_list.
template <class Tag>
class idle_node {
public:
  idle_node() = default;
  idle_node(const idle_node&) = delete;
  idle_node& operator=(const idle_node&) = delete;

private:
  friend class idle_list<Tag>;
  idle_node* newer_ = nullptr;
  idle_node* older_ = nullptr;
  std::chrono::steady_clock::time_point since_{};
  bool listed_ = false;
};

/// Connections of one kind, the most recent event first.
template <class Tag>
class idle_list {
public:
  using node = idle_node<Tag>;
  using time_point = std::chrono::steady_clock::time_point;

  /// Records an event on `connection` at `now` and moves it to the front.
  void touch(node& connection, time_point now) {
    remove(connection);
    connection.since_ = now;
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

  /// Takes `connection` out of the list; a no-op when it is not listed.
  void remove(node& connection) {
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

  bool contains(const node& connection) const { return connection.listed_; }

  /// Takes out every connection whose last event is at or before `cutoff`,
  /// oldest first, and calls `due(connection)` for each. When `due` returns
  /// false the connection goes back to the front as if it had an event at
  /// `now`. `due` may touch or remove any connection in this list. Returns
  /// how many calls returned true.
  template <class F>
  std::size_t sweep(time_point cutoff, time_point now, F&& due) {
    std::size_t done = 0;
    // Connections put back carry `now`, so one pass over the quiet ones
    // ends the loop.
    auto remaining = size_;
    while (oldest_ != nullptr && oldest_->since_ <= cutoff && remaining-- > 0) {
      auto& connection = *oldest_;
      remove(connection);
      if (due(connection))
        ++done;
      else if (!connection.listed_)
        touch(connection, now);
    }
    return done;
  }

  std::size_t size() const { return size_; }

private:
  node* newest_ = nullptr;
  node* oldest_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace starling::actors
