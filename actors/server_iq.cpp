#include "actors/server_iq.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <string_view>
#include <unordered_map>

#include "actors/features.hpp"
#include "actors/account_services.hpp"
#include "actors/iq_replies.hpp"
#include "actors/messages.hpp"
#include "actors/roster_service.hpp"
#include "actors/roster_xml.hpp"
#include "protocol/im/subscription.hpp"
#include "actors/server_context.hpp"
#include "actors/workers.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/sasl/saslprep.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/stanza_error.hpp"

#ifndef STARLING_VERSION
#define STARLING_VERSION "0.0.0"
#endif

namespace starling::actors {

namespace {

using iq_handler = void (*)(session_actor*, xml::element&, const xml::element& payload);

// XEP-0199: a ping is answered with an empty result.
void handle_ping(session_actor* self, xml::element& iq, const xml::element&) {
  if (iq.attr("type") != "get") {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  reply(self, result_for(iq));
}

// RFC 3921 3: the legacy session establishment, now a no-op.
void handle_session(session_actor* self, xml::element& iq, const xml::element&) {
  reply(self, result_for(iq));
}

// XEP-0030 3.1: identity and features from the implemented-features table.
void handle_disco_info(session_actor* self, xml::element& iq, const xml::element& payload) {
  if (iq.attr("type") != "get") {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  // XEP-0115 6.2: the caps node#ver names the same information.
  auto node = payload.attr("node");
  auto caps = std::string{caps_node} + "#" + server_caps_ver();
  if (node && *node != caps) {
    fail(self, iq, xml::stanza_error_condition::item_not_found);
    return;
  }
  auto response = result_for(iq);
  auto& query = response.add_child({"query", std::string{xml::ns::disco_info}});
  if (node)
    query.set_attr("node", caps);
  query.add_child({"identity", std::string{xml::ns::disco_info}})
    .set_attr("category", std::string{server_identity_category})
    .set_attr("type", std::string{server_identity_type})
    .set_attr("name", std::string{server_identity_name});
  for (auto& feature : server_features())
    query.add_child({"feature", std::string{xml::ns::disco_info}}).set_attr("var", feature);
  reply(self, std::move(response));
}

void handle_disco_items(session_actor* self, xml::element& iq, const xml::element& payload) {
  if (iq.attr("type") != "get") {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  auto response = result_for(iq);
  response.add_child({"query", std::string{xml::ns::disco_items}});
  reply(self, std::move(response));
}

// XEP-0092: name and version; the operating system is not disclosed.
void handle_version(session_actor* self, xml::element& iq, const xml::element&) {
  if (iq.attr("type") != "get") {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  auto response = result_for(iq);
  auto& query = response.add_child({"query", std::string{xml::ns::version}});
  query.add_child({"name", std::string{xml::ns::version}}).add_text("Starling");
  query.add_child({"version", std::string{xml::ns::version}}).add_text(STARLING_VERSION);
  reply(self, std::move(response));
}

// Commits an account change and answers the iq once it is durable.
void commit_account_change(session_actor* self, xml::element iq,
                           store::expected<store::write_batch> batch, bool removal) {
  auto& st = self->state;
  if (!batch) {
    spdlog::warn("session {}: account change failed: {}", st.full, batch.error().message());
    fail(self, iq, xml::stanza_error_condition::internal_server_error);
    return;
  }
  self->request(st.ctx->writer(), store_request_timeout, std::move(*batch))
    .then([self, iq, removal](const store::status& status) {
      auto& st = self->state;
      if (!status.ok()) {
        spdlog::warn("session {}: account change failed: {}", st.full, status.message());
        fail(self, iq, xml::stanza_error_condition::internal_server_error);
        return;
      }
      reply(self, result_for(iq));
      if (!removal) {
        spdlog::info("session {}: password changed", st.full);
        return;
      }
      // XEP-0077 3.2: every stream of a removed account ends.
      spdlog::info("session {}: account removed", st.full);
      for (auto& entry : st.ctx->sessions.resources(st.bare))
        self->send(entry.session, close_atom::value, xml::stream_error_condition::not_authorized);
    }, [self, iq](const caf::error& error) {
      spdlog::warn("session {}: writer failed: {}", self->state.full, caf::to_string(error));
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
    });
}

// XEP-0077 3.2 and 3.3: account removal and password change in-band.
void handle_register(session_actor* self, xml::element& iq, const xml::element& payload) {
  auto& st = self->state;
  auto type = iq.attr("type").value_or("");
  if (type == "get") {
    auto response = result_for(iq);
    auto& query = response.add_child({"query", std::string{xml::ns::iq_register}});
    query.add_child({"registered", std::string{xml::ns::iq_register}});
    query.add_child({"username", std::string{xml::ns::iq_register}}).add_text(st.local);
    reply(self, std::move(response));
    return;
  }
  if (type != "set") {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }

  auto accounts = st.ctx->accounts;
  auto user = st.local;
  if (payload.child("remove", xml::ns::iq_register)) {
    // The roster and the offline queue go with the account.
    auto batch = accounts->make_remove(user);
    auto roster = st.ctx->rosters->make_remove_user(st.bare);
    auto queue = st.ctx->offline->make_remove_user(user);
    if (!roster || !queue) {
      auto& failure = !roster ? roster.error() : queue.error();
      commit_account_change(self, std::move(iq), failure, true);
      return;
    }
    batch.append(*roster).append(*queue).append(
      st.ctx->user_data->make_remove(st.bare, {"vcard", "last"}));
    commit_account_change(self, std::move(iq), std::move(batch), true);
    return;
  }

  auto name = payload.child("username", xml::ns::iq_register);
  auto password_element = payload.child("password", xml::ns::iq_register);
  if (password_element == nullptr) {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  if (name != nullptr && jid::nodeprep(name->text()) != user) {
    // Only one's own password can be changed.
    fail(self, iq, xml::stanza_error_condition::not_allowed);
    return;
  }
  auto password = sasl::saslprep(password_element->text(), sasl::saslprep_mode::stored);
  // PLAIN accepts at most 1024 bytes per field (as in registration).
  if (!password || password->size() > 1024) {
    fail(self, iq, xml::stanza_error_condition::not_acceptable);
    return;
  }
  // Key derivation takes milliseconds, so it runs in a worker.
  run_in_worker(self, [accounts, user, password = *password] {
    return accounts->make_change_password(user, password);
  }, [self, iq](store::expected<store::write_batch>& batch) {
    commit_account_change(self, iq, std::move(batch), false);
  }, [self, iq](const caf::error& error) {
    spdlog::warn("session {}: password worker failed: {}", self->state.full,
                 caf::to_string(error));
    fail(self, iq, xml::stanza_error_condition::internal_server_error);
  });
}

// RFC 6121 2.2 and XEP-0237: the roster, or only what changed since the
// client's version.
void roster_get(session_actor* self, xml::element& iq, const xml::element& payload) {
  auto& st = self->state;
  st.roster_requested = true;

  std::optional<std::uint64_t> since;
  if (auto ver = payload.attr("ver"); ver && !ver->empty()) {
    try {
      since = std::stoull(std::string{*ver});
    } catch (const std::exception&) {
      since.reset(); // an unknown version string gets the full roster
    }
  }

  if (since) {
    auto changes = st.ctx->rosters->changes_since(st.bare, *since);
    if (!changes) {
      spdlog::warn("session {}: roster read failed: {}", st.full, changes.error().message());
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
      return;
    }
    if (changes->kind != store::roster_sync::full) {
      // XEP-0237 3: an empty result, then one push per change in version
      // order, so the last push carries the current version.
      reply(self, result_for(iq));
      std::vector<std::pair<std::uint64_t, xml::element>> pushes;
      for (auto& item : changes->changed)
        pushes.emplace_back(item.version, roster_item_xml(item));
      for (auto& removal : changes->removed)
        pushes.emplace_back(removal.version, roster_removal_xml(removal.contact));
      std::stable_sort(pushes.begin(), pushes.end(),
                       [](auto& a, auto& b) { return a.first < b.first; });
      for (auto& [version, item] : pushes)
        self->send(self, roster_push_atom::value, std::move(item), version);
      return;
    }
  }

  auto roster = st.ctx->rosters->roster(st.bare);
  if (!roster) {
    spdlog::warn("session {}: roster read failed: {}", st.full, roster.error().message());
    fail(self, iq, xml::stanza_error_condition::internal_server_error);
    return;
  }
  auto response = result_for(iq);
  auto& query = response.add_child({"query", std::string{roster_ns}});
  query.set_attr("ver", std::to_string(roster->version));
  for (auto& item : roster->items)
    query.add_child(roster_item_xml(item));
  reply(self, std::move(response));
}

void roster_set(session_actor* self, xml::element& iq, const xml::element& payload) {
  auto& st = self->state;
  auto parsed = parse_roster_set(payload);
  if (auto condition = std::get_if<xml::stanza_error_condition>(&parsed)) {
    fail(self, iq, *condition);
    return;
  }
  auto service = st.ctx->roster_service();
  if (!service) {
    fail(self, iq, xml::stanza_error_condition::internal_server_error);
    return;
  }
  self->request(service, store_request_timeout, roster_update_atom::value, st.bare,
                std::get<roster_update>(std::move(parsed)))
    .then([self, iq](const roster_reply& result) {
      if (result.ok)
        reply(self, result_for(iq));
      else
        fail(self, iq, result.condition);
    }, [self, iq](const caf::error& error) {
      spdlog::warn("session {}: roster service failed: {}", self->state.full,
                   caf::to_string(error));
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
    });
}

// Lets tests crash a session actor the way a bug would, to check that its
// contacts see it go unavailable and that nothing else is disturbed. Off
// unless server.fault_injection is set.
void handle_fault_injection(session_actor* self, xml::element& iq, const xml::element&) {
  if (!self->state.ctx->config.server.fault_injection) {
    fail(self, iq, xml::stanza_error_condition::service_unavailable);
    return;
  }
  spdlog::warn("session {}: crashing on request (server.fault_injection)", self->state.full);
  throw std::runtime_error("fault injection requested by the client");
}

constexpr std::string_view blocking_ns = "urn:xmpp:blocking";

// Normalised JIDs of the <item/> children of <block/> or <unblock/>, or
// nothing when one is invalid.
std::optional<std::vector<std::string>> blocking_items(const xml::element& payload) {
  std::vector<std::string> jids;
  for (auto child : payload.child_elements()) {
    if (child->name() != "item" || child->xmlns() != blocking_ns)
      continue;
    auto parsed = jid::jid::parse(child->attr("jid").value_or(""));
    if (!parsed)
      return std::nullopt;
    jids.push_back(parsed->full());
  }
  return jids;
}

// XEP-0191: the blocking list. Changes commit before the reply, then go
// to every resource that requested the list, and presence follows them.
void handle_blocking(session_actor* self, xml::element& iq, const xml::element& payload) {
  auto& st = self->state;
  auto type = iq.attr("type").value_or("");

  if (type == "get" && payload.name() == "blocklist") {
    auto blocked = st.ctx->blocks->blocked(st.bare);
    if (!blocked) {
      spdlog::warn("session {}: reading the blocking list failed: {}", st.full,
                   blocked.error().message());
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
      return;
    }
    st.blocklist_requested = true;
    auto response = result_for(iq);
    auto& list = response.add_child({"blocklist", std::string{blocking_ns}});
    for (auto& jid : *blocked)
      list.add_child({"item", std::string{blocking_ns}}).set_attr("jid", jid);
    reply(self, std::move(response));
    return;
  }

  bool block = payload.name() == "block";
  if (type != "set" || (!block && payload.name() != "unblock")) {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  auto jids = blocking_items(payload);
  if (!jids) {
    fail(self, iq, xml::stanza_error_condition::jid_malformed);
    return;
  }
  // XEP-0191 3.3: a block needs at least one item; an empty unblock
  // clears the list.
  if (block && jids->empty()) {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  auto batch = block ? st.ctx->blocks->make_block(st.bare, *jids)
                     : st.ctx->blocks->make_unblock(st.bare, *jids);
  if (!batch) {
    auto code = batch.error().code();
    fail(self, iq, code == store::errc::quota_exceeded
                     ? xml::stanza_error_condition::resource_constraint
                     : xml::stanza_error_condition::bad_request);
    return;
  }
  self->request(st.ctx->writer(), store_request_timeout, std::move(*batch))
    .then([self, iq, payload, block, jids = *jids](const store::status& status) {
      auto& st = self->state;
      if (!status.ok()) {
        spdlog::warn("session {}: changing the blocking list failed: {}", st.full,
                     status.message());
        fail(self, iq, xml::stanza_error_condition::internal_server_error);
        return;
      }
      reply(self, result_for(iq));
      for (auto& entry : st.ctx->sessions.resources(st.bare))
        self->send(entry.session, block_push_atom::value, payload);
      if (!block)
        return;
      // XEP-0191 3.3: contacts that saw the user available see the user
      // go offline; others learn nothing.
      for (auto& jid : jids) {
        auto found = st.ctx->rosters->find_item(st.bare, jid.substr(0, jid.find('/')));
        bool subscribed = found && found->item
                          && im::sends_presence(static_cast<im::subscription>(
                            found->item->subscription));
        if (!subscribed && !st.presence->directed.contains(jid))
          continue;
        for (auto& entry : st.ctx->sessions.resources(st.bare))
          self->send(entry.session, present_to_atom::value, jid, false);
      }
    }, [self, iq](const caf::error& error) {
      spdlog::warn("session {}: writer failed: {}", self->state.full, caf::to_string(error));
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
    });
}

// XEP-0012 5: the server's own uptime; a user's last activity otherwise.
void handle_last(session_actor* self, xml::element& iq, const xml::element&) {
  auto& st = self->state;
  auto to = iq.attr("to").value_or("");
  if (!to.empty() && st.ctx->is_local_domain(to)) {
    if (iq.attr("type") != "get") {
      fail(self, iq, xml::stanza_error_condition::bad_request);
      return;
    }
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - st.ctx->started_at);
    auto response = result_for(iq);
    response.add_child({"query", "jabber:iq:last"})
      .set_attr("seconds", std::to_string(uptime.count()));
    reply(self, std::move(response));
    return;
  }
  handle_account_iq(self, std::move(iq), st.bare);
}

void handle_vcard(session_actor* self, xml::element& iq, const xml::element&) {
  handle_account_iq(self, std::move(iq), self->state.bare);
}

void handle_roster(session_actor* self, xml::element& iq, const xml::element& payload) {
  auto type = iq.attr("type").value_or("");
  if (type == "get")
    roster_get(self, iq, payload);
  else
    roster_set(self, iq, payload);
}

const std::unordered_map<std::string_view, iq_handler>& handlers() {
  static const std::unordered_map<std::string_view, iq_handler> table{
    {xml::ns::ping, handle_ping},
    {xml::ns::session, handle_session},
    {xml::ns::disco_info, handle_disco_info},
    {xml::ns::disco_items, handle_disco_items},
    {xml::ns::version, handle_version},
    {xml::ns::iq_register, handle_register},
    {roster_ns, handle_roster},
    {blocking_ns, handle_blocking},
    {"jabber:iq:last", handle_last},
    {"vcard-temp", handle_vcard},
    {"urn:starling:fault-injection", handle_fault_injection},
  };
  return table;
}

} // namespace

void handle_server_iq(session_actor* self, xml::element iq) {
  auto type = iq.attr("type").value_or("");
  if (type == "result" || type == "error")
    return;
  auto children = iq.child_elements();
  // The connection checked that get and set carry exactly one payload.
  auto& payload = *children.front();
  auto handler = handlers().find(payload.xmlns());
  if (handler == handlers().end()) {
    fail(self, iq, xml::stanza_error_condition::service_unavailable);
    return;
  }
  auto payload_copy = payload;
  handler->second(self, iq, payload_copy);
}

} // namespace starling::actors
