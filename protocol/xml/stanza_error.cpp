#include "protocol/xml/stanza_error.hpp"

#include <cassert>

namespace starling::xml {

std::string_view condition_name(stanza_error_condition condition) {
  using c = stanza_error_condition;
  switch (condition) {
    case c::bad_request: return "bad-request";
    case c::conflict: return "conflict";
    case c::feature_not_implemented: return "feature-not-implemented";
    case c::forbidden: return "forbidden";
    case c::gone: return "gone";
    case c::internal_server_error: return "internal-server-error";
    case c::item_not_found: return "item-not-found";
    case c::jid_malformed: return "jid-malformed";
    case c::not_acceptable: return "not-acceptable";
    case c::not_allowed: return "not-allowed";
    case c::not_authorized: return "not-authorized";
    case c::payment_required: return "payment-required";
    case c::policy_violation: return "policy-violation";
    case c::recipient_unavailable: return "recipient-unavailable";
    case c::redirect: return "redirect";
    case c::registration_required: return "registration-required";
    case c::remote_server_not_found: return "remote-server-not-found";
    case c::remote_server_timeout: return "remote-server-timeout";
    case c::resource_constraint: return "resource-constraint";
    case c::service_unavailable: return "service-unavailable";
    case c::subscription_required: return "subscription-required";
    case c::undefined_condition: return "undefined-condition";
    case c::unexpected_request: return "unexpected-request";
  }
  return "undefined-condition";
}

std::string_view type_name(stanza_error_type type) {
  switch (type) {
    case stanza_error_type::auth: return "auth";
    case stanza_error_type::cancel: return "cancel";
    case stanza_error_type::continue_: return "continue";
    case stanza_error_type::modify: return "modify";
    case stanza_error_type::wait: return "wait";
  }
  return "cancel";
}

stanza_error_type default_type(stanza_error_condition condition) {
  using c = stanza_error_condition;
  using t = stanza_error_type;
  // The types used in the examples of RFC 6120 sections 8.3.3.1 to 8.3.3.22.
  switch (condition) {
    case c::bad_request: return t::modify;
    case c::conflict: return t::cancel;
    case c::feature_not_implemented: return t::cancel;
    case c::forbidden: return t::auth;
    case c::gone: return t::cancel;
    case c::internal_server_error: return t::cancel;
    case c::item_not_found: return t::cancel;
    case c::jid_malformed: return t::modify;
    case c::not_acceptable: return t::modify;
    case c::not_allowed: return t::cancel;
    case c::not_authorized: return t::auth;
    case c::payment_required: return t::auth;  // RFC 3920 section 9.3.3
    case c::policy_violation: return t::modify;
    case c::recipient_unavailable: return t::wait;
    case c::redirect: return t::modify;
    case c::registration_required: return t::auth;
    case c::remote_server_not_found: return t::cancel;
    case c::remote_server_timeout: return t::wait;
    case c::resource_constraint: return t::wait;
    case c::service_unavailable: return t::cancel;
    case c::subscription_required: return t::auth;
    case c::undefined_condition: return t::modify;
    case c::unexpected_request: return t::wait;
  }
  return t::cancel;
}

bool is_error_stanza(const element& stanza) {
  auto type = stanza.attr("type");
  return type && *type == "error";
}

element make_error_element(stanza_error_condition condition, std::string_view text,
                           std::optional<stanza_error_type> type) {
  // RFC 6120 section 8.3.2: <error/> is in the stanza's namespace.
  element error{"error", "jabber:client"};
  error.set_attr("type", std::string{type_name(type.value_or(default_type(condition)))});
  error.add_child(element{std::string{condition_name(condition)}, std::string{stanzas_error_namespace}});
  if (!text.empty()) {
    element t{"text", std::string{stanzas_error_namespace}};
    t.set_attr("xml:lang", "en");
    t.add_text(std::string{text});
    error.add_child(std::move(t));
  }
  return error;
}

element make_error_reply(const element& request, stanza_error_condition condition,
                         std::string_view text, std::optional<stanza_error_type> type) {
  assert(!is_error_stanza(request));
  element reply{request.name(), request.xmlns()};

  // RFC 6120 section 8.3.1: the reply goes back to the sender.
  if (auto from = request.attr("from")) reply.set_attr("to", std::string{*from});
  if (auto to = request.attr("to")) reply.set_attr("from", std::string{*to});
  if (auto id = request.attr("id")) reply.set_attr("id", std::string{*id});
  if (auto lang = request.attr("xml:lang")) reply.set_attr("xml:lang", std::string{*lang});
  reply.set_attr("type", "error");

  auto error = make_error_element(condition, text, type);
  error.set_xmlns(request.xmlns());
  reply.add_child(std::move(error));
  return reply;
}

}  // namespace starling::xml
