// Test helper: a stream_handler that records every callback as a line of
// text, and a driver that feeds input in chunks of a given size.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/xml/serializer.hpp"
#include "protocol/xml/stream_parser.hpp"

namespace starling::xml::test {

struct recording_handler : stream_handler {
  std::vector<std::string> events;
  std::vector<element> elements;
  stream_header header;
  std::vector<stream_error_condition> errors;

  void on_stream_header(const stream_header& h) override {
    header = h;
    events.push_back("header to=" + h.to + " from=" + h.from + " id=" + h.id + " version=" + h.version +
                     " lang=" + h.lang + " ns=" + h.default_ns);
  }
  void on_element(element&& e) override {
    events.push_back("element " + serialize(e, header.default_ns));
    elements.push_back(std::move(e));
  }
  void on_stream_end() override { events.push_back("end"); }
  void on_stream_error(stream_error_condition c, std::string_view) override {
    errors.push_back(c);
    events.push_back("error " + std::string{condition_name(c)});
  }
};

// Feeds `input` in chunks of `chunk` bytes (all at once when 0) and returns
// the recorded events.
inline std::vector<std::string> parse_events(std::string_view input, std::size_t chunk = 0,
                                             parser_limits limits = {}) {
  recording_handler h;
  stream_parser p{h, limits};
  if (chunk == 0) chunk = input.size() + 1;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    if (!p.feed(input.substr(i, chunk))) break;
  }
  return h.events;
}

inline std::string last_event(std::string_view input, std::size_t chunk = 0, parser_limits limits = {}) {
  auto events = parse_events(input, chunk, limits);
  return events.empty() ? std::string{} : events.back();
}

inline constexpr std::string_view client_header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

}  // namespace starling::xml::test
