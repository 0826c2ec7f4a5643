// The session registry's table: bare JID -> bound resources -> session
// actor. Lookups happen on every routed stanza from many actors at once, so
// the table is split into shards, each behind its own reader-writer lock,
// and no lookup waits in an actor's mailbox. Thread-safe.
//
// NOTE: a handle found here may belong to a session that ended right after
// the lookup. CAF drops what is sent to it, so such a stanza is lost
// instead of going to another resource or to offline storage.
#pragma once

#include <caf/actor.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace starling::actors {

/// One bound resource, with what routing needs to choose among them.
struct resource_entry {
  std::string resource;
  caf::actor session;
  bool available = false; ///< Sent initial presence and not yet unavailable.
  int priority = 0;       ///< RFC 6121 4.7.2.3, -128 to 127.
};

enum class bind_outcome {
  bound,    ///< The resource was free.
  replaced, ///< An older session had it and was removed; it must close.
  rejected, ///< An older session has it and the policy keeps it.
};

struct bind_result {
  bind_outcome outcome;
  caf::actor previous; ///< The removed session when outcome == replaced.
};

class session_table {
public:
  /// Binds `resource` of `bare` to `session`. With `replace` the new
  /// session wins a conflict (RFC 6120 7.7.2.2), otherwise the old one.
  bind_result bind(const std::string& bare, const std::string& resource,
                   caf::actor session, bool replace);

  /// Removes the binding only if it still belongs to `session`, so a
  /// replaced session that ends later does not remove its successor.
  void unbind(const std::string& bare, const std::string& resource,
              const caf::actor& session);

  /// Records presence state for routing by priority.
  void set_presence(const std::string& bare, const std::string& resource,
                    bool available, int priority);

  std::optional<resource_entry> find(const std::string& bare,
                                     const std::string& resource) const;

  std::vector<resource_entry> resources(const std::string& bare) const;

  /// Number of bound resources across all shards.
  std::size_t size() const;

  /// Calls `visit` for every bound session; used at shutdown.
  void for_each(const std::function<void(const resource_entry&)>& visit) const;

private:
  static constexpr std::size_t shard_count = 64;

  struct shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, std::vector<resource_entry>> users;
  };

  shard& shard_for(const std::string& bare) const;

  mutable std::array<shard, shard_count> shards_;
};

} // namespace starling::actors
