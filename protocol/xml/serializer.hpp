// XML serializer for element trees.
//
// Writes an element as XML text for the wire. The xmlns declaration is
// omitted where an element is in the namespace inherited from its parent.
// The top element inherits `default_ns`, the stream's content namespace.
// Elements in the stream namespace are written with the `stream:` prefix
// that the stream header declares, and elements in the XML namespace with
// the predeclared `xml:` prefix. Attributes named
// "{uri}local" get a generated prefix declared on the same element.
//
// Text and attribute values are escaped, and any byte sequence that is not
// valid UTF-8 or any character that XML 1.0 forbids (control characters,
// surrogates, U+FFFE, U+FFFF) is written as U+FFFD, so the output is always
// well-formed for valid element and attribute names. Never fails.
#pragma once

#include <string>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace starling::xml {

inline constexpr std::string_view stream_namespace = "http://etherx.jabber.org/streams";
inline constexpr std::string_view xml_namespace = "http://www.w3.org/XML/1998/namespace";

std::string serialize(const element& e, std::string_view default_ns = "jabber:client");

// Appends the serialization of `e` to `out`, for callers that batch stanzas
// into one write buffer.
void serialize_to(std::string& out, const element& e, std::string_view default_ns = "jabber:client");

// Appends `text` escaped as character data.
void append_escaped_text(std::string& out, std::string_view text);

// Appends `value` escaped for an attribute delimited by single quotes.
void append_escaped_attribute(std::string& out, std::string_view value);

}  // namespace starling::xml
