// Sliding-window restart counter: at most `max_restarts` restarts within
// `period` (OTP's MaxR and MaxT). Owned by one supervisor actor and touched
// only from its handlers; not thread safe. It has no failure mode of its own:
// record() reports when the limit is exceeded and the caller escalates.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace starling::supervisor {

class restart_intensity {
public:
  using clock = std::chrono::steady_clock;

  // REQUIRES: max_restarts >= 0 and period > 0.
  restart_intensity(int max_restarts, std::chrono::milliseconds period);

  // Records one restart at `now`. Returns false when this restart is one
  // more than max_restarts within the period ending at `now`, which means
  // the supervisor must give up instead of restarting.
  bool record(clock::time_point now);

  // Number of restarts still inside the window as of the last record().
  std::size_t recent() const noexcept {
    return restarts_.size();
  }

private:
  int max_restarts_;
  std::chrono::milliseconds period_;
  // Ascending restart times that are younger than period_.
  std::deque<clock::time_point> restarts_;
};

} // namespace starling::supervisor
