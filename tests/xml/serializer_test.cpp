#include <boost/test/unit_test.hpp>

#include "protocol/xml/serializer.hpp"

using starling::xml::element;
using starling::xml::serialize;

BOOST_AUTO_TEST_SUITE(serializer)

BOOST_AUTO_TEST_CASE(default_namespace_is_omitted) {
  element msg{"message", "jabber:client"};
  msg.set_attr("to", "a@example.com");
  BOOST_TEST(serialize(msg) == "<message to='a@example.com'/>");
  BOOST_TEST(serialize(msg, "jabber:server") == "<message xmlns='jabber:client' to='a@example.com'/>");
}

BOOST_AUTO_TEST_CASE(child_namespace_declared_where_it_changes) {
  element iq{"iq", "jabber:client"};
  auto& query = iq.add_child(element{"query", "jabber:iq:roster"});
  query.add_child(element{"item", "jabber:iq:roster"});
  iq.add_child(element{"x", ""});
  BOOST_TEST(serialize(iq) ==
             "<iq><query xmlns='jabber:iq:roster'><item/></query><x xmlns=''/></iq>");
}

BOOST_AUTO_TEST_CASE(text_escaping) {
  element body{"body", "jabber:client"};
  body.add_text("a & b < c > d \" ' \r\n\t");
  BOOST_TEST(serialize(body) == "<body>a &amp; b &lt; c &gt; d \" ' &#13;\n\t</body>");
}

BOOST_AUTO_TEST_CASE(attribute_escaping) {
  element e{"x", "jabber:client"};
  e.set_attr("v", "a&b<c>d\"e'f\tg\nh\ri");
  BOOST_TEST(serialize(e) == "<x v='a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i'/>");
}

BOOST_AUTO_TEST_CASE(forbidden_characters_are_replaced) {
  element body{"body", "jabber:client"};
  // NUL, a control character, an invalid byte, a truncated sequence, an
  // encoded surrogate, U+FFFE and an overlong '<'.
  static const char raw[] = "a\0b\x01" "c\xFF" "d\xE2\x82" "e\xED\xA0\x80" "f\xEF\xBF\xBE" "g\xC0\xBC";
  body.add_text(std::string{raw, sizeof raw - 1});
  auto out = serialize(body);
  BOOST_TEST(out.find('\0') == std::string::npos);
  BOOST_TEST(out.find('\x01') == std::string::npos);
  BOOST_TEST(out.find("\xFF") == std::string::npos);
  BOOST_TEST(out.find("\xED\xA0\x80") == std::string::npos);
  BOOST_TEST(out.find("\xEF\xBF\xBE") == std::string::npos);
  BOOST_TEST(out.find("\xC0") == std::string::npos);
  BOOST_TEST(out.rfind("<body>a", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(valid_multibyte_text_is_kept) {
  element body{"body", "jabber:client"};
  body.add_text("gr\xC3\xBC\xC3\x9F \xF0\x9F\x98\x80");
  BOOST_TEST(serialize(body) == "<body>gr\xC3\xBC\xC3\x9F \xF0\x9F\x98\x80</body>");
}

BOOST_AUTO_TEST_CASE(xml_lang_is_kept) {
  element msg{"message", "jabber:client"};
  msg.set_attr("xml:lang", "de");
  BOOST_TEST(serialize(msg) == "<message xml:lang='de'/>");
}

BOOST_AUTO_TEST_CASE(namespaced_attribute_gets_prefix) {
  element e{"x", "urn:x"};
  e.set_attr("{urn:attr}a", "1");
  e.set_attr("{urn:attr}b", "2");
  BOOST_TEST(serialize(e, "urn:x") == "<x xmlns:ns1='urn:attr' ns1:a='1' ns1:b='2'/>");
}

BOOST_AUTO_TEST_CASE(attribute_namespace_with_brace) {
  // Found by the stream fuzzer: expat accepts '}' in a namespace URI.
  element e{"x", "urn:x"};
  e.set_attr("{}rn:y}attr", "2");
  BOOST_TEST(serialize(e, "urn:x") == "<x xmlns:ns1='}rn:y' ns1:attr='2'/>");
}

BOOST_AUTO_TEST_CASE(stream_namespace_uses_stream_prefix) {
  element features{"features", "http://etherx.jabber.org/streams"};
  features.add_child(element{"starttls", "urn:ietf:params:xml:ns:xmpp-tls"});
  features.add_child(element{"ver", "jabber:client"});
  BOOST_TEST(serialize(features) ==
             "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><ver/></stream:features>");
}

BOOST_AUTO_TEST_CASE(xml_namespace_element_uses_xml_prefix) {
  // The XML namespace must never be declared, so such an element keeps the
  // predeclared prefix and its children keep the outer default namespace.
  element e{"foo", "http://www.w3.org/XML/1998/namespace"};
  e.add_child(element{"bar", "jabber:client"});
  BOOST_TEST(serialize(e) == "<xml:foo><bar/></xml:foo>");
}

BOOST_AUTO_TEST_SUITE_END()
