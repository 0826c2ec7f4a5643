#define BOOST_TEST_MODULE awake_parser_list
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "actors/parser_sweeper.hpp"

using starling::actors::awake_parser;
using starling::actors::awake_parser_list;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A connection whose parser can be released unless `keep` is set; records
// the order of releases.
struct fake_connection : awake_parser {
  fake_connection(std::string id, std::vector<std::string>& log) : name(std::move(id)), released(log) {}
  bool release_parser() override {
    if (keep) return false;
    released.push_back(name);
    return true;
  }
  std::string name;
  std::vector<std::string>& released;
  bool keep = false;
};

}  // namespace

BOOST_AUTO_TEST_CASE(sweep_releases_quiet_connections_oldest_first) {
  std::vector<std::string> released;
  fake_connection a{"a", released}, b{"b", released}, c{"c", released};
  awake_parser_list list;
  auto start = clock_type::now();
  list.touch(a, start);
  list.touch(b, start + milliseconds{10});
  list.touch(c, start + milliseconds{20});
  BOOST_TEST(list.size() == 3u);

  BOOST_TEST(list.sweep(start + milliseconds{10}, start + milliseconds{30}) == 2u);
  BOOST_TEST((released == std::vector<std::string>{"a", "b"}));
  BOOST_TEST(list.size() == 1u);
}

BOOST_AUTO_TEST_CASE(touch_moves_a_connection_to_the_front) {
  std::vector<std::string> released;
  fake_connection a{"a", released}, b{"b", released};
  awake_parser_list list;
  auto start = clock_type::now();
  list.touch(a, start);
  list.touch(b, start + milliseconds{10});
  list.touch(a, start + milliseconds{20});
  BOOST_TEST(list.size() == 2u);

  BOOST_TEST(list.sweep(start + milliseconds{15}, start + milliseconds{30}) == 1u);
  BOOST_TEST((released == std::vector<std::string>{"b"}));
}

BOOST_AUTO_TEST_CASE(kept_parser_returns_to_the_front) {
  std::vector<std::string> released;
  fake_connection a{"a", released}, b{"b", released};
  awake_parser_list list;
  auto start = clock_type::now();
  list.touch(a, start);
  list.touch(b, start + milliseconds{10});
  a.keep = true;

  // The sweep keeps a and counts it as fresh input at the sweep time, and
  // releases b.
  BOOST_TEST(list.sweep(start + milliseconds{10}, start + milliseconds{50}) == 1u);
  BOOST_TEST((released == std::vector<std::string>{"b"}));
  BOOST_TEST(list.size() == 1u);
  BOOST_TEST(list.sweep(start + milliseconds{40}, start + milliseconds{60}) == 0u);

  a.keep = false;
  BOOST_TEST(list.sweep(start + milliseconds{50}, start + milliseconds{70}) == 1u);
  BOOST_TEST(list.size() == 0u);
}

BOOST_AUTO_TEST_CASE(remove_unlinks_and_tolerates_repeats) {
  std::vector<std::string> released;
  fake_connection a{"a", released}, b{"b", released}, c{"c", released};
  awake_parser_list list;
  auto start = clock_type::now();
  list.touch(a, start);
  list.touch(b, start);
  list.touch(c, start);
  list.remove(b);
  list.remove(b);
  BOOST_TEST(list.size() == 2u);
  list.remove(a);
  list.remove(c);
  BOOST_TEST(list.size() == 0u);
  BOOST_TEST(list.sweep(start + milliseconds{100}, start + milliseconds{100}) == 0u);
  BOOST_TEST(released.empty());
}
