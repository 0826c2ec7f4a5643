// Tests of lmdb_roster_store on real LMDB files: items, roster versions and
// the diffs of roster versioning, tombstone pruning, conflicting writers, inbound
// subscription requests, user removal and damaged records.
#define BOOST_TEST_MODULE store_rosters
#include <boost/test/unit_test.hpp>

#include "store/lmdb_roster_store.hpp"
#include "store/roster_record.hpp"
#include "tests/store/test_support.hpp"

#include <chrono>

using namespace starling::store;
using starling::store::test::temp_dir;

namespace {

struct fixture {
  temp_dir tmp;
  std::shared_ptr<lmdb_env> env;
  std::unique_ptr<lmdb_roster_store> rosters;

  explicit fixture(std::uint64_t horizon = default_roster_tombstone_horizon) { open(horizon); }

  void open(std::uint64_t horizon = default_roster_tombstone_horizon) {
    rosters.reset();
    env.reset();
    options opts;
    opts.data_dir = tmp.path();
    opts.map_size_initial = 1 << 20;
    opts.map_size_max = 16 << 20;
    auto opened = lmdb_env::open(opts);
    BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
    env = *opened;
    rosters = std::make_unique<lmdb_roster_store>(env, horizon);
  }

  // Puts `item` at the current version and returns the new version.
  std::uint64_t put(std::string_view user, const roster_item& item) {
    auto base = rosters->find_item(user, item.contact);
    BOOST_REQUIRE(base.has_value());
    auto batch = rosters->make_put_item(user, item, base->version);
    BOOST_REQUIRE_MESSAGE(batch.has_value(), (batch ? "" : batch.error().message()));
    auto st = env->commit(*batch);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
    return base->version + 1;
  }

  std::uint64_t remove(std::string_view user, std::string_view contact) {
    auto base = rosters->find_item(user, contact);
    BOOST_REQUIRE(base.has_value());
    auto batch = rosters->make_remove_item(user, contact, base->version);
    BOOST_REQUIRE_MESSAGE(batch.has_value(), (batch ? "" : batch.error().message()));
    auto st = env->commit(*batch);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
    return base->version + 1;
  }

  std::uint64_t version(std::string_view user) { return rosters->roster(user).value().version; }
};

roster_item contact(std::string name) {
  roster_item item;
  item.contact = std::move(name);
  return item;
}

std::vector<std::string> contacts_of(const std::vector<roster_item>& items) {
  std::vector<std::string> out;
  for (const auto& item : items)
    out.push_back(item.contact);
  return out;
}

using strings = std::vector<std::string>;

// A presence stanza with child elements, attributes, entities and non-ASCII
// text, as the serializer would write it.
const std::string subscribe_stanza =
  "<presence from='romeo@example.net' to='juliet@example.com' type='subscribe' id='s1'>"
  "<status xml:lang='en'>Let&apos;s talk &amp; meet \xc3\xa9t\xc3\xa9</status>"
  "<nick xmlns='http://jabber.org/protocol/nick'>Romeo</nick>"
  "<x xmlns='urn:example:custom'><deep a='1'><deeper/></deep></x>"
  "</presence>";

} // namespace

// -- items and versions --------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(empty_roster_has_version_zero, fixture) {
  auto roster = rosters->roster("juliet@example.com");
  BOOST_REQUIRE(roster.has_value());
  BOOST_CHECK_EQUAL(roster->version, 0u);
  BOOST_CHECK(roster->items.empty());
  auto lookup = rosters->find_item("juliet@example.com", "romeo@example.net");
  BOOST_REQUIRE(lookup.has_value());
  BOOST_CHECK_EQUAL(lookup->version, 0u);
  BOOST_CHECK(!lookup->item.has_value());
}

BOOST_FIXTURE_TEST_CASE(put_item_round_trips_all_fields, fixture) {
  roster_item item = contact("romeo@example.net");
  item.name = "Romeo";
  item.groups = {"Friends", "Verona", "\xc3\xa9quipe"};
  item.subscription = subscription::from;
  item.pending_out = true;
  item.approved = true;
  BOOST_CHECK_EQUAL(put("juliet@example.com", item), 1u);

  auto lookup = rosters->find_item("juliet@example.com", "romeo@example.net");
  BOOST_REQUIRE(lookup.has_value());
  BOOST_CHECK_EQUAL(lookup->version, 1u);
  BOOST_REQUIRE(lookup->item.has_value());
  item.version = 1;
  BOOST_CHECK(*lookup->item == item);

  // An empty name is kept apart from no name.
  roster_item unnamed = contact("mercutio@example.org");
  unnamed.name = "";
  put("juliet@example.com", unnamed);
  auto read = rosters->find_item("juliet@example.com", "mercutio@example.org").value();
  BOOST_REQUIRE(read.item->name.has_value());
  BOOST_CHECK(read.item->name->empty());
  BOOST_CHECK(!rosters->find_item("juliet@example.com", "romeo@example.net")
                 .value()
                 .item->name->empty());
}

BOOST_FIXTURE_TEST_CASE(every_change_bumps_the_version, fixture) {
  std::string user = "juliet@example.com";
  BOOST_CHECK_EQUAL(put(user, contact("romeo@example.net")), 1u);
  BOOST_CHECK_EQUAL(put(user, contact("nurse@example.com")), 2u);
  roster_item renamed = contact("romeo@example.net");
  renamed.name = "R";
  BOOST_CHECK_EQUAL(put(user, renamed), 3u);
  BOOST_CHECK_EQUAL(remove(user, "nurse@example.com"), 4u);
  BOOST_CHECK_EQUAL(version(user), 4u);

  auto roster = rosters->roster(user).value();
  BOOST_CHECK(contacts_of(roster.items) == strings{"romeo@example.net"});
  BOOST_CHECK_EQUAL(roster.items[0].version, 3u);
  BOOST_CHECK_EQUAL(roster.items[0].name.value_or(""), "R");
}

BOOST_FIXTURE_TEST_CASE(roster_lists_items_in_contact_order, fixture) {
  for (auto name : {"dave@d", "alice@a", "carol@c", "bob@b"})
    put("juliet@example.com", contact(name));
  auto roster = rosters->roster("juliet@example.com").value();
  BOOST_CHECK(contacts_of(roster.items) == (strings{"alice@a", "bob@b", "carol@c", "dave@d"}));
}

BOOST_FIXTURE_TEST_CASE(users_with_shared_prefix_stay_apart, fixture) {
  put("ann@example.com", contact("x@example.com"));
  put("ann@example.com.au", contact("y@example.com"));
  put("ann@example.co", contact("z@example.com"));
  BOOST_CHECK(contacts_of(rosters->roster("ann@example.com").value().items) ==
              strings{"x@example.com"});
  BOOST_CHECK_EQUAL(version("ann@example.com"), 1u);
  BOOST_CHECK(contacts_of(rosters->roster("ann@example.co").value().items) ==
              strings{"z@example.com"});
}

BOOST_FIXTURE_TEST_CASE(remove_missing_item_fails, fixture) {
  put("juliet@example.com", contact("romeo@example.net"));
  auto batch = rosters->make_remove_item("juliet@example.com", "nurse@example.com", 1);
  BOOST_REQUIRE(!batch.has_value());
  BOOST_CHECK(batch.error().code() == errc::not_found);
  BOOST_CHECK_EQUAL(version("juliet@example.com"), 1u);
}

BOOST_FIXTURE_TEST_CASE(roster_survives_reopen, fixture) {
  roster_item item = contact("romeo@example.net");
  item.groups = {"Friends"};
  item.subscription = subscription::both;
  put("juliet@example.com", item);
  remove("juliet@example.com", "romeo@example.net");
  put("juliet@example.com", contact("nurse@example.com"));
  open();
  BOOST_CHECK_EQUAL(version("juliet@example.com"), 3u);
  auto changes = rosters->changes_since("juliet@example.com", 0).value();
  BOOST_CHECK(changes.kind == roster_sync::changes);
  BOOST_CHECK(contacts_of(changes.changed) == strings{"nurse@example.com"});
  BOOST_CHECK(changes.removed == (std::vector<roster_removal>{{"romeo@example.net", 2}}));
}

BOOST_FIXTURE_TEST_CASE(invalid_items_are_rejected, fixture) {
  std::string user = "juliet@example.com";
  auto expect_invalid = [&](std::string_view owner, const roster_item& item) {
    auto batch = rosters->make_put_item(owner, item, 0);
    BOOST_REQUIRE(!batch.has_value());
    BOOST_CHECK(batch.error().code() == errc::invalid_argument);
  };
  roster_item empty_group = contact("romeo@example.net");
  empty_group.groups = {"Friends", ""};
  expect_invalid(user, empty_group);
  expect_invalid(user, contact(""));
  expect_invalid("", contact("romeo@example.net"));
  expect_invalid(user, contact(std::string("romeo\0x", 7)));
  expect_invalid(user, contact(std::string(max_roster_key_size - user.size(), 'a')));

  // A contact of the maximum length is accepted.
  put(user, contact(std::string(max_roster_key_size - user.size() - 1, 'a')));
  BOOST_CHECK_EQUAL(version(user), 1u);
}

// -- concurrent writers --------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(stale_base_version_fails_at_build, fixture) {
  put("juliet@example.com", contact("romeo@example.net"));
  auto batch = rosters->make_put_item("juliet@example.com", contact("nurse@example.com"), 0);
  BOOST_REQUIRE(!batch.has_value());
  BOOST_CHECK(batch.error().code() == errc::value_mismatch);
  auto removal = rosters->make_remove_item("juliet@example.com", "romeo@example.net", 7);
  BOOST_REQUIRE(!removal.has_value());
  BOOST_CHECK(removal.error().code() == errc::value_mismatch);
}

BOOST_FIXTURE_TEST_CASE(second_writer_in_group_fails, fixture) {
  std::string user = "juliet@example.com";
  put(user, contact("romeo@example.net"));

  // Both batches are built from version 1, as two sessions of the same user
  // would, and land in one group commit.
  roster_item renamed = contact("romeo@example.net");
  renamed.name = "Romeo";
  auto first = rosters->make_put_item(user, renamed, 1);
  auto second = rosters->make_remove_item(user, "romeo@example.net", 1);
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(second.has_value());
  auto results = env->commit_group({&*first, &*second});
  BOOST_REQUIRE_EQUAL(results.size(), 2u);
  BOOST_CHECK(results[0].ok());
  BOOST_CHECK(results[1].code() == errc::value_mismatch);

  // Only the first change is visible, and the version moved once.
  auto roster = rosters->roster(user).value();
  BOOST_CHECK_EQUAL(roster.version, 2u);
  BOOST_REQUIRE_EQUAL(roster.items.size(), 1u);
  BOOST_CHECK_EQUAL(roster.items[0].name.value_or(""), "Romeo");
  BOOST_CHECK(rosters->changes_since(user, 1).value().removed.empty());
}

BOOST_FIXTURE_TEST_CASE(second_first_writer_fails, fixture) {
  // The first change of an empty roster creates the version record, so a
  // second change built from version 0 fails with already_exists.
  std::string user = "juliet@example.com";
  auto first = rosters->make_put_item(user, contact("romeo@example.net"), 0);
  auto second = rosters->make_put_item(user, contact("nurse@example.com"), 0);
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(second.has_value());
  auto results = env->commit_group({&*first, &*second});
  BOOST_CHECK(results[0].ok());
  BOOST_CHECK(results[1].code() == errc::already_exists);
  BOOST_CHECK(contacts_of(rosters->roster(user).value().items) == strings{"romeo@example.net"});
}

// -- changes since a version ---------------------------------------------------

BOOST_FIXTURE_TEST_CASE(changes_since_current_is_up_to_date, fixture) {
  BOOST_CHECK(rosters->changes_since("juliet@example.com", 0).value().kind ==
              roster_sync::up_to_date);
  put("juliet@example.com", contact("romeo@example.net"));
  auto changes = rosters->changes_since("juliet@example.com", 1).value();
  BOOST_CHECK(changes.kind == roster_sync::up_to_date);
  BOOST_CHECK_EQUAL(changes.version, 1u);
  BOOST_CHECK(changes.changed.empty());
  BOOST_CHECK(changes.removed.empty());
}

BOOST_FIXTURE_TEST_CASE(changes_since_lists_items_and_tombstones, fixture) {
  std::string user = "juliet@example.com";
  put(user, contact("a@x"));  // 1
  put(user, contact("b@x"));  // 2
  put(user, contact("c@x"));  // 3
  remove(user, "a@x");        // 4
  roster_item b = contact("b@x");
  b.subscription = subscription::to;
  put(user, b);               // 5
  remove(user, "c@x");        // 6
  put(user, contact("a@x"));  // 7: re-added, so its tombstone goes

  auto since3 = rosters->changes_since(user, 3).value();
  BOOST_CHECK(since3.kind == roster_sync::changes);
  BOOST_CHECK_EQUAL(since3.version, 7u);
  BOOST_CHECK(contacts_of(since3.changed) == (strings{"a@x", "b@x"}));
  BOOST_CHECK(since3.removed == (std::vector<roster_removal>{{"c@x", 6}}));

  auto since6 = rosters->changes_since(user, 6).value();
  BOOST_CHECK(contacts_of(since6.changed) == strings{"a@x"});
  BOOST_CHECK(since6.removed.empty());

  auto since0 = rosters->changes_since(user, 0).value();
  BOOST_CHECK(since0.kind == roster_sync::changes);
  BOOST_CHECK(contacts_of(since0.changed) == (strings{"a@x", "b@x"}));
  BOOST_CHECK(since0.removed == (std::vector<roster_removal>{{"c@x", 6}}));
}

BOOST_FIXTURE_TEST_CASE(version_from_future_gets_full_roster, fixture) {
  put("juliet@example.com", contact("romeo@example.net"));
  auto changes = rosters->changes_since("juliet@example.com", 99).value();
  BOOST_CHECK(changes.kind == roster_sync::full);
  BOOST_CHECK_EQUAL(changes.version, 1u);
  BOOST_CHECK(contacts_of(changes.changed) == strings{"romeo@example.net"});
}

BOOST_AUTO_TEST_CASE(version_behind_horizon_gets_full_roster) {
  // Tombstones live for 3 versions.
  fixture f(3);
  std::string user = "juliet@example.com";
  f.put(user, contact("a@x"));  // 1
  f.put(user, contact("b@x"));  // 2
  f.remove(user, "a@x");        // 3
  f.put(user, contact("c@x"));  // 4
  f.put(user, contact("d@x"));  // 5

  // At version 5 the tombstone of version 3 is still within the horizon.
  auto since2 = f.rosters->changes_since(user, 2).value();
  BOOST_CHECK(since2.kind == roster_sync::changes);
  BOOST_CHECK(since2.removed == (std::vector<roster_removal>{{"a@x", 3}}));

  f.put(user, contact("e@x"));  // 6: prunes tombstones at or below 3
  {
    auto txn = f.env->begin_read();
    BOOST_REQUIRE(txn.has_value());
    BOOST_CHECK_EQUAL(txn->count(roster_removals_table).value(), 0u);
  }

  // A client at version 2 never saw the removal: it gets the full roster.
  auto since2_late = f.rosters->changes_since(user, 2).value();
  BOOST_CHECK(since2_late.kind == roster_sync::full);
  BOOST_CHECK_EQUAL(since2_late.version, 6u);
  BOOST_CHECK(contacts_of(since2_late.changed) == (strings{"b@x", "c@x", "d@x", "e@x"}));
  BOOST_CHECK(since2_late.removed.empty());

  // A client at the pruned version itself still gets a diff.
  auto since3 = f.rosters->changes_since(user, 3).value();
  BOOST_CHECK(since3.kind == roster_sync::changes);
  BOOST_CHECK(contacts_of(since3.changed) == (strings{"c@x", "d@x", "e@x"}));
}

// -- inbound subscription requests --------------------------------------------

BOOST_FIXTURE_TEST_CASE(pending_request_keeps_stanza_intact, fixture) {
  std::string user = "juliet@example.com";
  pending_subscription request;
  request.contact = "romeo@example.net";
  request.stanza = subscribe_stanza;
  request.received = std::chrono::system_clock::time_point{std::chrono::microseconds{
    1'700'000'000'123'456}};
  auto batch = rosters->make_put_pending(user, request);
  BOOST_REQUIRE(batch.has_value());
  BOOST_REQUIRE(env->commit(*batch).ok());
  open();

  auto found = rosters->find_pending(user, "romeo@example.net");
  BOOST_REQUIRE(found.has_value());
  BOOST_REQUIRE(found->has_value());
  BOOST_CHECK_EQUAL((*found)->stanza, subscribe_stanza);
  BOOST_CHECK((**found) == request);

  // A request is not a roster item and does not change the version.
  BOOST_CHECK_EQUAL(version(user), 0u);
  BOOST_CHECK(rosters->roster(user).value().items.empty());
}

BOOST_FIXTURE_TEST_CASE(pending_requests_list_replace_and_clear, fixture) {
  std::string user = "juliet@example.com";
  auto store_request = [&](std::string from, std::string stanza) {
    auto batch = rosters->make_put_pending(user, {std::move(from), std::move(stanza), {}});
    BOOST_REQUIRE(batch.has_value());
    BOOST_REQUIRE(env->commit(*batch).ok());
  };
  store_request("romeo@example.net", "<presence type='subscribe'/>");
  store_request("benvolio@example.net", "<presence type='subscribe' id='b'/>");
  store_request("romeo@example.net", "<presence type='subscribe' id='again'/>");
  // Another user's request stays out of the list.
  auto other = rosters->make_put_pending("nurse@example.com",
                                         {"romeo@example.net", "<presence/>", {}});
  BOOST_REQUIRE(env->commit(*other).ok());

  auto all = rosters->pending(user).value();
  BOOST_REQUIRE_EQUAL(all.size(), 2u);
  BOOST_CHECK_EQUAL(all[0].contact, "benvolio@example.net");
  BOOST_CHECK_EQUAL(all[1].contact, "romeo@example.net");
  BOOST_CHECK_EQUAL(all[1].stanza, "<presence type='subscribe' id='again'/>");

  BOOST_REQUIRE(env->commit(rosters->make_clear_pending(user, "romeo@example.net").value()).ok());
  BOOST_REQUIRE(env->commit(rosters->make_clear_pending(user, "romeo@example.net").value()).ok());
  BOOST_CHECK(!rosters->find_pending(user, "romeo@example.net").value().has_value());
  BOOST_CHECK_EQUAL(rosters->pending(user).value().size(), 1u);
  BOOST_CHECK_EQUAL(rosters->pending("nurse@example.com").value().size(), 1u);
}

BOOST_FIXTURE_TEST_CASE(pending_request_without_stanza_is_rejected, fixture) {
  auto batch = rosters->make_put_pending("juliet@example.com", {"romeo@example.net", "", {}});
  BOOST_REQUIRE(!batch.has_value());
  BOOST_CHECK(batch.error().code() == errc::invalid_argument);
}

// -- user removal --------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(remove_user_deletes_everything_of_user, fixture) {
  std::string user = "juliet@example.com";
  put(user, contact("a@x"));
  put(user, contact("b@x"));
  remove(user, "a@x");
  BOOST_REQUIRE(env->commit(*rosters->make_put_pending(user, {"c@x", "<presence/>", {}})).ok());
  put("juliet@example.co", contact("a@x"));
  BOOST_REQUIRE(
    env->commit(*rosters->make_put_pending("juliet@example.co", {"c@x", "<presence/>", {}}))
      .ok());

  auto batch = rosters->make_remove_user(user);
  BOOST_REQUIRE(batch.has_value());
  BOOST_REQUIRE(env->commit(*batch).ok());

  BOOST_CHECK_EQUAL(version(user), 0u);
  BOOST_CHECK(rosters->roster(user).value().items.empty());
  BOOST_CHECK(rosters->pending(user).value().empty());
  auto txn = env->begin_read();
  BOOST_REQUIRE(txn.has_value());
  BOOST_CHECK_EQUAL(txn->count(roster_items_table).value(), 1u);
  BOOST_CHECK_EQUAL(txn->count(roster_removals_table).value(), 0u);
  BOOST_CHECK_EQUAL(txn->count(roster_versions_table).value(), 1u);
  BOOST_CHECK_EQUAL(txn->count(roster_pending_table).value(), 1u);
}

BOOST_FIXTURE_TEST_CASE(remove_user_fails_after_concurrent_change, fixture) {
  std::string user = "juliet@example.com";
  put(user, contact("a@x"));
  auto removal = rosters->make_remove_user(user);
  BOOST_REQUIRE(removal.has_value());
  put(user, contact("b@x"));
  BOOST_CHECK(env->commit(*removal).code() == errc::value_mismatch);
  BOOST_CHECK_EQUAL(rosters->roster(user).value().items.size(), 2u);

  // Without a roster, the removal fails when the first item appears meanwhile.
  std::string other = "nurse@example.com";
  auto empty_removal = rosters->make_remove_user(other);
  BOOST_REQUIRE(empty_removal.has_value());
  put(other, contact("a@x"));
  BOOST_CHECK(env->commit(*empty_removal).code() == errc::already_exists);
  BOOST_CHECK_EQUAL(version(other), 1u);
}

// -- damaged records -----------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(damaged_records_are_reported_corrupt, fixture) {
  std::string user = "juliet@example.com";
  put(user, contact("a@x"));
  BOOST_REQUIRE(
    env->commit(write_batch{}.put(roster_items_table, roster_key(user, "b@x"), "\x01garbage"))
      .ok());
  auto roster = rosters->roster(user);
  BOOST_REQUIRE(!roster.has_value());
  BOOST_CHECK(roster.error().code() == errc::corrupt);
  BOOST_CHECK(roster.error().detail().find("b@x") != std::string::npos);
  BOOST_CHECK(rosters->find_item(user, "b@x").error().code() == errc::corrupt);
  BOOST_CHECK(rosters->changes_since(user, 0).error().code() == errc::corrupt);
  // The undamaged item is still readable on its own.
  BOOST_CHECK(rosters->find_item(user, "a@x").value().item.has_value());

  BOOST_REQUIRE(env->commit(write_batch{}.put(roster_versions_table, user, "\x02")).ok());
  BOOST_CHECK(rosters->find_item(user, "a@x").error().code() == errc::corrupt);
  BOOST_CHECK(rosters->make_put_item(user, contact("c@x"), 1).error().code() == errc::corrupt);

  BOOST_REQUIRE(
    env->commit(write_batch{}.put(roster_pending_table, roster_key(user, "p@x"), "\x01")).ok());
  BOOST_CHECK(rosters->pending(user).error().code() == errc::corrupt);
  BOOST_CHECK(rosters->find_pending(user, "p@x").error().code() == errc::corrupt);
}

BOOST_FIXTURE_TEST_CASE(damaged_tombstone_is_reported_corrupt, fixture) {
  std::string user = "juliet@example.com";
  put(user, contact("a@x"));
  BOOST_REQUIRE(
    env->commit(write_batch{}.put(roster_removals_table, roster_key(user, "z@x"), "\x01\x00"))
      .ok());
  BOOST_CHECK(rosters->changes_since(user, 0).error().code() == errc::corrupt);
  BOOST_CHECK(rosters->make_put_item(user, contact("b@x"), 1).error().code() == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(records_round_trip_and_reject_damage) {
  roster_item item = contact("romeo@example.net");
  item.name = "Romeo";
  item.groups = {"A", "B"};
  item.subscription = subscription::both;
  item.approved = true;
  item.version = 42;
  std::string bytes = encode_roster_item(item);
  auto decoded = decode_roster_item("romeo@example.net", bytes);
  BOOST_REQUIRE(decoded.has_value());
  BOOST_CHECK(*decoded == item);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    BOOST_CHECK(decode_roster_item("r", bytes.substr(0, cut)).error().code() == errc::corrupt);
  BOOST_CHECK(!decode_roster_item("r", bytes + "x").has_value());

  std::string future = bytes;
  future[0] = 2;
  BOOST_CHECK(!decode_roster_item("r", future).has_value());
  std::string bad_subscription = bytes;
  bad_subscription[9] = 4;
  BOOST_CHECK(!decode_roster_item("r", bad_subscription).has_value());
  std::string bad_flags = bytes;
  bad_flags[10] = static_cast<char>(bad_flags[10] | 8);
  BOOST_CHECK(!decode_roster_item("r", bad_flags).has_value());

  // Groups must be strictly ascending, as a std::set writes them.
  roster_item one_group = contact("r");
  one_group.groups = {"A"};
  std::string repeated = encode_roster_item(one_group);
  repeated[repeated.size() - 6] = 2;  // Group count 1 -> 2 ...
  repeated += std::string("\x00\x00\x00\x01" "A", 5);  // ... and "A" again.
  BOOST_CHECK(!decode_roster_item("r", repeated).has_value());

  roster_version_record version{9, 4};
  BOOST_CHECK(decode_roster_version(encode_roster_version(version)).value() == version);
  BOOST_CHECK(!decode_roster_version(encode_roster_version({3, 4})).has_value());
  BOOST_CHECK_EQUAL(decode_roster_removal(encode_roster_removal(17)).value(), 17u);
  BOOST_CHECK(!decode_roster_removal(encode_roster_removal(17) + "x").has_value());
  BOOST_CHECK(!decode_pending_subscription("r", std::string("\x01", 1)).has_value());
}
