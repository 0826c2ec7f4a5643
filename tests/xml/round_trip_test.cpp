// Property test: for generated trees, serialize -> parse gives an equal
// tree, and parse -> serialize -> parse gives the same tree again.
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>

#include "recording_handler.hpp"

using namespace starling::xml;
using starling::xml::test::recording_handler;

namespace {

const char* const names[] = {"message", "body", "x", "item", "query", "a-b", "c.d", "e_f"};
const char* const namespaces[] = {"jabber:client", "urn:xmpp:a", "urn:xmpp:b", "", "http://x/?a=1&b='2'",
                                  "http://www.w3.org/XML/1998/namespace"};
const char* const attribute_names[] = {"to", "from", "id", "type", "xml:lang", "{urn:attr}q", "{urn:other}q"};
const char* const fragments[] = {"hi", " ", "&", "<", ">", "\"", "'", "\t", "\n", "\r", "\r\n", "]]>",
                                 "\xC3\xBC", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "&amp;", "x y"};

std::string random_text(std::mt19937& rng) {
  std::string out;
  int parts = std::uniform_int_distribution<int>{1, 4}(rng);
  for (int i = 0; i < parts; ++i) out += fragments[rng() % std::size(fragments)];
  return out;
}

element random_element(std::mt19937& rng, int depth) {
  element e{names[rng() % std::size(names)], namespaces[rng() % std::size(namespaces)]};
  int attrs = std::uniform_int_distribution<int>{0, 3}(rng);
  for (int i = 0; i < attrs; ++i) e.set_attr(attribute_names[rng() % std::size(attribute_names)], random_text(rng));
  int children = depth >= 4 ? 0 : std::uniform_int_distribution<int>{0, 4}(rng);
  for (int i = 0; i < children; ++i) {
    if (rng() % 2 == 0) {
      e.add_text(random_text(rng));
    } else {
      e.add_child(random_element(rng, depth + 1));
    }
  }
  return e;
}

std::vector<element> parse_stream_body(const std::string& body, std::string_view default_ns) {
  recording_handler h;
  stream_parser p{h, {}};
  std::string input = "<stream:stream xmlns='" + std::string{default_ns} +
                      "' xmlns:stream='http://etherx.jabber.org/streams'>" + body;
  BOOST_REQUIRE(p.feed(input));
  BOOST_REQUIRE(h.errors.empty());
  return std::move(h.elements);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(round_trip)

BOOST_AUTO_TEST_CASE(serialize_then_parse_gives_equal_tree) {
  for (unsigned seed = 1; seed <= 500; ++seed) {
    std::mt19937 rng{seed};
    auto original = random_element(rng, 1);
    // The parser reports the stanza namespace; an element in "" cannot be
    // a stanza under a default namespace of jabber:client, but it can be
    // written with xmlns='' and read back.
    auto text = serialize(original, "jabber:client");
    auto parsed = parse_stream_body(text, "jabber:client");
    BOOST_REQUIRE_MESSAGE(parsed.size() == 1u, "seed " << seed << ": " << text);
    BOOST_TEST((parsed[0] == original), "seed " << seed << ": " << text << " -> " << serialize(parsed[0]));

    auto again = parse_stream_body(serialize(parsed[0], "jabber:client"), "jabber:client");
    BOOST_REQUIRE(again.size() == 1u);
    BOOST_TEST((again[0] == parsed[0]), "seed " << seed);
  }
}

BOOST_AUTO_TEST_CASE(round_trip_under_server_namespace) {
  std::mt19937 rng{42};
  for (int i = 0; i < 100; ++i) {
    auto original = random_element(rng, 1);
    auto parsed = parse_stream_body(serialize(original, "jabber:server"), "jabber:server");
    BOOST_REQUIRE(parsed.size() == 1u);
    BOOST_TEST((parsed[0] == original));
  }
}

BOOST_AUTO_TEST_CASE(stream_level_element_round_trips) {
  element features{"features", "http://etherx.jabber.org/streams"};
  features.add_child(element{"starttls", "urn:ietf:params:xml:ns:xmpp-tls"})
      .add_child(element{"required", "urn:ietf:params:xml:ns:xmpp-tls"});
  features.add_child(element{"bind", "urn:ietf:params:xml:ns:xmpp-bind"});
  auto parsed = parse_stream_body(serialize(features), "jabber:client");
  BOOST_REQUIRE(parsed.size() == 1u);
  BOOST_TEST((parsed[0] == features));
}

BOOST_AUTO_TEST_SUITE_END()
