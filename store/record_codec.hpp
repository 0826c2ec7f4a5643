// Encoding shared by the store's record formats: big-endian unsigned
// integers of a fixed width and length-prefixed strings, appended to a
// std::string and read back from the front of a std::string_view. A read
// past the end returns false; the caller turns that into errc::corrupt with
// the name of the record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace starling::store::codec {

/// Appends the low `bytes` bytes of `value`, most significant first.
inline void put_uint(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

/// Appends the size of `text` in `length_bytes` bytes, then `text`.
inline void put_string(std::string& out, std::string_view text, int length_bytes) {
  put_uint(out, text.size(), length_bytes);
  out.append(text);
}

/// Reads a record from the front; every read consumes what it returns.
class reader {
public:
  explicit reader(std::string_view bytes) : rest_(bytes) {}

  bool uint(std::uint64_t& value, int bytes) {
    if (rest_.size() < static_cast<std::size_t>(bytes))
      return false;
    value = 0;
    for (int i = 0; i < bytes; ++i)
      value = (value << 8) | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(bytes);
    return true;
  }

  bool string(std::string& out, int length_bytes) {
    std::uint64_t size = 0;
    if (!uint(size, length_bytes) || rest_.size() < size)
      return false;
    out.assign(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return true;
  }

  /// Reads the leading record version byte. When it is missing or not
  /// `expected`, returns false and sets `why`.
  bool version(std::uint64_t expected, std::string& why) {
    std::uint64_t found = 0;
    if (!uint(found, 1)) {
      why = "empty";
      return false;
    }
    if (found != expected) {
      why = "unknown record version " + std::to_string(found);
      return false;
    }
    return true;
  }

  std::string_view rest() const { return rest_; }
  bool at_end() const { return rest_.empty(); }

private:
  std::string_view rest_;
};

} // namespace starling::store::codec
