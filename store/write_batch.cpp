#include "store/write_batch.hpp"

namespace starling::store {

namespace {

write_op make_op(op_kind kind, std::string_view table, std::string_view key,
                 std::string_view value = {}, std::string_view expected = {}) {
  return write_op{kind, std::string{table}, std::string{key}, std::string{value},
                  std::string{expected}};
}

} // namespace

write_batch& write_batch::put(std::string_view table, std::string_view key,
                              std::string_view value) {
  ops_.push_back(make_op(op_kind::put, table, key, value));
  return *this;
}

write_batch& write_batch::put_if_absent(std::string_view table, std::string_view key,
                                        std::string_view value) {
  ops_.push_back(make_op(op_kind::put_if_absent, table, key, value));
  return *this;
}

write_batch& write_batch::erase(std::string_view table, std::string_view key) {
  ops_.push_back(make_op(op_kind::erase, table, key));
  return *this;
}

write_batch& write_batch::erase_existing(std::string_view table, std::string_view key) {
  ops_.push_back(make_op(op_kind::erase_existing, table, key));
  return *this;
}

write_batch& write_batch::compare_and_set(std::string_view table, std::string_view key,
                                          std::string_view expected, std::string_view value) {
  ops_.push_back(make_op(op_kind::compare_and_set, table, key, value, expected));
  return *this;
}

write_batch& write_batch::append(const write_batch& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  return *this;
}

} // namespace starling::store
