#include "benchmarks/loadgen/load_worker.hpp"

#include "benchmarks/loadgen/traffic.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sys/epoll.h>
#include <unistd.h>

namespace starling::loadgen {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr uint64_t control_key = ~uint64_t{0};

// Report lines sent to the driver, one event per line:
//   ready <ok> <failed>       the login (or registration) phase is over
//   latency <microseconds>    one per successful login or registration
//   failure <reason>          one per failed attempt
//   existed                   one per registration that found the account
//   dropped <reason>          a held session that ended during the hold
//   traffic <sent> <unsent> <expected> <received> <reordered> <duplicates>
//           <unexpected> <errors> <send-seconds> <setup-expected>
//           <setup-confirmed> <setup-seconds>
//                             chat and presence: the counters of the phase
//   delivery <nanoseconds>    chat and presence: one per delivery
//   done                      last line
class report_writer {
public:
  explicit report_writer(int fd) : file_(fdopen(fd, "w")) {}
  ~report_writer() {
    if (file_ != nullptr)
      std::fclose(file_);
  }
  void line(const char* key, const std::string& value = {}) {
    if (file_ == nullptr)
      return;
    if (value.empty())
      std::fprintf(file_, "%s\n", key);
    else
      std::fprintf(file_, "%s %s\n", key, value.c_str());
  }
  void flush() {
    if (file_ != nullptr)
      std::fflush(file_);
  }

private:
  FILE* file_;
};

std::string without_spaces(std::string text) {
  std::replace(text.begin(), text.end(), ' ', '-');
  return text;
}

SSL_CTX* make_tls_context() {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr)
    return nullptr;
  // Benchmark servers use self-signed certificates, so the chain is not
  // checked. Released buffers keep an idle TLS connection at a few KB.
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                              | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  return context;
}

} // namespace

int run_worker(const worker_config& config) {
  report_writer report(config.report_fd);
  SSL_CTX* tls_context = make_tls_context();
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (tls_context == nullptr || epoll_fd < 0) {
    std::fprintf(stderr, "loadgen: worker setup failed (SSL_CTX_new or epoll_create1)\n");
    return 1;
  }
  if (config.control_fd >= 0) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = control_key;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, config.control_fd, &event);
  }

  std::vector<std::unique_ptr<xmpp_connection>> slots;
  std::vector<uint32_t> armed_events;
  std::vector<size_t> free_slots;
  uint64_t next = 0;
  uint64_t in_progress = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  bool ready_sent = false;
  bool hold_over = config.control_fd < 0;
  bool with_traffic = config.kind == scenario::chat || config.kind == scenario::presence;
  bool keeps_sessions = config.kind == scenario::hold_idle || with_traffic;
  std::unique_ptr<traffic> phase;
  // Local account index (0 .. count-1) to slot and back.
  std::vector<size_t> slot_of_local(config.count, SIZE_MAX);
  std::vector<uint64_t> local_of_slot;
  std::vector<size_t> failed_by_send;
  auto run_deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(config.max_seconds));
  auto login_timeout = std::chrono::duration<double>(config.login_timeout_s);
  auto next_timeout_scan = clock_type::now();
  std::vector<epoll_event> events(1024);

  auto release = [&](size_t slot) {
    slot_of_local[local_of_slot[slot]] = SIZE_MAX;
    slots[slot].reset();
    armed_events[slot] = 0;
    free_slots.push_back(slot);
  };

  // Accounts for a connection whose status may have changed in on_event().
  auto settle = [&](size_t slot, xmpp_connection::status before) {
    auto& connection = *slots[slot];
    auto now_status = connection.current_status();
    if (before == xmpp_connection::status::established
        && now_status == xmpp_connection::status::failed) {
      report.line("dropped", without_spaces(connection.failure_reason()));
      release(slot);
      return;
    }
    if (before == now_status) {
      uint32_t wanted = connection.wanted_events();
      if (wanted != armed_events[slot] && connection.fd() >= 0) {
        epoll_event event{};
        event.events = wanted;
        event.data.u64 = slot;
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection.fd(), &event);
        armed_events[slot] = wanted;
      }
      return;
    }

    --in_progress;
    if (now_status == xmpp_connection::status::failed) {
      ++failed;
      report.line("failure", without_spaces(connection.failure_reason()));
      release(slot);
      return;
    }
    ++ok;
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
      connection.finished_at() - connection.started_at());
    report.line("latency", std::to_string(latency.count()));
    if (connection.account_existed())
      report.line("existed");
    if (keeps_sessions) {
      // Keep the session; from now on only reads (and a close) matter.
      uint32_t wanted = connection.wanted_events();
      epoll_event event{};
      event.events = wanted;
      event.data.u64 = slot;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection.fd(), &event);
      armed_events[slot] = wanted;
      return;
    }
    connection.close_stream();
    release(slot);
  };

  auto start_one = [&]() {
    uint64_t index = config.first_index + next;
    ++next;
    size_t slot;
    if (free_slots.empty()) {
      slot = slots.size();
      slots.emplace_back();
      armed_events.push_back(0);
      local_of_slot.push_back(0);
    } else {
      slot = free_slots.back();
      free_slots.pop_back();
    }
    slots[slot] = std::make_unique<xmpp_connection>(config.client, tls_context,
                                                    config.user_prefix + std::to_string(index),
                                                    config.password);
    local_of_slot[slot] = next - 1;
    slot_of_local[next - 1] = slot;
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr = config.sources[index % config.sources.size()];
    ++in_progress;
    slots[slot]->start(source, config.server);
    if (slots[slot]->fd() >= 0) {
      epoll_event event{};
      event.events = slots[slot]->wanted_events();
      event.data.u64 = slot;
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, slots[slot]->fd(), &event);
      armed_events[slot] = event.events;
    }
    settle(slot, xmpp_connection::status::in_progress);
  };

  // Re-arms epoll after a write that may have left output queued.
  auto rearm = [&](size_t slot) {
    auto& connection = *slots[slot];
    uint32_t wanted = connection.wanted_events();
    if (wanted != armed_events[slot] && connection.fd() >= 0) {
      epoll_event event{};
      event.events = wanted;
      event.data.u64 = slot;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection.fd(), &event);
      armed_events[slot] = wanted;
    }
  };
  auto online = [&](uint64_t local) {
    size_t slot = local < slot_of_local.size() ? slot_of_local[local] : SIZE_MAX;
    return slot != SIZE_MAX && slots[slot]
           && slots[slot]->current_status() == xmpp_connection::status::established;
  };
  auto start_traffic = [&]() {
    traffic::hooks hooks;
    hooks.online = online;
    hooks.full_jid = [&](uint64_t local) {
      size_t slot = slot_of_local[local];
      return slot != SIZE_MAX && slots[slot] ? slots[slot]->bound_jid() : std::string();
    };
    hooks.send = [&](uint64_t local, std::string_view stanza) {
      size_t slot = slot_of_local[local];
      slots[slot]->send_stanza(stanza);
      // A failed write ends the session; it is reported as dropped after the
      // current event, because this may run inside its own on_event().
      if (slots[slot]->current_status() == xmpp_connection::status::established)
        rearm(slot);
      else
        failed_by_send.push_back(slot);
    };
    phase = std::make_unique<traffic>(config, std::move(hooks));
    for (uint64_t local = 0; local < config.count; ++local) {
      if (!online(local))
        continue;
      slots[slot_of_local[local]]->set_stanza_handler([&, local](const xml_node& stanza) {
        phase->on_stanza(local, stanza, clock_type::now());
      });
    }
    phase->begin(clock_type::now());
  };
  auto settle_failed_sends = [&]() {
    for (size_t slot : failed_by_send)
      if (slots[slot] && slots[slot]->current_status() == xmpp_connection::status::failed)
        settle(slot, xmpp_connection::status::established);
    failed_by_send.clear();
  };

  while (true) {
    auto now = clock_type::now();
    bool out_of_time = now >= run_deadline;
    while (!out_of_time && in_progress < config.concurrency && next < config.count)
      start_one();

    if (!ready_sent && (next >= config.count || out_of_time) && in_progress == 0) {
      ready_sent = true;
      report.line("ready", std::to_string(ok) + " " + std::to_string(failed));
      report.flush();
      if (!keeps_sessions)
        break;
    }
    if (ready_sent && (hold_over || out_of_time))
      break;
    if (phase) {
      phase->tick(clock_type::now());
      settle_failed_sends();
      if (phase->finished())
        break;
    }

    int count = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                           phase ? phase->wait_ms() : 100);
    if (count < 0 && errno != EINTR)
      break;
    for (int i = 0; i < count; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == control_key) {
        char buffer[64];
        ssize_t got = ::read(config.control_fd, buffer, sizeof buffer);
        if (got <= 0) {
          hold_over = true;
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, config.control_fd, nullptr);
        } else if (with_traffic && ready_sent && !phase) {
          start_traffic();
        }
        continue;
      }
      if (key >= slots.size() || !slots[key])
        continue;
      auto before = slots[key]->current_status();
      slots[key]->on_event(events[i].events);
      settle(key, before);
    }
    settle_failed_sends();

    // Login timeouts, and the hard bound on the whole run.
    now = clock_type::now();
    if (now >= next_timeout_scan || now >= run_deadline) {
      next_timeout_scan = now + std::chrono::milliseconds(100);
      for (size_t slot = 0; slot < slots.size(); ++slot) {
        if (!slots[slot] || slots[slot]->current_status() != xmpp_connection::status::in_progress)
          continue;
        if (now - slots[slot]->started_at() > login_timeout || now >= run_deadline) {
          slots[slot]->time_out();
          settle(slot, xmpp_connection::status::in_progress);
        }
      }
    }
  }

  if (phase) {
    const auto& r = phase->outcome();
    for (uint64_t latency : r.latencies_ns)
      report.line("delivery", std::to_string(latency));
    report.line("traffic", std::to_string(r.sent) + " " + std::to_string(r.unsent) + " "
                             + std::to_string(r.expected) + " " + std::to_string(r.received) + " "
                             + std::to_string(r.reordered) + " " + std::to_string(r.duplicates) + " "
                             + std::to_string(r.unexpected) + " " + std::to_string(r.errors) + " "
                             + std::to_string(r.send_seconds) + " " + std::to_string(r.setup_expected)
                             + " " + std::to_string(r.setup_confirmed) + " "
                             + std::to_string(r.setup_seconds));
  }
  for (auto& connection : slots)
    if (connection)
      connection->close_stream();
  report.line("done");
  report.flush();
  ::close(epoll_fd);
  SSL_CTX_free(tls_context);
  return 0;
}

} // namespace starling::loadgen
