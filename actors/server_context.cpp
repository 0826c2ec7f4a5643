#include "actors/server_context.hpp"

#include <caf/actor_cast.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/registry_keys.hpp"
#include "protocol/jid/jid.hpp"
#include "supervisor/supervisor.hpp"

namespace starling::actors {

namespace {

xml::parser_limits limits_from(const app::config::limits_section& limits) {
  xml::parser_limits out;
  out.max_stanza_bytes = limits.max_stanza_bytes;
  out.max_depth = limits.max_depth;
  out.max_attributes = limits.max_attributes;
  out.max_attribute_bytes = limits.max_attribute_bytes;
  out.max_text_bytes = limits.max_text_bytes;
  return out;
}

sasl::mechanism_config sasl_from(const app::config& config) {
  sasl::mechanism_config out;
  out.allow_plain_without_tls = config.c2s.allow_plaintext_auth;
  out.enabled = config.auth.mechanisms;
  out.fake_iterations = config.store.scram_iterations;
  return out;
}

} // namespace

server_context::server_context(app::config cfg,
                               std::shared_ptr<const tls::tls_context> tls_context,
                               std::shared_ptr<store::lmdb_env> environment,
                               std::shared_ptr<store::account_store> account_store,
                               std::shared_ptr<store::roster_store> roster_store,
                               std::shared_ptr<store::offline_store> offline_store,
                               std::shared_ptr<store::block_store> block_store,
                               std::shared_ptr<store::user_data_store> user_data_store)
  : config(std::move(cfg)),
    limits(limits_from(config.c2s.limits)),
    sasl(sasl_from(config)),
    tls(std::move(tls_context)),
    env(std::move(environment)),
    accounts(std::move(account_store)),
    rosters(std::move(roster_store)),
    offline(std::move(offline_store)),
    blocks(std::move(block_store)),
    user_data(std::move(user_data_store)),
    throttle(config.auth.max_failures_per_address, config.auth.max_failures_per_account,
             std::chrono::seconds{config.auth.failure_window_s}) {
}

bool server_context::is_blocked(const std::string& user, std::string_view sender) const {
  auto parsed = jid::jid::parse(sender);
  if (!parsed)
    return false;
  std::vector<std::string> candidates{parsed->full()};
  if (!parsed->is_bare())
    candidates.push_back(parsed->bare_string());
  if (!parsed->local().empty())
    candidates.push_back(parsed->domain());
  auto blocked = blocks->is_blocked(user, candidates);
  if (!blocked) {
    spdlog::warn("blocking: reading the list of {} failed: {}", user, blocked.error().message());
    return false;
  }
  return *blocked;
}

bool server_context::is_local_domain(std::string_view domain) const {
  auto& hosts = config.server.hosts;
  return std::find(hosts.begin(), hosts.end(), domain) != hosts.end();
}

store::writer_actor server_context::writer() const {
  return caf::actor_cast<store::writer_actor>(
    supervisor::published_child(*system, registry_keys::writer));
}

caf::actor server_context::timer_relay() const {
  return supervisor::published_child(*system, registry_keys::timers);
}

caf::actor server_context::roster_service() const {
  return supervisor::published_child(*system, registry_keys::roster);
}

caf::actor server_context::sessions_supervisor() const {
  return supervisor::published_child(*system, registry_keys::sessions);
}

} // namespace starling::actors
