#include "actors/roster_xml.hpp"

#include "protocol/jid/jid.hpp"

namespace starling::actors {

namespace {

std::string_view subscription_name(store::subscription sub) {
  switch (sub) {
    case store::subscription::none:
      return "none";
    case store::subscription::to:
      return "to";
    case store::subscription::from:
      return "from";
    case store::subscription::both:
      return "both";
  }
  return "none";
}

} // namespace

std::variant<roster_update, xml::stanza_error_condition>
parse_roster_set(const xml::element& query) {
  using condition = xml::stanza_error_condition;

  // RFC 6121 2.3.3: exactly one item per roster set.
  auto children = query.child_elements();
  if (children.size() != 1 || children.front()->name() != "item"
      || children.front()->xmlns() != roster_ns)
    return condition::bad_request;
  auto& item = *children.front();

  auto jid_text = item.attr("jid");
  if (!jid_text)
    return condition::bad_request;
  auto contact = jid::jid::parse(*jid_text);
  if (!contact)
    return condition::jid_malformed;

  roster_update update;
  // A roster holds bare JIDs; a resource in a set would create an item that
  // presence routing can never match.
  update.contact = contact->bare_string();
  update.remove = item.attr("subscription") == "remove";
  if (update.remove)
    return update;

  // Other subscription values and 'ask' are the server's to set (RFC 6121
  // 2.1.2.5 and 2.1.2.2), so they are ignored here.
  if (auto name = item.attr("name")) {
    if (name->size() > max_roster_name_bytes)
      return condition::not_acceptable;
    update.name = std::string{*name};
  }
  for (auto child : item.child_elements()) {
    if (child->name() != "group" || child->xmlns() != roster_ns)
      continue;
    auto group = child->text();
    if (group.empty() || group.size() > max_roster_group_bytes)
      return condition::not_acceptable;
    // RFC 6121 2.3.3: the same group twice is a bad request.
    if (!update.groups.insert(std::move(group)).second)
      return condition::bad_request;
  }
  if (update.groups.size() > max_roster_groups)
    return condition::not_acceptable;
  return update;
}

xml::element roster_item_xml(const store::roster_item& item) {
  xml::element out{"item", std::string{roster_ns}};
  out.set_attr("jid", item.contact);
  if (item.name)
    out.set_attr("name", *item.name);
  out.set_attr("subscription", std::string{subscription_name(item.subscription)});
  if (item.pending_out)
    out.set_attr("ask", "subscribe");
  if (item.approved)
    out.set_attr("approved", "true");
  for (auto& group : item.groups)
    out.add_child({"group", std::string{roster_ns}}).add_text(group);
  return out;
}

xml::element roster_removal_xml(std::string_view contact) {
  xml::element out{"item", std::string{roster_ns}};
  out.set_attr("jid", std::string{contact});
  out.set_attr("subscription", "remove");
  return out;
}

im::subscription_state subscription_state_of(const std::optional<store::roster_item>& item,
                                             bool pending_in) {
  im::subscription_state state;
  state.pending_in = pending_in;
  if (!item)
    return state;
  state.sub = static_cast<im::subscription>(item->subscription);
  state.pending_out = item->pending_out;
  state.preapproved = item->approved;
  return state;
}

void apply_subscription_state(store::roster_item& item, const im::subscription_state& state) {
  item.subscription = static_cast<store::subscription>(state.sub);
  item.pending_out = state.pending_out;
  item.approved = state.preapproved;
}

} // namespace starling::actors
