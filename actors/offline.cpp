#include "actors/offline.hpp"

#include <caf/all.hpp>
#include <fmt/chrono.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "actors/messages.hpp"
#include "actors/server_context.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/serializer.hpp"
#include "protocol/xml/stanza_error.hpp"

namespace starling::actors {

namespace {

constexpr std::string_view chat_states_ns = "http://jabber.org/protocol/chatstates";
constexpr std::string_view delay_ns = "urn:xmpp:delay";

// Messages per delivery round; the next round starts after the connection
// confirmed the previous one, so a large queue never sits in one mailbox.
constexpr std::size_t delivery_batch = 100;

// A conflict means another enqueue for the same user committed between
// the read and the commit; the batch is built again.
constexpr int max_enqueue_attempts = 5;

// XEP-0082 date-time in UTC, e.g. 2026-12-04T22:15:00Z.
std::string delay_stamp(std::chrono::system_clock::time_point when) {
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(when);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", seconds);
}

// Adds <delay/> (XEP-0203) to a message that this server serialized.
std::string with_delay(const std::string& stanza, const std::string& domain,
                       std::chrono::system_clock::time_point stored) {
  auto delay = fmt::format("<delay xmlns='{}' from='{}' stamp='{}'/>", delay_ns, domain,
                           delay_stamp(stored));
  if (stanza.ends_with("/>"))
    return stanza.substr(0, stanza.size() - 2) + ">" + delay + "</message>";
  auto close = stanza.rfind("</");
  if (close == std::string::npos)
    return stanza;
  return stanza.substr(0, close) + delay + stanza.substr(close);
}

void bounce(session_actor* self, const xml::element& message,
            xml::stanza_error_condition condition) {
  if (xml::is_error_stanza(message))
    return;
  self->send(self->state.connection, deliver_atom::value,
             xml::make_error_reply(message, condition));
}

void enqueue(session_actor* self, std::string user, xml::element message, std::string stanza,
             std::chrono::system_clock::time_point stored, int attempt) {
  auto& st = self->state;
  auto built = st.ctx->offline->make_enqueue(user, stanza, stored,
                                             st.ctx->config.offline.max_messages_per_user);
  if (!built) {
    if (built.error().code() == store::offline_queue_full) {
      spdlog::info("session {}: offline queue of {} is full", st.full, user);
      bounce(self, message, xml::stanza_error_condition::resource_constraint);
      return;
    }
    spdlog::warn("session {}: storing a message for {} failed: {}", st.full, user,
                 built.error().message());
    bounce(self, message, xml::stanza_error_condition::internal_server_error);
    return;
  }
  self->request(st.ctx->writer(), store_request_timeout, std::move(built->batch))
    .then([self, user, message, stanza, stored, attempt](const store::status& status) mutable {
      if (status.ok())
        return;
      auto code = status.code();
      if ((code == store::errc::value_mismatch || code == store::errc::already_exists)
          && attempt + 1 < max_enqueue_attempts) {
        enqueue(self, std::move(user), std::move(message), std::move(stanza), stored,
                attempt + 1);
        return;
      }
      spdlog::warn("session {}: storing a message for {} failed: {}", self->state.full, user,
                   status.message());
      bounce(self, message, xml::stanza_error_condition::internal_server_error);
    }, [self, message](const caf::error& error) {
      spdlog::warn("session {}: writer failed: {}", self->state.full, caf::to_string(error));
      bounce(self, message, xml::stanza_error_condition::internal_server_error);
    });
}

void release_claim(server_context& ctx, const std::string& bare, const std::string& full) {
  std::lock_guard guard{ctx.offline_draining_mutex};
  auto claim = ctx.offline_draining.find(bare);
  if (claim != ctx.offline_draining.end() && claim->second == full)
    ctx.offline_draining.erase(claim);
}

void deliver_round(session_actor* self) {
  auto& st = self->state;
  auto queued = st.ctx->offline->first_messages(st.local, delivery_batch);
  if (!queued || queued->empty()) {
    if (!queued)
      spdlog::warn("session {}: reading offline messages failed: {}", st.full,
                   queued.error().message());
    release_claim(*st.ctx, st.bare, st.full);
    return;
  }

  std::vector<std::string> stanzas;
  for (auto& message : *queued)
    stanzas.push_back(with_delay(message.stanza, st.domain, message.stored));
  auto last = queued->back().sequence;
  auto count = queued->size();

  // The connection answers once the messages are in its socket's buffer;
  // only then are they removed from the queue.
  self->request(st.connection, store_request_timeout, deliver_raw_atom::value, std::move(stanzas))
    .then([self, last, count](caf::ok_atom) {
      auto& st = self->state;
      auto removal = st.ctx->offline->make_remove_through(st.local, last);
      if (!removal) {
        spdlog::warn("session {}: removing delivered messages failed: {}", st.full,
                     removal.error().message());
        release_claim(*st.ctx, st.bare, st.full);
        return;
      }
      self->request(st.ctx->writer(), store_request_timeout, std::move(*removal))
        .then([self, count](const store::status& status) {
          auto& st = self->state;
          if (!status.ok()) {
            spdlog::warn("session {}: removing delivered messages failed: {}", st.full,
                         status.message());
            release_claim(*st.ctx, st.bare, st.full);
            return;
          }
          spdlog::debug("session {}: delivered {} offline messages", st.full, count);
          deliver_round(self);
        }, [self](const caf::error&) { release_claim(*self->state.ctx, self->state.bare, self->state.full); });
    }, [self](const caf::error&) {
      // The connection is gone: the messages stay queued for the next login.
      release_claim(*self->state.ctx, self->state.bare, self->state.full);
    });
}

} // namespace

bool is_chat_state_only(const xml::element& message) {
  bool has_chat_state = false;
  for (auto child : message.child_elements()) {
    if (child->xmlns() == chat_states_ns)
      has_chat_state = true;
    else if (!(child->name() == "thread" && child->xmlns() == xml::ns::client))
      return false;
  }
  return has_chat_state;
}

void store_offline(session_actor* self, const std::string& user, xml::element message) {
  auto stanza = xml::serialize(message);
  enqueue(self, user, std::move(message), std::move(stanza), std::chrono::system_clock::now(), 0);
}

void deliver_offline(session_actor* self) {
  auto& st = self->state;
  if (!st.presence->available || st.presence->priority < 0)
    return;
  {
    std::lock_guard guard{st.ctx->offline_draining_mutex};
    if (!st.ctx->offline_draining.emplace(st.bare, st.full).second)
      return;
  }
  // A session that ends while holding the claim releases it.
  self->attach_functor([ctx = st.ctx, bare = st.bare, full = st.full] {
    release_claim(*ctx, bare, full);
  });
  deliver_round(self);
}

} // namespace starling::actors
