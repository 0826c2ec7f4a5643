// State shared by every connection and session of one starlingd process:
// the configuration, TLS contexts, the store, the session table and the
// login throttle. Created once by the application before the listeners
// start and kept alive by shared_ptr until the last actor holding it ends.
// Members are either immutable after start, internally synchronised, or
// atomic; the comment on each says which.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/login_throttle.hpp"
#include "actors/idle_sweeper.hpp"
#include "actors/session_table.hpp"
#include "app/config.hpp"
#include "protocol/sasl/mechanism.hpp"
#include "protocol/tls/tls_context.hpp"
#include "protocol/xml/stream_parser.hpp"
#include "store/account_store.hpp"
#include "store/lmdb_env.hpp"
#include "store/block_store.hpp"
#include "store/offline_store.hpp"
#include "store/roster_store.hpp"
#include "store/user_data_store.hpp"
#include "store/writer_actor.hpp"

namespace starling::actors {

/// How long a request to the writer may take before the client gets an
/// error. Commits take milliseconds; this only fires when the writer is
/// gone or stuck.
inline constexpr std::chrono::seconds store_request_timeout{30};

struct server_context {
  /// Immutable after start; SIGHUP changes only the log level and the TLS
  /// context below.
  app::config config;

  /// Parser limits derived from config.c2s.limits. Immutable.
  xml::parser_limits limits;

  /// SASL policy derived from config.auth. Immutable.
  sasl::mechanism_config sasl;

  /// Replaced as a whole on SIGHUP; each TLS session keeps the context it
  /// started with.
  tls::context_holder tls;

  /// Internally synchronised (LMDB read transactions per call).
  std::shared_ptr<store::lmdb_env> env;
  std::shared_ptr<store::account_store> accounts;
  std::shared_ptr<store::roster_store> rosters;
  std::shared_ptr<store::offline_store> offline;
  std::shared_ptr<store::block_store> blocks;
  std::shared_ptr<store::user_data_store> user_data;

  /// When the server started, for XEP-0012 server uptime. Immutable.
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();

  /// Returns whether `user` (a bare JID) has blocked `sender` (XEP-0191),
  /// through its full JID, bare JID or domain. A failed read counts as not
  /// blocked and is logged.
  bool is_blocked(const std::string& user, std::string_view sender) const;

  /// Bare JIDs whose offline queue a session is delivering right now, so
  /// that two resources coming online together do not both get it.
  /// Maps each such bare JID to the full JID of the delivering session.
  std::mutex offline_draining_mutex;
  std::map<std::string, std::string> offline_draining;

  /// The actor system; set once before the listeners start.
  caf::actor_system* system = nullptr;

  /// The current writer actor. Its handle changes when its supervisor
  /// restarts it, so it is looked up in the registry on each use.
  store::writer_actor writer() const;

  /// The supervisor that adopts session actors; invalid during a restart.
  caf::actor sessions_supervisor() const;

  /// The roster service (roster_service.hpp); invalid during a restart.
  caf::actor roster_service() const;

  /// The timer relay of connection brokers (timer_relay.hpp).
  caf::actor timer_relay() const;

  /// Connections waiting for idle work (idle_sweeper.hpp). Touched only on
  /// CAF's I/O thread, by c2s brokers and the idle sweeper.
  idle_list<awake_parser_tag> awake_parsers;
  idle_list<quiet_stream_tag> quiet_streams;
  idle_list<pinged_stream_tag> pinged_streams;

  /// Internally synchronised.
  session_table sessions;
  login_throttle throttle;

  /// Counters for logs and tests.
  std::atomic<std::uint64_t> next_connection_id{1};
  std::atomic<std::uint64_t> open_connections{0};

  /// Set when an orderly shutdown has begun; new streams are refused.
  std::atomic<bool> shutting_down{false};

  /// Returns whether `domain` (nameprep'ed) is one of this server's hosts.
  bool is_local_domain(std::string_view domain) const;

  /// The host used for streams whose header has no `to`.
  const std::string& default_host() const { return config.server.hosts.front(); }

  server_context(app::config cfg, std::shared_ptr<const tls::tls_context> tls_context,
                 std::shared_ptr<store::lmdb_env> environment,
                 std::shared_ptr<store::account_store> account_store,
                 std::shared_ptr<store::roster_store> roster_store,
                 std::shared_ptr<store::offline_store> offline_store,
                 std::shared_ptr<store::block_store> block_store,
                 std::shared_ptr<store::user_data_store> user_data_store);
};

} // namespace starling::actors
