#include "protocol/xml/serializer.hpp"

#include <cstdint>
#include <variant>
#include <vector>

namespace starling::xml {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] |
// [#xE000-#xFFFD] | [#x10000-#x10FFFF].
bool is_xml_char(std::uint32_t c) {
  if (c < 0x20) return c == 0x9 || c == 0xA || c == 0xD;
  if (c <= 0xD7FF) return true;
  if (c >= 0xE000 && c <= 0xFFFD) return true;
  return c >= 0x10000 && c <= 0x10FFFF;
}

// Decodes one UTF-8 sequence at text[i]. Returns its length, or 0 when the
// bytes are not a valid, shortest-form sequence.
std::size_t decode_utf8(std::string_view text, std::size_t i, std::uint32_t& c) {
  auto b0 = static_cast<unsigned char>(text[i]);
  std::size_t len = 0;
  std::uint32_t min = 0;
  if (b0 < 0x80) {
    c = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, c = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, c = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, c = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return len;
}

// Appends `in`, escaping the characters `escape` maps and replacing what
// XML 1.0 cannot carry.
template <class Escape>
void append_checked(std::string& out, std::string_view in, Escape escape) {
  out.reserve(out.size() + in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    std::uint32_t c = 0;
    auto len = decode_utf8(in, i, c);
    if (len == 0) {
      out.append(replacement_character);
      ++i;
      continue;
    }
    if (!is_xml_char(c)) {
      out.append(replacement_character);
    } else if (len == 1) {
      escape(out, static_cast<char>(c));
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
}

struct prefixed_attribute {
  std::string_view uri;
  std::string_view local;
};

// Splits "{uri}local"; returns false for names not in Clark notation. The
// split is at the last '}', because an XML name cannot contain one but a
// namespace URI as expat accepts it can.
bool split_clark(std::string_view name, prefixed_attribute& out) {
  if (name.size() < 3 || name.front() != '{') return false;
  auto close = name.rfind('}');
  if (close == std::string_view::npos || close + 1 == name.size()) return false;
  out.uri = name.substr(1, close - 1);
  out.local = name.substr(close + 1);
  return true;
}

void write_attributes(std::string& out, const element& e) {
  // Namespaced attributes other than xml:* get a prefix per distinct URI.
  std::vector<std::string_view> prefixed_uris;
  for (const auto& a : e.attributes()) {
    out.push_back(' ');
    prefixed_attribute p;
    if (!split_clark(a.name, p)) {
      out.append(a.name);
    } else if (p.uri == xml_namespace) {
      out.append("xml:").append(p.local);
    } else {
      std::size_t index = 0;
      while (index < prefixed_uris.size() && prefixed_uris[index] != p.uri) ++index;
      auto prefix = "ns" + std::to_string(index + 1);
      if (index == prefixed_uris.size()) {
        prefixed_uris.push_back(p.uri);
        out.append("xmlns:").append(prefix).append("='");
        append_escaped_attribute(out, p.uri);
        out.append("' ");
      }
      out.append(prefix).push_back(':');
      out.append(p.local);
    }
    out.append("='");
    append_escaped_attribute(out, a.value);
    out.push_back('\'');
  }
}

// Returns the prefix for namespaces that are written with a fixed prefix
// instead of a default namespace declaration: the stream namespace, whose
// prefix the stream header declares, and the XML namespace, which must not
// be declared at all (Namespaces in XML 1.0 section 3).
std::string_view fixed_prefix(std::string_view ns) {
  if (ns == stream_namespace) return "stream:";
  if (ns == xml_namespace) return "xml:";
  return {};
}

void write_element(std::string& out, const element& e, std::string_view inherited_ns) {
  // A prefixed element leaves the default namespace of its children as is.
  auto prefix = fixed_prefix(e.xmlns());
  bool prefixed = !prefix.empty();
  std::string_view children_ns = prefixed ? inherited_ns : std::string_view{e.xmlns()};

  out.push_back('<');
  out.append(prefix);
  out.append(e.name());
  if (!prefixed && e.xmlns() != inherited_ns) {
    out.append(" xmlns='");
    append_escaped_attribute(out, e.xmlns());
    out.push_back('\'');
  }
  write_attributes(out, e);

  if (e.children().empty()) {
    out.append("/>");
    return;
  }
  out.push_back('>');
  for (const auto& n : e.children()) {
    if (const auto* text = std::get_if<std::string>(&n)) {
      append_escaped_text(out, *text);
    } else {
      write_element(out, std::get<element>(n), children_ns);
    }
  }
  out.append("</");
  out.append(prefix);
  out.append(e.name());
  out.push_back('>');
}

}  // namespace

void append_escaped_text(std::string& out, std::string_view text) {
  append_checked(out, text, [](std::string& o, char c) {
    switch (c) {
      case '&': o.append("&amp;"); break;
      case '<': o.append("&lt;"); break;
      case '>': o.append("&gt;"); break;
      // A raw CR would be normalised to LF by the receiving parser (XML 1.0
      // section 2.11).
      case '\r': o.append("&#13;"); break;
      default: o.push_back(c);
    }
  });
}

void append_escaped_attribute(std::string& out, std::string_view value) {
  append_checked(out, value, [](std::string& o, char c) {
    switch (c) {
      case '&': o.append("&amp;"); break;
      case '<': o.append("&lt;"); break;
      case '>': o.append("&gt;"); break;
      case '"': o.append("&quot;"); break;
      case '\'': o.append("&apos;"); break;
      // Attribute-value normalisation (XML 1.0 section 3.3.3) turns raw
      // whitespace into spaces, so keep it as character references.
      case '\t': o.append("&#9;"); break;
      case '\n': o.append("&#10;"); break;
      case '\r': o.append("&#13;"); break;
      default: o.push_back(c);
    }
  });
}

void serialize_to(std::string& out, const element& e, std::string_view default_ns) {
  write_element(out, e, default_ns);
}

std::string serialize(const element& e, std::string_view default_ns) {
  std::string out;
  write_element(out, e, default_ns);
  return out;
}

}  // namespace starling::xml
