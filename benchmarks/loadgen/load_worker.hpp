// One load generator process: an epoll loop over many xmpp_connection
// objects, running one scenario over a slice of the accounts. The driver in
// main.cpp forks one worker per slice; a worker reports to the driver over
// a pipe as text lines (see report_line in load_worker.cpp) and, in
// hold-idle, keeps its sessions until the driver closes the control pipe.
#pragma once

#include "benchmarks/loadgen/xmpp_connection.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace starling::loadgen {

enum class scenario { login_storm, hold_idle, register_accounts };

struct worker_config {
  scenario kind = scenario::login_storm;
  client_options client;
  sockaddr_in server{};
  std::vector<in_addr> sources;
  std::string user_prefix = "bench";
  std::string password = "benchpass";
  uint64_t first_index = 0;
  uint64_t count = 0;
  uint64_t concurrency = 100;
  double login_timeout_s = 30;
  // Upper bound on the whole worker run, hold included.
  double max_seconds = 900;
  // Read end of the control pipe (hold-idle): EOF ends the hold.
  int control_fd = -1;
  // Write end of the report pipe.
  int report_fd = -1;
};

// Runs the scenario and writes the report lines; returns the exit code.
int run_worker(const worker_config& config);

} // namespace starling::loadgen
