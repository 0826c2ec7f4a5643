#include "supervisor/restart_intensity.hpp"

#include <cassert>

namespace starling::supervisor {

restart_intensity::restart_intensity(int max_restarts,
                                     std::chrono::milliseconds period)
  : max_restarts_(max_restarts), period_(period) {
  assert(max_restarts >= 0);
  assert(period.count() > 0);
}

bool restart_intensity::record(clock::time_point now) {
  // Restarts that are period_ or more in the past no longer count.
  while (!restarts_.empty() && now - restarts_.front() >= period_)
    restarts_.pop_front();
  restarts_.push_back(now);
  return restarts_.size() <= static_cast<std::size_t>(max_restarts_);
}

} // namespace starling::supervisor
