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

// Three connections and a list; `at(ms)` is a time relative to the start.
struct list_fixture {
  std::vector<std::string> released;
  fake_connection a{"a", released};
  fake_connection b{"b", released};
  fake_connection c{"c", released};
  awake_parser_list list;
  clock_type::time_point start = clock_type::now();

  clock_type::time_point at(int ms) const { return start + milliseconds{ms}; }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(sweep_releases_quiet_connections_oldest_first, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(10));
  list.touch(c, at(20));
  BOOST_TEST(list.size() == 3u);

  BOOST_TEST(list.sweep(at(10), at(30)) == 2u);
  BOOST_TEST((released == std::vector<std::string>{"a", "b"}));
  BOOST_TEST(list.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(touch_moves_a_connection_to_the_front, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(10));
  list.touch(a, at(20));
  BOOST_TEST(list.size() == 2u);

  BOOST_TEST(list.sweep(at(15), at(30)) == 1u);
  BOOST_TEST((released == std::vector<std::string>{"b"}));
}

BOOST_FIXTURE_TEST_CASE(kept_parser_returns_to_the_front, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(10));
  a.keep = true;

  // The sweep keeps a and counts it as fresh input at the sweep time, and
  // releases b.
  BOOST_TEST(list.sweep(at(10), at(50)) == 1u);
  BOOST_TEST((released == std::vector<std::string>{"b"}));
  BOOST_TEST(list.size() == 1u);
  BOOST_TEST(list.sweep(at(40), at(60)) == 0u);

  a.keep = false;
  BOOST_TEST(list.sweep(at(50), at(70)) == 1u);
  BOOST_TEST(list.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(remove_unlinks_and_tolerates_repeats, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(0));
  list.touch(c, at(0));
  list.remove(b);
  list.remove(b);
  BOOST_TEST(list.size() == 2u);
  list.remove(a);
  list.remove(c);
  BOOST_TEST(list.size() == 0u);
  BOOST_TEST(list.sweep(at(100), at(100)) == 0u);
  BOOST_TEST(released.empty());
}
