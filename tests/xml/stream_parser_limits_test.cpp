#include <boost/test/unit_test.hpp>

#include <string>

#include "recording_handler.hpp"

using namespace starling::xml;
using starling::xml::test::client_header;
using starling::xml::test::last_event;
using starling::xml::test::recording_handler;

namespace {

std::string with_header(std::string_view body) { return std::string{client_header} + std::string{body}; }

std::string nested(std::size_t depth) {
  std::string open, close;
  for (std::size_t i = 0; i < depth; ++i) {
    open += "<e>";
    close += "</e>";
  }
  return open + close;
}

std::string with_attributes(std::size_t count) {
  std::string out = "<message";
  for (std::size_t i = 0; i < count; ++i) out += " a" + std::to_string(i) + "='v'";
  return out + "/>";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stream_parser_limits)

BOOST_AUTO_TEST_CASE(depth_limit) {
  parser_limits limits;
  limits.max_depth = 4;
  BOOST_TEST(last_event(with_header(nested(4)), 0, limits).rfind("element", 0) == 0u);
  BOOST_TEST(last_event(with_header(nested(5)), 0, limits) == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(attribute_count_limit) {
  parser_limits limits;
  limits.max_attributes = 5;
  BOOST_TEST(last_event(with_header(with_attributes(5)), 0, limits).rfind("element", 0) == 0u);
  BOOST_TEST(last_event(with_header(with_attributes(6)), 0, limits) == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(namespace_declarations_count_as_attributes) {
  parser_limits limits;
  limits.max_attributes = 2;
  BOOST_TEST(last_event(with_header("<message xmlns:a='urn:a' xmlns:b='urn:b' c='1'/>"), 0, limits) ==
             "error policy-violation");
}

BOOST_AUTO_TEST_CASE(attribute_value_limit) {
  parser_limits limits;
  limits.max_attribute_bytes = 12;  // the header's to='example.com' has 11
  BOOST_TEST(last_event(with_header("<message id='0123456789ab'/>"), 0, limits).rfind("element", 0) == 0u);
  BOOST_TEST(last_event(with_header("<message id='0123456789abc'/>"), 0, limits) == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(text_limit_counts_whole_element) {
  parser_limits limits;
  limits.max_text_bytes = 10;
  BOOST_TEST(last_event(with_header("<m><b>01234</b><c>56789</c></m>"), 0, limits).rfind("element", 0) == 0u);
  BOOST_TEST(last_event(with_header("<m><b>01234</b><c>567890</c></m>"), 0, limits) == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(text_limit_applies_before_element_closes) {
  parser_limits limits;
  limits.max_text_bytes = 100;
  recording_handler h;
  stream_parser p{h, limits};
  p.feed(with_header("<message><body>"));
  BOOST_TEST(p.feed(std::string(100, 'x')));
  BOOST_TEST(!p.feed("y"));
  BOOST_TEST(h.events.back() == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(stanza_byte_limit) {
  parser_limits limits;
  limits.max_stanza_bytes = 200;  // more than the header
  std::string fits = "<message>" + std::string(200 - 19, 'x') + "</message>";
  BOOST_REQUIRE(fits.size() == 200u);
  BOOST_TEST(last_event(with_header(fits), 0, limits).rfind("element", 0) == 0u);
  BOOST_TEST(last_event(with_header(fits), 1, limits).rfind("element", 0) == 0u);
  std::string too_big = "<message>" + std::string(201 - 19, 'x') + "</message>";
  BOOST_TEST(last_event(with_header(too_big), 0, limits) == "error policy-violation");
  BOOST_TEST(last_event(with_header(too_big), 1, limits) == "error policy-violation");
  // Only the end tag crosses the limit.
  std::string tag_too_big = "<message>" + std::string(200 - 19, 'x') + "</message >";
  BOOST_TEST(last_event(with_header(tag_too_big), 0, limits) == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(stanza_byte_limit_is_per_element) {
  parser_limits limits;
  limits.max_stanza_bytes = 200;
  std::string input{client_header};
  for (int i = 0; i < 100; ++i) input += "<presence id='" + std::to_string(i) + "'/> ";
  recording_handler h;
  stream_parser p{h, limits};
  BOOST_TEST(p.feed(input));
  BOOST_TEST(h.elements.size() == 100u);
}

BOOST_AUTO_TEST_CASE(oversized_header_is_policy_violation) {
  parser_limits limits;
  limits.max_stanza_bytes = 200;
  std::string header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" +
                       std::string(1000, 'a') + "'>";
  BOOST_TEST(last_event(header, 0, limits) == "error policy-violation");
}

BOOST_AUTO_TEST_CASE(growing_open_tag_fails_at_limit_with_bounded_memory) {
  parser_limits limits;  // 64 KiB
  recording_handler h;
  stream_parser p{h, limits};
  p.feed(client_header);
  auto idle = p.allocated_bytes();

  // A start tag that never ends: expat buffers it without any callback.
  BOOST_TEST(p.feed("<message to='"));
  std::string chunk(1000, 'a');
  std::size_t fed = 13;
  while (p.feed(chunk)) {
    fed += chunk.size();
    BOOST_REQUIRE(fed <= limits.max_stanza_bytes);
    BOOST_TEST(p.buffered_bytes() == fed);
  }
  fed += chunk.size();
  BOOST_TEST(fed > limits.max_stanza_bytes);
  BOOST_TEST(fed <= limits.max_stanza_bytes + chunk.size());
  BOOST_TEST(h.events.back() == "error policy-violation");
  // Expat doubles its input buffer and copies the old one, so the peak is
  // about three times the limit.
  BOOST_TEST(p.peak_allocated_bytes() < idle + 4 * limits.max_stanza_bytes);
  BOOST_TEST_MESSAGE("peak expat heap for a 64 KiB open tag: " << p.peak_allocated_bytes() << " bytes");
}

BOOST_AUTO_TEST_CASE(growing_text_fails_at_limit_with_bounded_memory) {
  parser_limits limits;
  limits.max_text_bytes = 1u << 20;  // so the byte limit is the one that trips
  recording_handler h;
  stream_parser p{h, limits};
  p.feed(with_header("<message><body>"));
  std::string chunk(4096, 'b');
  int chunks = 0;
  while (p.feed(chunk)) ++chunks;
  BOOST_TEST(chunks * chunk.size() <= limits.max_stanza_bytes);
  BOOST_TEST((chunks + 1) * chunk.size() > limits.max_stanza_bytes - 30);
  BOOST_TEST(h.events.back() == "error policy-violation");
  BOOST_TEST(p.peak_allocated_bytes() < 64u * 1024u);
}

BOOST_AUTO_TEST_CASE(single_huge_feed_fails_without_buffering_it) {
  parser_limits limits;
  limits.max_stanza_bytes = 10000;
  recording_handler h;
  stream_parser p{h, limits};
  std::string input = with_header("<message to='") + std::string(10u << 20, 'a');
  BOOST_TEST(!p.feed(input));
  BOOST_TEST(h.events.back() == "error policy-violation");
  BOOST_TEST(p.peak_allocated_bytes() < 100u * 1024u);
}

BOOST_AUTO_TEST_SUITE_END()
