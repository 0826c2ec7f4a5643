#include "protocol/im/subscription.hpp"

namespace starling::im {

namespace {

bool has_to(subscription sub) {
  return sub == subscription::to || sub == subscription::both;
}

bool has_from(subscription sub) {
  return sub == subscription::from || sub == subscription::both;
}

subscription make(bool to, bool from) {
  if (to && from)
    return subscription::both;
  if (to)
    return subscription::to;
  return from ? subscription::from : subscription::none;
}

subscription with_to(subscription sub, bool to) {
  return make(to, has_from(sub));
}

subscription with_from(subscription sub, bool from) {
  return make(has_to(sub), from);
}

} // namespace

std::optional<subscription_type> parse_subscription_type(std::string_view type) {
  if (type == "subscribe")
    return subscription_type::subscribe;
  if (type == "subscribed")
    return subscription_type::subscribed;
  if (type == "unsubscribe")
    return subscription_type::unsubscribe;
  if (type == "unsubscribed")
    return subscription_type::unsubscribed;
  return std::nullopt;
}

std::string_view to_string(subscription_type type) {
  switch (type) {
    case subscription_type::subscribe:
      return "subscribe";
    case subscription_type::subscribed:
      return "subscribed";
    case subscription_type::unsubscribe:
      return "unsubscribe";
    case subscription_type::unsubscribed:
      return "unsubscribed";
  }
  return "";
}

std::string_view to_string(subscription sub) {
  switch (sub) {
    case subscription::none:
      return "none";
    case subscription::to:
      return "to";
    case subscription::from:
      return "from";
    case subscription::both:
      return "both";
  }
  return "";
}

outbound_result process_outbound(subscription_state state, subscription_type type,
                                 bool preapproval_supported) {
  outbound_result result{state, false, false};
  auto& next = result.next;

  switch (type) {
    case subscription_type::subscribe:
      // A.2.1: the request is always routed, also when the user is already
      // subscribed, so the contact's server can answer it (RFC 6121 3.1.3).
      if (!has_to(state.sub))
        next.pending_out = true;
      result.route = true;
      break;

    case subscription_type::unsubscribe:
      // A.2.2: the user's side of the subscription ends either way.
      next.pending_out = false;
      next.sub = with_to(state.sub, false);
      result.route = true;
      break;

    case subscription_type::subscribed:
      // A.2.3: approving a stored request grants "from"; without one it is
      // a pre-approval (RFC 6121 3.4), which is recorded and not routed.
      if (state.pending_in) {
        next.pending_in = false;
        next.sub = with_from(state.sub, true);
        result.route = true;
      } else if (preapproval_supported && !has_from(state.sub)) {
        next.preapproved = true;
      }
      break;

    case subscription_type::unsubscribed:
      // A.2.4: denies a pending request or cancels the contact's
      // subscription; also withdraws a pre-approval.
      next.pending_in = false;
      next.preapproved = false;
      next.sub = with_from(state.sub, false);
      result.route = next.sub != state.sub || next.pending_in != state.pending_in;
      break;
  }
  result.changed = next != state;
  return result;
}

inbound_result process_inbound(subscription_state state, subscription_type type) {
  inbound_result result{state, false, false, false};
  auto& next = result.next;

  switch (type) {
    case subscription_type::subscribe:
      // A.3.1 and RFC 6121 3.1.3.
      if (has_from(state.sub)) {
        result.auto_subscribed = true;
      } else if (state.preapproved) {
        next.preapproved = false;
        next.sub = with_from(state.sub, true);
        result.auto_subscribed = true;
      } else if (!state.pending_in) {
        next.pending_in = true;
        result.deliver = true;
      }
      break;

    case subscription_type::unsubscribe:
      // A.3.2: the contact stops receiving the user's presence.
      next.pending_in = false;
      next.sub = with_from(state.sub, false);
      break;

    case subscription_type::subscribed:
      // A.3.3: only an answer to the user's own pending request counts.
      if (state.pending_out) {
        next.pending_out = false;
        next.sub = with_to(state.sub, true);
      }
      break;

    case subscription_type::unsubscribed:
      // A.3.4: the contact denied or cancelled the user's subscription.
      next.pending_out = false;
      next.sub = with_to(state.sub, false);
      break;
  }
  result.changed = next != state;
  if (type != subscription_type::subscribe)
    result.deliver = result.changed;
  return result;
}

} // namespace starling::im
