#include "actors/session_table.hpp"

#include <algorithm>

namespace starling::actors {

session_table::shard& session_table::shard_for(const std::string& bare) const {
  return shards_[std::hash<std::string>{}(bare) % shard_count];
}

bind_result session_table::bind(const std::string& bare, const std::string& resource,
                                 caf::actor session, bool replace) {
  auto& s = shard_for(bare);
  std::unique_lock guard{s.mutex};
  auto& entries = s.users[bare];
  auto existing = std::find_if(entries.begin(), entries.end(),
                               [&](const resource_entry& e) { return e.resource == resource; });
  if (existing == entries.end()) {
    entries.push_back({resource, std::move(session), false, 0});
    return {bind_outcome::bound, {}};
  }
  if (!replace)
    return {bind_outcome::rejected, existing->session};
  auto previous = std::move(existing->session);
  *existing = resource_entry{resource, std::move(session), false, 0};
  return {bind_outcome::replaced, std::move(previous)};
}

void session_table::unbind(const std::string& bare, const std::string& resource,
                           const caf::actor& session) {
  auto& s = shard_for(bare);
  std::unique_lock guard{s.mutex};
  auto user = s.users.find(bare);
  if (user == s.users.end())
    return;
  auto& entries = user->second;
  std::erase_if(entries, [&](const resource_entry& e) {
    return e.resource == resource && e.session == session;
  });
  if (entries.empty())
    s.users.erase(user);
}

void session_table::set_presence(const std::string& bare, const std::string& resource,
                                 bool available, int priority) {
  auto& s = shard_for(bare);
  std::unique_lock guard{s.mutex};
  auto user = s.users.find(bare);
  if (user == s.users.end())
    return;
  for (auto& entry : user->second)
    if (entry.resource == resource) {
      entry.available = available;
      entry.priority = priority;
    }
}

std::optional<resource_entry> session_table::find(const std::string& bare,
                                                  const std::string& resource) const {
  auto& s = shard_for(bare);
  std::shared_lock guard{s.mutex};
  auto user = s.users.find(bare);
  if (user == s.users.end())
    return std::nullopt;
  for (auto& entry : user->second)
    if (entry.resource == resource)
      return entry;
  return std::nullopt;
}

std::vector<resource_entry> session_table::resources(const std::string& bare) const {
  auto& s = shard_for(bare);
  std::shared_lock guard{s.mutex};
  auto user = s.users.find(bare);
  if (user == s.users.end())
    return {};
  return user->second;
}

std::size_t session_table::size() const {
  std::size_t total = 0;
  for (auto& s : shards_) {
    std::shared_lock guard{s.mutex};
    for (auto& [bare, entries] : s.users)
      total += entries.size();
  }
  return total;
}

void session_table::for_each(const std::function<void(const resource_entry&)>& visit) const {
  for (auto& s : shards_) {
    std::vector<resource_entry> copy;
    {
      std::shared_lock guard{s.mutex};
      for (auto& [bare, entries] : s.users)
        copy.insert(copy.end(), entries.begin(), entries.end());
    }
    for (auto& entry : copy)
      visit(entry);
  }
}

} // namespace starling::actors
