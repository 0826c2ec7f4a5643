// Conversions between roster items in the store and the jabber:iq:roster
// XML of RFC 6121 section 2, and the validation of a client's roster set
// (RFC 6121 2.3.3). No actors and no I/O.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <variant>

#include "protocol/im/subscription.hpp"
#include "protocol/xml/element.hpp"
#include "protocol/xml/stanza_error.hpp"
#include "store/roster_store.hpp"

namespace starling::actors {

inline constexpr std::string_view roster_ns = "jabber:iq:roster";

/// Longest item name and group name accepted in a roster set, in bytes.
/// RFC 6121 2.3.3 leaves the limit to the server; these bound what one
/// client can make the server store per contact.
inline constexpr std::size_t max_roster_name_bytes = 1024;
inline constexpr std::size_t max_roster_group_bytes = 1024;
inline constexpr std::size_t max_roster_groups = 64;

/// A validated roster set: change or remove one contact.
struct roster_update {
  std::string contact; ///< Normalised bare JID.
  bool remove = false;
  std::optional<std::string> name;
  std::set<std::string> groups;
};

/// Checks the <query/> of a roster set as RFC 6121 2.3.3 requires and
/// returns the update, or the stanza error to send back.
std::variant<roster_update, xml::stanza_error_condition>
parse_roster_set(const xml::element& query);

/// The <item/> of a roster result or push.
xml::element roster_item_xml(const store::roster_item& item);

/// The <item subscription='remove'/> of a push after a removal.
xml::element roster_removal_xml(std::string_view contact);

/// The subscription state machine's view of a stored item and request.
im::subscription_state subscription_state_of(const std::optional<store::roster_item>& item,
                                             bool pending_in);

/// Copies a state machine result back into an item.
void apply_subscription_state(store::roster_item& item, const im::subscription_state& state);

} // namespace starling::actors
