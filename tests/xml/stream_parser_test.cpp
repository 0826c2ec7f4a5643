#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "recording_handler.hpp"

using namespace starling::xml;
using starling::xml::test::client_header;
using starling::xml::test::last_event;
using starling::xml::test::parse_events;
using starling::xml::test::recording_handler;

namespace {

std::string with_header(std::string_view body) { return std::string{client_header} + std::string{body}; }

// Inputs that exercise every path; each must give the same events whether
// fed at once, byte by byte or in odd chunks.
const std::vector<std::string> sample_streams = {
    with_header("<message to='b@example.com' id='1'><body>hi &amp; bye</body></message> \n "
                "<presence/><iq type='get' id='2'><query xmlns='jabber:iq:roster'/></iq></stream:stream>"),
    with_header("<message><body>a<![CDATA[<b>]]>&#x10000;&lt;</body></message>"),
    with_header("<x:foo xmlns:x='urn:x' xmlns:y='urn:y' y:attr='1' xml:lang='en'><x:bar/><baz xmlns='urn:z'/></x:foo>"),
    with_header("<!-- comment --><message/>"),
    with_header("<message/><?pi data?>"),
    with_header("<message>&ent;</message>"),
    with_header("<message></presence>"),
    with_header("text between stanzas"),
    "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><stream:stream/>",
    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>",
};

}  // namespace

BOOST_AUTO_TEST_SUITE(stream_parser_basics)

BOOST_AUTO_TEST_CASE(header_fields_are_reported) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(p.feed("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
                    "from='a@example.com' id='abc' version='1.0' xml:lang='de'>"));
  BOOST_TEST(h.events.size() == 1u);
  BOOST_TEST(h.header.to == "example.com");
  BOOST_TEST(h.header.from == "a@example.com");
  BOOST_TEST(h.header.id == "abc");
  BOOST_TEST(h.header.version == "1.0");
  BOOST_TEST(h.header.lang == "de");
  BOOST_TEST(h.header.default_ns == "jabber:client");
  BOOST_TEST(h.header.stream_ns == "http://etherx.jabber.org/streams");
  BOOST_TEST(p.header_received());
}

BOOST_AUTO_TEST_CASE(other_default_namespace_is_reported) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>");
  BOOST_TEST(h.header.default_ns == "jabber:server");
}

BOOST_AUTO_TEST_CASE(stanzas_are_delivered_in_order) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(p.feed(with_header("<message id='1'/><presence/>\n<iq id='2' type='get'/>")));
  BOOST_TEST(h.elements.size() == 3u);
  BOOST_TEST(h.elements[0].name() == "message");
  BOOST_TEST(h.elements[0].xmlns() == "jabber:client");
  BOOST_TEST(h.elements[1].name() == "presence");
  BOOST_TEST(h.elements[2].name() == "iq");
  BOOST_TEST(*h.elements[2].attr("type") == "get");
}

BOOST_AUTO_TEST_CASE(whitespace_keepalive_between_stanzas_is_ignored) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(client_header);
  for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(p.feed(" "));
  BOOST_TEST(p.buffered_bytes() == 0u);
  BOOST_TEST(p.feed("<presence/>\r\n\t"));
  BOOST_TEST(h.elements.size() == 1u);
  BOOST_TEST(h.errors.empty());
}

BOOST_AUTO_TEST_CASE(stream_end_is_reported) {
  BOOST_TEST(last_event(with_header("<presence/></stream:stream>")) == "end");
}

BOOST_AUTO_TEST_CASE(one_byte_at_a_time_matches_single_feed) {
  for (const auto& input : sample_streams) {
    auto whole = parse_events(input);
    BOOST_TEST(parse_events(input, 1) == whole, "input: " << input);
    BOOST_TEST(parse_events(input, 7) == whole, "input: " << input);
    BOOST_TEST(!whole.empty());
  }
}

BOOST_AUTO_TEST_CASE(text_and_entities_are_decoded) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(with_header("<message><body>a &amp; &lt;&gt;&quot;&apos; &#65;&#x42; <![CDATA[<c>]]></body></message>"));
  BOOST_REQUIRE(h.elements.size() == 1u);
  BOOST_TEST(h.elements[0].child("body", "jabber:client")->text() == "a & <>\"' AB <c>");
}

BOOST_AUTO_TEST_CASE(prefixed_elements_resolve_to_namespaces) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(with_header("<iq xmlns:r='jabber:iq:roster'><r:query><r:item jid='a@b'/><plain/></r:query></iq>"));
  BOOST_REQUIRE(h.elements.size() == 1u);
  const auto* query = h.elements[0].child("query", "jabber:iq:roster");
  BOOST_REQUIRE(query != nullptr);
  BOOST_TEST(query->child("item", "jabber:iq:roster") != nullptr);
  // A child without prefix keeps the inherited default namespace.
  BOOST_TEST(query->child("plain", "jabber:client") != nullptr);
}

BOOST_AUTO_TEST_CASE(attribute_namespaces_follow_naming_rule) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(with_header("<message xml:lang='fr' xmlns:a='urn:a' a:x='1' y='2'/>"));
  BOOST_REQUIRE(h.elements.size() == 1u);
  BOOST_TEST(*h.elements[0].attr("xml:lang") == "fr");
  BOOST_TEST(*h.elements[0].attr("{urn:a}x") == "1");
  BOOST_TEST(*h.elements[0].attr("y") == "2");
  BOOST_TEST(h.elements[0].attributes().size() == 3u);
}

BOOST_AUTO_TEST_CASE(empty_namespace_child_is_kept) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(with_header("<message><x xmlns=''/></message>"));
  BOOST_REQUIRE(h.elements.size() == 1u);
  BOOST_TEST(h.elements[0].child("x", "") != nullptr);
}

BOOST_AUTO_TEST_CASE(stream_level_elements_keep_stream_namespace) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(with_header("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"));
  BOOST_REQUIRE(h.elements.size() == 1u);
  BOOST_TEST(h.elements[0].xmlns() == "http://etherx.jabber.org/streams");
  BOOST_TEST(h.events.back() ==
             "element <stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
}

BOOST_AUTO_TEST_CASE(header_without_xml_declaration_is_accepted) {
  auto events = parse_events(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><presence/>");
  BOOST_TEST(events.size() == 2u);
}

BOOST_AUTO_TEST_CASE(utf8_byte_order_mark_is_accepted) {
  auto events = parse_events(
      "\xEF\xBB\xBF<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  BOOST_TEST(events.size() == 1u);
  BOOST_TEST(events[0].rfind("header", 0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stream_parser_errors)

BOOST_AUTO_TEST_CASE(plain_text_first_line_is_not_well_formed) {
  BOOST_TEST(last_event("hello there\r\n") == "error not-well-formed");
  BOOST_TEST(last_event("GET / HTTP/1.1\r\n") == "error not-well-formed");
  BOOST_TEST(last_event("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") == "error not-well-formed");
}

BOOST_AUTO_TEST_CASE(malformed_stanza_is_not_well_formed) {
  BOOST_TEST(last_event(with_header("<message></presence>")) == "error not-well-formed");
  BOOST_TEST(last_event(with_header("<message a='1' a='2'/>")) == "error not-well-formed");
  BOOST_TEST(last_event(with_header("<message><</message>")) == "error not-well-formed");
  BOOST_TEST(last_event(with_header("<message>&#0;</message>")) == "error not-well-formed");
  BOOST_TEST(last_event(with_header("<message>\x01</message>")) == "error not-well-formed");
  BOOST_TEST(last_event(with_header("<message>\xC0\xBC</message>")) == "error not-well-formed");
}

BOOST_AUTO_TEST_CASE(unbound_prefix_is_not_well_formed) {
  BOOST_TEST(last_event(with_header("<foo:message/>")) == "error not-well-formed");
}

BOOST_AUTO_TEST_CASE(doctype_is_restricted) {
  BOOST_TEST(last_event("<?xml version='1.0'?><!DOCTYPE stream><stream:stream/>") == "error restricted-xml");
  BOOST_TEST(last_event("<!DOCTYPE stream SYSTEM 'http://example.com/x.dtd'>") == "error restricted-xml");
}

BOOST_AUTO_TEST_CASE(entity_declaration_is_restricted) {
  BOOST_TEST(last_event("<!DOCTYPE s [<!ENTITY x 'y'>]><stream:stream/>") == "error restricted-xml");
}

BOOST_AUTO_TEST_CASE(undefined_entity_reference_is_restricted) {
  BOOST_TEST(last_event(with_header("<message>&nbsp;</message>")) == "error restricted-xml");
  BOOST_TEST(last_event(with_header("<message a='&x;'/>")) == "error restricted-xml");
}

BOOST_AUTO_TEST_CASE(comment_is_restricted) {
  BOOST_TEST(last_event("<!-- hi --><stream:stream/>") == "error restricted-xml");
  BOOST_TEST(last_event(with_header("<!-- hi -->")) == "error restricted-xml");
  BOOST_TEST(last_event(with_header("<message><!-- hi --></message>")) == "error restricted-xml");
}

BOOST_AUTO_TEST_CASE(processing_instruction_is_restricted) {
  BOOST_TEST(last_event("<?xml-stylesheet href='a'?><stream:stream/>") == "error restricted-xml");
  BOOST_TEST(last_event(with_header("<?foo bar?>")) == "error restricted-xml");
  BOOST_TEST(last_event(with_header("<message><?foo?></message>")) == "error restricted-xml");
}

BOOST_AUTO_TEST_CASE(late_xml_declaration_is_restricted) {
  BOOST_TEST(last_event(with_header("<?xml version='1.0'?>")) == "error restricted-xml");
  BOOST_TEST(last_event(" <?xml version='1.0'?><stream:stream/>") == "error restricted-xml");
}

BOOST_AUTO_TEST_CASE(billion_laughs_is_restricted_and_fast) {
  std::string input = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol0 'lol'>";
  for (int i = 1; i <= 30; ++i) {
    input += "<!ENTITY lol" + std::to_string(i) + " '";
    for (int k = 0; k < 8; ++k) input += "&lol" + std::to_string(i - 1) + ";";
    input += "'>";
  }
  input += "]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
           "xml:lang='&lol30;'>";

  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {
    auto start = std::chrono::steady_clock::now();
    recording_handler h;
    stream_parser p{h, {}};
    for (std::size_t i = 0; i < input.size(); i += (chunk == 0 ? input.size() : chunk)) {
      if (!p.feed(std::string_view{input}.substr(i, chunk == 0 ? input.size() : chunk))) break;
    }
    auto elapsed = std::chrono::steady_clock::now() - start;
    BOOST_REQUIRE(h.errors.size() == 1u);
    BOOST_TEST((h.errors[0] == stream_error_condition::restricted_xml));
    BOOST_TEST(h.events.size() == 1u);
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 500);
    BOOST_TEST(p.peak_allocated_bytes() < 64u * 1024u);
  }
}

BOOST_AUTO_TEST_CASE(non_utf8_encoding_is_unsupported) {
  BOOST_TEST(last_event("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>") ==
             "error unsupported-encoding");
  BOOST_TEST(last_event("<?xml version='1.0' encoding='UTF-16'?>") == "error unsupported-encoding");
  BOOST_TEST(last_event("\xFF\xFE<\0?\0") == "error unsupported-encoding");
  BOOST_TEST(last_event(std::string_view{"<\0s\0", 4}) == "error unsupported-encoding");
  BOOST_TEST(last_event(std::string_view{"\0<\0s", 4}, 1) == "error unsupported-encoding");
}

BOOST_AUTO_TEST_CASE(utf8_encoding_declaration_is_accepted) {
  auto events = parse_events(
      "<?xml version='1.0' encoding='utf-8'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'>");
  BOOST_TEST(events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(wrong_stream_namespace_is_invalid_namespace) {
  BOOST_TEST(last_event("<stream:stream xmlns:stream='urn:wrong'>") == "error invalid-namespace");
  BOOST_TEST(last_event("<html>") == "error invalid-namespace");
}

BOOST_AUTO_TEST_CASE(wrong_stream_prefix_is_bad_namespace_prefix) {
  // RFC 6120 section 4.9.3.11 example.
  BOOST_TEST(last_event("<foobar:stream xmlns:foobar='http://etherx.jabber.org/streams' "
                        "xmlns='jabber:client'>") == "error bad-namespace-prefix");
}

BOOST_AUTO_TEST_CASE(wrong_root_name_is_bad_format) {
  BOOST_TEST(last_event("<stream:foo xmlns:stream='http://etherx.jabber.org/streams'>") == "error bad-format");
}

BOOST_AUTO_TEST_CASE(text_between_stanzas_is_bad_format) {
  BOOST_TEST(last_event(with_header("<presence/>junk")) == "error bad-format");
}

BOOST_AUTO_TEST_CASE(junk_after_stream_end_is_not_well_formed) {
  BOOST_TEST(last_event(with_header("</stream:stream><presence/>")) == "error not-well-formed");
}

BOOST_AUTO_TEST_CASE(no_input_is_accepted_after_an_error) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(!p.feed(with_header("<!-- x -->")));
  BOOST_TEST(p.failed());
  auto events = h.events.size();
  BOOST_TEST(!p.feed("<presence/>"));
  BOOST_TEST(h.events.size() == events);
}

BOOST_AUTO_TEST_CASE(error_stops_callbacks_within_the_same_feed) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(!p.feed(with_header("<presence/><!-- x --><message/><iq/>")));
  BOOST_TEST(h.elements.size() == 1u);
  BOOST_TEST(h.events.back() == "error restricted-xml");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stream_parser_reset)

BOOST_AUTO_TEST_CASE(reset_accepts_new_stream_header) {
  recording_handler h;
  stream_parser p{h, {}};
  p.feed(with_header("<presence/>"));
  p.reset();
  BOOST_TEST(!p.header_received());
  BOOST_TEST(p.feed(with_header("<message/>")));
  BOOST_TEST(h.events.size() == 4u);
  BOOST_TEST(h.events[2].rfind("header", 0) == 0u);
  BOOST_TEST(h.elements.back().name() == "message");
}

BOOST_AUTO_TEST_CASE(reset_clears_error) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(!p.feed("junk\n"));
  p.reset();
  BOOST_TEST(!p.failed());
  BOOST_TEST(p.feed(client_header));
  BOOST_TEST(h.header.to == "example.com");
}

// A handler that resets the parser on <starttls/>, as the connection does
// before the TLS handshake.
struct starttls_handler : recording_handler {
  stream_parser* parser = nullptr;
  void on_element(element&& e) override {
    bool starttls = e.name() == "starttls";
    recording_handler::on_element(std::move(e));
    if (starttls) parser->reset();
  }
};

BOOST_AUTO_TEST_CASE(reset_from_handler_drops_rest_of_input) {
  starttls_handler h;
  stream_parser p{h, {}};
  h.parser = &p;
  std::string tail = "<message>injected before TLS</message>";
  BOOST_TEST(p.feed(with_header("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") + tail));
  BOOST_TEST(h.elements.size() == 1u);
  BOOST_TEST(p.unparsed_tail_bytes() == tail.size());
  BOOST_TEST(!p.header_received());

  // The next stream starts from scratch, XML declaration included.
  BOOST_TEST(p.feed(with_header("<presence/>")));
  BOOST_TEST(h.elements.size() == 2u);
  BOOST_TEST(p.unparsed_tail_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(reset_from_handler_with_byte_feeding) {
  starttls_handler h;
  stream_parser p{h, {}};
  h.parser = &p;
  std::string input = with_header("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") + with_header("<presence/>");
  for (char c : input) BOOST_REQUIRE(p.feed(std::string_view{&c, 1}));
  BOOST_TEST(h.elements.size() == 2u);
  BOOST_TEST(h.errors.empty());
}

// A handler that suspends the parser on <auth/>, as the connection does
// while it verifies credentials before reading further.
struct suspending_handler : recording_handler {
  stream_parser* parser = nullptr;
  void on_element(element&& e) override {
    bool auth = e.name() == "auth";
    recording_handler::on_element(std::move(e));
    if (auth) parser->suspend();
  }
};

BOOST_AUTO_TEST_CASE(suspend_keeps_stream_for_refed_tail) {
  suspending_handler h;
  stream_parser p{h, {}};
  h.parser = &p;
  std::string tail = "<presence/><message xmlns:x='urn:x'><x:y/></message>";
  BOOST_TEST(p.feed(with_header("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>") + tail));
  BOOST_TEST(h.elements.size() == 1u);
  BOOST_TEST(p.unparsed_tail_bytes() == tail.size());
  BOOST_TEST(p.header_received());

  // The caller feeds the tail again; the stream goes on without a second
  // header event and with the same content namespace.
  BOOST_TEST(p.feed(tail));
  BOOST_TEST(h.errors.empty());
  BOOST_REQUIRE(h.elements.size() == 3u);
  BOOST_TEST(h.elements[1].name() == "presence");
  BOOST_TEST(h.elements[1].xmlns() == "jabber:client");
  BOOST_TEST(h.elements[2].child("y", "urn:x") != nullptr);
  BOOST_TEST(std::count_if(h.events.begin(), h.events.end(),
                           [](const std::string& e) { return e.rfind("header", 0) == 0; }) == 1);
}

BOOST_AUTO_TEST_CASE(hibernated_parser_frees_expat_and_continues) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(p.feed(with_header("<x:a xmlns:x='urn:x'/>")));
  BOOST_TEST(p.allocated_bytes() > 0u);
  BOOST_TEST(p.hibernate());
  BOOST_TEST(p.hibernating());
  BOOST_TEST(p.allocated_bytes() == 0u);

  // The next input continues the same stream: no second header event, the
  // same content namespace, and prefixes declared on the header still work.
  BOOST_TEST(p.feed("<presence/><message><body>after</body></message>"));
  BOOST_TEST(!p.hibernating());
  BOOST_TEST(h.errors.empty());
  BOOST_REQUIRE(h.elements.size() == 3u);
  BOOST_TEST(h.elements[1].xmlns() == "jabber:client");
  BOOST_TEST(h.elements[2].child("body", "jabber:client")->text() == "after");
  BOOST_TEST(std::count_if(h.events.begin(), h.events.end(),
                           [](const std::string& e) { return e.rfind("header", 0) == 0; }) == 1);
}

BOOST_AUTO_TEST_CASE(second_stream_header_is_bad_format) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(!p.feed(with_header("<presence/>") +
                     "<stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"));
  BOOST_REQUIRE(h.errors.size() == 1u);
  BOOST_TEST((h.errors[0] == stream_error_condition::bad_format));
  BOOST_TEST(h.elements.size() == 1u);
}

BOOST_AUTO_TEST_CASE(hibernate_keeps_partial_element) {
  recording_handler h;
  stream_parser p{h, {}};
  BOOST_TEST(p.feed(with_header("<message><body>half")));
  BOOST_TEST(!p.hibernate());
  BOOST_TEST(p.feed(" done</body></message>"));
  BOOST_REQUIRE(h.elements.size() == 1u);
  BOOST_TEST(h.elements[0].child("body", "jabber:client")->text() == "half done");
}

BOOST_AUTO_TEST_CASE(hibernated_parser_still_enforces_limits) {
  recording_handler h;
  parser_limits limits;
  limits.max_depth = 2;
  stream_parser p{h, limits};
  BOOST_TEST(p.feed(std::string{client_header}));
  BOOST_TEST(p.hibernate());
  BOOST_TEST(!p.feed("<a><b><c/></b></a>"));
  BOOST_REQUIRE(h.errors.size() == 1u);
  BOOST_TEST((h.errors[0] == stream_error_condition::policy_violation));
}

BOOST_AUTO_TEST_SUITE_END()
