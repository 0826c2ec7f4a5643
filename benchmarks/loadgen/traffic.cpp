#include "benchmarks/loadgen/traffic.hpp"

#include <algorithm>
#include <charconv>

namespace starling::loadgen {

namespace {

constexpr std::string_view ns_client = "jabber:client";

std::string client_name(std::string_view local) {
  std::string out(ns_client);
  out += '|';
  out += local;
  return out;
}

bool parse_number(std::string_view& text, uint64_t& value) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end == text.data())
    return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

std::string_view bare_of(std::string_view jid) {
  return jid.substr(0, jid.find('/'));
}

} // namespace

traffic::traffic(const worker_config& config, hooks hooks)
  : config_(config), hooks_(std::move(hooks)) {
  uint64_t n = config.count;
  receivers_.resize(n);
  streams_.resize(n);
  sent_per_sender_.assign(n, 0);
  if (config.kind == scenario::chat) {
    for (uint64_t s = 0; s < n; ++s) {
      uint64_t r = config.pairing == chat_pairing::pairs ? (s ^ 1) : (s + 1) % n;
      if (r >= n || r == s)
        continue;
      receivers_[s].push_back(r);
      streams_[r].push_back(stream{s, 0, {}});
    }
  } else {
    // Ring neighbours: contacts / 2 on each side, so the relation is symmetric.
    uint64_t half = std::min<uint64_t>(config.contacts / 2, n > 0 ? (n - 1) / 2 : 0);
    for (uint64_t s = 0; s < n; ++s) {
      for (uint64_t d = 1; d <= half; ++d) {
        for (uint64_t r : {(s + d) % n, (s + n - d) % n}) {
          receivers_[s].push_back(r);
          streams_[r].push_back(stream{s, 0, {}});
        }
      }
    }
  }
  total_to_send_ = static_cast<uint64_t>(config.rate * config.duration_s);
}

std::string traffic::bare_jid(uint64_t local) const {
  return std::string(bare_of(hooks_.full_jid(local)));
}

void traffic::begin(clock_type::time_point now) {
  stage_started_ = now;
  if (config_.kind == scenario::chat) {
    start_sending(now);
    return;
  }
  // RFC 6121 3.1: each side sends a subscription request to the other and
  // approves the one it receives (on_stanza), so every pair ends with "both".
  stage_ = stage::setup;
  confirmed_.resize(streams_.size());
  for (uint64_t r = 0; r < streams_.size(); ++r) {
    confirmed_[r].assign(streams_[r].size(), false);
    if (!hooks_.online(r))
      continue;
    for (const auto& st : streams_[r]) {
      if (!hooks_.online(st.source))
        continue;
      ++result_.setup_expected;
      // "subscribed" first approves a request left pending by an earlier,
      // interrupted run, because the server re-delivers those at login,
      // before the stanza handlers exist. Without a pending request it
      // changes nothing (RFC 6121 3.1.5).
      hooks_.send(r, "<presence type='subscribed' to='" + bare_jid(st.source) + "'/>");
      hooks_.send(r, "<presence type='subscribe' to='" + bare_jid(st.source) + "'/>");
    }
  }
}

void traffic::start_sending(clock_type::time_point now) {
  stage_ = stage::sending;
  send_started_ = now;
  last_send_ = now;
}

void traffic::send_one(uint64_t sender, clock_type::time_point now) {
  if (!hooks_.online(sender)) {
    ++result_.unsent;
    return;
  }
  uint64_t global = config_.first_index + sender;
  uint64_t seq = sent_per_sender_[sender];
  auto stamp = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::string text = "lg " + std::to_string(global) + " " + std::to_string(seq) + " " + std::to_string(stamp);
  std::string id = "lg-" + std::to_string(global) + "-" + std::to_string(seq);
  uint64_t online_receivers = 0;
  for (uint64_t r : receivers_[sender])
    online_receivers += hooks_.online(r) ? 1 : 0;
  if (config_.kind == scenario::chat) {
    if (online_receivers == 0) {
      ++result_.unsent;
      return;
    }
    // RFC 6121 8.5.3.1: a message to a full JID goes to that resource.
    hooks_.send(sender, "<message type='chat' to='" + hooks_.full_jid(receivers_[sender].front()) + "' id='"
                          + id + "'><body>" + text + "</body></message>");
  } else {
    // RFC 6121 4.4.2: the server broadcasts to every contact with a
    // subscription "from" that is online.
    hooks_.send(sender, "<presence id='" + id + "'><status>" + text + "</status></presence>");
  }
  ++sent_per_sender_[sender];
  ++result_.sent;
  result_.expected += online_receivers;
  last_send_ = now;
}

void traffic::tick(clock_type::time_point now) {
  auto seconds_in = std::chrono::duration<double>(now - stage_started_).count();
  switch (stage_) {
    case stage::setup:
      if (result_.setup_confirmed >= result_.setup_expected || seconds_in >= config_.setup_timeout_s) {
        // Initial presence went out at login (the driver sets
        // send_presence), because the server delivers subscription requests
        // only to available resources (RFC 6121 3.1.3). An approved
        // subscription makes the server send the contacts' current presence,
        // which arrives during the settle time and is not measured.
        result_.setup_seconds = seconds_in;
        stage_ = stage::settle;
        stage_started_ = now;
      }
      return;
    case stage::settle:
      if (seconds_in >= config_.settle_s)
        start_sending(now);
      return;
    case stage::sending: {
      auto elapsed = std::chrono::duration<double>(now - send_started_).count();
      auto due = std::min<uint64_t>(total_to_send_, static_cast<uint64_t>(elapsed * config_.rate) + 1);
      uint64_t senders = streams_.size();
      while (next_send_ < due && senders > 0) {
        send_one(next_send_ % senders, now);
        ++next_send_;
      }
      // A generator that cannot keep up stops at the end of the duration,
      // so the achieved rate shows the shortfall.
      if (next_send_ >= total_to_send_ || elapsed >= config_.duration_s + 1) {
        result_.send_seconds = std::chrono::duration<double>(last_send_ - send_started_).count();
        stage_ = stage::draining;
        stage_started_ = now;
      }
      return;
    }
    case stage::draining:
      if (result_.received + result_.duplicates >= result_.expected || seconds_in >= config_.drain_s)
        stage_ = stage::done;
      return;
    case stage::done:
      return;
  }
}

void traffic::on_stanza(uint64_t local, const xml_node& stanza, clock_type::time_point now) {
  std::string_view type = stanza.attribute("type");
  if (stanza.name == client_name("iq")) {
    // Roster pushes (RFC 6121 2.1.6) and pings (XEP-0199) expect a result.
    if (type == "set" || type == "get") {
      std::string reply = "<iq type='result' id='" + std::string(stanza.attribute("id")) + "'";
      if (!stanza.attribute("from").empty())
        reply += " to='" + std::string(stanza.attribute("from")) + "'";
      hooks_.send(local, reply + "/>");
    }
    return;
  }
  if (type == "error") {
    ++result_.errors;
    return;
  }
  if (stanza.name == client_name("presence")) {
    if (type == "subscribe" || type == "subscribed") {
      handle_setup(local, stanza);
      return;
    }
    if (config_.kind != scenario::presence)
      return;
    const xml_node* status = stanza.child(client_name("status"));
    if (status != nullptr && status->text.rfind("lg ", 0) == 0)
      handle_measured(local, status->text, stanza.attribute("from"), now);
    return;
  }
  if (stanza.name == client_name("message") && config_.kind == scenario::chat) {
    const xml_node* body = stanza.child(client_name("body"));
    if (body != nullptr && body->text.rfind("lg ", 0) == 0)
      handle_measured(local, body->text, stanza.attribute("from"), now);
    else
      ++result_.unexpected;
  }
}

void traffic::handle_setup(uint64_t local, const xml_node& stanza) {
  std::string_view from = bare_of(stanza.attribute("from"));
  if (stanza.attribute("type") == "subscribe") {
    // Approve every request: only the generator's own accounts ask.
    hooks_.send(local, "<presence type='subscribed' to='" + std::string(from) + "'/>");
    return;
  }
  if (confirmed_.empty())
    return;
  auto& streams = streams_[local];
  for (size_t i = 0; i < streams.size(); ++i) {
    if (!confirmed_[local][i] && bare_jid(streams[i].source) == from) {
      confirmed_[local][i] = true;
      ++result_.setup_confirmed;
      return;
    }
  }
}

void traffic::handle_measured(uint64_t local, std::string_view text, std::string_view from,
                              clock_type::time_point now) {
  text.remove_prefix(3);
  uint64_t global = 0;
  uint64_t seq = 0;
  uint64_t stamp = 0;
  if (!parse_number(text, global) || !parse_number(text, seq) || !parse_number(text, stamp)
      || global < config_.first_index) {
    ++result_.unexpected;
    return;
  }
  uint64_t source = global - config_.first_index;
  // Presence also comes back to the sender's own resource (RFC 6121 4.4.2).
  if (source == local && config_.kind == scenario::presence)
    return;
  auto& streams = streams_[local];
  auto it = std::find_if(streams.begin(), streams.end(), [&](const stream& st) { return st.source == source; });
  bool from_matches = from.rfind(config_.user_prefix + std::to_string(global) + "@", 0) == 0;
  if (it == streams.end() || !from_matches || seq >= sent_per_sender_[source]) {
    ++result_.unexpected;
    return;
  }
  if (it->seen.size() <= seq)
    it->seen.resize(std::max<uint64_t>(seq + 1, it->seen.size() * 2), false);
  if (it->seen[seq]) {
    ++result_.duplicates;
    return;
  }
  it->seen[seq] = true;
  ++result_.received;
  if (seq + 1 < it->next)
    ++result_.reordered;
  it->next = std::max(it->next, seq + 1);
  auto now_ns = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  result_.latencies_ns.push_back(now_ns >= stamp ? now_ns - stamp : 0);
}

} // namespace starling::loadgen
