// One load generator process: an epoll loop over many xmpp_connection
// objects, running one scenario over a slice of the accounts. The driver in
// main.cpp forks one worker per slice; a worker reports to the driver over
// a pipe as text lines (see report_writer in load_worker.cpp). In hold-idle
// it keeps its sessions until the driver closes the control pipe. In chat
// and presence it starts the traffic phase when the driver writes one byte
// to the control pipe, so that all workers start sending together.
#pragma once

#include "benchmarks/loadgen/xmpp_connection.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace starling::loadgen {

enum class scenario { login_storm, hold_idle, register_accounts, chat, presence };

// Sender-to-receiver mapping of the chat scenario, among the sessions of
// one worker. With pairs, 2k and 2k+1 send to each other. With ring, i sends
// to i+1 and the last session to the first.
enum class chat_pairing { pairs, ring };

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
  // chat and presence: this worker's share of the offered rate (stanzas
  // per second), how long to send, and how long to wait for late stanzas.
  double rate = 100;
  double duration_s = 10;
  double drain_s = 5;
  chat_pairing pairing = chat_pairing::pairs;
  // presence: contacts per session, an even number because the contacts are
  // the ring neighbours at distance 1 to contacts / 2 on both sides. Then
  // the seconds allowed for the subscription setup, and the seconds to wait
  // after it before measuring.
  uint64_t contacts = 10;
  double setup_timeout_s = 60;
  double settle_s = 2;
  // Read end of the control pipe: EOF ends the hold (hold-idle), one byte
  // starts the traffic (chat, presence).
  int control_fd = -1;
  // Write end of the report pipe.
  int report_fd = -1;
};

// Runs the scenario and writes the report lines; returns the exit code.
int run_worker(const worker_config& config);

} // namespace starling::loadgen
