#include "actors/account_services.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "actors/iq_replies.hpp"
#include "actors/messages.hpp"
#include "actors/server_context.hpp"
#include "protocol/im/subscription.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/serializer.hpp"
#include "protocol/xml/stanza_error.hpp"

namespace starling::actors {

namespace {

constexpr std::string_view vcard_ns = "vcard-temp";
constexpr std::string_view last_ns = "jabber:iq:last";
constexpr std::string_view vcard_kind = "vcard";
constexpr std::string_view last_kind = "last";

// XEP-0054 3.1 and 3.2: anyone may read a vCard; only its owner may set it.
void vcard(session_actor* self, xml::element& iq, const xml::element& payload,
           const std::string& owner) {
  auto& st = self->state;
  auto type = iq.attr("type").value_or("");
  if (type == "get") {
    auto stored = st.ctx->user_data->get(owner, vcard_kind);
    if (!stored) {
      spdlog::warn("session {}: reading the vCard of {} failed: {}", st.full, owner,
                   stored.error().message());
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
      return;
    }
    auto response = result_for(iq);
    response.add_child({"vCard", std::string{vcard_ns}});
    // The stored vCard is XML this server serialized; it is sent as text
    // so that it is not parsed again for every request.
    if (stored->has_value()) {
      auto text = xml::serialize(response);
      auto empty = std::string{"<vCard xmlns='"} + std::string{vcard_ns} + "'/>";
      auto at = text.find(empty);
      if (at != std::string::npos)
        text.replace(at, empty.size(), **stored);
      self->send(st.connection, deliver_raw_atom::value, std::move(text));
      return;
    }
    reply(self, std::move(response));
    return;
  }

  if (owner != st.bare) {
    fail(self, iq, xml::stanza_error_condition::forbidden);
    return;
  }
  auto batch = st.ctx->user_data->make_put(owner, vcard_kind, xml::serialize(payload, ""));
  if (!batch) {
    fail(self, iq, xml::stanza_error_condition::not_acceptable);
    return;
  }
  self->request(st.ctx->writer(), store_request_timeout, std::move(*batch))
    .then([self, iq](const store::status& status) {
      if (!status.ok()) {
        spdlog::warn("session {}: storing the vCard failed: {}", self->state.full,
                     status.message());
        fail(self, iq, xml::stanza_error_condition::internal_server_error);
        return;
      }
      reply(self, result_for(iq));
    }, [self, iq](const caf::error&) {
      fail(self, iq, xml::stanza_error_condition::internal_server_error);
    });
}

// XEP-0012 4: seconds since the user was last available, for requesters
// the user shares presence with; 0 while a resource is available.
void last_activity(session_actor* self, xml::element& iq, const std::string& owner) {
  auto& st = self->state;
  if (iq.attr("type") != "get") {
    fail(self, iq, xml::stanza_error_condition::bad_request);
    return;
  }
  if (owner != st.bare) {
    auto item = st.ctx->rosters->find_item(owner, st.bare);
    bool allowed = item && item->item
                   && im::sends_presence(static_cast<im::subscription>(item->item->subscription));
    if (!allowed) {
      fail(self, iq, xml::stanza_error_condition::forbidden);
      return;
    }
  }

  std::uint64_t seconds = 0;
  std::string status;
  bool online = false;
  for (auto& entry : st.ctx->sessions.resources(owner))
    online = online || entry.available;
  if (!online) {
    auto stored = st.ctx->user_data->get(owner, last_kind);
    if (stored && stored->has_value()) {
      auto& text = **stored;
      auto newline = text.find('\n');
      long long when = 0;
      try {
        when = std::stoll(text.substr(0, newline));
      } catch (const std::exception&) {
        spdlog::warn("session {}: invalid last activity record of {}", st.full, owner);
      }
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
      seconds = static_cast<std::uint64_t>(std::max<long long>(0, now - when));
      if (newline != std::string::npos)
        status = text.substr(newline + 1);
    }
  }
  auto response = result_for(iq);
  auto& query = response.add_child({"query", std::string{last_ns}});
  query.set_attr("seconds", std::to_string(seconds));
  if (!status.empty())
    query.add_text(status);
  reply(self, std::move(response));
}

} // namespace

void handle_account_iq(session_actor* self, xml::element iq, const std::string& owner) {
  auto& st = self->state;
  auto type = iq.attr("type").value_or("");
  if (type == "result" || type == "error")
    return;
  auto local = owner.substr(0, owner.find('@'));
  auto exists = st.ctx->accounts->exists(local);
  if (!exists || !*exists) {
    fail(self, iq, xml::stanza_error_condition::service_unavailable);
    return;
  }
  auto children = iq.child_elements();
  auto payload = *children.front();
  if (payload.xmlns() == vcard_ns && payload.name() == "vCard")
    vcard(self, iq, payload, owner);
  else if (payload.xmlns() == last_ns)
    last_activity(self, iq, owner);
  else
    fail(self, iq, xml::stanza_error_condition::service_unavailable);
}

void record_last_activity(const std::shared_ptr<server_context>& ctx, const std::string& bare,
                          const std::string& status) {
  for (auto& entry : ctx->sessions.resources(bare))
    if (entry.available)
      return; // another resource is still online
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  auto batch = ctx->user_data->make_put(bare, last_kind, std::to_string(now) + "\n" + status);
  if (batch)
    caf::anon_send(ctx->writer(), std::move(*batch));
}

} // namespace starling::actors
