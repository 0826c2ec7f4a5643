#include "actors/login_throttle.hpp"

namespace starling::actors {

login_throttle::login_throttle(std::uint32_t max_per_address, std::uint32_t max_per_account,
                               std::chrono::seconds window)
  : max_per_address_(max_per_address), max_per_account_(max_per_account), window_(window) {
}

bool login_throttle::allowed(std::unordered_map<std::string, history>& table,
                             const std::string& key, std::uint32_t limit,
                             clock::time_point now) {
  if (limit == 0)
    return true;
  std::lock_guard guard{mutex_};
  auto entry = table.find(key);
  if (entry == table.end())
    return true;
  history& times = entry->second;
  while (!times.empty() && times.front() + window_ <= now)
    times.pop_front();
  return times.size() < limit;
}

bool login_throttle::address_allowed(const std::string& address, clock::time_point now) {
  return allowed(by_address_, address, max_per_address_, now);
}

bool login_throttle::account_allowed(const std::string& account, clock::time_point now) {
  return allowed(by_account_, account, max_per_account_, now);
}

void login_throttle::prune(std::unordered_map<std::string, history>& table,
                           clock::time_point now) {
  for (auto entry = table.begin(); entry != table.end();) {
    auto& times = entry->second;
    while (!times.empty() && times.front() + window_ <= now)
      times.pop_front();
    entry = times.empty() ? table.erase(entry) : std::next(entry);
  }
}

void login_throttle::record_failure(const std::string& address, const std::string& account,
                                    clock::time_point now) {
  std::lock_guard guard{mutex_};
  if (max_per_address_ > 0)
    by_address_[address].push_back(now);
  if (max_per_account_ > 0 && !account.empty())
    by_account_[account].push_back(now);

  // Pruning walks every entry, so it runs at most once per window.
  if (now - last_prune_ >= window_) {
    prune(by_address_, now);
    prune(by_account_, now);
    last_prune_ = now;
  }
}

} // namespace starling::actors
