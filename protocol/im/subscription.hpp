// The presence subscription state machine of RFC 6121 Appendix A, as pure
// functions: given the state of one roster item and a subscription stanza,
// they return the next state and what the server must do. The caller owns
// storage, routing and roster pushes; nothing here does I/O.
//
// "Outbound" is a stanza the user sends about a contact (Appendix A.2),
// processed by the user's server. "Inbound" is a stanza a user receives from
// a contact (Appendix A.3), processed by the receiving user's server. With
// both users on one server, a stanza is processed outbound for the sender
// and then inbound for the recipient.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace starling::im {

enum class subscription : std::uint8_t { none, to, from, both };

/// One roster item's subscription state, including the pending flags.
struct subscription_state {
  subscription sub = subscription::none;
  bool pending_out = false; ///< The user asked the contact ("ask='subscribe'").
  bool pending_in = false;  ///< The contact asked the user; the request is stored.
  bool preapproved = false; ///< The user approved before the contact asked (RFC 6121 3.4).

  bool operator==(const subscription_state&) const = default;
};

enum class subscription_type : std::uint8_t { subscribe, subscribed, unsubscribe, unsubscribed };

/// Parses a presence type attribute; nothing for other types.
std::optional<subscription_type> parse_subscription_type(std::string_view type);
std::string_view to_string(subscription_type type);
std::string_view to_string(subscription sub);

struct outbound_result {
  subscription_state next;
  /// The state changed, so the roster item is stored and pushed.
  bool changed = false;
  /// The stanza goes on to the contact (RFC 6121 3.1.2, 3.2.2, 3.3.2, 3.4.2
  /// each say when the user's server routes it).
  bool route = false;
};

struct inbound_result {
  subscription_state next;
  /// The state changed, so the roster item is stored and pushed.
  bool changed = false;
  /// The stanza is delivered to the user's available resources (and, for a
  /// subscribe, stored until answered).
  bool deliver = false;
  /// The server answers a subscribe with "subscribed" on the user's behalf:
  /// the contact is already subscribed (RFC 6121 3.1.3) or pre-approved
  /// (RFC 6121 3.4).
  bool auto_subscribed = false;
};

/// Processes a subscription stanza the user sends about a contact.
/// `preapproval_supported` enables RFC 6121 3.4: "subscribed" without a
/// pending request records a pre-approval instead of doing nothing.
outbound_result process_outbound(subscription_state state, subscription_type type,
                                 bool preapproval_supported = true);

/// Processes a subscription stanza the user receives from a contact.
inbound_result process_inbound(subscription_state state, subscription_type type);

/// Returns whether the user receives the contact's presence.
inline bool receives_presence(subscription sub) {
  return sub == subscription::to || sub == subscription::both;
}

/// Returns whether the contact receives the user's presence.
inline bool sends_presence(subscription sub) {
  return sub == subscription::from || sub == subscription::both;
}

} // namespace starling::im
