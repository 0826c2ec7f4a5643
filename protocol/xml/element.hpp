// Compact XML element tree for stanzas and their payloads.
//
// An element stores its local name, its namespace URI, its attributes and an
// ordered list of child nodes, each either an element or a text node. The
// tree owns all its strings, so a stanza can be moved between actors without
// referring back to the parser buffer. Adjacent text nodes are merged on
// insertion, so two trees built from the same XML compare equal however the
// bytes were split when they were parsed.
//
// Attribute names: "xml:lang" (and any other attribute in the XML namespace)
// keeps the "xml:" prefix; an attribute in another namespace is named in
// Clark notation "{uri}local"; an attribute without a namespace uses its
// plain local name. The tree does not check names: code that builds
// elements must pass valid XML names (the parser only produces valid ones).
//
// Not thread-safe; an element belongs to whoever holds it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace starling::xml {

struct attribute {
  std::string name;
  std::string value;

  bool operator==(const attribute&) const = default;
};

class element;

// A child of an element: a nested element or a run of character data.
using node = std::variant<element, std::string>;

class element {
 public:
  element(std::string name, std::string xmlns);

  const std::string& name() const { return name_; }
  const std::string& xmlns() const { return xmlns_; }
  void set_name(std::string name) { name_ = std::move(name); }
  void set_xmlns(std::string xmlns) { xmlns_ = std::move(xmlns); }

  // -- attributes --

  std::optional<std::string_view> attr(std::string_view name) const;
  // Replaces the value when an attribute of that name exists.
  element& set_attr(std::string name, std::string value);
  // Returns false when there was no such attribute.
  bool remove_attr(std::string_view name);
  const std::vector<attribute>& attributes() const { return attrs_; }

  // -- children --

  // Returns the first child element with that name and namespace, or null.
  const element* child(std::string_view name, std::string_view xmlns) const;
  element* child(std::string_view name, std::string_view xmlns);
  // Returns the stored child, valid until this element's children change.
  element& add_child(element child);
  // Appends character data, merging it into a preceding text node. Empty
  // text is ignored.
  element& add_text(std::string text);
  // Removes every child element with that name and namespace and returns
  // how many were removed.
  std::size_t remove_children(std::string_view name, std::string_view xmlns);
  void clear_children() { children_.clear(); }

  // Concatenation of the direct text children (not of nested elements).
  std::string text() const;
  const std::vector<node>& children() const { return children_; }
  std::vector<node>& children() { return children_; }
  std::vector<const element*> child_elements() const;

  bool operator==(const element& other) const;

 private:
  std::string name_;
  std::string xmlns_;
  std::vector<attribute> attrs_;
  std::vector<node> children_;
};

}  // namespace starling::xml
