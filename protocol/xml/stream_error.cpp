#include "protocol/xml/stream_error.hpp"

#include "protocol/xml/serializer.hpp"
#include "protocol/xml/stream_parser.hpp"

namespace starling::xml {

std::string_view condition_name(stream_error_condition condition) {
  using c = stream_error_condition;
  switch (condition) {
    case c::bad_format: return "bad-format";
    case c::bad_namespace_prefix: return "bad-namespace-prefix";
    case c::conflict: return "conflict";
    case c::connection_timeout: return "connection-timeout";
    case c::host_gone: return "host-gone";
    case c::host_unknown: return "host-unknown";
    case c::improper_addressing: return "improper-addressing";
    case c::internal_server_error: return "internal-server-error";
    case c::invalid_from: return "invalid-from";
    case c::invalid_namespace: return "invalid-namespace";
    case c::invalid_xml: return "invalid-xml";
    case c::not_authorized: return "not-authorized";
    case c::not_well_formed: return "not-well-formed";
    case c::policy_violation: return "policy-violation";
    case c::remote_connection_failed: return "remote-connection-failed";
    case c::reset: return "reset";
    case c::resource_constraint: return "resource-constraint";
    case c::restricted_xml: return "restricted-xml";
    case c::see_other_host: return "see-other-host";
    case c::system_shutdown: return "system-shutdown";
    case c::undefined_condition: return "undefined-condition";
    case c::unsupported_encoding: return "unsupported-encoding";
    case c::unsupported_feature: return "unsupported-feature";
    case c::unsupported_stanza_type: return "unsupported-stanza-type";
    case c::unsupported_version: return "unsupported-version";
  }
  return "undefined-condition";
}

namespace {

// RFC 6120 section 4.9.2: the condition and the optional <text/> are
// qualified by the xmpp-streams namespace; the wrapper uses the stream prefix.
std::string error_xml(stream_error_condition condition, std::string_view content,
                      std::string_view text) {
  std::string out = "<stream:error><";
  out.append(condition_name(condition));
  out.append(" xmlns='").append(streams_error_namespace).push_back('\'');
  if (content.empty()) {
    out.append("/>");
  } else {
    out.push_back('>');
    append_escaped_text(out, content);
    out.append("</").append(condition_name(condition)).push_back('>');
  }
  if (!text.empty()) {
    out.append("<text xmlns='").append(streams_error_namespace).append("' xml:lang='en'>");
    append_escaped_text(out, text);
    out.append("</text>");
  }
  out.append("</stream:error>");
  return out;
}

void append_attribute(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out.push_back(' ');
  out.append(name).append("='");
  append_escaped_attribute(out, value);
  out.push_back('\'');
}

}  // namespace

std::string stream_error_xml(stream_error_condition condition, std::string_view text) {
  return error_xml(condition, {}, text);
}

std::string see_other_host_xml(std::string_view address) {
  return error_xml(stream_error_condition::see_other_host, address, {});
}

std::string stream_header_xml(const stream_header& reply) {
  std::string out = "<?xml version='1.0'?><stream:stream";
  append_attribute(out, "xmlns", reply.default_ns.empty() ? "jabber:client" : reply.default_ns);
  append_attribute(out, "xmlns:stream", stream_namespace);
  append_attribute(out, "id", reply.id);
  append_attribute(out, "from", reply.from);
  append_attribute(out, "to", reply.to);
  append_attribute(out, "version", reply.version);
  append_attribute(out, "xml:lang", reply.lang);
  out.push_back('>');
  return out;
}

}  // namespace starling::xml
