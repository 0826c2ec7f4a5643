#include "store/roster_record.hpp"

#include "store/record_codec.hpp"

namespace starling::store {

namespace {

using codec::put_string;
using codec::put_uint;
using codec::reader;

constexpr std::uint8_t flag_pending_out = 1;
constexpr std::uint8_t flag_approved = 2;
constexpr std::uint8_t flag_has_name = 4;
constexpr std::uint8_t known_flags = flag_pending_out | flag_approved | flag_has_name;

status corrupt(std::string_view kind, std::string_view contact, const std::string& why) {
  std::string detail{kind};
  if (!contact.empty())
    detail += " of '" + std::string{contact} + "'";
  return {errc::corrupt, detail + ": " + why};
}

} // namespace

std::string roster_key(std::string_view user, std::string_view contact) {
  std::string key = roster_prefix(user);
  key.append(contact);
  return key;
}

std::string roster_prefix(std::string_view user) {
  std::string key{user};
  key.push_back('\0');
  return key;
}

std::string encode_roster_item(const roster_item& item) {
  std::string out;
  put_uint(out, roster_record_version, 1);
  put_uint(out, item.version, 8);
  put_uint(out, static_cast<std::uint8_t>(item.subscription), 1);
  std::uint8_t flags = 0;
  if (item.pending_out)
    flags |= flag_pending_out;
  if (item.approved)
    flags |= flag_approved;
  if (item.name)
    flags |= flag_has_name;
  put_uint(out, flags, 1);
  if (item.name)
    put_string(out, *item.name, 4);
  put_uint(out, item.groups.size(), 4);
  for (const auto& group : item.groups)
    put_string(out, group, 4);
  return out;
}

expected<roster_item> decode_roster_item(std::string_view contact, std::string_view bytes) {
  constexpr std::string_view kind = "roster item";
  reader in(bytes);
  std::string why;
  if (!in.version(roster_record_version, why))
    return corrupt(kind, contact, why);

  roster_item item;
  item.contact = std::string{contact};
  std::uint64_t version = 0;
  std::uint64_t sub = 0;
  std::uint64_t flags = 0;
  if (!in.uint(version, 8) || !in.uint(sub, 1) || !in.uint(flags, 1))
    return corrupt(kind, contact, "truncated header");
  if (sub > static_cast<std::uint8_t>(subscription::both))
    return corrupt(kind, contact, "unknown subscription " + std::to_string(sub));
  if ((flags & ~std::uint64_t{known_flags}) != 0)
    return corrupt(kind, contact, "unknown flags " + std::to_string(flags));
  item.version = version;
  item.subscription = static_cast<subscription>(sub);
  item.pending_out = (flags & flag_pending_out) != 0;
  item.approved = (flags & flag_approved) != 0;

  if ((flags & flag_has_name) != 0) {
    std::string name;
    if (!in.string(name, 4))
      return corrupt(kind, contact, "truncated name");
    item.name = std::move(name);
  }

  std::uint64_t groups = 0;
  if (!in.uint(groups, 4))
    return corrupt(kind, contact, "truncated group count");
  for (std::uint64_t i = 0; i < groups; ++i) {
    std::string group;
    if (!in.string(group, 4))
      return corrupt(kind, contact, "truncated group " + std::to_string(i));
    if (group.empty())
      return corrupt(kind, contact, "empty group name");
    // The encoder writes a std::set, so the names are strictly ascending.
    if (!item.groups.empty() && !(*item.groups.rbegin() < group))
      return corrupt(kind, contact, "group names out of order or repeated");
    item.groups.insert(item.groups.end(), std::move(group));
  }
  if (!in.at_end())
    return corrupt(kind, contact, "trailing bytes");
  return item;
}

std::string encode_roster_removal(std::uint64_t version) {
  std::string out;
  put_uint(out, roster_record_version, 1);
  put_uint(out, version, 8);
  return out;
}

expected<std::uint64_t> decode_roster_removal(std::string_view bytes) {
  constexpr std::string_view kind = "roster tombstone";
  reader in(bytes);
  std::string why;
  if (!in.version(roster_record_version, why))
    return corrupt(kind, {}, why);
  std::uint64_t version = 0;
  if (!in.uint(version, 8))
    return corrupt(kind, {}, "truncated");
  if (!in.at_end())
    return corrupt(kind, {}, "trailing bytes");
  return version;
}

std::string encode_roster_version(const roster_version_record& record) {
  std::string out;
  put_uint(out, roster_record_version, 1);
  put_uint(out, record.version, 8);
  put_uint(out, record.pruned_through, 8);
  return out;
}

expected<roster_version_record> decode_roster_version(std::string_view bytes) {
  constexpr std::string_view kind = "roster version";
  reader in(bytes);
  std::string why;
  if (!in.version(roster_record_version, why))
    return corrupt(kind, {}, why);
  roster_version_record record;
  if (!in.uint(record.version, 8) || !in.uint(record.pruned_through, 8))
    return corrupt(kind, {}, "truncated");
  if (!in.at_end())
    return corrupt(kind, {}, "trailing bytes");
  if (record.pruned_through > record.version)
    return corrupt(kind, {}, "pruned version " + std::to_string(record.pruned_through) +
                                 " is above the roster version " +
                                 std::to_string(record.version));
  return record;
}

std::string encode_pending_subscription(const pending_subscription& request) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                  request.received.time_since_epoch())
                  .count();
  std::string out;
  put_uint(out, roster_record_version, 1);
  put_uint(out, static_cast<std::uint64_t>(micros), 8);
  out.append(request.stanza);
  return out;
}

expected<pending_subscription> decode_pending_subscription(std::string_view contact,
                                                           std::string_view bytes) {
  constexpr std::string_view kind = "pending subscription";
  reader in(bytes);
  std::string why;
  if (!in.version(roster_record_version, why))
    return corrupt(kind, contact, why);
  std::uint64_t micros = 0;
  if (!in.uint(micros, 8))
    return corrupt(kind, contact, "truncated");
  if (in.at_end())
    return corrupt(kind, contact, "no stanza");

  pending_subscription request;
  request.contact = std::string{contact};
  request.received = std::chrono::system_clock::time_point{std::chrono::duration_cast<
    std::chrono::system_clock::duration>(
    std::chrono::microseconds{static_cast<std::int64_t>(micros)})};
  request.stanza = std::string{in.rest()};
  return request;
}

} // namespace starling::store
