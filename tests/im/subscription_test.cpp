// The subscription state machine against the tables of RFC 6121 Appendix
// A, row by row, for all nine states.
#define BOOST_TEST_MODULE subscription
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <array>
#include <string>

#include "protocol/im/subscription.hpp"

using namespace starling::im;

namespace {

// The nine states of RFC 6121 Appendix A.1, without pre-approval.
enum class named { none, none_out, none_in, none_out_in, to, to_in, from, from_out, both };

constexpr std::array all_states{named::none, named::none_out, named::none_in, named::none_out_in,
                                named::to,   named::to_in,    named::from,    named::from_out,
                                named::both};

subscription_state make(named state) {
  switch (state) {
    case named::none:
      return {subscription::none, false, false, false};
    case named::none_out:
      return {subscription::none, true, false, false};
    case named::none_in:
      return {subscription::none, false, true, false};
    case named::none_out_in:
      return {subscription::none, true, true, false};
    case named::to:
      return {subscription::to, false, false, false};
    case named::to_in:
      return {subscription::to, false, true, false};
    case named::from:
      return {subscription::from, false, false, false};
    case named::from_out:
      return {subscription::from, true, false, false};
    case named::both:
      return {subscription::both, false, false, false};
  }
  return {};
}

std::string name(named state) {
  constexpr std::array names{"None", "None + Pending Out", "None + Pending In",
                             "None + Pending Out/In", "To", "To + Pending In", "From",
                             "From + Pending Out", "Both"};
  return names[static_cast<std::size_t>(state)];
}

struct row {
  named from;
  named to;
  bool flag; // route (outbound) or deliver (inbound)
};

void check_outbound(subscription_type type, const std::array<row, 9>& table) {
  for (auto& r : table) {
    BOOST_TEST_CONTEXT(to_string(type) << " from " << name(r.from)) {
      auto result = process_outbound(make(r.from), type, false);
      BOOST_TEST((result.next == make(r.to)));
      BOOST_TEST(result.route == r.flag);
      BOOST_TEST(result.changed == (r.from != r.to));
    }
  }
}

void check_inbound(subscription_type type, const std::array<row, 9>& table) {
  for (auto& r : table) {
    BOOST_TEST_CONTEXT(to_string(type) << " from " << name(r.from)) {
      auto result = process_inbound(make(r.from), type);
      BOOST_TEST((result.next == make(r.to)));
      BOOST_TEST(result.deliver == r.flag);
      BOOST_TEST(result.changed == (r.from != r.to));
    }
  }
}

} // namespace

// A.2.1. Routed in every state, so the contact's server can auto-reply
// when the user is already subscribed (RFC 6121 3.1.3).
BOOST_AUTO_TEST_CASE(outbound_subscribe) {
  check_outbound(subscription_type::subscribe, {{
    {named::none, named::none_out, true},
    {named::none_out, named::none_out, true},
    {named::none_in, named::none_out_in, true},
    {named::none_out_in, named::none_out_in, true},
    {named::to, named::to, true},
    {named::to_in, named::to_in, true},
    {named::from, named::from_out, true},
    {named::from_out, named::from_out, true},
    {named::both, named::both, true},
  }});
}

// A.2.2.
BOOST_AUTO_TEST_CASE(outbound_unsubscribe) {
  check_outbound(subscription_type::unsubscribe, {{
    {named::none, named::none, true},
    {named::none_out, named::none, true},
    {named::none_in, named::none_in, true},
    {named::none_out_in, named::none_in, true},
    {named::to, named::none, true},
    {named::to_in, named::none_in, true},
    {named::from, named::from, true},
    {named::from_out, named::from, true},
    {named::both, named::from, true},
  }});
}

// A.2.3 without pre-approval support.
BOOST_AUTO_TEST_CASE(outbound_subscribed) {
  check_outbound(subscription_type::subscribed, {{
    {named::none, named::none, false},
    {named::none_out, named::none_out, false},
    {named::none_in, named::from, true},
    {named::none_out_in, named::from_out, true},
    {named::to, named::to, false},
    {named::to_in, named::both, true},
    {named::from, named::from, false},
    {named::from_out, named::from_out, false},
    {named::both, named::both, false},
  }});
}

// A.2.4.
BOOST_AUTO_TEST_CASE(outbound_unsubscribed) {
  check_outbound(subscription_type::unsubscribed, {{
    {named::none, named::none, false},
    {named::none_out, named::none_out, false},
    {named::none_in, named::none, true},
    {named::none_out_in, named::none_out, true},
    {named::to, named::to, false},
    {named::to_in, named::to, true},
    {named::from, named::none, true},
    {named::from_out, named::none_out, true},
    {named::both, named::to, true},
  }});
}

// A.3.1. The states with "from" are answered by the server instead.
BOOST_AUTO_TEST_CASE(inbound_subscribe) {
  check_inbound(subscription_type::subscribe, {{
    {named::none, named::none_in, true},
    {named::none_out, named::none_out_in, true},
    {named::none_in, named::none_in, false},
    {named::none_out_in, named::none_out_in, false},
    {named::to, named::to_in, true},
    {named::to_in, named::to_in, false},
    {named::from, named::from, false},
    {named::from_out, named::from_out, false},
    {named::both, named::both, false},
  }});
  for (auto state : {named::from, named::from_out, named::both})
    BOOST_TEST(process_inbound(make(state), subscription_type::subscribe).auto_subscribed);
  for (auto state : {named::none, named::none_out, named::to})
    BOOST_TEST(!process_inbound(make(state), subscription_type::subscribe).auto_subscribed);
}

// A.3.2.
BOOST_AUTO_TEST_CASE(inbound_unsubscribe) {
  check_inbound(subscription_type::unsubscribe, {{
    {named::none, named::none, false},
    {named::none_out, named::none_out, false},
    {named::none_in, named::none, true},
    {named::none_out_in, named::none_out, true},
    {named::to, named::to, false},
    {named::to_in, named::to, true},
    {named::from, named::none, true},
    {named::from_out, named::none_out, true},
    {named::both, named::to, true},
  }});
}

// A.3.3.
BOOST_AUTO_TEST_CASE(inbound_subscribed) {
  check_inbound(subscription_type::subscribed, {{
    {named::none, named::none, false},
    {named::none_out, named::to, true},
    {named::none_in, named::none_in, false},
    {named::none_out_in, named::to_in, true},
    {named::to, named::to, false},
    {named::to_in, named::to_in, false},
    {named::from, named::from, false},
    {named::from_out, named::both, true},
    {named::both, named::both, false},
  }});
}

// A.3.4.
BOOST_AUTO_TEST_CASE(inbound_unsubscribed) {
  check_inbound(subscription_type::unsubscribed, {{
    {named::none, named::none, false},
    {named::none_out, named::none, true},
    {named::none_in, named::none_in, false},
    {named::none_out_in, named::none_in, true},
    {named::to, named::none, true},
    {named::to_in, named::none_in, true},
    {named::from, named::from, false},
    {named::from_out, named::from, true},
    {named::both, named::from, true},
  }});
}

// RFC 6121 3.4: "subscribed" without a request records a pre-approval,
// which is not routed, and turns the contact's later request into an
// automatic approval.
BOOST_AUTO_TEST_CASE(preapproval_round_trip) {
  auto approved = process_outbound(make(named::none), subscription_type::subscribed, true);
  BOOST_TEST(approved.next.preapproved);
  BOOST_TEST(approved.changed);
  BOOST_TEST(!approved.route);

  auto request = process_inbound(approved.next, subscription_type::subscribe);
  BOOST_TEST(request.auto_subscribed);
  BOOST_TEST(!request.deliver);
  BOOST_TEST((request.next.sub == subscription::from));
  BOOST_TEST(!request.next.preapproved);
}

BOOST_AUTO_TEST_CASE(unsubscribed_cancels_preapproval) {
  auto approved = process_outbound(make(named::to), subscription_type::subscribed, true);
  BOOST_REQUIRE(approved.next.preapproved);
  auto cancelled = process_outbound(approved.next, subscription_type::unsubscribed, true);
  BOOST_TEST(!cancelled.next.preapproved);
  BOOST_TEST(!cancelled.route);
  BOOST_TEST((cancelled.next.sub == subscription::to));
}

BOOST_AUTO_TEST_CASE(no_preapproval_when_already_subscribed) {
  for (auto state : all_states) {
    auto result = process_outbound(make(state), subscription_type::subscribed, true);
    if (make(state).sub == subscription::from || make(state).sub == subscription::both)
      BOOST_TEST(!result.next.preapproved);
  }
}

BOOST_AUTO_TEST_CASE(type_names_round_trip) {
  for (auto type : {subscription_type::subscribe, subscription_type::subscribed,
                    subscription_type::unsubscribe, subscription_type::unsubscribed})
    BOOST_TEST((parse_subscription_type(to_string(type)) == type));
  BOOST_TEST(!parse_subscription_type("probe"));
  BOOST_TEST(!parse_subscription_type(""));
}
