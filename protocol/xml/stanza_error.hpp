// Stanza errors (RFC 6120 section 8.3).
//
// The single place where <error/> replies are built. A reply goes back to
// the sender of the request: its `to` is the request's `from` and its
// `from` is the request's `to`, each only when present. Never fails.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace starling::xml {

// RFC 6120 section 8.3.2 error types.
enum class stanza_error_type { auth, cancel, continue_, modify, wait };

// RFC 6120 section 8.3.3 defined conditions, plus payment-required from RFC
// 3920 section 9.3.3, which some older clients still send.
enum class stanza_error_condition {
  bad_request,
  conflict,
  feature_not_implemented,
  forbidden,
  gone,
  internal_server_error,
  item_not_found,
  jid_malformed,
  not_acceptable,
  not_allowed,
  not_authorized,
  payment_required,
  policy_violation,
  recipient_unavailable,
  redirect,
  registration_required,
  remote_server_not_found,
  remote_server_timeout,
  resource_constraint,
  service_unavailable,
  subscription_required,
  undefined_condition,
  unexpected_request,
};

inline constexpr std::string_view stanzas_error_namespace = "urn:ietf:params:xml:ns:xmpp-stanzas";

// Returns the element name, e.g. "item-not-found".
std::string_view condition_name(stanza_error_condition condition);
// Returns the value of the type attribute, e.g. "cancel".
std::string_view type_name(stanza_error_type type);

// Returns the type that RFC 6120 section 8.3.3 gives for the condition.
stanza_error_type default_type(stanza_error_condition condition);

// True when the stanza has type='error'. Such a stanza is never answered
// with another error (RFC 6120 section 8.3.1).
bool is_error_stanza(const element& stanza);

// Builds the <error type='...'> element with the condition and, when `text`
// is not empty, an English <text/> element. The element is in jabber:client;
// set_xmlns() moves it into the namespace of another stanza (jabber:server).
element make_error_element(stanza_error_condition condition, std::string_view text = {},
                           std::optional<stanza_error_type> type = {});

// Builds the error reply to `request`: same element name, namespace, id and
// xml:lang, from/to swapped, type='error', and an <error/> child. The
// request's payload is not copied, because RFC 6120 section 8.3.1 makes that
// optional and echoing it would let a small request cause a large reply.
// REQUIRES: !is_error_stanza(request). Callers check this first.
element make_error_reply(const element& request, stanza_error_condition condition,
                         std::string_view text = {},
                         std::optional<stanza_error_type> type = {});

}  // namespace starling::xml
