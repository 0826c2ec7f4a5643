// Stream errors (RFC 6120 section 4.9) and the stream header and close tags.
//
// The single place where the server's stream-level XML is written. Every
// function returns ready-to-send text and never fails. The stream parser
// reports its errors with the same condition enum.
#pragma once

#include <string>
#include <string_view>

namespace starling::xml {

struct stream_header;

// RFC 6120 section 4.9.3 defined conditions.
enum class stream_error_condition {
  bad_format,
  bad_namespace_prefix,
  conflict,
  connection_timeout,
  host_gone,
  host_unknown,
  improper_addressing,
  internal_server_error,
  invalid_from,
  invalid_namespace,
  invalid_xml,
  not_authorized,
  not_well_formed,
  policy_violation,
  remote_connection_failed,
  reset,
  resource_constraint,
  restricted_xml,
  see_other_host,
  system_shutdown,
  undefined_condition,
  unsupported_encoding,
  unsupported_feature,
  unsupported_stanza_type,
  unsupported_version,
};

inline constexpr std::string_view streams_error_namespace = "urn:ietf:params:xml:ns:xmpp-streams";

// Returns the element name of the condition, e.g. "not-well-formed".
std::string_view condition_name(stream_error_condition condition);

// Returns <stream:error> with the condition and, when `text` is not empty,
// an English <text/> element. For see_other_host, use see_other_host_xml
// instead, because that condition carries the new address as its content.
std::string stream_error_xml(stream_error_condition condition, std::string_view text = {});

// Returns <stream:error><see-other-host>address</see-other-host></stream:error>
// (RFC 6120 section 4.9.3.19); `address` is a domain or "[v6]:port" form.
std::string see_other_host_xml(std::string_view address);

// Returns the XML declaration and the opening <stream:stream> tag that
// answers a client header. Empty fields of `reply` are left out, and an
// empty default_ns means jabber:client. stream_ns is ignored: the stream
// namespace is always http://etherx.jabber.org/streams.
std::string stream_header_xml(const stream_header& reply);

inline constexpr std::string_view stream_close_xml = "</stream:stream>";

}  // namespace starling::xml
