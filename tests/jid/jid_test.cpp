#define BOOST_TEST_MODULE starling_jid
#include <boost/test/unit_test.hpp>

#include <string>
#include <unordered_set>

#include "protocol/jid/jid.hpp"

using starling::jid::jid;
using starling::jid::nameprep;
using starling::jid::nodeprep;
using starling::jid::resourceprep;

namespace {

std::string full_of(std::string_view text) {
  auto j = jid::parse(text);
  return j ? j->full() : std::string{"<invalid>"};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jid_parsing)

BOOST_AUTO_TEST_CASE(splits_parts) {
  auto j = jid::parse("user@example.com/phone");
  BOOST_REQUIRE(j.has_value());
  BOOST_TEST(j->local() == "user");
  BOOST_TEST(j->domain() == "example.com");
  BOOST_TEST(j->resource() == "phone");
  BOOST_TEST(j->bare_string() == "user@example.com");
  BOOST_TEST(j->full() == "user@example.com/phone");
  BOOST_TEST(!j->is_bare());
  BOOST_TEST(j->bare().is_bare());
  BOOST_TEST(j->bare().full() == "user@example.com");
}

BOOST_AUTO_TEST_CASE(domain_only_and_domain_with_resource) {
  BOOST_TEST(full_of("example.com") == "example.com");
  BOOST_TEST(full_of("example.com/res") == "example.com/res");
  auto j = jid::parse("example.com");
  BOOST_REQUIRE(j.has_value());
  BOOST_TEST(j->local().empty());
  BOOST_TEST(j->bare_string() == "example.com");
}

BOOST_AUTO_TEST_CASE(empty_parts_are_invalid) {
  for (const char* text : {"", "@example.com", "user@", "example.com/", "user@example.com/", "@", "/",
                           "user@/res", "/res", "@example.com/res"}) {
    BOOST_TEST(!jid::parse(text).has_value(), "input: '" << text << "'");
  }
}

BOOST_AUTO_TEST_CASE(slash_and_at_allowed_in_resource) {
  auto j = jid::parse("user@example.com/a/b@c");
  BOOST_REQUIRE(j.has_value());
  BOOST_TEST(j->resource() == "a/b@c");
  BOOST_TEST(j->local() == "user");
  // RFC 7622 section 3.1: the first '/' ends the domain even after an '@'.
  auto k = jid::parse("example.com/user@host");
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->local().empty());
  BOOST_TEST(k->resource() == "user@host");
}

BOOST_AUTO_TEST_CASE(case_is_folded_in_local_and_domain_only) {
  BOOST_TEST(full_of("User@Example.COM/Phone") == "user@example.com/Phone");
  BOOST_TEST((jid::parse("USER@EXAMPLE.COM") == jid::parse("user@example.com")));
  BOOST_TEST(!(jid::parse("u@example.com/A") == jid::parse("u@example.com/a")));
}

BOOST_AUTO_TEST_CASE(unicode_is_normalised) {
  // Full-width letters fold to ASCII (NFKC).
  BOOST_TEST(full_of("\xEF\xBC\xB5\xEF\xBD\x93\xEF\xBD\x85\xEF\xBD\x92@example.com") == "user@example.com");
  // German sharp s case-folds to "ss" under stringprep (RFC 3454 table B.2).
  BOOST_TEST(full_of("stra\xC3\x9F" "e@example.com") == "strasse@example.com");
  // Compatibility character: the "fi" ligature U+FB01 becomes "fi".
  BOOST_TEST(full_of("\xEF\xAC\x81le@example.com") == "file@example.com");
  // Upper-case non-ASCII folds: U+00C9 becomes U+00E9.
  BOOST_TEST(full_of("\xC3\x89lise@example.com") == "\xC3\xA9lise@example.com");
  // Composed and decomposed forms are equal: e + combining acute.
  BOOST_TEST((jid::parse("e\xCC\x81@example.com") == jid::parse("\xC3\xA9@example.com")));
  // A soft hyphen is mapped to nothing.
  BOOST_TEST(full_of("us\xC2\xAD" "er@example.com") == "user@example.com");
  // The resource keeps case but is NFKC normalised.
  BOOST_TEST(full_of("u@example.com/\xEF\xBC\xB0hone") == "u@example.com/Phone");
}

BOOST_AUTO_TEST_CASE(part_mapped_to_nothing_is_invalid) {
  BOOST_TEST(!jid::parse("\xC2\xAD@example.com").has_value());
}

BOOST_AUTO_TEST_CASE(unicode_domain_is_accepted_and_lowered) {
  BOOST_TEST(full_of("user@B\xC3\x9C" "CHER.example") == "user@b\xC3\xBC" "cher.example");
  // Ideographic full stop is a label separator.
  BOOST_TEST(full_of("user@example\xE3\x80\x82" "com") == "user@example.com");
}

BOOST_AUTO_TEST_CASE(prohibited_local_characters_are_invalid) {
  for (const char* text : {"a b@example.com", "a\"b@example.com", "a&b@example.com", "a'b@example.com",
                           "a:b@example.com", "a<b@example.com", "a>b@example.com", "a@b@example.com"}) {
    BOOST_TEST(!jid::parse(text).has_value(), "input: " << text);
  }
}

BOOST_AUTO_TEST_CASE(invalid_domains) {
  for (const char* text : {"exa mple.com", "example..com", ".example.com", "-example.com", "example-.com",
                           "exa_mple.com", "example.com:5222", "user@999.1.1.1", "user@1.2.3", "user@[::1",
                           "user@[not-v6]", "user@[]", "user@[fe80::1%eth0]", "user@::1", "user@.",
                           "user@example.com.."}) {
    BOOST_TEST(!jid::parse(text).has_value(), "input: " << text);
  }
}

BOOST_AUTO_TEST_CASE(trailing_dot_is_removed) {
  BOOST_TEST(full_of("user@example.com./r") == "user@example.com/r");
  BOOST_TEST((jid::parse("example.com.") == jid::parse("example.com")));
}

BOOST_AUTO_TEST_CASE(ip_literals_are_accepted) {
  BOOST_TEST(full_of("user@192.168.0.1/r") == "user@192.168.0.1/r");
  BOOST_TEST(full_of("user@[::1]") == "user@[::1]");
  BOOST_TEST(full_of("user@[2001:DB8:0:0:0:0:0:1]") == "user@[2001:db8::1]");
  BOOST_TEST((jid::parse("[0:0:0:0:0:0:0:1]") == jid::parse("[::1]")));
  BOOST_TEST(full_of("[::ffff:10.0.0.1]/x") == "[::ffff:10.0.0.1]/x");
}

BOOST_AUTO_TEST_CASE(part_length_limits) {
  std::string local(1023, 'a');
  std::string resource(1023, 'r');
  BOOST_TEST(jid::parse(local + "@example.com/" + resource).has_value());
  BOOST_TEST(!jid::parse(local + "a@example.com").has_value());
  BOOST_TEST(!jid::parse("u@example.com/" + resource + "r").has_value());

  // 1023 bytes of domain in labels of 63 bytes.
  std::string domain;
  while (domain.size() + 64 <= 1023) domain += std::string(63, 'd') + ".";
  domain += std::string(1023 - domain.size(), 'e');
  BOOST_REQUIRE(domain.size() == 1023u);
  BOOST_TEST(jid::parse(domain).has_value());
  BOOST_TEST(!jid::parse(domain + "e").has_value());
  BOOST_TEST(!jid::parse(std::string(64, 'x') + ".example").has_value());

  // The limit applies after normalisation: the "fi" ligature is 3 bytes
  // that become 2.
  std::string ligatures;
  for (int i = 0; i < 511; ++i) ligatures += "\xEF\xAC\x81";
  BOOST_TEST(jid::parse(ligatures + "@example.com").has_value());
  BOOST_TEST(!jid::parse(ligatures + "\xEF\xAC\x81@example.com").has_value());
}

BOOST_AUTO_TEST_CASE(invalid_utf8_and_nul_are_invalid) {
  BOOST_TEST(!jid::parse("a\xFF@example.com").has_value());
  BOOST_TEST(!jid::parse("a@example.com/\xC0\xAF").has_value());
  BOOST_TEST(!jid::parse(std::string_view{"a\0b@example.com", 15}).has_value());
  BOOST_TEST(!jid::parse("a@example.com/\xED\xA0\x80").has_value());
}

BOOST_AUTO_TEST_CASE(with_resource_validates) {
  auto j = jid::parse("user@example.com/old");
  BOOST_REQUIRE(j.has_value());
  auto k = j->with_resource("new/one");
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->full() == "user@example.com/new/one");
  BOOST_TEST(!j->with_resource("").has_value());
  BOOST_TEST(!j->with_resource("\xFF").has_value());
}

BOOST_AUTO_TEST_CASE(from_parts_normalises) {
  auto j = jid::from_parts("User", "Example.com", "R");
  BOOST_REQUIRE(j.has_value());
  BOOST_TEST(j->full() == "user@example.com/R");
  BOOST_TEST(!jid::from_parts("a@b", "example.com").has_value());
}

BOOST_AUTO_TEST_CASE(usable_as_hash_key) {
  std::unordered_set<jid> set;
  set.insert(*jid::parse("A@example.com/r"));
  BOOST_TEST(set.count(*jid::parse("a@EXAMPLE.com/r")) == 1u);
}

BOOST_AUTO_TEST_CASE(prep_functions_alone) {
  BOOST_TEST(*nodeprep("JuLiet") == "juliet");
  BOOST_TEST(!nodeprep("a@b").has_value());
  BOOST_TEST(!nodeprep("").has_value());
  BOOST_TEST(*nameprep("EXAMPLE.com.") == "example.com");
  BOOST_TEST(*resourceprep("Balcony @ 1/2") == "Balcony @ 1/2");
  BOOST_TEST(!resourceprep("").has_value());
}

BOOST_AUTO_TEST_CASE(normalised_form_reparses_to_itself) {
  for (const char* text : {"User@Example.COM/Phone", "\xEF\xBC\xB5@example.com", "[0::1]/r", "stra\xC3\x9F" "e@b\xC3\xBC" "cher.de/x",
                           "a@example.com./a/b@c", "example.com"}) {
    auto j = jid::parse(text);
    BOOST_REQUIRE_MESSAGE(j.has_value(), text);
    BOOST_TEST((jid::parse(j->full()) == j), text);
  }
}

BOOST_AUTO_TEST_SUITE_END()
