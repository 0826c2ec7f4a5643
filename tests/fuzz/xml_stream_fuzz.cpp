// libFuzzer target for the XMPP stream parser.
//
// Feeds the input in chunks whose sizes derive from the input itself, with
// small limits so the limit paths are reached. Every element that comes out
// is serialised and parsed again, and must give an equal tree. Any crash,
// sanitizer report or abort() here is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/xml/serializer.hpp"
#include "protocol/xml/stream_parser.hpp"

namespace {

using namespace starling::xml;

struct collecting_handler : stream_handler {
  stream_header header;
  std::vector<element> elements;
  bool error = false;
  void on_stream_header(const stream_header& h) override { header = h; }
  void on_element(element&& e) override { elements.push_back(std::move(e)); }
  void on_stream_end() override {}
  void on_stream_error(stream_error_condition, std::string_view) override { error = true; }
};

// Checks that the serialised element reads back as the same tree.
void check_round_trip(const element& e) {
  std::string text = serialize(e, "jabber:client");
  collecting_handler h;
  stream_parser p{h, parser_limits{}};
  std::string input = stream_header_xml(stream_header{}) + text;
  if (!p.feed(input) || h.error || h.elements.size() != 1 || !(h.elements[0] == e)) {
    std::fprintf(stderr, "round trip failed for: %s\n", text.c_str());
    std::abort();
  }
}

// Checks that the server's header reply carries the same fields.
void check_header_reply(const stream_header& header) {
  collecting_handler h;
  stream_parser p{h, parser_limits{}};
  if (!p.feed(stream_header_xml(header)) || h.error || h.header.to != header.to ||
      h.header.from != header.from || h.header.id != header.id || h.header.version != header.version ||
      h.header.lang != header.lang) {
    std::fprintf(stderr, "header reply failed: %s\n", stream_header_xml(header).c_str());
    std::abort();
  }
}

struct fuzz_handler : stream_handler {
  stream_parser* parser = nullptr;
  bool error_seen = false;
  bool suspended = false;

  void on_stream_header(const stream_header& h) override {
    if (error_seen) std::abort();  // no callbacks after an error
    check_header_reply(h);
  }
  void on_element(element&& e) override {
    if (error_seen) std::abort();
    check_round_trip(e);
    // Exercise the restart path, as after STARTTLS, and the suspension
    // that the connection uses while it checks SASL credentials.
    if (e.name() == "starttls") {
      parser->reset();
    } else if (e.name() == "auth") {
      parser->suspend();
      suspended = true;
    }
  }
  void on_stream_end() override {
    if (error_seen) std::abort();
  }
  void on_stream_error(stream_error_condition c, std::string_view) override {
    if (error_seen) std::abort();
    error_seen = true;
    if (stream_error_xml(c, "fuzz").empty()) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  parser_limits limits;
  limits.max_stanza_bytes = 2048;
  limits.max_depth = 8;
  limits.max_attributes = 8;
  limits.max_attribute_bytes = 256;
  limits.max_text_bytes = 1024;

  fuzz_handler handler;
  stream_parser parser{handler, limits};
  handler.parser = &parser;

  // Chunk sizes come from a small generator seeded by the input, so the same
  // input always splits the same way.
  std::uint32_t state = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) state = (state ^ data[i]) * 16777619u;

  std::string_view input{reinterpret_cast<const char*>(data), size};
  while (!input.empty()) {
    state = state * 1103515245u + 12345u;
    std::size_t chunk = 1 + (state >> 16) % 64;
    auto piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    handler.suspended = false;
    bool ok = parser.feed(piece);
    // A suspended parser expects the bytes it did not parse again.
    if (ok && handler.suspended) {
      auto tail = parser.unparsed_tail_bytes();
      if (tail > piece.size()) std::abort();
      input = std::string_view{piece.data() + piece.size() - tail, tail + input.size()};
    }
    if (ok != !parser.failed()) std::abort();
    if (!ok) {
      handler.error_seen = true;
      break;
    }
    if (handler.error_seen) std::abort();  // an error must make feed() fail
    // The parser never buffers more than the limit plus one slice.
    if (parser.buffered_bytes() > limits.max_stanza_bytes + 4096) std::abort();
  }
  return 0;
}
