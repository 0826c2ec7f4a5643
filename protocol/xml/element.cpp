#include "protocol/xml/element.hpp"

#include <algorithm>
#include <utility>

namespace starling::xml {

element::element(std::string name, std::string xmlns)
    : name_(std::move(name)), xmlns_(std::move(xmlns)) {}

std::optional<std::string_view> element::attr(std::string_view name) const {
  for (const auto& a : attrs_) {
    if (a.name == name) return std::string_view{a.value};
  }
  return std::nullopt;
}

element& element::set_attr(std::string name, std::string value) {
  for (auto& a : attrs_) {
    if (a.name == name) {
      a.value = std::move(value);
      return *this;
    }
  }
  attrs_.push_back(attribute{std::move(name), std::move(value)});
  return *this;
}

bool element::remove_attr(std::string_view name) {
  auto it = std::find_if(attrs_.begin(), attrs_.end(),
                         [&](const attribute& a) { return a.name == name; });
  if (it == attrs_.end()) return false;
  attrs_.erase(it);
  return true;
}

const element* element::child(std::string_view name, std::string_view xmlns) const {
  for (const auto& n : children_) {
    const auto* e = std::get_if<element>(&n);
    if (e != nullptr && e->name_ == name && e->xmlns_ == xmlns) return e;
  }
  return nullptr;
}

element* element::child(std::string_view name, std::string_view xmlns) {
  return const_cast<element*>(std::as_const(*this).child(name, xmlns));
}

element& element::add_child(element child) {
  return std::get<element>(children_.emplace_back(std::move(child)));
}

element& element::add_text(std::string text) {
  if (text.empty()) return *this;
  if (!children_.empty()) {
    if (auto* last = std::get_if<std::string>(&children_.back())) {
      last->append(text);
      return *this;
    }
  }
  children_.emplace_back(std::move(text));
  return *this;
}

std::size_t element::remove_children(std::string_view name, std::string_view xmlns) {
  auto matches = [&](const node& n) {
    const auto* e = std::get_if<element>(&n);
    return e != nullptr && e->name_ == name && e->xmlns_ == xmlns;
  };
  auto removed = std::erase_if(children_, matches);

  // Removing an element can leave two text nodes side by side; merge them so
  // the tree stays in the canonical form that operator== relies on.
  std::vector<node> merged;
  merged.reserve(children_.size());
  for (auto& n : children_) {
    auto* t = std::get_if<std::string>(&n);
    if (t != nullptr && !merged.empty() && std::holds_alternative<std::string>(merged.back())) {
      std::get<std::string>(merged.back()).append(*t);
    } else {
      merged.push_back(std::move(n));
    }
  }
  children_ = std::move(merged);
  return removed;
}

std::string element::text() const {
  std::string out;
  for (const auto& n : children_) {
    if (const auto* t = std::get_if<std::string>(&n)) out.append(*t);
  }
  return out;
}

std::vector<const element*> element::child_elements() const {
  std::vector<const element*> out;
  for (const auto& n : children_) {
    if (const auto* e = std::get_if<element>(&n)) out.push_back(e);
  }
  return out;
}

bool element::operator==(const element& other) const {
  if (name_ != other.name_ || xmlns_ != other.xmlns_) return false;
  if (attrs_.size() != other.attrs_.size()) return false;
  // Attribute order carries no meaning in XML.
  for (const auto& a : attrs_) {
    auto v = other.attr(a.name);
    if (!v || *v != a.value) return false;
  }
  return children_ == other.children_;
}

}  // namespace starling::xml
