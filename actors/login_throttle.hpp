// Counts failed logins per client address and per account in a sliding
// window and rejects further attempts once a limit is reached, so password
// guessing costs an attacker time. Thread-safe; shared by all connections.
// Memory is bounded by pruning expired entries as new failures arrive.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace starling::actors {

class login_throttle {
public:
  using clock = std::chrono::steady_clock;

  /// A limit of 0 disables that check.
  login_throttle(std::uint32_t max_per_address, std::uint32_t max_per_account,
                 std::chrono::seconds window);

  /// Returns whether a login from `address` may be attempted now.
  bool address_allowed(const std::string& address, clock::time_point now = clock::now());

  /// Returns whether a login for `account` (normalised) may be attempted now.
  bool account_allowed(const std::string& account, clock::time_point now = clock::now());

  /// Records one failed login; an empty account counts only the address.
  void record_failure(const std::string& address, const std::string& account,
                      clock::time_point now = clock::now());

private:
  using history = std::deque<clock::time_point>;

  bool allowed(std::unordered_map<std::string, history>& table, const std::string& key,
               std::uint32_t limit, clock::time_point now);
  void prune(std::unordered_map<std::string, history>& table, clock::time_point now);

  std::uint32_t max_per_address_;
  std::uint32_t max_per_account_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::unordered_map<std::string, history> by_address_;
  std::unordered_map<std::string, history> by_account_;
  clock::time_point last_prune_{};
};

} // namespace starling::actors
