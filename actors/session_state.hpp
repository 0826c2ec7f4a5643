// State of one session actor; see session.hpp for the contract. Touched
// only by its own actor.
#pragma once

#include <caf/stateful_actor.hpp>

#include <memory>
#include <string>

#include "protocol/jid/jid.hpp"

namespace starling::actors {

struct server_context;

struct session_state {
  static inline const char* name = "session";

  std::shared_ptr<server_context> ctx;
  std::string full;     ///< Normalised full JID.
  std::string bare;     ///< Normalised bare JID.
  std::string local;    ///< Normalised localpart (the account name).
  std::string domain;
  std::string resource;
  caf::actor connection;
  bool available = false;
  int priority = 0;

  ~session_state();
};

using session_actor = caf::stateful_actor<session_state>;

} // namespace starling::actors
