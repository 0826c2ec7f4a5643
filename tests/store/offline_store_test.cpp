// Tests of lmdb_offline_store on real LMDB files: FIFO order across reopen,
// the quota, conflicting writers, removal after delivery, user removal and
// damaged records.
#define BOOST_TEST_MODULE store_offline
#include <boost/test/unit_test.hpp>

#include "store/lmdb_offline_store.hpp"
#include "tests/store/test_support.hpp"

#include <chrono>

using namespace starling::store;
using starling::store::test::temp_dir;
using std::chrono::system_clock;

namespace {

system_clock::time_point at_micros(std::int64_t micros) {
  return system_clock::time_point{std::chrono::microseconds{micros}};
}

std::string chat(int n) {
  return "<message from='romeo@example.net/orchard' to='juliet@example.com' type='chat' id='m" +
         std::to_string(n) + "'><body>Message " + std::to_string(n) +
         " &amp; more</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";
}

struct fixture {
  temp_dir tmp;
  std::shared_ptr<lmdb_env> env;
  std::unique_ptr<lmdb_offline_store> offline;

  fixture() { open(); }

  void open() {
    offline.reset();
    env.reset();
    options opts;
    opts.data_dir = tmp.path();
    opts.map_size_initial = 1 << 20;
    opts.map_size_max = 16 << 20;
    auto opened = lmdb_env::open(opts);
    BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
    env = *opened;
    offline = std::make_unique<lmdb_offline_store>(env);
  }

  // Enqueues and commits; returns the sequence number.
  std::uint64_t enqueue(std::string_view user, const std::string& stanza,
                        std::uint64_t quota = default_offline_quota,
                        system_clock::time_point stored = at_micros(1'700'000'000'000'000)) {
    auto built = offline->make_enqueue(user, stanza, stored, quota);
    BOOST_REQUIRE_MESSAGE(built.has_value(), (built ? "" : built.error().message()));
    auto st = env->commit(built->batch);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
    return built->sequence;
  }

  void remove_through(std::string_view user, std::uint64_t last) {
    auto batch = offline->make_remove_through(user, last);
    BOOST_REQUIRE_MESSAGE(batch.has_value(), (batch ? "" : batch.error().message()));
    auto st = env->commit(*batch);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  }

  std::vector<std::uint64_t> sequences(std::string_view user, std::size_t limit = 100) {
    std::vector<std::uint64_t> out;
    auto messages = offline->first_messages(user, limit);
    BOOST_REQUIRE(messages.has_value());
    for (const auto& message : *messages)
      out.push_back(message.sequence);
    return out;
  }

  std::uint64_t stored_messages() {
    auto txn = env->begin_read();
    BOOST_REQUIRE(txn.has_value());
    return txn->count(offline_messages_table).value();
  }
};

using sequence_list = std::vector<std::uint64_t>;

} // namespace

// -- queue order ---------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(empty_queue_has_no_messages, fixture) {
  BOOST_CHECK_EQUAL(offline->count("juliet@example.com").value(), 0u);
  BOOST_CHECK(offline->first_messages("juliet@example.com", 10).value().empty());
}

BOOST_FIXTURE_TEST_CASE(messages_come_back_in_arrival_order, fixture) {
  std::string user = "juliet@example.com";
  for (int i = 1; i <= 5; ++i)
    BOOST_CHECK_EQUAL(enqueue(user, chat(i), default_offline_quota, at_micros(1'000'000 * i + 7)),
                      static_cast<std::uint64_t>(i));
  BOOST_CHECK_EQUAL(offline->count(user).value(), 5u);

  auto messages = offline->first_messages(user, 10).value();
  BOOST_REQUIRE_EQUAL(messages.size(), 5u);
  for (int i = 1; i <= 5; ++i) {
    const auto& message = messages[i - 1];
    BOOST_CHECK_EQUAL(message.sequence, static_cast<std::uint64_t>(i));
    BOOST_CHECK_EQUAL(message.stanza, chat(i));
    BOOST_CHECK(message.stored == at_micros(1'000'000 * i + 7));
  }
}

BOOST_FIXTURE_TEST_CASE(first_messages_stops_at_limit, fixture) {
  for (int i = 1; i <= 4; ++i)
    enqueue("juliet@example.com", chat(i));
  BOOST_CHECK(sequences("juliet@example.com", 2) == (sequence_list{1, 2}));
  BOOST_CHECK(offline->first_messages("juliet@example.com", 0).value().empty());
}

BOOST_FIXTURE_TEST_CASE(order_survives_reopen, fixture) {
  std::string user = "juliet@example.com";
  // More than 255 messages, so the order depends on more than the last
  // byte of the sequence number.
  for (int i = 1; i <= 300; ++i)
    enqueue(user, chat(i));
  open();
  BOOST_CHECK_EQUAL(enqueue(user, chat(301)), 301u);
  open();

  auto messages = offline->first_messages(user, 1000).value();
  BOOST_REQUIRE_EQUAL(messages.size(), 301u);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    BOOST_CHECK_EQUAL(messages[i].sequence, i + 1);
    BOOST_CHECK_EQUAL(messages[i].stanza, chat(static_cast<int>(i + 1)));
  }
  BOOST_CHECK_EQUAL(offline->count(user).value(), 301u);
}

BOOST_FIXTURE_TEST_CASE(users_with_shared_prefix_stay_apart, fixture) {
  enqueue("ann@example.com", chat(1));
  enqueue("ann@example.com.au", chat(2));
  enqueue("ann@example.co", chat(3));
  auto messages = offline->first_messages("ann@example.com", 10).value();
  BOOST_REQUIRE_EQUAL(messages.size(), 1u);
  BOOST_CHECK_EQUAL(messages[0].stanza, chat(1));
  BOOST_CHECK_EQUAL(offline->count("ann@example.co").value(), 1u);
}

BOOST_FIXTURE_TEST_CASE(invalid_enqueues_are_rejected, fixture) {
  auto expect_invalid = [&](std::string_view user, std::string_view stanza) {
    auto built = offline->make_enqueue(user, stanza, at_micros(0), default_offline_quota);
    BOOST_REQUIRE(!built.has_value());
    BOOST_CHECK(built.error().code() == errc::invalid_argument);
  };
  expect_invalid("", chat(1));
  expect_invalid(std::string("juliet\0x", 8), chat(1));
  expect_invalid(std::string(503, 'j'), chat(1));
  expect_invalid("juliet@example.com", "");
  // A user of the maximum length is accepted.
  enqueue(std::string(502, 'j'), chat(1));
}

// -- quota ---------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(full_queue_rejects_and_writes_nothing, fixture) {
  std::string user = "juliet@example.com";
  for (int i = 1; i <= 3; ++i)
    enqueue(user, chat(i), 3);

  auto rejected = offline->make_enqueue(user, chat(4), at_micros(0), 3);
  BOOST_REQUIRE(!rejected.has_value());
  BOOST_CHECK(rejected.error().code() == offline_queue_full);
  BOOST_CHECK(rejected.error().detail().find("full") != std::string::npos);
  BOOST_CHECK_EQUAL(offline->count(user).value(), 3u);
  BOOST_CHECK_EQUAL(stored_messages(), 3u);

  // A quota below the current count also rejects.
  BOOST_CHECK(!offline->make_enqueue(user, chat(4), at_micros(0), 1).has_value());
  // A quota of 0 turns offline storage off.
  auto none = offline->make_enqueue("romeo@example.net", chat(1), at_micros(0), 0);
  BOOST_REQUIRE(!none.has_value());
  BOOST_CHECK(none.error().code() == offline_queue_full);

  // Delivery makes room again, and the sequence numbers continue.
  remove_through(user, 1);
  BOOST_CHECK_EQUAL(enqueue(user, chat(4), 3), 4u);
  BOOST_CHECK(sequences(user) == (sequence_list{2, 3, 4}));
}

BOOST_FIXTURE_TEST_CASE(batch_built_before_fill_fails, fixture) {
  // Two enqueues checked against the quota from the same count: the second
  // commit must not push the queue past the quota.
  std::string user = "juliet@example.com";
  enqueue(user, chat(1), 2);
  auto first = offline->make_enqueue(user, chat(2), at_micros(0), 2);
  auto second = offline->make_enqueue(user, chat(3), at_micros(0), 2);
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(second.has_value());
  BOOST_REQUIRE(env->commit(first->batch).ok());
  BOOST_CHECK(env->commit(second->batch).code() == errc::value_mismatch);
  BOOST_CHECK_EQUAL(offline->count(user).value(), 2u);

  auto retried = offline->make_enqueue(user, chat(3), at_micros(0), 2);
  BOOST_REQUIRE(!retried.has_value());
  BOOST_CHECK(retried.error().code() == offline_queue_full);
}

// -- concurrent writers --------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(second_enqueue_in_group_fails, fixture) {
  std::string user = "juliet@example.com";
  enqueue(user, chat(1));
  auto first = offline->make_enqueue(user, chat(2), at_micros(0), default_offline_quota);
  auto second = offline->make_enqueue(user, chat(3), at_micros(0), default_offline_quota);
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(second.has_value());
  // Both were given the same sequence number from the same read.
  BOOST_CHECK_EQUAL(first->sequence, second->sequence);

  auto results = env->commit_group({&first->batch, &second->batch});
  BOOST_REQUIRE_EQUAL(results.size(), 2u);
  BOOST_CHECK(results[0].ok());
  BOOST_CHECK(results[1].code() == errc::value_mismatch);

  auto messages = offline->first_messages(user, 10).value();
  BOOST_REQUIRE_EQUAL(messages.size(), 2u);
  BOOST_CHECK_EQUAL(messages[1].stanza, chat(2));
  BOOST_CHECK_EQUAL(offline->count(user).value(), 2u);
}

BOOST_FIXTURE_TEST_CASE(second_first_enqueue_fails, fixture) {
  // Without a queue record yet, the guard is put_if_absent.
  std::string user = "juliet@example.com";
  auto first = offline->make_enqueue(user, chat(1), at_micros(0), default_offline_quota);
  auto second = offline->make_enqueue(user, chat(2), at_micros(0), default_offline_quota);
  auto results = env->commit_group({&first->batch, &second->batch});
  BOOST_CHECK(results[0].ok());
  BOOST_CHECK(results[1].code() == errc::already_exists);
  BOOST_CHECK_EQUAL(offline->count(user).value(), 1u);
  BOOST_CHECK_EQUAL(stored_messages(), 1u);
}

BOOST_FIXTURE_TEST_CASE(removal_conflicts_with_enqueue, fixture) {
  std::string user = "juliet@example.com";
  enqueue(user, chat(1));
  enqueue(user, chat(2));
  auto removal = offline->make_remove_through(user, 2);
  BOOST_REQUIRE(removal.has_value());
  enqueue(user, chat(3));
  BOOST_CHECK(env->commit(*removal).code() == errc::value_mismatch);
  BOOST_CHECK_EQUAL(offline->count(user).value(), 3u);
  remove_through(user, 2);
  BOOST_CHECK(sequences(user) == sequence_list{3});
  BOOST_CHECK_EQUAL(offline->count(user).value(), 1u);
}

// -- removal -------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(remove_through_is_inclusive, fixture) {
  std::string user = "juliet@example.com";
  for (int i = 1; i <= 5; ++i)
    enqueue(user, chat(i));
  remove_through(user, 3);
  BOOST_CHECK(sequences(user) == (sequence_list{4, 5}));
  BOOST_CHECK_EQUAL(offline->count(user).value(), 2u);

  // Nothing at or below 3 is left, so the batch is empty.
  auto again = offline->make_remove_through(user, 3);
  BOOST_REQUIRE(again.has_value());
  BOOST_CHECK(again->empty());

  remove_through(user, 1000);
  BOOST_CHECK(sequences(user).empty());
  BOOST_CHECK_EQUAL(offline->count(user).value(), 0u);
  BOOST_CHECK_EQUAL(stored_messages(), 0u);

  // The counter survives an empty queue and a reopen.
  open();
  BOOST_CHECK_EQUAL(enqueue(user, chat(6)), 6u);
}

BOOST_FIXTURE_TEST_CASE(remove_user_deletes_queue_and_counter, fixture) {
  std::string user = "juliet@example.com";
  for (int i = 1; i <= 3; ++i)
    enqueue(user, chat(i));
  enqueue("juliet@example.co", chat(9));

  auto batch = offline->make_remove_user(user);
  BOOST_REQUIRE(batch.has_value());
  BOOST_REQUIRE(env->commit(*batch).ok());
  BOOST_CHECK_EQUAL(offline->count(user).value(), 0u);
  BOOST_CHECK(offline->first_messages(user, 10).value().empty());
  BOOST_CHECK_EQUAL(stored_messages(), 1u);
  BOOST_CHECK_EQUAL(offline->count("juliet@example.co").value(), 1u);

  // A new account of the same name starts a new queue.
  BOOST_CHECK_EQUAL(enqueue(user, chat(1)), 1u);
}

BOOST_FIXTURE_TEST_CASE(remove_user_fails_after_new_message, fixture) {
  std::string user = "juliet@example.com";
  enqueue(user, chat(1));
  auto removal = offline->make_remove_user(user);
  BOOST_REQUIRE(removal.has_value());
  enqueue(user, chat(2));
  BOOST_CHECK(env->commit(*removal).code() == errc::value_mismatch);
  BOOST_CHECK_EQUAL(offline->count(user).value(), 2u);

  std::string other = "nurse@example.com";
  auto empty_removal = offline->make_remove_user(other);
  BOOST_REQUIRE(empty_removal.has_value());
  enqueue(other, chat(1));
  BOOST_CHECK(env->commit(*empty_removal).code() == errc::already_exists);
  BOOST_CHECK_EQUAL(offline->count(other).value(), 1u);
}

// -- damaged records -----------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(damaged_message_is_reported_corrupt, fixture) {
  std::string user = "juliet@example.com";
  enqueue(user, chat(1));
  BOOST_REQUIRE(env->commit(write_batch{}.put(offline_messages_table,
                                              offline_message_key(user, 2), "\x01short"))
                  .ok());
  auto messages = offline->first_messages(user, 10);
  BOOST_REQUIRE(!messages.has_value());
  BOOST_CHECK(messages.error().code() == errc::corrupt);
  BOOST_CHECK(messages.error().detail().find("message 2") != std::string::npos);
  // The undamaged first message is still readable on its own.
  BOOST_CHECK_EQUAL(offline->first_messages(user, 1).value().size(), 1u);

  // A key with a cut sequence number is reported too.
  std::string short_key = user + std::string(1, '\0') + "abc";
  BOOST_REQUIRE(env->commit(write_batch{}.put(offline_messages_table, short_key, "x")).ok());
  BOOST_CHECK(offline->make_remove_user(user).error().code() == errc::corrupt);
}

BOOST_FIXTURE_TEST_CASE(damaged_queue_record_is_reported_corrupt, fixture) {
  std::string user = "juliet@example.com";
  enqueue(user, chat(1));
  BOOST_REQUIRE(env->commit(write_batch{}.put(offline_queues_table, user, "\x01\x00")).ok());
  BOOST_CHECK(offline->count(user).error().code() == errc::corrupt);
  BOOST_CHECK(offline->make_enqueue(user, chat(2), at_micros(0), 10).error().code() ==
              errc::corrupt);
  BOOST_CHECK(offline->make_remove_through(user, 1).error().code() == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(queue_record_round_trips_and_rejects_damage) {
  offline_queue_record record{3, 10};
  std::string bytes = encode_offline_queue(record);
  BOOST_CHECK(decode_offline_queue(bytes).value() == record);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    BOOST_CHECK(decode_offline_queue(bytes.substr(0, cut)).error().code() == errc::corrupt);
  BOOST_CHECK(!decode_offline_queue(bytes + "x").has_value());
  std::string future = bytes;
  future[0] = 2;
  BOOST_CHECK(!decode_offline_queue(future).has_value());
  // More messages than sequence numbers ever given out.
  BOOST_CHECK(!decode_offline_queue(encode_offline_queue({10, 10})).has_value());
  BOOST_CHECK(!decode_offline_queue(encode_offline_queue({0, 0})).has_value());
}
