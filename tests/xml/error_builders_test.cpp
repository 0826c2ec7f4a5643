#include <boost/test/unit_test.hpp>

#include <string>

#include "protocol/xml/serializer.hpp"
#include "protocol/xml/stanza_error.hpp"
#include "protocol/xml/stream_error.hpp"
#include "recording_handler.hpp"

using namespace starling::xml;
using starling::xml::test::recording_handler;

namespace {

const std::pair<stream_error_condition, const char*> stream_conditions[] = {
    {stream_error_condition::bad_format, "bad-format"},
    {stream_error_condition::bad_namespace_prefix, "bad-namespace-prefix"},
    {stream_error_condition::conflict, "conflict"},
    {stream_error_condition::connection_timeout, "connection-timeout"},
    {stream_error_condition::host_gone, "host-gone"},
    {stream_error_condition::host_unknown, "host-unknown"},
    {stream_error_condition::improper_addressing, "improper-addressing"},
    {stream_error_condition::internal_server_error, "internal-server-error"},
    {stream_error_condition::invalid_from, "invalid-from"},
    {stream_error_condition::invalid_namespace, "invalid-namespace"},
    {stream_error_condition::invalid_xml, "invalid-xml"},
    {stream_error_condition::not_authorized, "not-authorized"},
    {stream_error_condition::not_well_formed, "not-well-formed"},
    {stream_error_condition::policy_violation, "policy-violation"},
    {stream_error_condition::remote_connection_failed, "remote-connection-failed"},
    {stream_error_condition::reset, "reset"},
    {stream_error_condition::resource_constraint, "resource-constraint"},
    {stream_error_condition::restricted_xml, "restricted-xml"},
    {stream_error_condition::see_other_host, "see-other-host"},
    {stream_error_condition::system_shutdown, "system-shutdown"},
    {stream_error_condition::undefined_condition, "undefined-condition"},
    {stream_error_condition::unsupported_encoding, "unsupported-encoding"},
    {stream_error_condition::unsupported_feature, "unsupported-feature"},
    {stream_error_condition::unsupported_stanza_type, "unsupported-stanza-type"},
    {stream_error_condition::unsupported_version, "unsupported-version"},
};

// Parses stream-level XML written by the server inside a stream header.
std::vector<element> parse_server_output(const std::string& xml) {
  recording_handler h;
  stream_parser p{h, {}};
  stream_header reply;
  reply.from = "example.com";
  reply.id = "s1";
  reply.version = "1.0";
  BOOST_REQUIRE(p.feed(stream_header_xml(reply) + xml));
  BOOST_REQUIRE(h.errors.empty());
  return std::move(h.elements);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stream_errors)

BOOST_AUTO_TEST_CASE(every_condition_serialises_per_rfc6120) {
  for (auto [condition, name] : stream_conditions) {
    BOOST_TEST(condition_name(condition) == name);
    auto xml = stream_error_xml(condition);
    BOOST_TEST(xml == "<stream:error><" + std::string{name} +
                          " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    auto parsed = parse_server_output(xml);
    BOOST_REQUIRE(parsed.size() == 1u);
    BOOST_TEST(parsed[0].name() == "error");
    BOOST_TEST(parsed[0].xmlns() == "http://etherx.jabber.org/streams");
    BOOST_TEST(parsed[0].child(name, "urn:ietf:params:xml:ns:xmpp-streams") != nullptr);
  }
}

BOOST_AUTO_TEST_CASE(error_text_is_escaped) {
  auto xml = stream_error_xml(stream_error_condition::policy_violation, "limit <64 KiB> & more");
  BOOST_TEST(xml ==
             "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
             "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>limit &lt;64 KiB&gt; &amp; more"
             "</text></stream:error>");
  auto parsed = parse_server_output(xml);
  BOOST_REQUIRE(parsed.size() == 1u);
  BOOST_TEST(parsed[0].child("text", "urn:ietf:params:xml:ns:xmpp-streams")->text() == "limit <64 KiB> & more");
}

BOOST_AUTO_TEST_CASE(see_other_host_carries_address) {
  BOOST_TEST(see_other_host_xml("[2001:db8::1]:5222") ==
             "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>"
             "[2001:db8::1]:5222</see-other-host></stream:error>");
}

BOOST_AUTO_TEST_CASE(stream_header_reply_contains_fields) {
  stream_header reply;
  reply.from = "example.com";
  reply.to = "a@example.com";
  reply.id = "x'y";
  reply.version = "1.0";
  reply.lang = "en";
  BOOST_TEST(stream_header_xml(reply) ==
             "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams' id='x&apos;y' from='example.com' "
             "to='a@example.com' version='1.0' xml:lang='en'>");
  BOOST_TEST(stream_close_xml == "</stream:stream>");
}

BOOST_AUTO_TEST_CASE(stream_header_reply_parses) {
  stream_header reply;
  reply.from = "example.com";
  reply.default_ns = "jabber:server";
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(p.feed(stream_header_xml(reply) + std::string{stream_close_xml}));
  BOOST_TEST(h.header.default_ns == "jabber:server");
  BOOST_TEST(h.header.from == "example.com");
  BOOST_TEST(h.events.back() == "end");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stanza_errors)

BOOST_AUTO_TEST_CASE(reply_swaps_addresses_and_keeps_id) {
  element iq{"iq", "jabber:client"};
  iq.set_attr("from", "a@example.com/phone").set_attr("to", "b@example.com").set_attr("id", "q1");
  iq.set_attr("type", "get");
  iq.add_child(element{"query", "jabber:iq:version"});

  auto reply = make_error_reply(iq, stanza_error_condition::service_unavailable);
  BOOST_TEST(serialize(reply) ==
             "<iq to='a@example.com/phone' from='b@example.com' id='q1' type='error'>"
             "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
             "</error></iq>");
  BOOST_TEST(is_error_stanza(reply));
  BOOST_TEST(!is_error_stanza(iq));
}

BOOST_AUTO_TEST_CASE(reply_without_from_has_no_to) {
  element msg{"message", "jabber:client"};
  msg.set_attr("to", "b@example.com");
  auto reply = make_error_reply(msg, stanza_error_condition::item_not_found, "no such user",
                                stanza_error_type::modify);
  BOOST_TEST(!reply.attr("to").has_value());
  BOOST_TEST(*reply.attr("from") == "b@example.com");
  BOOST_TEST(!reply.attr("id").has_value());
  BOOST_TEST(serialize(reply) ==
             "<message from='b@example.com' type='error'><error type='modify'>"
             "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
             "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no such user</text>"
             "</error></message>");
}

BOOST_AUTO_TEST_CASE(reply_keeps_server_namespace) {
  element msg{"message", "jabber:server"};
  msg.set_attr("from", "a@x.example").set_attr("to", "b@y.example");
  auto reply = make_error_reply(msg, stanza_error_condition::remote_server_timeout);
  BOOST_TEST(serialize(reply, "jabber:server") ==
             "<message to='a@x.example' from='b@y.example' type='error'><error type='wait'>"
             "<remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
}

BOOST_AUTO_TEST_CASE(default_types_follow_rfc6120) {
  using c = stanza_error_condition;
  using t = stanza_error_type;
  BOOST_TEST((default_type(c::bad_request) == t::modify));
  BOOST_TEST((default_type(c::forbidden) == t::auth));
  BOOST_TEST((default_type(c::not_authorized) == t::auth));
  BOOST_TEST((default_type(c::item_not_found) == t::cancel));
  BOOST_TEST((default_type(c::jid_malformed) == t::modify));
  BOOST_TEST((default_type(c::recipient_unavailable) == t::wait));
  BOOST_TEST((default_type(c::resource_constraint) == t::wait));
  BOOST_TEST((default_type(c::service_unavailable) == t::cancel));
  BOOST_TEST((default_type(c::subscription_required) == t::auth));
  BOOST_TEST(type_name(t::continue_) == "continue");
  BOOST_TEST(condition_name(c::feature_not_implemented) == "feature-not-implemented");
}

BOOST_AUTO_TEST_CASE(error_reply_parses_back) {
  element presence{"presence", "jabber:client"};
  presence.set_attr("from", "a@example.com").set_attr("to", "room@muc.example.com/nick").set_attr("id", "p'1");
  auto reply = make_error_reply(presence, stanza_error_condition::conflict, "nick <taken>");
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(std::string{starling::xml::test::client_header} + serialize(reply));
  BOOST_REQUIRE(h.elements.size() == 1u);
  BOOST_TEST((h.elements[0] == reply));
  const auto* error = h.elements[0].child("error", "jabber:client");
  BOOST_REQUIRE(error != nullptr);
  BOOST_TEST(*error->attr("type") == "cancel");
  BOOST_TEST(error->child("text", "urn:ietf:params:xml:ns:xmpp-stanzas")->text() == "nick <taken>");
}

BOOST_AUTO_TEST_SUITE_END()
