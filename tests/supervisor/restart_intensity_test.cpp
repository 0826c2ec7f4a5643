#define BOOST_TEST_MODULE supervisor_restart_intensity
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "supervisor/restart_intensity.hpp"

using starling::supervisor::restart_intensity;
using namespace std::chrono_literals;

namespace {

restart_intensity::clock::time_point at(std::chrono::milliseconds offset) {
  return restart_intensity::clock::time_point{} + 1h + offset;
}

} // namespace

BOOST_AUTO_TEST_CASE(allows_max_restarts_within_period) {
  restart_intensity intensity{3, 1000ms};
  BOOST_TEST(intensity.record(at(0ms)));
  BOOST_TEST(intensity.record(at(10ms)));
  BOOST_TEST(intensity.record(at(20ms)));
  BOOST_TEST(intensity.recent() == 3u);
}

BOOST_AUTO_TEST_CASE(one_more_restart_exceeds) {
  restart_intensity intensity{3, 1000ms};
  intensity.record(at(0ms));
  intensity.record(at(10ms));
  intensity.record(at(20ms));
  BOOST_TEST(!intensity.record(at(999ms)));
}

BOOST_AUTO_TEST_CASE(old_restarts_leave_window) {
  restart_intensity intensity{2, 1000ms};
  BOOST_TEST(intensity.record(at(0ms)));
  BOOST_TEST(intensity.record(at(500ms)));
  // The restart at 0 ms is exactly one period old and no longer counts.
  BOOST_TEST(intensity.record(at(1000ms)));
  BOOST_TEST(intensity.recent() == 2u);
  BOOST_TEST(!intensity.record(at(1400ms)));
}

BOOST_AUTO_TEST_CASE(zero_intensity_rejects_first_restart) {
  restart_intensity intensity{0, 1000ms};
  BOOST_TEST(!intensity.record(at(0ms)));
}
