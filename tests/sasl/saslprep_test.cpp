#define BOOST_TEST_MODULE sasl
#include <boost/test/unit_test.hpp>

#include "protocol/sasl/saslprep.hpp"

using starling::sasl::is_valid_utf8;
using starling::sasl::saslprep;
using starling::sasl::saslprep_mode;

BOOST_AUTO_TEST_SUITE(saslprep_profile)

// The examples of RFC 4013 section 3.
BOOST_AUTO_TEST_CASE(rfc4013_examples) {
  BOOST_TEST(saslprep("I\xC2\xAD" "X").value_or("<fail>") == "IX"); // SOFT HYPHEN mapped to nothing
  BOOST_TEST(saslprep("user").value_or("<fail>") == "user");
  BOOST_TEST(saslprep("USER").value_or("<fail>") == "USER"); // case is preserved
  BOOST_TEST(saslprep("\xC2\xAA").value_or("<fail>") == "a"); // NFKC
  BOOST_TEST(saslprep("\xE2\x85\xA8").value_or("<fail>") == "IX");
  BOOST_TEST(!saslprep("\x07").has_value()); // prohibited control character
  BOOST_TEST(!saslprep("\xD8\xA7" "1").has_value()); // bidi rule
}

BOOST_AUTO_TEST_CASE(non_ascii_space_becomes_space) {
  BOOST_TEST(saslprep("a\xC2\xA0" "b").value_or("<fail>") == "a b");
}

BOOST_AUTO_TEST_CASE(rejects_nul_empty_and_bad_utf8) {
  BOOST_TEST(!saslprep(std::string_view("a\0b", 3)).has_value());
  BOOST_TEST(!saslprep("").has_value());
  BOOST_TEST(!saslprep("\xC2\xAD").has_value()); // maps to the empty string
  BOOST_TEST(!saslprep("\xC3").has_value());
  BOOST_TEST(!saslprep("\xFF").has_value());
}

BOOST_AUTO_TEST_CASE(stored_mode_rejects_unassigned) {
  // U+0221 is unassigned in Unicode 3.2, which stringprep uses.
  BOOST_TEST(saslprep("\xC8\xA1", saslprep_mode::query).has_value());
  BOOST_TEST(!saslprep("\xC8\xA1", saslprep_mode::stored).has_value());
}

BOOST_AUTO_TEST_CASE(utf8_validation) {
  BOOST_TEST(is_valid_utf8("plain ascii"));
  BOOST_TEST(is_valid_utf8("\xE2\x82\xAC\xF0\x9F\x98\x80"));
  BOOST_TEST(!is_valid_utf8("\xC0\xAF"));         // overlong '/'
  BOOST_TEST(!is_valid_utf8("\xED\xA0\x80"));     // surrogate
  BOOST_TEST(!is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
  BOOST_TEST(!is_valid_utf8("\x80"));
  BOOST_TEST(!is_valid_utf8("\xE2\x82"));
}

BOOST_AUTO_TEST_SUITE_END()
