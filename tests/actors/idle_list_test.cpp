#define BOOST_TEST_MODULE idle_list
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "actors/idle_list.hpp"

using starling::actors::idle_list;
using starling::actors::idle_node;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct test_tag {};

// A connection whose idle work succeeds unless `keep` is set; records the
// order in which the work was done.
struct fake_connection : idle_node<test_tag> {
  fake_connection(std::string id, std::vector<std::string>& log) : name(std::move(id)), released(log) {}
  bool due() {
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
  idle_list<test_tag> list;
  clock_type::time_point start = clock_type::now();

  clock_type::time_point at(int ms) const { return start + milliseconds{ms}; }

  std::size_t sweep(int cutoff_ms, int now_ms) {
    return list.sweep(at(cutoff_ms), at(now_ms), [](idle_node<test_tag>& node) {
      return static_cast<fake_connection&>(node).due();
    });
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(sweep_releases_quiet_connections_oldest_first, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(10));
  list.touch(c, at(20));
  BOOST_TEST(list.size() == 3u);

  BOOST_TEST(sweep(10, 30) == 2u);
  BOOST_TEST((released == std::vector<std::string>{"a", "b"}));
  BOOST_TEST(list.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(touch_moves_a_connection_to_the_front, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(10));
  list.touch(a, at(20));
  BOOST_TEST(list.size() == 2u);

  BOOST_TEST(sweep(15, 30) == 1u);
  BOOST_TEST((released == std::vector<std::string>{"b"}));
}

BOOST_FIXTURE_TEST_CASE(kept_parser_returns_to_the_front, list_fixture) {
  list.touch(a, at(0));
  list.touch(b, at(10));
  a.keep = true;

  // The sweep keeps a and counts it as fresh input at the sweep time, and
  // releases b.
  BOOST_TEST(sweep(10, 50) == 1u);
  BOOST_TEST((released == std::vector<std::string>{"b"}));
  BOOST_TEST(list.size() == 1u);
  BOOST_TEST(sweep(40, 60) == 0u);

  a.keep = false;
  BOOST_TEST(sweep(50, 70) == 1u);
  BOOST_TEST(list.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(work_may_relist_the_connection, list_fixture) {
  list.touch(a, at(0));
  // Like a ping: the work moves the connection on by touching it again.
  auto swept = list.sweep(at(0), at(10), [&](idle_node<test_tag>& node) {
    list.touch(node, at(10));
    return true;
  });
  BOOST_TEST(swept == 1u);
  BOOST_TEST(list.contains(a));
  BOOST_TEST(sweep(5, 20) == 0u);
  BOOST_TEST(sweep(10, 20) == 1u);
  BOOST_TEST(!list.contains(a));
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
  BOOST_TEST(sweep(100, 100) == 0u);
  BOOST_TEST(released.empty());
}
