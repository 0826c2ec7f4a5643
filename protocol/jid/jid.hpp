// XMPP addresses (JIDs), RFC 7622 syntax with the stringprep profiles of
// RFC 6122 (libidn 1.x): Nodeprep for the localpart, Nameprep for the
// domainpart and Resourceprep for the resourcepart.
//
// A jid value is always valid and normalised, so operator== compares the
// normalised forms. Invalid input yields std::nullopt, which the caller turns
// into jid-malformed (RFC 6120 section 8.3.3.8). Values are immutable and
// safe to share between threads.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace starling::jid {

// RFC 7622 section 3: each part is at most 1023 bytes after normalisation.
inline constexpr std::size_t max_part_bytes = 1023;

class jid {
 public:
  // Splits at the first '/' (resourcepart) and then at the first '@'
  // before it (localpart), then normalises each part (RFC 7622 section 3.1).
  // Returns nullopt for an empty or over-long part, a prohibited character,
  // invalid UTF-8 or an invalid domain.
  static std::optional<jid> parse(std::string_view text);

  // Builds a jid from separate parts, normalising each; empty local or
  // resource means the part is absent.
  static std::optional<jid> from_parts(std::string_view local, std::string_view domain,
                                       std::string_view resource = {});

  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }

  jid bare() const;
  bool is_bare() const { return resource_.empty(); }
  // "local@domain/resource" with absent parts left out.
  std::string full() const;
  // "local@domain", or "domain".
  std::string bare_string() const;
  // Returns this jid with the resource replaced; nullopt when `resource`
  // is not a valid resourcepart.
  std::optional<jid> with_resource(std::string_view resource) const;

  bool operator==(const jid&) const = default;
  auto operator<=>(const jid&) const = default;

 private:
  jid() = default;

  std::string local_;
  std::string domain_;
  std::string resource_;
};

// Normalise one part; nullopt when it is empty, longer than max_part_bytes
// after normalisation, invalid UTF-8 or contains a prohibited character.
// nodeprep also serves SASL usernames.
std::optional<std::string> nodeprep(std::string_view text);
// Nameprep plus the domainpart rules of RFC 7622 section 3.2: a trailing dot
// is removed, the result must be an IPv4 address, a bracketed IPv6 address
// or a host name whose ASCII labels are letters, digits and hyphens.
std::optional<std::string> nameprep(std::string_view text);
std::optional<std::string> resourceprep(std::string_view text);

}  // namespace starling::jid

template <>
struct std::hash<starling::jid::jid> {
  std::size_t operator()(const starling::jid::jid& j) const noexcept;
};
