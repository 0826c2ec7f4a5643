// SASLprep (RFC 4013), the stringprep profile that SASL mechanisms apply to
// user names and passwords, plus the UTF-8 check that RFC 4616 and RFC 5802
// need before it. Stateless and thread-safe; libidn 1.x does the mapping,
// normalisation and prohibited-character checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace starling::sasl {

/// How unassigned code points are treated (RFC 3454 section 7).
enum class saslprep_mode {
  query,  ///< Allowed: for strings a client sends at login (RFC 5802 section 5.1).
  stored, ///< Rejected: for strings the server keeps, e.g. at registration.
};

/// Returns the SASLprep'ed form of a UTF-8 string, or nothing when the input
/// is not valid UTF-8, contains a prohibited character (NUL included), breaks
/// the bidi rules, or maps to the empty string.
std::optional<std::string> saslprep(std::string_view text,
                                    saslprep_mode mode = saslprep_mode::query);

/// Checks for well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates,
/// nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

} // namespace starling::sasl
