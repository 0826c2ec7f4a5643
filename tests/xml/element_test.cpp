#include <boost/test/unit_test.hpp>

#include "protocol/xml/element.hpp"

using starling::xml::element;

BOOST_AUTO_TEST_SUITE(element_tree)

BOOST_AUTO_TEST_CASE(set_attr_replaces_existing_value) {
  element e{"message", "jabber:client"};
  e.set_attr("to", "a@example.com").set_attr("to", "b@example.com");
  BOOST_TEST(e.attributes().size() == 1u);
  BOOST_TEST(*e.attr("to") == "b@example.com");
  BOOST_TEST(!e.attr("from").has_value());
}

BOOST_AUTO_TEST_CASE(remove_attr_reports_presence) {
  element e{"iq", "jabber:client"};
  e.set_attr("id", "1");
  BOOST_TEST(e.remove_attr("id"));
  BOOST_TEST(!e.remove_attr("id"));
  BOOST_TEST(e.attributes().empty());
}

BOOST_AUTO_TEST_CASE(child_lookup_matches_name_and_namespace) {
  element iq{"iq", "jabber:client"};
  iq.add_child(element{"query", "jabber:iq:roster"});
  iq.add_child(element{"query", "jabber:iq:version"});
  BOOST_TEST(iq.child("query", "jabber:iq:version") != nullptr);
  BOOST_TEST(iq.child("query", "jabber:iq:version")->xmlns() == "jabber:iq:version");
  BOOST_TEST(iq.child("query", "jabber:iq:private") == nullptr);
  BOOST_TEST(iq.child_elements().size() == 2u);
}

BOOST_AUTO_TEST_CASE(add_child_returns_stored_child) {
  element msg{"message", "jabber:client"};
  auto& body = msg.add_child(element{"body", "jabber:client"});
  body.add_text("hi");
  BOOST_TEST(msg.child("body", "jabber:client")->text() == "hi");
}

BOOST_AUTO_TEST_CASE(adjacent_text_is_merged) {
  element e{"body", "jabber:client"};
  e.add_text("hel").add_text("").add_text("lo");
  BOOST_TEST(e.children().size() == 1u);
  BOOST_TEST(e.text() == "hello");
}

BOOST_AUTO_TEST_CASE(text_skips_nested_elements) {
  element e{"p", "urn:x"};
  e.add_text("a");
  e.add_child(element{"b", "urn:x"}).add_text("nested");
  e.add_text("c");
  BOOST_TEST(e.text() == "ac");
  BOOST_TEST(e.children().size() == 3u);
}

BOOST_AUTO_TEST_CASE(remove_children_merges_text_around_them) {
  element e{"p", "urn:x"};
  e.add_text("a");
  e.add_child(element{"b", "urn:x"});
  e.add_text("c");
  BOOST_TEST(e.remove_children("b", "urn:x") == 1u);
  BOOST_TEST(e.children().size() == 1u);
  BOOST_TEST(e.text() == "ac");
}

BOOST_AUTO_TEST_CASE(equality_ignores_attribute_order) {
  element a{"x", "urn:x"};
  a.set_attr("a", "1").set_attr("b", "2");
  element b{"x", "urn:x"};
  b.set_attr("b", "2").set_attr("a", "1");
  BOOST_TEST((a == b));
  b.set_attr("b", "3");
  BOOST_TEST(!(a == b));
}

BOOST_AUTO_TEST_CASE(equality_compares_namespace) {
  BOOST_TEST(!(element{"x", "urn:a"} == element{"x", "urn:b"}));
}

BOOST_AUTO_TEST_SUITE_END()
