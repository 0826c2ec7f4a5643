// Incremental XMPP stream parser on expat.
//
// Owned by one connection actor and used from that actor only. Bytes go in
// through feed() in pieces of any size; the parser calls the handler with the
// stream header, with each complete top-level child of the stream (a stanza
// or a stream-level element such as <auth/>), and with the stream end.
// Whitespace between top-level elements is dropped (whitespace keepalive).
//
// Failure is reported once, through on_stream_error() with the RFC 6120
// section 4.9.3 condition, and is sticky: feed() returns false from then on
// and no callback follows until reset(). The rules enforced:
//  - not_well_formed: malformed XML or namespaces, or input that is not XML;
//  - restricted_xml (RFC 6120 section 11.1): a DTD, an entity declaration or
//    a reference to a declared or undefined entity, a comment, a processing
//    instruction, or an XML declaration anywhere but at the very start. The
//    parser stops at the DOCTYPE keyword, so entity expansion never runs;
//  - unsupported_encoding: an encoding declaration other than UTF-8, or a
//    UTF-16/UTF-32 byte order mark or byte pattern at the start;
//  - invalid_namespace / bad_namespace_prefix / bad_format: a root element
//    that is not <stream:stream> in http://etherx.jabber.org/streams, or
//    non-whitespace text between top-level elements;
//  - policy_violation: a parser_limits value crossed. The byte limit counts
//    every byte fed since the end of the previous top-level element, so an
//    element that never closes fails as soon as the limit is passed, also
//    while expat is still buffering an incomplete tag.
// The connection checks the content namespace (default_ns) and the header's
// to/version itself.
//
// Memory: expat allocates through a counting allocator (allocated_bytes()).
// Measured idle size, after the stream header and one stanza: 11,006 bytes
// of expat heap plus sizeof(stream_parser) == 336 bytes; glibc mallinfo2()
// over 1000 parsers gives 12,504 bytes per parser, malloc overhead included.
// Source: the test "idle_parser_memory" in
// tests/xml/stream_parser_memory_test.cpp, Debug build without sanitizers,
// g++ 12, glibc 2.36, x86-64, Debian 12's expat 2.5.0. Expat keeps its input
// buffer at the largest size it needed (up to about 2x max_stanza_bytes
// after an incomplete tag of that size) until reset().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/xml/element.hpp"
#include "protocol/xml/stream_error.hpp"

struct XML_ParserStruct;

namespace starling::xml {

struct stream_header {
  std::string to, from, id, version, lang;
  std::string default_ns;  // the content namespace, e.g. jabber:client
  std::string stream_ns;   // http://etherx.jabber.org/streams once accepted
};

struct parser_limits {
  // Bytes of one top-level element as received, including the whitespace
  // and partial tags before it; also applies to the stream header.
  std::size_t max_stanza_bytes = 65536;
  // Nesting depth of a top-level element; the element itself is depth 1.
  std::size_t max_depth = 32;
  // Attributes plus namespace declarations on one element.
  std::size_t max_attributes = 32;
  // Size of one attribute value after entity decoding.
  std::size_t max_attribute_bytes = 4096;
  // Character data in one top-level element, after entity decoding.
  std::size_t max_text_bytes = 65536;
};

class stream_handler {
 public:
  virtual ~stream_handler() = default;
  virtual void on_stream_header(const stream_header& header) = 0;
  virtual void on_element(element&& top_level_child) = 0;
  virtual void on_stream_end() = 0;
  virtual void on_stream_error(stream_error_condition condition, std::string_view detail) = 0;
};

// Running totals of the heap that one parser's expat instance uses.
struct expat_heap {
  std::size_t current = 0;
  std::size_t peak = 0;
  std::size_t cap = 0;  // allocations beyond this fail (policy_violation)
};

class stream_parser {
 public:
  stream_parser(stream_handler& handler, parser_limits limits);
  ~stream_parser();
  stream_parser(const stream_parser&) = delete;
  stream_parser& operator=(const stream_parser&) = delete;

  // Parses the bytes and calls the handler. Returns false once an error was
  // reported, now or earlier. Handlers may call reset() (see below) but must
  // not destroy the parser.
  bool feed(std::string_view bytes);

  // Starts a new stream on the same connection, as after STARTTLS or SASL
  // success (RFC 6120 section 4.3.3), and clears a reported error. When
  // called from inside a handler callback, the reset happens when that
  // callback returns, and the rest of the bytes of that feed() call are not
  // parsed, and unparsed_tail_bytes() returns how many, so the connection can
  // drop them (plaintext after <starttls/> must never be used).
  void reset();

  // Stops parsing after the element whose handler calls this, without
  // ending the stream: feed() returns true at once, unparsed_tail_bytes()
  // returns how many of its bytes were not parsed, and the next feed()
  // continues the same stream with them. A connection uses it when the
  // answer to an element decides how the following bytes are read (TLS, a
  // stream restart) or must come before them. Only valid inside a handler.
  void suspend();

  // Frees expat's memory while the stream is idle between stanzas; the
  // next feed() rebuilds it with the same stream header. Returns false, and
  // keeps everything, when an element is partly received, after an error
  // or inside a handler.
  bool hibernate();
  bool hibernating() const { return hibernating_; }

  // Bytes received since the end of the last complete top-level element
  // (or the stream header) that have not yet formed a complete element.
  std::size_t buffered_bytes() const;

  // Expat instances alive in this process: parsers that are neither
  // hibernating nor destroyed. For statistics and benchmarks.
  static std::size_t live_expat_instances();

  // Heap held by expat for this parser, in bytes.
  std::size_t allocated_bytes() const { return heap_.current; }
  std::size_t peak_allocated_bytes() const { return heap_.peak; }

  // Bytes at the end of the last feed() that were skipped because a
  // handler called reset() or suspend().
  std::size_t unparsed_tail_bytes() const { return unparsed_tail_; }

  bool failed() const { return failed_; }
  bool header_received() const { return header_received_; }

  // -- expat callbacks; public only for the C trampolines --
  void handle_start(const char* name, const char** attrs);
  void handle_end(const char* name);
  void handle_text(const char* data, int len);
  void handle_namespace_declaration(const char* prefix, const char* uri);
  void handle_xml_declaration(const char* version, const char* encoding);
  void handle_restricted(std::string_view what);

 private:
  enum class slice_outcome { parsed, failed, reset };

  void create_expat();
  void destroy_expat();
  void fail(stream_error_condition condition, std::string_view detail);
  bool stopped() const;
  bool check_leading_bytes(std::string_view bytes);
  bool check_attributes(const char** attrs);
  bool check_byte_limit(std::uint64_t end_index);
  slice_outcome parse_slice(std::string_view slice);
  std::uint64_t event_end_index() const;
  void start_stream(const char* name, const char** attrs);
  void continue_stream();
  // A fresh expat instance and cleared per-stream state, as at a new stream.
  void restart_expat();

  stream_handler& handler_;
  parser_limits limits_;
  XML_ParserStruct* expat_ = nullptr;
  expat_heap heap_;

  // Absolute byte offsets in the current stream.
  std::uint64_t fed_bytes_ = 0;
  std::uint64_t boundary_ = 0;         // end of the last top-level element
  std::uint64_t start_tag_end_ = 0;    // end of the last start tag at depth 1
  std::uint64_t reset_index_ = 0;      // end of the event that called reset()
  std::size_t unparsed_tail_ = 0;

  // The top-level element being assembled; stack_[0] points to it.
  element current_{"", ""};
  std::vector<element*> stack_;
  std::size_t text_bytes_ = 0;
  std::size_t pending_namespace_declarations_ = 0;
  std::string pending_default_ns_;

  bool header_received_ = false;
  bool stream_ended_ = false;
  bool failed_ = false;
  bool parsing_ = false;  // inside XML_Parse, so handlers may be running
  bool reset_requested_ = false;
  bool suspend_requested_ = false;
  bool hibernating_ = false;
  // Set while continue_stream() replays the stream header into a fresh
  // expat instance; the handler hears nothing of it.
  bool replaying_ = false;
  // Namespace declarations of the stream header, as (prefix, URI) with an
  // empty prefix for the default namespace, to rebuild it after suspend().
  std::vector<std::pair<std::string, std::string>> root_namespaces_;
};

}  // namespace starling::xml
