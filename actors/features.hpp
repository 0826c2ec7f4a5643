// The protocol extensions this server implements, one row each, with the
// version of the specification followed. Service discovery (XEP-0030)
// builds its feature list from this table, so a feature is advertised
// exactly when its row exists.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace starling::actors {

struct feature_row {
  std::string_view spec;    ///< "RFC 6120" or "XEP-0199".
  std::string_view version; ///< Version of the specification followed.
  std::string_view var;     ///< disco#info feature var; empty when none.
};

inline constexpr std::array implemented_features{
  feature_row{"XEP-0030 Service Discovery", "2.5rc3", "http://jabber.org/protocol/disco#info"},
  feature_row{"XEP-0030 Service Discovery", "2.5rc3", "http://jabber.org/protocol/disco#items"},
  feature_row{"RFC 6121 rosters, subscriptions and presence", "RFC", ""},
  feature_row{"XEP-0012 Last Activity", "2.0", "jabber:iq:last"},
  feature_row{"XEP-0054 vcard-temp", "1.2", "vcard-temp"},
  feature_row{"XEP-0077 In-Band Registration", "2.4", "jabber:iq:register"},
  feature_row{"XEP-0092 Software Version", "1.1", "jabber:iq:version"},
  feature_row{"XEP-0115 Entity Capabilities", "1.6.0", "http://jabber.org/protocol/caps"},
  feature_row{"XEP-0191 Blocking Command", "1.3", "urn:xmpp:blocking"},
  feature_row{"XEP-0199 XMPP Ping", "2.0.1", "urn:xmpp:ping"},
  feature_row{"XEP-0237 Roster Versioning", "1.3", ""},
  feature_row{"XEP-0368 SRV records for XMPP over TLS", "1.1.0", ""},
  feature_row{"XEP-0440 SASL Channel-Binding Type Capability", "0.4.1", ""},
};

inline constexpr std::string_view server_identity_category = "server";
inline constexpr std::string_view server_identity_type = "im";
inline constexpr std::string_view server_identity_name = "Starling";

/// The node of the server's XEP-0115 capabilities. XEP-0115 suggests the
/// software's web address; the project has none yet, so the name sits in
/// the reserved .invalid domain (RFC 2606) instead of someone else's.
inline constexpr std::string_view caps_node = "https://starling.invalid/caps";

/// The disco#info feature vars of the server, sorted.
std::vector<std::string> server_features();

/// The XEP-0115 verification string of the server's disco#info.
const std::string& server_caps_ver();

} // namespace starling::actors
