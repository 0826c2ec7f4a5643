// What the server answers on behalf of an account (RFC 6120 10.5.3.1):
// its vCard (XEP-0054, vcard-temp) and its last activity (XEP-0012).
// Runs inside the requesting session actor.
#pragma once

#include <string>

#include "actors/session_state.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

/// Answers an iq addressed to the bare JID `owner` of a local account: the
/// sender's own or another user's. Unknown payloads get
/// <service-unavailable/>.
void handle_account_iq(session_actor* self, xml::element iq, const std::string& owner);

/// Stores the time and status text of the user's last logout (XEP-0012),
/// sent without waiting for the commit. Safe after the session ended.
void record_last_activity(const std::shared_ptr<server_context>& ctx, const std::string& bare,
                          const std::string& status);

} // namespace starling::actors
