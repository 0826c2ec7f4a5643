#include "protocol/xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "protocol/xml/serializer.hpp"

namespace starling::xml {
namespace {

// Separates namespace URI, local name and prefix in the names expat passes
// to the element handlers. XML 1.0 forbids U+001F everywhere, so it cannot
// occur in a URI or a name.
constexpr char namespace_separator = '\x1F';

// Input is handed to expat in slices of this size, and the byte limit is
// checked after each one, so expat never buffers more than one slice beyond
// max_stanza_bytes.
constexpr std::size_t slice_bytes = 4096;

// Expat may hold its input buffer (which doubles as it grows) plus
// per-element bookkeeping; this multiple of max_stanza_bytes bounds it as a
// second line of defence behind the byte limit.
constexpr std::size_t heap_cap_factor = 4;
constexpr std::size_t heap_cap_base = 64 * 1024;

// -- counting allocator for expat --

// Each block starts with its size and the heap it is charged to, so free and
// realloc do not need to know which parser they run for.
struct alignas(std::max_align_t) block_header {
  std::size_t size;
  expat_heap* heap;
};

// The heap that new expat allocations are charged to. Set around every call
// into expat that may allocate.
thread_local expat_heap* charged_heap = nullptr;

std::atomic<std::size_t> live_instances{0};

class heap_scope {
 public:
  explicit heap_scope(expat_heap& heap) : previous_(charged_heap) { charged_heap = &heap; }
  ~heap_scope() { charged_heap = previous_; }
  heap_scope(const heap_scope&) = delete;
  heap_scope& operator=(const heap_scope&) = delete;

 private:
  expat_heap* previous_;
};

void* counted_malloc(std::size_t size) {
  expat_heap* heap = charged_heap;
  assert(heap != nullptr);
  if (heap == nullptr || size > heap->cap || heap->current > heap->cap - size) return nullptr;
  auto* block = static_cast<block_header*>(std::malloc(sizeof(block_header) + size));
  if (block == nullptr) return nullptr;
  block->size = size;
  block->heap = heap;
  heap->current += size;
  heap->peak = std::max(heap->peak, heap->current);
  return block + 1;
}

void counted_free(void* pointer) {
  if (pointer == nullptr) return;
  auto* block = static_cast<block_header*>(pointer) - 1;
  block->heap->current -= block->size;
  std::free(block);
}

void* counted_realloc(void* pointer, std::size_t size) {
  if (pointer == nullptr) return counted_malloc(size);
  auto* block = static_cast<block_header*>(pointer) - 1;
  expat_heap* heap = block->heap;
  std::size_t old_size = block->size;
  if (size > old_size) {
    std::size_t growth = size - old_size;
    if (growth > heap->cap || heap->current > heap->cap - growth) return nullptr;
  }
  auto* grown = static_cast<block_header*>(std::realloc(block, sizeof(block_header) + size));
  if (grown == nullptr) return nullptr;
  grown->size = size;
  heap->current = heap->current - old_size + size;
  heap->peak = std::max(heap->peak, heap->current);
  return grown + 1;
}

const XML_Memory_Handling_Suite counted_memory = {counted_malloc, counted_realloc, counted_free};

// -- names --

struct qualified_name {
  std::string_view uri;
  std::string_view local;
  std::string_view prefix;
};

// Splits an expat name "uri<sep>local<sep>prefix"; an unqualified name has
// neither URI nor prefix.
qualified_name split_name(std::string_view name) {
  qualified_name out;
  auto first = name.find(namespace_separator);
  if (first == std::string_view::npos) {
    out.local = name;
    return out;
  }
  out.uri = name.substr(0, first);
  auto rest = name.substr(first + 1);
  auto second = rest.find(namespace_separator);
  if (second == std::string_view::npos) {
    out.local = rest;
  } else {
    out.local = rest.substr(0, second);
    out.prefix = rest.substr(second + 1);
  }
  return out;
}

// The attribute naming rule of element.hpp: "xml:lang", "{uri}local" or "local".
std::string attribute_name(std::string_view expat_name) {
  auto q = split_name(expat_name);
  if (q.uri.empty()) return std::string{q.local};
  if (q.uri == xml_namespace) return "xml:" + std::string{q.local};
  std::string out;
  out.reserve(q.uri.size() + q.local.size() + 2);
  out.append("{").append(q.uri).append("}").append(q.local);
  return out;
}

bool is_xml_whitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

stream_error_condition condition_for(XML_Error code) {
  switch (code) {
    // RFC 6120 section 11.1: entity references other than the predefined
    // ones and XML declarations after the start are restricted XML.
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_BINARY_ENTITY_REF:
    case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_ENTITY_DECLARED_IN_PE:
    case XML_ERROR_NOT_STANDALONE:
    case XML_ERROR_MISPLACED_XML_PI:
    case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
      return stream_error_condition::restricted_xml;
    case XML_ERROR_UNKNOWN_ENCODING:
    case XML_ERROR_INCORRECT_ENCODING:
      return stream_error_condition::unsupported_encoding;
    case XML_ERROR_NO_MEMORY:
      return stream_error_condition::resource_constraint;
    default:
      return stream_error_condition::not_well_formed;
  }
}

// -- expat trampolines --

stream_parser& self(void* user_data) { return *static_cast<stream_parser*>(user_data); }

void on_start(void* p, const XML_Char* name, const XML_Char** attrs) { self(p).handle_start(name, attrs); }
void on_end(void* p, const XML_Char* name) { self(p).handle_end(name); }
void on_text(void* p, const XML_Char* data, int len) { self(p).handle_text(data, len); }
void on_namespace(void* p, const XML_Char* prefix, const XML_Char* uri) {
  self(p).handle_namespace_declaration(prefix, uri);
}
void on_xml_declaration(void* p, const XML_Char* version, const XML_Char* encoding, int) {
  self(p).handle_xml_declaration(version, encoding);
}
void on_doctype(void* p, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  self(p).handle_restricted("document type declaration");
}
void on_entity_declaration(void* p, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                           const XML_Char*, const XML_Char*, const XML_Char*) {
  self(p).handle_restricted("entity declaration");
}
void on_notation(void* p, const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
  self(p).handle_restricted("notation declaration");
}
void on_comment(void* p, const XML_Char*) { self(p).handle_restricted("comment"); }
void on_processing_instruction(void* p, const XML_Char*, const XML_Char*) {
  self(p).handle_restricted("processing instruction");
}
void on_skipped_entity(void* p, const XML_Char*, int) { self(p).handle_restricted("entity reference"); }
int on_external_entity(XML_Parser, const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
  return XML_STATUS_ERROR;  // never load anything from outside the stream
}

}  // namespace

stream_parser::stream_parser(stream_handler& handler, parser_limits limits)
    : handler_(handler), limits_(limits) {
  heap_.cap = heap_cap_factor * limits_.max_stanza_bytes + heap_cap_base;
  create_expat();
}

stream_parser::~stream_parser() { destroy_expat(); }

void stream_parser::create_expat() {
  heap_scope scope(heap_);
  const XML_Char separator[] = {namespace_separator, '\0'};
  // Declaring UTF-8 here makes expat ignore the document's encoding
  // declaration; handle_xml_declaration() rejects other encodings.
  expat_ = XML_ParserCreate_MM("UTF-8", &counted_memory, separator);
  if (expat_ == nullptr) return;
  live_instances.fetch_add(1, std::memory_order_relaxed);

  XML_SetUserData(expat_, this);
  XML_SetReturnNSTriplet(expat_, XML_TRUE);
  // Expat 2.6 (and Debian's backport) may hold back a complete stanza until
  // more bytes arrive; a chat server must hand it over at once.
  XML_SetReparseDeferralEnabled(expat_, XML_FALSE);
  XML_SetParamEntityParsing(expat_, XML_PARAM_ENTITY_PARSING_NEVER);
  XML_SetElementHandler(expat_, on_start, on_end);
  XML_SetCharacterDataHandler(expat_, on_text);
  XML_SetStartNamespaceDeclHandler(expat_, on_namespace);
  XML_SetXmlDeclHandler(expat_, on_xml_declaration);

  // RFC 6120 section 11.1: no DTD, entity declarations, comments or
  // processing instructions. Stopping at the DOCTYPE keyword means no
  // entity is ever declared, so none can be expanded.
  XML_SetStartDoctypeDeclHandler(expat_, on_doctype);
  XML_SetEntityDeclHandler(expat_, on_entity_declaration);
  XML_SetNotationDeclHandler(expat_, on_notation);
  XML_SetCommentHandler(expat_, on_comment);
  XML_SetProcessingInstructionHandler(expat_, on_processing_instruction);
  XML_SetSkippedEntityHandler(expat_, on_skipped_entity);
  XML_SetExternalEntityRefHandler(expat_, on_external_entity);
}

void stream_parser::destroy_expat() {
  if (expat_ == nullptr) return;
  heap_scope scope(heap_);
  XML_ParserFree(expat_);
  expat_ = nullptr;
  live_instances.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t stream_parser::live_expat_instances() {
  return live_instances.load(std::memory_order_relaxed);
}

void stream_parser::reset() {
  if (parsing_) {
    // Expat must not be freed under its own call stack: stop it and let
    // parse_slice() finish the reset.
    if (!reset_requested_) {
      reset_requested_ = true;
      reset_index_ = event_end_index();
      XML_StopParser(expat_, XML_FALSE);
    }
    return;
  }
  restart_expat();
  stream_ended_ = false;
  failed_ = false;
  reset_requested_ = false;
  hibernating_ = false;
}

void stream_parser::restart_expat() {
  destroy_expat();
  create_expat();
  fed_bytes_ = 0;
  boundary_ = 0;
  start_tag_end_ = 0;
  reset_index_ = 0;
  current_ = element{"", ""};
  stack_.clear();
  text_bytes_ = 0;
  pending_namespace_declarations_ = 0;
  pending_default_ns_.clear();
  root_namespaces_.clear();
  header_received_ = false;
  suspend_requested_ = false;
}

void stream_parser::suspend() {
  assert(parsing_ && "suspend() is only valid inside a handler");
  if (!parsing_ || reset_requested_ || suspend_requested_) return;
  suspend_requested_ = true;
  reset_index_ = event_end_index();
  XML_StopParser(expat_, XML_FALSE);
}

bool stream_parser::hibernate() {
  if (parsing_ || failed_ || hibernating_ || !header_received_ || stream_ended_ ||
      buffered_bytes() != 0)
    return false;
  destroy_expat();
  hibernating_ = true;
  return true;
}

void stream_parser::continue_stream() {
  // Expat cannot go on after a stop that is not resumable, and a resumable
  // stop keeps the unparsed bytes inside expat. So a fresh instance gets an
  // equivalent stream header, which the handler does not hear about, and
  // the caller feeds the unparsed tail again.
  std::string header = "<stream:stream";
  for (auto& [prefix, uri] : root_namespaces_) {
    header += prefix.empty() ? " xmlns='" : " xmlns:" + prefix + "='";
    append_escaped_attribute(header, uri);
    header += '\'';
  }
  header += '>';

  restart_expat();
  replaying_ = true;
  parse_slice(header);
  replaying_ = false;
}

std::size_t stream_parser::buffered_bytes() const {
  return static_cast<std::size_t>(fed_bytes_ - std::min(boundary_, fed_bytes_));
}

bool stream_parser::feed(std::string_view bytes) {
  assert(!parsing_ && "feed() must not be called from a handler");
  unparsed_tail_ = 0;
  if (failed_) return false;
  if (hibernating_) {
    hibernating_ = false;
    continue_stream();
  }
  if (expat_ == nullptr) {
    fail(stream_error_condition::resource_constraint, "cannot allocate the XML parser");
    return false;
  }

  while (!bytes.empty()) {
    if (!check_leading_bytes(bytes)) return false;
    auto slice = bytes.substr(0, slice_bytes);
    bytes.remove_prefix(slice.size());

    auto outcome = parse_slice(slice);
    if (outcome == slice_outcome::failed) return false;
    if (outcome == slice_outcome::reset) {
      unparsed_tail_ += bytes.size();
      return true;
    }
  }
  return !failed_;
}

stream_parser::slice_outcome stream_parser::parse_slice(std::string_view slice) {
  fed_bytes_ += slice.size();
  XML_Status status;
  {
    heap_scope scope(heap_);
    parsing_ = true;
    status = XML_Parse(expat_, slice.data(), static_cast<int>(slice.size()), XML_FALSE);
    parsing_ = false;
  }

  if (reset_requested_ || suspend_requested_) {
    // The bytes after the element whose handler asked for the reset belong
    // to the next stream (or to TLS) and are not parsed here; after a
    // suspension the caller feeds them again.
    unparsed_tail_ = static_cast<std::size_t>(fed_bytes_ - std::min(reset_index_, fed_bytes_));
    if (reset_requested_)
      reset();
    else
      continue_stream();
    return slice_outcome::reset;
  }
  if (failed_) return slice_outcome::failed;

  if (status == XML_STATUS_ERROR) {
    auto code = XML_GetErrorCode(expat_);
    auto condition = condition_for(code);
    if (code == XML_ERROR_NO_MEMORY && heap_.current + slice_bytes >= heap_.cap) {
      condition = stream_error_condition::policy_violation;
    }
    std::string detail = "line " + std::to_string(XML_GetCurrentLineNumber(expat_)) + ", column " +
                         std::to_string(XML_GetCurrentColumnNumber(expat_)) + ": " +
                         XML_ErrorString(code);
    fail(condition, detail);
    return slice_outcome::failed;
  }

  // Expat may still hold an incomplete tag that no callback has seen; the
  // limit covers it too.
  if (!stream_ended_ && !check_byte_limit(fed_bytes_)) return slice_outcome::failed;
  return slice_outcome::parsed;
}

bool stream_parser::check_leading_bytes(std::string_view bytes) {
  // RFC 6120 section 11.6: UTF-8 only. A UTF-8 document cannot start with
  // 0x00, 0xFE or 0xFF or have 0x00 as its second byte; UTF-16 and UTF-32
  // text (with or without a byte order mark) always does one of these.
  for (std::uint64_t i = fed_bytes_; i < 2 && i - fed_bytes_ < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i - fed_bytes_]);
    bool foreign = b == 0x00 || (i == 0 && (b == 0xFE || b == 0xFF));
    if (foreign) {
      fail(stream_error_condition::unsupported_encoding, "the stream is not UTF-8");
      return false;
    }
  }
  return true;
}

std::uint64_t stream_parser::event_end_index() const {
  auto index = XML_GetCurrentByteIndex(expat_);
  if (index < 0) return fed_bytes_;
  return static_cast<std::uint64_t>(index) + static_cast<std::uint64_t>(XML_GetCurrentByteCount(expat_));
}

bool stream_parser::check_byte_limit(std::uint64_t end_index) {
  if (end_index <= boundary_ || end_index - boundary_ <= limits_.max_stanza_bytes) return true;
  fail(stream_error_condition::policy_violation,
       "element exceeds " + std::to_string(limits_.max_stanza_bytes) + " bytes");
  return false;
}

void stream_parser::fail(stream_error_condition condition, std::string_view detail) {
  if (failed_) return;
  failed_ = true;
  if (parsing_) XML_StopParser(expat_, XML_FALSE);
  handler_.on_stream_error(condition, detail);
}

bool stream_parser::stopped() const { return failed_ || reset_requested_; }

void stream_parser::handle_restricted(std::string_view what) {
  if (stopped()) return;
  fail(stream_error_condition::restricted_xml, std::string{what} + " is not allowed in XMPP");
}

void stream_parser::handle_xml_declaration(const char* version, const char* encoding) {
  if (stopped()) return;
  if (encoding != nullptr && !equals_ignoring_ascii_case(encoding, "UTF-8")) {
    fail(stream_error_condition::unsupported_encoding,
         "encoding " + std::string{encoding} + " is not supported, only UTF-8");
  }
}

void stream_parser::handle_namespace_declaration(const char* prefix, const char* uri) {
  if (stopped()) return;
  // Declarations are reported just before the start tag that carries them.
  if (!header_received_ && prefix == nullptr) pending_default_ns_ = uri != nullptr ? uri : "";
  if (!header_received_) root_namespaces_.emplace_back(prefix != nullptr ? prefix : "", uri != nullptr ? uri : "");
  ++pending_namespace_declarations_;
}

bool stream_parser::check_attributes(const char** attrs) {
  std::size_t count = pending_namespace_declarations_;
  pending_namespace_declarations_ = 0;
  for (const char** a = attrs; *a != nullptr; a += 2) {
    ++count;
    if (std::string_view{a[1]}.size() > limits_.max_attribute_bytes) {
      fail(stream_error_condition::policy_violation,
           "attribute value exceeds " + std::to_string(limits_.max_attribute_bytes) + " bytes");
      return false;
    }
  }
  if (count > limits_.max_attributes) {
    fail(stream_error_condition::policy_violation,
         "element has more than " + std::to_string(limits_.max_attributes) + " attributes");
    return false;
  }
  return true;
}

void stream_parser::start_stream(const char* name, const char** attrs) {
  auto q = split_name(name);
  // RFC 6120 section 4.9.3.10 and 4.9.3.11 give these conditions.
  if (q.uri != stream_namespace) {
    fail(stream_error_condition::invalid_namespace,
         "the stream element is not in http://etherx.jabber.org/streams");
    return;
  }
  if (q.local != "stream") {
    fail(stream_error_condition::bad_format, "the root element is not <stream:stream>");
    return;
  }
  if (q.prefix != "stream") {
    fail(stream_error_condition::bad_namespace_prefix, "the stream element must use the prefix 'stream'");
    return;
  }

  // Everything before the end of the header, XML declaration included,
  // counts against the byte limit.
  auto end = event_end_index();
  if (!check_byte_limit(end)) return;

  stream_header header;
  header.stream_ns = std::string{q.uri};
  header.default_ns = std::move(pending_default_ns_);
  pending_default_ns_.clear();
  for (const char** a = attrs; *a != nullptr; a += 2) {
    auto attr = attribute_name(a[0]);
    if (attr == "to") header.to = a[1];
    else if (attr == "from") header.from = a[1];
    else if (attr == "id") header.id = a[1];
    else if (attr == "version") header.version = a[1];
    else if (attr == "xml:lang") header.lang = a[1];
  }

  header_received_ = true;
  boundary_ = end;
  if (!replaying_) handler_.on_stream_header(header);
}

void stream_parser::handle_start(const char* name, const char** attrs) {
  if (stopped()) return;
  if (!check_attributes(attrs)) return;
  if (!header_received_) {
    start_stream(name, attrs);
    return;
  }

  if (stack_.size() + 1 > limits_.max_depth) {
    fail(stream_error_condition::policy_violation,
         "element nesting exceeds depth " + std::to_string(limits_.max_depth));
    return;
  }
  auto end = event_end_index();
  if (!check_byte_limit(end)) return;

  auto q = split_name(name);
  // A second stream header inside the stream would otherwise be assembled
  // as an element that never ends and swallow everything after it.
  if (stack_.empty() && q.uri == stream_namespace && q.local == "stream") {
    fail(stream_error_condition::bad_format, "a stream header inside the stream");
    return;
  }
  element e{std::string{q.local}, std::string{q.uri}};
  for (const char** a = attrs; *a != nullptr; a += 2) e.set_attr(attribute_name(a[0]), a[1]);

  if (stack_.empty()) {
    current_ = std::move(e);
    stack_.push_back(&current_);
    start_tag_end_ = end;
    text_bytes_ = 0;
  } else {
    // The new child's address stays valid while it is open, because only
    // the innermost open element gains children.
    stack_.push_back(&stack_.back()->add_child(std::move(e)));
  }
}

void stream_parser::handle_end(const char* name) {
  if (stopped()) return;
  if (!check_byte_limit(event_end_index())) return;
  if (stack_.empty()) {
    stream_ended_ = true;
    handler_.on_stream_end();
    return;
  }
  stack_.pop_back();
  if (!stack_.empty()) return;

  // The end event of an empty-element tag has no bytes of its own.
  boundary_ = std::max(event_end_index(), start_tag_end_);
  element done = std::move(current_);
  current_ = element{"", ""};
  handler_.on_element(std::move(done));
}

void stream_parser::handle_text(const char* data, int len) {
  if (stopped()) return;
  std::string_view text{data, static_cast<std::size_t>(len)};

  if (stack_.empty()) {
    // RFC 6120 section 11.7 allows whitespace between top-level elements
    // (also as keepalive); it is dropped and does not count against the
    // byte limit of the next element.
    if (!is_xml_whitespace(text)) {
      fail(stream_error_condition::bad_format, "text outside of a stanza");
      return;
    }
    boundary_ = std::max(boundary_, event_end_index());
    return;
  }

  text_bytes_ += text.size();
  if (text_bytes_ > limits_.max_text_bytes) {
    fail(stream_error_condition::policy_violation,
         "text exceeds " + std::to_string(limits_.max_text_bytes) + " bytes");
    return;
  }
  if (!check_byte_limit(event_end_index())) return;
  stack_.back()->add_text(std::string{text});
}

}  // namespace starling::xml
