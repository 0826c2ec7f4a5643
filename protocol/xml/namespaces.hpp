// XML namespaces of the XMPP core and the extensions Starling implements,
// named once so that a typo cannot create a namespace nobody handles.
#pragma once

#include <string_view>

namespace starling::xml::ns {

inline constexpr std::string_view stream = "http://etherx.jabber.org/streams";
inline constexpr std::string_view client = "jabber:client";
inline constexpr std::string_view server = "jabber:server";
inline constexpr std::string_view tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view sasl_cb = "urn:xmpp:sasl-cb:0";            // XEP-0440
inline constexpr std::string_view bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view session = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view iq_register = "jabber:iq:register";         // XEP-0077
inline constexpr std::string_view register_feature = "http://jabber.org/features/iq-register";
inline constexpr std::string_view ping = "urn:xmpp:ping";                     // XEP-0199
inline constexpr std::string_view disco_info = "http://jabber.org/protocol/disco#info";   // XEP-0030
inline constexpr std::string_view disco_items = "http://jabber.org/protocol/disco#items"; // XEP-0030
inline constexpr std::string_view version = "jabber:iq:version";             // XEP-0092

} // namespace starling::xml::ns
