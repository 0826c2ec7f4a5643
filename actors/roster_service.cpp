#include "actors/roster_service.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "actors/messages.hpp"
#include "actors/server_context.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/serializer.hpp"


namespace starling::actors {

namespace {

static_assert(static_cast<int>(im::subscription::both) == static_cast<int>(store::subscription::both)
              && static_cast<int>(im::subscription::from) == static_cast<int>(store::subscription::from)
              && static_cast<int>(im::subscription::to) == static_cast<int>(store::subscription::to));

// Returns whether the part of a state that the roster item stores changed;
// pending_in lives with the stored request instead.
bool item_part_changed(const im::subscription_state& before, const im::subscription_state& after) {
  return after.sub != before.sub || after.pending_out != before.pending_out
         || after.preapproved != before.preapproved;
}

// A roster change is built from one read and commits only if the roster is
// still at that version. The service is the only writer of rosters on this
// node, so a conflict means another process (starlingctl) wrote meanwhile.
constexpr int max_attempts = 3;

class roster_service {
public:
  roster_service(caf::blocking_actor* self, std::shared_ptr<server_context> context)
    : self_(self), ctx_(std::move(context)) {
  }

  void run() {
    bool running = true;
    self_->receive_while(running)(
      [&](roster_update_atom, const std::string& user, const roster_update& update) {
        return apply_update(user, update);
      },
      [&](subscription_atom, const std::string& user, const std::string& contact,
          im::subscription_type type, xml::element& stanza) {
        process_subscription(user, contact, type, stanza);
      },
      [&](const caf::exit_msg& msg) {
        running = false;
        self_->fail_state(msg.reason);
      });
  }

private:
  // -- storage -----------------------------------------------------------------

  store::status commit(store::write_batch batch) {
    store::status result{store::errc::writer_stopped, "the writer did not answer"};
    self_->request(ctx_->writer(), store_request_timeout, std::move(batch))
      .receive([&](const store::status& status) { result = status; },
               [&](const caf::error& error) {
                 result = store::status{store::errc::writer_stopped, caf::to_string(error)};
               });
    return result;
  }

  static bool is_conflict(const store::status& status) {
    return status.code() == store::errc::value_mismatch
           || status.code() == store::errc::already_exists;
  }

  // Stores `item` for `user` (re-reading the version on a conflict) and
  // pushes it. Returns false after logging when the store failed.
  bool put_item(const std::string& user, store::roster_item item,
                std::optional<store::write_batch> extra = std::nullopt) {
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      auto current = ctx_->rosters->find_item(user, item.contact);
      if (!current) {
        log_failure("read", user, current.error());
        return false;
      }
      auto batch = ctx_->rosters->make_put_item(user, item, current->version);
      if (!batch) {
        log_failure("build", user, batch.error());
        return false;
      }
      if (extra)
        batch->append(*extra);
      auto status = commit(std::move(*batch));
      if (status.ok()) {
        item.version = current->version + 1;
        push(user, roster_item_xml(item), item.version);
        return true;
      }
      if (!is_conflict(status)) {
        log_failure("commit", user, status);
        return false;
      }
    }
    spdlog::warn("roster: {} kept changing, gave up after {} attempts", user, max_attempts);
    return false;
  }

  bool remove_item(const std::string& user, const std::string& contact) {
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      auto current = ctx_->rosters->find_item(user, contact);
      if (!current) {
        log_failure("read", user, current.error());
        return false;
      }
      auto batch = ctx_->rosters->make_remove_item(user, contact, current->version);
      if (!batch) {
        log_failure("build", user, batch.error());
        return false;
      }
      auto status = commit(std::move(*batch));
      if (status.ok()) {
        push(user, roster_removal_xml(contact), current->version + 1);
        return true;
      }
      if (!is_conflict(status)) {
        log_failure("commit", user, status);
        return false;
      }
    }
    return false;
  }

  bool commit_simple(const std::string& user, store::expected<store::write_batch> batch) {
    if (!batch) {
      log_failure("build", user, batch.error());
      return false;
    }
    auto status = commit(std::move(*batch));
    if (!status.ok())
      log_failure("commit", user, status);
    return status.ok();
  }

  void log_failure(std::string_view step, const std::string& user, const store::status& status) {
    spdlog::warn("roster: {} for {} failed: {}", step, user, status.message());
  }

  // -- delivery ------------------------------------------------------------------

  // RFC 6121 2.1.6: a roster push goes to every resource of the user that
  // requested the roster; sessions drop it when theirs did not.
  void push(const std::string& user, xml::element item, std::uint64_t version) {
    for (auto& entry : ctx_->sessions.resources(user))
      self_->send(entry.session, roster_push_atom::value, item, version);
  }

  void deliver_to_available(const std::string& user, const xml::element& stanza) {
    for (auto& entry : ctx_->sessions.resources(user))
      if (entry.available)
        self_->send(entry.session, route_atom::value, stanza);
  }

  // Asks the available sessions of `owner` to send their presence (or
  // unavailable) to `watcher`.
  void present(const std::string& owner, const std::string& watcher, bool available) {
    for (auto& entry : ctx_->sessions.resources(owner))
      if (entry.available)
        self_->send(entry.session, present_to_atom::value, watcher, available);
  }

  xml::element subscription_stanza(const std::string& from, const std::string& to,
                                   im::subscription_type type) {
    xml::element out{"presence", std::string{xml::ns::client}};
    out.set_attr("from", from);
    out.set_attr("to", to);
    out.set_attr("type", std::string{im::to_string(type)});
    return out;
  }

  // -- roster set and remove (RFC 6121 2.3 and 2.5) -----------------------------

  roster_reply apply_update(const std::string& user, const roster_update& update) {
    auto current = ctx_->rosters->find_item(user, update.contact);
    if (!current) {
      log_failure("read", user, current.error());
      return {false, xml::stanza_error_condition::internal_server_error};
    }
    if (update.remove)
      return remove_contact(user, update.contact, current->item);

    auto item = current->item.value_or(store::roster_item{});
    item.contact = update.contact;
    item.name = update.name;
    item.groups = update.groups;
    if (!put_item(user, item))
      return {false, xml::stanza_error_condition::internal_server_error};
    return {};
  }

  roster_reply remove_contact(const std::string& user, const std::string& contact,
                              const std::optional<store::roster_item>& item) {
    auto pending = ctx_->rosters->find_pending(user, contact);
    bool pending_in = pending && pending->has_value();
    if (!item && !pending_in)
      return {false, xml::stanza_error_condition::item_not_found};

    // RFC 6121 2.5.2: removing a contact cancels the subscriptions both
    // ways, and the contact learns it through unsubscribe and unsubscribed.
    auto state = subscription_state_of(item, pending_in);
    if (item && (im::receives_presence(state.sub) || state.pending_out))
      process_subscription(user, contact, im::subscription_type::unsubscribe,
                           subscription_stanza(user, contact, im::subscription_type::unsubscribe));
    if (im::sends_presence(state.sub) || pending_in)
      process_subscription(user, contact, im::subscription_type::unsubscribed,
                           subscription_stanza(user, contact, im::subscription_type::unsubscribed));
    if (pending_in)
      commit_simple(user, ctx_->rosters->make_clear_pending(user, contact));

    if (item && !remove_item(user, contact))
      return {false, xml::stanza_error_condition::internal_server_error};
    return {};
  }

  // -- subscriptions (RFC 6121 3) ----------------------------------------------

  struct loaded_state {
    std::optional<store::roster_item> item;
    im::subscription_state state;
  };

  std::optional<loaded_state> load(const std::string& user, const std::string& contact) {
    auto found = ctx_->rosters->find_item(user, contact);
    if (!found) {
      log_failure("read", user, found.error());
      return std::nullopt;
    }
    auto pending = ctx_->rosters->find_pending(user, contact);
    if (!pending) {
      log_failure("read", user, pending.error());
      return std::nullopt;
    }
    return loaded_state{found->item, subscription_state_of(found->item, pending->has_value())};
  }

  // Stores the item part of a state change; creates the item if needed.
  bool store_state(const std::string& user, const std::string& contact,
                   const std::optional<store::roster_item>& item,
                   const im::subscription_state& next) {
    auto updated = item.value_or(store::roster_item{});
    updated.contact = contact;
    apply_subscription_state(updated, next);
    return put_item(user, updated);
  }

  void process_subscription(const std::string& user, const std::string& contact,
                            im::subscription_type type, xml::element stanza) {
    // RFC 6121 3.1.2: subscription stanzas carry bare JIDs both ways.
    stanza.set_attr("from", user);
    stanza.set_attr("to", contact);

    auto mine = load(user, contact);
    if (!mine)
      return;
    auto out = im::process_outbound(mine->state, type);
    if (item_part_changed(mine->state, out.next) && !store_state(user, contact, mine->item, out.next))
      return;
    if (mine->state.pending_in && !out.next.pending_in)
      commit_simple(user, ctx_->rosters->make_clear_pending(user, contact));

    // The contact gains or loses the user's presence.
    bool granted = im::sends_presence(out.next.sub) && !im::sends_presence(mine->state.sub);
    bool revoked = !im::sends_presence(out.next.sub) && im::sends_presence(mine->state.sub);

    if (out.route)
      process_inbound(contact, user, type, stanza);
    if (granted)
      present(user, contact, true);
    if (revoked)
      present(user, contact, false);
  }

  // The contact's side: `recipient` receives `type` from `sender`.
  void process_inbound(const std::string& recipient, const std::string& sender,
                       im::subscription_type type, const xml::element& stanza) {
    auto local = jid::jid::parse(recipient);
    if (!local || !ctx_->is_local_domain(local->domain()))
      return; // routing to other domains is refused before the service
    auto exists = ctx_->accounts->exists(local->local());
    if (!exists || !*exists) {
      // RFC 6121 3.1.3: a request to an account that does not exist is
      // answered with "unsubscribed" from the contact.
      if (type == im::subscription_type::subscribe)
        deliver_reply(sender, recipient, im::subscription_type::unsubscribed, true);
      return;
    }

    // XEP-0191 3.4: subscription stanzas from a blocked JID are dropped.
    if (ctx_->is_blocked(recipient, sender))
      return;

    auto theirs = load(recipient, sender);
    if (!theirs)
      return;
    auto in = im::process_inbound(theirs->state, type);
    if (item_part_changed(theirs->state, in.next) && !store_state(recipient, sender, theirs->item, in.next))
      return;
    if (in.next.pending_in && !theirs->state.pending_in) {
      // Kept until answered, with its child elements, to re-deliver at login.
      store::pending_subscription request{sender, xml::serialize(stanza),
                                          std::chrono::system_clock::now()};
      commit_simple(recipient, ctx_->rosters->make_put_pending(recipient, request));
    }
    if (!in.next.pending_in && theirs->state.pending_in)
      commit_simple(recipient, ctx_->rosters->make_clear_pending(recipient, sender));

    if (in.deliver)
      deliver_to_available(recipient, stanza);

    // RFC 6121 3.3.3: a contact who cancels stops seeing the user at once.
    if (type == im::subscription_type::unsubscribe && im::sends_presence(theirs->state.sub)
        && !im::sends_presence(in.next.sub))
      present(recipient, sender, false);

    if (in.auto_subscribed) {
      // RFC 6121 3.1.3 and 3.4: the server answers for the recipient.
      deliver_reply(sender, recipient, im::subscription_type::subscribed, true);
      present(recipient, sender, true);
    }
  }

  // Processes a reply the server sends on a contact's behalf as inbound
  // for `user`. It reaches the user's resources even when it changes no
  // state, so the user learns the answer (RFC 6121 3.1.3).
  void deliver_reply(const std::string& user, const std::string& contact,
                     im::subscription_type type, bool always_deliver) {
    auto stanza = subscription_stanza(contact, user, type);
    auto mine = load(user, contact);
    if (!mine)
      return;
    auto in = im::process_inbound(mine->state, type);
    if (item_part_changed(mine->state, in.next) && !store_state(user, contact, mine->item, in.next))
      return;
    if (in.deliver || always_deliver)
      deliver_to_available(user, stanza);
  }

  caf::blocking_actor* self_;
  std::shared_ptr<server_context> ctx_;
};

} // namespace

caf::actor spawn_roster_service(caf::actor_system& system, std::shared_ptr<server_context> context) {
  return system.spawn([context](caf::blocking_actor* self) {
    roster_service service{self, context};
    service.run();
  });
}

} // namespace starling::actors
