#include "protocol/jid/jid.hpp"

#include <arpa/inet.h>
#include <idn-free.h>
#include <idna.h>
#include <netinet/in.h>
#include <stringprep.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace starling::jid {
namespace {

// Normalisation can shrink a part (characters mapped to nothing, NFKC), so
// raw input may exceed max_part_bytes. This bound keeps hostile input from
// costing unbounded stringprep work.
// NOTE: a part of more than 4092 raw bytes is rejected even when it would
// normalise to 1023 bytes or fewer.
constexpr std::size_t max_raw_part_bytes = 4 * max_part_bytes;

// True for well-formed, shortest-form UTF-8 without NUL (stringprep takes C
// strings, so a NUL would silently cut the part).
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 == 0) return false;
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t c = 0;
    std::uint32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, c = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

struct idn_deleter {
  void operator()(char* p) const { idn_free(p); }
};
using idn_string = std::unique_ptr<char, idn_deleter>;

// Applies a libidn stringprep profile. Unassigned code points are allowed
// (RFC 3454 section 7 "queries"), so that newer characters such as emoji
// in resources keep working, as in other XMPP servers on libidn.
std::optional<std::string> apply_profile(std::string_view text, const char* profile) {
  if (text.empty() || text.size() > max_raw_part_bytes || !is_valid_utf8(text)) return std::nullopt;
  std::string input{text};
  char* raw = nullptr;
  int rc = stringprep_profile(input.c_str(), &raw, profile, static_cast<Stringprep_profile_flags>(0));
  idn_string output{raw};
  if (rc != STRINGPREP_OK || output == nullptr) return std::nullopt;

  std::string result{output.get()};
  if (result.empty() || result.size() > max_part_bytes) return std::nullopt;
  return result;
}

// IDNA2003 (RFC 3490 section 3.1) treats these as label separators too:
// U+3002 ideographic full stop, U+FF0E fullwidth full stop and U+FF61
// halfwidth ideographic full stop.
std::string map_label_separators(std::string_view text) {
  static constexpr std::string_view separators[] = {"\xE3\x80\x82", "\xEF\xBC\x8E", "\xEF\xBD\xA1"};
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool mapped = false;
    for (auto sep : separators) {
      if (text.substr(i, sep.size()) == sep) {
        out.push_back('.');
        i += sep.size();
        mapped = true;
        break;
      }
    }
    if (!mapped) out.push_back(text[i++]);
  }
  return out;
}

std::optional<std::string> canonical_ip(std::string_view text, int family) {
  std::string input{text};
  unsigned char address[sizeof(in6_addr)];
  if (inet_pton(family, input.c_str(), address) != 1) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  if (inet_ntop(family, address, buffer, sizeof buffer) == nullptr) return std::nullopt;
  return std::string{buffer};
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Host name rules applied after Nameprep (RFC 1123 section 2.1 for ASCII,
// as IDNA's UseSTD3ASCIIRules does): labels are non-empty, ASCII characters
// in them are letters, digits or hyphens, and no label starts or ends with a
// hyphen. A last label of only digits is neither an IPv4 address (those were
// checked before) nor a valid top-level domain.
bool is_valid_host_name(std::string_view name) {
  std::size_t start = 0;
  std::string_view last_label;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    auto label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      auto u = static_cast<unsigned char>(c);
      bool ldh = (c >= 'a' && c <= 'z') || is_ascii_digit(c) || c == '-';
      if (u < 0x80 && !ldh) return false;
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (std::all_of(last_label.begin(), last_label.end(), is_ascii_digit)) return false;

  // Let libidn check the rest of IDNA2003 ToASCII, including the 63-byte
  // limit of each label in its ACE form.
  std::string input{name};
  char* raw = nullptr;
  int rc = idna_to_ascii_8z(input.c_str(), &raw, IDNA_ALLOW_UNASSIGNED | IDNA_USE_STD3_ASCII_RULES);
  idn_string ace{raw};
  return rc == IDNA_SUCCESS;
}

}  // namespace

std::optional<std::string> nodeprep(std::string_view text) { return apply_profile(text, "Nodeprep"); }

std::optional<std::string> resourceprep(std::string_view text) { return apply_profile(text, "Resourceprep"); }

std::optional<std::string> nameprep(std::string_view text) {
  if (text.empty() || text.size() > max_raw_part_bytes) return std::nullopt;

  // RFC 7622 section 3.2.1: an IP-literal (RFC 3986) is an IPv6 address in
  // brackets. Canonical form (RFC 5952) makes equal addresses compare equal.
  if (text.front() == '[') {
    if (text.size() < 3 || text.back() != ']') return std::nullopt;
    auto v6 = canonical_ip(text.substr(1, text.size() - 2), AF_INET6);
    if (!v6) return std::nullopt;
    return "[" + *v6 + "]";
  }

  // RFC 7622 section 3.2: a trailing label separator is removed.
  std::string mapped = map_label_separators(text);
  if (!mapped.empty() && mapped.back() == '.') mapped.pop_back();
  if (mapped.empty()) return std::nullopt;

  if (auto v4 = canonical_ip(mapped, AF_INET)) return v4;

  auto prepped = apply_profile(mapped, "Nameprep");
  if (!prepped || !is_valid_host_name(*prepped)) return std::nullopt;
  return prepped;
}

std::optional<jid> jid::parse(std::string_view text) {
  // RFC 7622 section 3.1: split at the first '/', then at the first '@'
  // before it; '/' and '@' may occur in the resourcepart.
  std::string_view rest = text;
  std::optional<std::string_view> resource;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::optional<std::string_view> local;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    local = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }

  // An '@' or '/' present means the part is present and must not be empty.
  if ((local && local->empty()) || (resource && resource->empty())) return std::nullopt;
  return from_parts(local.value_or(""), rest, resource.value_or(""));
}

std::optional<jid> jid::from_parts(std::string_view local, std::string_view domain,
                                   std::string_view resource) {
  jid out;
  if (!local.empty()) {
    auto l = nodeprep(local);
    if (!l) return std::nullopt;
    out.local_ = std::move(*l);
  }
  auto d = nameprep(domain);
  if (!d) return std::nullopt;
  out.domain_ = std::move(*d);
  if (!resource.empty()) {
    auto r = resourceprep(resource);
    if (!r) return std::nullopt;
    out.resource_ = std::move(*r);
  }
  return out;
}

jid jid::bare() const {
  jid out = *this;
  out.resource_.clear();
  return out;
}

std::string jid::bare_string() const {
  if (local_.empty()) return domain_;
  std::string out;
  out.reserve(local_.size() + 1 + domain_.size());
  out.append(local_).append("@").append(domain_);
  return out;
}

std::string jid::full() const {
  std::string out = bare_string();
  if (!resource_.empty()) out.append("/").append(resource_);
  return out;
}

std::optional<jid> jid::with_resource(std::string_view resource) const {
  auto r = resourceprep(resource);
  if (!r) return std::nullopt;
  jid out = *this;
  out.resource_ = std::move(*r);
  return out;
}

}  // namespace starling::jid

std::size_t std::hash<starling::jid::jid>::operator()(const starling::jid::jid& j) const noexcept {
  std::hash<std::string> h;
  std::size_t seed = h(j.local());
  seed ^= h(j.domain()) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  seed ^= h(j.resource()) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}
