// Measures the memory of an idle parser: after the stream header, between
// stanzas. The numbers are printed (run with --log_level=message) and the
// figure in stream_parser.hpp comes from here.
#include <boost/test/unit_test.hpp>

#include <malloc.h>

#include <iostream>
#include <memory>
#include <vector>

#include "recording_handler.hpp"

using namespace starling::xml;
using starling::xml::test::client_header;

namespace {

struct null_handler : stream_handler {
  void on_stream_header(const stream_header&) override {}
  void on_element(element&&) override {}
  void on_stream_end() override {}
  void on_stream_error(stream_error_condition, std::string_view) override {}
};

}  // namespace

BOOST_AUTO_TEST_SUITE(stream_parser_memory)

BOOST_AUTO_TEST_CASE(idle_parser_memory) {
  null_handler handler;
  const std::string stanza = "<message to='a@example.com' id='x'><body>hello</body></message>";
  constexpr int parser_count = 1000;

  std::vector<std::unique_ptr<stream_parser>> parsers;
  parsers.reserve(parser_count);
  auto before = mallinfo2().uordblks;
  for (int i = 0; i < parser_count; ++i) {
    auto p = std::make_unique<stream_parser>(handler, parser_limits{});
    BOOST_REQUIRE(p->feed(client_header));
    BOOST_REQUIRE(p->feed(stanza));
    parsers.push_back(std::move(p));
  }
  auto after = mallinfo2().uordblks;
  auto per_parser_malloc = (after - before) / parser_count;
  auto expat_heap = parsers.front()->allocated_bytes();

  std::cout << "idle stream_parser: expat heap " << expat_heap << " bytes, sizeof(stream_parser) "
            << sizeof(stream_parser) << " bytes, mallinfo2 per parser over " << parser_count << ": "
            << per_parser_malloc << " bytes\n";
  BOOST_TEST(expat_heap < 16u * 1024u);
  BOOST_TEST(per_parser_malloc < 20u * 1024u);
}

BOOST_AUTO_TEST_CASE(reset_returns_grown_buffer) {
  null_handler handler;
  stream_parser p{handler, parser_limits{}};
  p.feed(client_header);
  auto idle = p.allocated_bytes();
  // A large stanza split in two makes expat keep a large partial token.
  std::string big = "<message to='" + std::string(30000, 'a') + "'/>";
  p.feed(std::string_view{big}.substr(0, 20000));
  p.feed(std::string_view{big}.substr(20000));
  BOOST_TEST(p.allocated_bytes() > idle);
  p.reset();
  p.feed(client_header);
  BOOST_TEST(p.allocated_bytes() <= idle);
}

BOOST_AUTO_TEST_SUITE_END()
