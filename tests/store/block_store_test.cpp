// Blocking lists on real LMDB: block, check, list, unblock, limits.
#define BOOST_TEST_MODULE block_store
#include <boost/test/unit_test.hpp>

#include "store/lmdb_block_store.hpp"
#include "test_support.hpp"

using namespace starling::store;

namespace {

struct fixture {
  test::temp_dir dir;
  std::shared_ptr<lmdb_env> env;
  std::unique_ptr<lmdb_block_store> blocks;

  fixture() {
    options opts;
    opts.data_dir = dir.path();
    auto opened = lmdb_env::open(opts);
    BOOST_REQUIRE(opened.has_value());
    env = *opened;
    blocks = std::make_unique<lmdb_block_store>(env);
  }

  void commit(expected<write_batch> batch) {
    BOOST_REQUIRE(batch.has_value());
    auto status = env->commit(*batch);
    BOOST_REQUIRE_MESSAGE(status.ok(), status.message());
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(blocked_jids_are_listed_and_found, fixture) {
  commit(blocks->make_block("alice@example.test", {"bob@example.test", "spam.example"}));
  auto listed = blocks->blocked("alice@example.test");
  BOOST_REQUIRE(listed.has_value());
  BOOST_TEST(*listed == (std::vector<std::string>{"bob@example.test", "spam.example"}));

  auto bob = blocks->is_blocked("alice@example.test", {"bob@example.test/phone", "bob@example.test"});
  BOOST_REQUIRE(bob.has_value());
  BOOST_TEST(*bob);
  auto carol = blocks->is_blocked("alice@example.test", {"carol@example.test"});
  BOOST_REQUIRE(carol.has_value());
  BOOST_TEST(!*carol);
}

BOOST_FIXTURE_TEST_CASE(lists_of_users_stay_apart, fixture) {
  commit(blocks->make_block("alice@example.test", {"bob@example.test"}));
  // "alice@example.tes" is a prefix of the first user's key.
  auto other = blocks->blocked("alice@example.tes");
  BOOST_REQUIRE(other.has_value());
  BOOST_TEST(other->empty());
  auto found = blocks->is_blocked("carol@example.test", {"bob@example.test"});
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(!*found);
}

BOOST_FIXTURE_TEST_CASE(unblock_removes_given_or_all, fixture) {
  commit(blocks->make_block("alice@example.test", {"a@x.test", "b@x.test", "c@x.test"}));
  commit(blocks->make_unblock("alice@example.test", {"b@x.test", "missing@x.test"}));
  auto listed = blocks->blocked("alice@example.test");
  BOOST_REQUIRE(listed.has_value());
  BOOST_TEST(*listed == (std::vector<std::string>{"a@x.test", "c@x.test"}));

  commit(blocks->make_unblock("alice@example.test", {}));
  listed = blocks->blocked("alice@example.test");
  BOOST_REQUIRE(listed.has_value());
  BOOST_TEST(listed->empty());
}

BOOST_FIXTURE_TEST_CASE(blocking_twice_adds_nothing, fixture) {
  commit(blocks->make_block("alice@example.test", {"bob@example.test"}));
  auto again = blocks->make_block("alice@example.test", {"bob@example.test"});
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->empty());
}

BOOST_FIXTURE_TEST_CASE(list_size_is_limited, fixture) {
  std::vector<std::string> many;
  for (std::size_t i = 0; i < max_blocked_per_user; ++i)
    many.push_back("user" + std::to_string(i) + "@x.test");
  commit(blocks->make_block("alice@example.test", many));
  auto one_more = blocks->make_block("alice@example.test", {"last@x.test"});
  BOOST_REQUIRE(!one_more.has_value());
  BOOST_TEST((one_more.error().code() == errc::quota_exceeded));
}

BOOST_FIXTURE_TEST_CASE(invalid_entries_are_rejected, fixture) {
  auto empty = blocks->make_block("alice@example.test", {""});
  BOOST_REQUIRE(!empty.has_value());
  BOOST_TEST((empty.error().code() == errc::invalid_argument));
  auto huge = blocks->make_block("alice@example.test", {std::string(600, 'x')});
  BOOST_REQUIRE(!huge.has_value());
  BOOST_TEST((huge.error().code() == errc::invalid_argument));
}
