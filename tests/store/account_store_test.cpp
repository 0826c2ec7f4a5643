// Tests of lmdb_account_store: batches for register, password change and
// removal, credential lookup, listing, counting and verify_plain.
#define BOOST_TEST_MODULE store_accounts
#include <boost/test/unit_test.hpp>

#include "store/account_record.hpp"
#include "store/lmdb_account_store.hpp"
#include "tests/store/test_support.hpp"

using namespace starling::store;
using starling::sasl::scram_hash;
using starling::store::test::temp_dir;

namespace {

struct fixture {
  temp_dir tmp;
  std::shared_ptr<lmdb_env> env;
  std::unique_ptr<lmdb_account_store> accounts;

  fixture() {
    options opts;
    opts.data_dir = tmp.path();
    opts.map_size_initial = 1 << 20;
    opts.map_size_max = 16 << 20;
    auto opened = lmdb_env::open(opts);
    BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
    env = *opened;
    // Few iterations keep the tests fast; the count is stored per record.
    accounts = std::make_unique<lmdb_account_store>(env, 64);
  }

  status register_user(std::string_view user, std::string_view password) {
    auto batch = accounts->make_register(user, password);
    BOOST_REQUIRE(batch.has_value());
    return env->commit(*batch);
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(register_then_lookup_all_hashes, fixture) {
  BOOST_REQUIRE(register_user("juliet", "r0m30").ok());
  BOOST_CHECK(accounts->exists("juliet").value());
  BOOST_CHECK(!accounts->exists("romeo").value());

  for (auto hash : {scram_hash::sha1, scram_hash::sha256, scram_hash::sha512}) {
    auto cred = accounts->credentials("juliet", hash);
    BOOST_REQUIRE(cred.has_value());
    BOOST_CHECK(cred->hash == hash);
    BOOST_CHECK_EQUAL(cred->salt.size(), 16u);
    BOOST_CHECK_EQUAL(cred->iterations, 64u);
    BOOST_CHECK_EQUAL(cred->stored_key.size(), starling::sasl::digest_size(hash));
    BOOST_CHECK_EQUAL(cred->server_key.size(), starling::sasl::digest_size(hash));

    // The stored keys are the SCRAM keys of the password with that salt.
    auto salted = starling::sasl::salted_password(hash, "r0m30", cred->salt, cred->iterations);
    auto keys = starling::sasl::derive_keys(hash, salted);
    BOOST_CHECK(keys.stored_key == cred->stored_key);
    BOOST_CHECK(keys.server_key == cred->server_key);
  }
}

BOOST_FIXTURE_TEST_CASE(record_never_contains_password, fixture) {
  BOOST_REQUIRE(register_user("juliet", "distinctive-password").ok());
  auto txn = env->begin_read();
  std::string_view raw;
  BOOST_REQUIRE(txn->get(accounts_table, "juliet", raw).ok());
  BOOST_CHECK_EQUAL(raw.find("distinctive-password"), std::string_view::npos);
}

BOOST_FIXTURE_TEST_CASE(register_existing_account_fails, fixture) {
  BOOST_REQUIRE(register_user("juliet", "one").ok());
  BOOST_CHECK(register_user("juliet", "two").code() == errc::already_exists);
  BOOST_CHECK(accounts->verify_plain("juliet", "one").value());
  BOOST_CHECK(!accounts->verify_plain("juliet", "two").value());
}

BOOST_FIXTURE_TEST_CASE(verify_plain_checks_password, fixture) {
  BOOST_REQUIRE(register_user("juliet", "secret").ok());
  BOOST_CHECK(accounts->verify_plain("juliet", "secret").value());
  BOOST_CHECK(!accounts->verify_plain("juliet", "Secret").value());
  BOOST_CHECK(!accounts->verify_plain("juliet", "").value());
  BOOST_CHECK(!accounts->verify_plain("nobody", "secret").value());
}

BOOST_FIXTURE_TEST_CASE(change_password_replaces_credentials, fixture) {
  BOOST_REQUIRE(register_user("juliet", "old").ok());
  auto old_salt = accounts->credentials("juliet", scram_hash::sha256)->salt;

  auto change = accounts->make_change_password("juliet", "new");
  BOOST_REQUIRE(change.has_value());
  BOOST_REQUIRE(env->commit(*change).ok());
  BOOST_CHECK(accounts->verify_plain("juliet", "new").value());
  BOOST_CHECK(!accounts->verify_plain("juliet", "old").value());
  BOOST_CHECK(accounts->credentials("juliet", scram_hash::sha256)->salt != old_salt);
}

BOOST_FIXTURE_TEST_CASE(change_password_of_unknown_account_fails, fixture) {
  auto change = accounts->make_change_password("nobody", "x");
  BOOST_REQUIRE(!change.has_value());
  BOOST_CHECK(change.error().code() == errc::not_found);
}

BOOST_FIXTURE_TEST_CASE(change_password_loses_to_concurrent_remove, fixture) {
  BOOST_REQUIRE(register_user("juliet", "old").ok());
  auto change = accounts->make_change_password("juliet", "new");
  BOOST_REQUIRE(change.has_value());
  BOOST_REQUIRE(env->commit(accounts->make_remove("juliet")).ok());
  BOOST_CHECK(env->commit(*change).code() == errc::not_found);
  BOOST_CHECK(!accounts->exists("juliet").value());
}

BOOST_FIXTURE_TEST_CASE(change_password_loses_to_concurrent_change, fixture) {
  BOOST_REQUIRE(register_user("juliet", "old").ok());
  auto first = accounts->make_change_password("juliet", "first");
  auto second = accounts->make_change_password("juliet", "second");
  BOOST_REQUIRE(env->commit(*first).ok());
  BOOST_CHECK(env->commit(*second).code() == errc::value_mismatch);
  BOOST_CHECK(accounts->verify_plain("juliet", "first").value());
}

BOOST_FIXTURE_TEST_CASE(remove_deletes_and_fails_when_missing, fixture) {
  BOOST_REQUIRE(register_user("juliet", "x").ok());
  BOOST_CHECK(env->commit(accounts->make_remove("juliet")).ok());
  BOOST_CHECK(!accounts->exists("juliet").value());
  BOOST_CHECK(env->commit(accounts->make_remove("juliet")).code() == errc::not_found);
  auto cred = accounts->credentials("juliet", scram_hash::sha1);
  BOOST_CHECK(!cred.has_value() && cred.error().code() == errc::not_found);
}

BOOST_FIXTURE_TEST_CASE(list_pages_in_byte_order_and_count, fixture) {
  for (auto name : {"dave", "alice", "carol", "bob", "eve"})
    BOOST_REQUIRE(register_user(name, "pw").ok());
  BOOST_CHECK_EQUAL(accounts->count().value(), 5u);

  auto page1 = accounts->list("", 2).value();
  BOOST_REQUIRE_EQUAL(page1.size(), 2u);
  BOOST_CHECK_EQUAL(page1[0], "alice");
  BOOST_CHECK_EQUAL(page1[1], "bob");

  auto page2 = accounts->list(page1.back(), 2).value();
  BOOST_REQUIRE_EQUAL(page2.size(), 2u);
  BOOST_CHECK_EQUAL(page2[0], "carol");
  BOOST_CHECK_EQUAL(page2[1], "dave");

  auto page3 = accounts->list(page2.back(), 2).value();
  BOOST_REQUIRE_EQUAL(page3.size(), 1u);
  BOOST_CHECK_EQUAL(page3[0], "eve");

  BOOST_CHECK(accounts->list(page3.back(), 2).value().empty());
  BOOST_CHECK(accounts->list("", 0).value().empty());
  // A start name that is not an account starts at the next one.
  BOOST_CHECK_EQUAL(accounts->list("bz", 1).value().at(0), "carol");
}

BOOST_FIXTURE_TEST_CASE(empty_username_is_rejected, fixture) {
  auto batch = accounts->make_register("", "pw");
  BOOST_REQUIRE(!batch.has_value());
  BOOST_CHECK(batch.error().code() == errc::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(damaged_record_is_reported_corrupt, fixture) {
  BOOST_REQUIRE(env->commit(write_batch{}.put(accounts_table, "broken", "\x01garbage")).ok());
  auto cred = accounts->credentials("broken", scram_hash::sha256);
  BOOST_REQUIRE(!cred.has_value());
  BOOST_CHECK(cred.error().code() == errc::corrupt);
  auto verified = accounts->verify_plain("broken", "pw");
  BOOST_REQUIRE(!verified.has_value());
  BOOST_CHECK(verified.error().code() == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(record_round_trips_and_rejects_damage) {
  account_record record;
  record.created_unix = 1700000000;
  record.credentials.push_back(
    {scram_hash::sha1, std::string(16, 's'), 4096, std::string(20, 'a'), std::string(20, 'b')});
  std::string bytes = encode_account(record);

  auto decoded = decode_account(bytes);
  BOOST_REQUIRE(decoded.has_value());
  BOOST_CHECK_EQUAL(decoded->created_unix, 1700000000);
  BOOST_REQUIRE_EQUAL(decoded->credentials.size(), 1u);
  BOOST_CHECK_EQUAL(decoded->credentials[0].iterations, 4096u);

  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    BOOST_CHECK(decode_account(bytes.substr(0, cut)).error().code() == errc::corrupt);
  BOOST_CHECK(!decode_account(bytes + "x").has_value());
  std::string future = bytes;
  future[0] = 2;
  BOOST_CHECK(!decode_account(future).has_value());
}
