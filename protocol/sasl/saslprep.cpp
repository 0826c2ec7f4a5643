#include "protocol/sasl/saslprep.hpp"

#include <stringprep.h>

#include <cstdlib>
#include <memory>

namespace starling::sasl {

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }

    std::size_t length = 0;
    char32_t code = 0;
    char32_t minimum = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code = lead & 0x07, minimum = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length)
      return false;
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80)
        return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += length;
  }
  return true;
}

std::optional<std::string> saslprep(std::string_view text, saslprep_mode mode) {
  // libidn takes a C string, so an embedded NUL would silently cut the
  // input; NUL is a prohibited character anyway (RFC 4013 section 2.3).
  if (text.find('\0') != std::string_view::npos || !is_valid_utf8(text))
    return std::nullopt;

  std::string input(text);
  char* output = nullptr;
  auto flags = mode == saslprep_mode::stored ? STRINGPREP_NO_UNASSIGNED
                                             : static_cast<Stringprep_profile_flags>(0);
  auto rc = stringprep_profile(input.c_str(), &output, "SASLprep", flags);
  std::unique_ptr<char, decltype(&std::free)> owner(output, &std::free);
  if (rc != STRINGPREP_OK || output == nullptr || *output == '\0')
    return std::nullopt;
  return std::string(output);
}

} // namespace starling::sasl
