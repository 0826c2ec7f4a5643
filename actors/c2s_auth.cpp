// The c2s connection before authentication: STARTTLS (RFC 6120 5), SASL
// (RFC 6120 6) and in-band registration (XEP-0077 2.4, version 2.4).

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/c2s_connection_state.hpp"
#include "actors/messages.hpp"
#include "actors/server_context.hpp"
#include "actors/workers.hpp"
#include "protocol/jid/jid.hpp"
#include "protocol/sasl/saslprep.hpp"
#include "protocol/sasl/scram_crypto.hpp"
#include "protocol/xml/namespaces.hpp"
#include "protocol/xml/serializer.hpp"

namespace starling::actors {

namespace {

// Longest password that registration accepts, in bytes after SASLprep.
constexpr std::size_t max_password_bytes = 1024;

xml::element sasl_element(std::string_view name) {
  return {std::string{name}, std::string{xml::ns::sasl}};
}

std::string encode_payload(std::string_view raw) {
  // RFC 6120 6.4.2: empty data is sent as "=".
  return raw.empty() ? std::string{"="} : sasl::base64_encode(raw);
}

} // namespace

void c2s_connection::wait_for_starttls(xml::element&& element) {
  if (element.name() == "starttls" && element.xmlns() == xml::ns::tls) {
    handle_starttls();
    return;
  }
  // RFC 6120 5.3.1: TLS is mandatory here, so nothing else is processed.
  if (element.name() == "auth" && element.xmlns() == xml::ns::sasl) {
    auto failure = sasl_element("failure");
    failure.add_child(sasl_element("encryption-required"));
    send(failure);
    return;
  }
  close_stream(xml::stream_error_condition::policy_violation, "STARTTLS is required");
}

void c2s_connection::handle_starttls() {
  if (secured) {
    // RFC 6120 5.4.2.2: on failure the server sends <failure/> and closes.
    send(xml::serialize(xml::element{"failure", std::string{xml::ns::tls}}));
    close_stream(std::nullopt);
    return;
  }
  send(xml::serialize(xml::element{"proceed", std::string{xml::ns::tls}}));
  spdlog::debug("c2s#{} {}: starting TLS", id, peer);
  suspend_parser();
  pending_transition = after_element::start_tls;
}

void c2s_connection::wait_for_sasl(xml::element&& element) {
  auto& ns = element.xmlns();
  auto& name = element.name();
  if (ns == xml::ns::tls && name == "starttls") {
    handle_starttls();
    return;
  }
  if (ns == xml::ns::sasl && name == "auth") {
    handle_auth(element);
    return;
  }
  if (ns == xml::ns::sasl && (name == "response" || name == "abort")) {
    if (!sasl_mechanism) {
      // A response without an exchange in progress is a protocol error.
      auto failure = sasl_element("failure");
      failure.add_child(sasl_element(name == "abort" ? "aborted" : "malformed-request"));
      send(failure);
      return;
    }
    if (name == "abort") {
      finish_sasl_step(sasl_mechanism->abort());
      return;
    }
    auto payload = element.text();
    if (payload == "=")
      payload.clear();
    auto decoded = sasl::base64_decode(payload);
    if (!decoded) {
      auto failure = sasl_element("failure");
      failure.add_child(sasl_element("incorrect-encoding"));
      sasl_mechanism.reset();
      send(failure);
      return;
    }
    handle_sasl_step(std::move(*decoded), false);
    return;
  }
  if (ns == xml::ns::client && name == "iq") {
    if (auto query = element.child("query", xml::ns::iq_register)) {
      (void)query;
      handle_register_before_auth(element);
      return;
    }
    reply_error(element, xml::stanza_error_condition::not_authorized);
    return;
  }
  // RFC 6120 4.9.3.12: stanzas before authentication.
  close_stream(xml::stream_error_condition::not_authorized);
}

void c2s_connection::handle_auth(const xml::element& auth) {
  if (sasl_mechanism) {
    // RFC 6120 6.4.2: a new <auth/> during an exchange aborts the old one.
    sasl_mechanism.reset();
  }
  auto fail = [this](std::string_view condition) {
    auto failure = sasl_element("failure");
    failure.add_child(sasl_element(condition));
    send(failure);
  };

  if (!ctx->throttle.address_allowed(peer_raw)) {
    spdlog::warn("c2s#{} {}: login rejected, too many failures from this address", id, peer);
    fail("temporary-auth-failure");
    return;
  }
  auto mechanism_name = auth.attr("mechanism").value_or("");
  auto info = sasl_connection_info();
  sasl_mechanism_name = std::string{mechanism_name};

  // The callbacks run in a worker actor; they note the user name they saw
  // so that a failure can be charged to the account too.
  auto attempted_user = std::make_shared<std::string>();
  sasl::credentials_source source;
  auto context = ctx;
  source.scram_lookup = [context, attempted_user](std::string_view name, sasl::scram_hash hash)
    -> std::optional<sasl::stored_credentials> {
    auto user = jid::nodeprep(name);
    if (!user)
      return std::nullopt;
    *attempted_user = *user;
    if (!context->throttle.account_allowed(*user))
      return std::nullopt;
    auto found = context->accounts->credentials(*user, hash);
    if (!found)
      return std::nullopt;
    return sasl::stored_credentials{found->salt, found->iterations,
                                    {found->stored_key, found->server_key}};
  };
  source.verify_plain = [context, attempted_user](std::string_view name, std::string_view password) {
    auto user = jid::nodeprep(name);
    if (!user)
      return false;
    *attempted_user = *user;
    if (!context->throttle.account_allowed(*user))
      return false;
    auto verified = context->accounts->verify_plain(*user, password);
    return verified && *verified;
  };

  // RFC 6120 6.3.8: an authzid is accepted only when it names the
  // authenticated account itself, compared in normalised form.
  source.authorize = [domain = host](std::string_view authcid, std::string_view authzid) {
    if (authzid.empty())
      return true;
    auto requested = jid::jid::parse(authzid);
    auto user = jid::nodeprep(authcid);
    return requested && user && requested->is_bare() && requested->local() == *user
           && requested->domain() == domain;
  };

  auto config = ctx->sasl;
  config.domain = host;
  sasl_mechanism = sasl::make_mechanism(mechanism_name, info, source, config);
  if (!sasl_mechanism) {
    fail("invalid-mechanism");
    return;
  }
  sasl_attempted_user = attempted_user;

  auto payload = auth.text();
  std::optional<std::string> initial;
  if (payload == "=") {
    initial = std::string{};
  } else if (!payload.empty()) {
    auto decoded = sasl::base64_decode(payload);
    if (!decoded) {
      sasl_mechanism.reset();
      fail("incorrect-encoding");
      return;
    }
    initial = std::move(*decoded);
  }
  handle_sasl_step(std::move(initial), true);
}

void c2s_connection::handle_sasl_step(std::optional<std::string> response, bool first) {
  // Steps may hash a password (PLAIN derives PBKDF2 keys) or read the
  // store, so they run in a worker and never on the I/O thread.
  set_busy(true);
  std::shared_ptr<sasl::mechanism> mechanism = sasl_mechanism;
  run_in_worker(self, [mechanism, response = std::move(response), first]() {
    if (first)
      return mechanism->start(response ? std::optional<std::string_view>{*response}
                                       : std::nullopt);
    return mechanism->step(*response);
  }, [this](sasl::step_result result) {
    finish_sasl_step(std::move(result));
    set_busy(false);
  }, [this](const caf::error& error) {
    spdlog::warn("c2s#{} {}: SASL worker failed: {}", id, peer, caf::to_string(error));
    sasl_mechanism.reset();
    auto failure = sasl_element("failure");
    failure.add_child(sasl_element("temporary-auth-failure"));
    send(failure);
    set_busy(false);
  });
}

void c2s_connection::finish_sasl_step(sasl::step_result result) {
  using kind = sasl::step_kind;
  if (state == stream_state::closed)
    return;

  if (result.kind == kind::challenge) {
    auto challenge = sasl_element("challenge");
    challenge.add_text(encode_payload(result.data));
    send(challenge);
    return;
  }

  auto user = sasl_attempted_user ? *sasl_attempted_user : std::string{};
  sasl_mechanism.reset();
  sasl_attempted_user.reset();

  if (result.kind == kind::failure) {
    ctx->throttle.record_failure(peer_raw, user);
    ++sasl_failures;
    spdlog::info("c2s#{} {}: authentication{}{} with {} failed: {}", id, peer,
                 user.empty() ? "" : " as ", user, sasl_mechanism_name,
                 sasl::condition_name(result.condition));
    auto failure = sasl_element("failure");
    failure.add_child(sasl_element(sasl::condition_name(result.condition)));
    send(failure);
    // RFC 6120 6.4.5 lets the server close the stream after a number of
    // failed attempts; the login throttle limits them across connections.
    if (sasl_failures >= ctx->config.auth.max_failures_per_stream)
      close_stream(xml::stream_error_condition::policy_violation, "too many failed logins");
    return;
  }

  auto normalised = jid::nodeprep(result.authcid);
  if (!normalised) {
    // The mechanism accepted a name that nodeprep rejects; no JID exists.
    auto failure = sasl_element("failure");
    failure.add_child(sasl_element("not-authorized"));
    send(failure);
    return;
  }
  username = *normalised;
  authenticated = true;
  spdlog::info("c2s#{} {}: authenticated as {}@{} with {}", id, peer, username, host,
               sasl_mechanism_name);

  auto success = sasl_element("success");
  if (!result.data.empty())
    success.add_text(sasl::base64_encode(result.data));
  send(success);

  // RFC 6120 6.4.6: the client restarts the stream; bytes after <auth/> or
  // <response/> that it pipelined belong to the new stream. They wait in
  // held_input, because a step always runs in a worker.
  state = stream_state::wait_for_stream;
  pending_transition = after_element::restart_stream;
}

void c2s_connection::handle_register_before_auth(const xml::element& iq) {
  auto type = iq.attr("type").value_or("");
  if (!ctx->config.c2s.allow_registration) {
    reply_error(iq, xml::stanza_error_condition::service_unavailable);
    return;
  }
  if (!secured && !ctx->config.c2s.allow_plaintext_auth) {
    // XEP-0077 8: never let a password cross an unencrypted stream.
    reply_error(iq, xml::stanza_error_condition::not_authorized);
    return;
  }
  auto query = iq.child("query", xml::ns::iq_register);

  if (type == "get") {
    // XEP-0077 3.1: the fields a client must fill in.
    xml::element reply{"iq", std::string{xml::ns::client}};
    reply.set_attr("type", "result");
    if (auto request_id = iq.attr("id"))
      reply.set_attr("id", std::string{*request_id});
    auto& form = reply.add_child({"query", std::string{xml::ns::iq_register}});
    form.add_child({"instructions", std::string{xml::ns::iq_register}})
      .add_text("Choose a username and password.");
    form.add_child({"username", std::string{xml::ns::iq_register}});
    form.add_child({"password", std::string{xml::ns::iq_register}});
    send(reply);
    return;
  }
  if (type != "set") {
    reply_error(iq, xml::stanza_error_condition::bad_request);
    return;
  }
  if (query->child("remove", xml::ns::iq_register)) {
    // Removing an account needs an authenticated stream (XEP-0077 3.2).
    reply_error(iq, xml::stanza_error_condition::not_authorized);
    return;
  }

  auto name_element = query->child("username", xml::ns::iq_register);
  auto password_element = query->child("password", xml::ns::iq_register);
  if (name_element == nullptr || password_element == nullptr) {
    reply_error(iq, xml::stanza_error_condition::not_acceptable);
    return;
  }
  auto user = jid::nodeprep(name_element->text());
  auto password = sasl::saslprep(password_element->text(), sasl::saslprep_mode::stored);
  // PLAIN accepts at most 1024 bytes per field, so a longer password could
  // never be used with it.
  if (!user || user->empty() || !password || password->size() > max_password_bytes) {
    reply_error(iq, xml::stanza_error_condition::not_acceptable);
    return;
  }
  register_account(iq, *user, *password);
}

} // namespace starling::actors
