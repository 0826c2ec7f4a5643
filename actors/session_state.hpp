// State of one session actor; see session.hpp for the contract. Touched
// only by its own actor.
#pragma once

#include <caf/stateful_actor.hpp>

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "protocol/jid/jid.hpp"
#include "protocol/xml/element.hpp"

namespace starling::actors {

struct server_context;

/// Presence of one session, shared with the function that broadcasts
/// unavailable presence when the session ends, crashes included, so it
/// outlives the actor's state. Touched by the session actor only, and by
/// that function after the actor has ended.
struct presence_info {
  bool available = false;
  int priority = 0;
  std::optional<xml::element> last;  ///< Last broadcast presence, without `to`.
  std::set<std::string> directed;    ///< JIDs that got directed available presence.
};

struct session_state {
  static inline const char* name = "session";

  std::shared_ptr<server_context> ctx;
  std::string full;     ///< Normalised full JID.
  std::string bare;     ///< Normalised bare JID.
  std::string local;    ///< Normalised localpart (the account name).
  std::string domain;
  std::string resource;
  caf::actor connection;
  std::shared_ptr<presence_info> presence = std::make_shared<presence_info>();
  bool roster_requested = false; ///< Roster pushes go only to such sessions.
  bool blocklist_requested = false; ///< Likewise for blocking list pushes.
  std::uint64_t pushes = 0;

  ~session_state();
};

using session_actor = caf::stateful_actor<session_state>;

} // namespace starling::actors
