// The traffic phase of the chat and presence scenarios, run by one worker
// over its own logged-in sessions (local index 0 .. count-1; account
// PREFIX<first_index + local>). The worker owns the sockets and the event
// loop; this class only decides what to send when, and checks every stanza
// that arrives.
//
// Every measured stanza carries "lg G S T" (in the chat <body> or the
// presence <status>): G the sender's global account index, S its sequence
// number per sender and T the send time in nanoseconds of CLOCK_MONOTONIC
// (std::chrono::steady_clock). A receiver accepts it only from one of its
// expected sources, with a bare JID that matches G, with S below what that
// sender has sent so far and not seen before. An S below the highest one
// seen from that sender counts as reordered. Nothing throws: every problem
// is a counter in the report.
#pragma once

#include "benchmarks/loadgen/load_worker.hpp"
#include "benchmarks/loadgen/xmpp_connection.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace starling::loadgen {

class traffic {
public:
  using clock_type = std::chrono::steady_clock;

  struct hooks {
    // True while the session of `local` is logged in.
    std::function<bool(uint64_t local)> online;
    // Full JID bound by the session of `local`, or "" when it is offline.
    std::function<std::string(uint64_t local)> full_jid;
    // Writes a stanza on the session of `local` (it must be online).
    std::function<void(uint64_t local, std::string_view stanza)> send;
  };

  struct result {
    uint64_t sent = 0;        // measured stanzas written
    uint64_t unsent = 0;      // sends skipped: sender offline, or chat partner offline
    uint64_t expected = 0;    // deliveries expected (online receivers at send time)
    uint64_t received = 0;    // valid, distinct deliveries
    uint64_t reordered = 0;   // valid, but below the highest sequence seen
    uint64_t duplicates = 0;  // the same (sender, sequence) twice at one receiver
    uint64_t unexpected = 0;  // measured-looking stanzas that fail a check
    uint64_t errors = 0;      // stanzas of type "error"
    double send_seconds = 0;  // first to last send
    uint64_t setup_expected = 0;   // presence: subscription confirmations awaited
    uint64_t setup_confirmed = 0;  // presence: confirmations that arrived
    double setup_seconds = 0;
    std::vector<uint64_t> latencies_ns;
  };

  traffic(const worker_config& config, hooks hooks);

  // Starts the phase: presence sends the subscription requests, chat starts
  // sending at once.
  void begin(clock_type::time_point now);
  void on_stanza(uint64_t local, const xml_node& stanza, clock_type::time_point now);
  // Sends what is due; moves between setup, settle, send and drain.
  void tick(clock_type::time_point now);
  bool finished() const { return stage_ == stage::done; }
  // Upper bound in milliseconds for the next epoll_wait.
  int wait_ms() const { return stage_ == stage::sending ? 1 : 20; }
  const result& outcome() const { return result_; }

private:
  enum class stage { setup, settle, sending, draining, done };

  struct stream {
    uint64_t source = 0;  // local index of the sender
    uint64_t next = 0;    // highest sequence seen + 1
    std::vector<bool> seen;
  };

  void start_sending(clock_type::time_point now);
  void send_one(uint64_t sender, clock_type::time_point now);
  void handle_measured(uint64_t local, std::string_view text, std::string_view from,
                       clock_type::time_point now);
  void handle_setup(uint64_t local, const xml_node& stanza);
  std::string bare_jid(uint64_t local) const;

  const worker_config& config_;
  hooks hooks_;
  stage stage_ = stage::setup;
  // receivers_[s]: who gets what s sends; streams_[r]: what r expects.
  std::vector<std::vector<uint64_t>> receivers_;
  std::vector<std::vector<stream>> streams_;
  std::vector<uint64_t> sent_per_sender_;
  std::vector<std::vector<bool>> confirmed_;  // presence setup: [r][stream]
  uint64_t total_to_send_ = 0;
  uint64_t next_send_ = 0;
  clock_type::time_point stage_started_;
  clock_type::time_point send_started_;
  clock_type::time_point last_send_;
  result result_;
};

} // namespace starling::loadgen
