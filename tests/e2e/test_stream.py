"""Stream-level behaviour of starlingd (RFC 6120 sections 4, 5 and 8).

Header checks, stream ids, features per state, STARTTLS and direct TLS,
framing (whitespace, byte-at-a-time input, pipelining), timeouts, stanza
rules around authentication and binding, and the parser limits.
"""

import base64
import ssl
import time
import unittest
import warnings

from harness import (DOMAIN, NS_BIND, NS_SASL, NS_SESSION, NS_TLS, RawClient,
                     SharedServerCase, StreamClosed, client_tls_context, local_name,
                     plain_message, stanza_error, tag)

PASSWORD = "stream secret"


class StreamHeader(SharedServerCase):
    """RFC 6120 4.7 and 4.9.3: what the server checks in the client's header."""

    accounts = {"alice": PASSWORD}

    def check_header_rejected(self, condition, **header):
        with self.server.client() as client:
            client.send(client.stream_header(**header))
            client.read_header()
            client.expect_stream_error(condition)

    def test_wrong_stream_namespace_is_invalid_namespace(self):
        self.check_header_rejected("invalid-namespace", stream_ns="urn:example:not-streams")

    def test_wrong_default_namespace_is_invalid_namespace(self):
        self.check_header_rejected("invalid-namespace", default_ns="urn:example:not-client")

    def test_unknown_host_is_host_unknown(self):
        self.check_header_rejected("host-unknown", to="example.org")

    def test_missing_version_is_unsupported_version(self):
        self.check_header_rejected("unsupported-version", version=None)

    def test_version_0_9_is_unsupported_version(self):
        self.check_header_rejected("unsupported-version", version="0.9")

    def test_header_without_to_gets_default_host(self):
        with self.server.client() as client:
            client.open_stream(to=None)
            self.assertEqual(client.stream_attributes.get("from"), DOMAIN)

    def test_stream_ids_are_random_and_new_on_restart(self):
        ids = []
        for _ in range(2):
            with self.server.client() as client:
                client.open_stream()
                ids.append(client.stream_attributes["id"])
                client.starttls()
                client.open_stream()
                ids.append(client.stream_attributes["id"])
                client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)
                client.open_stream()
                ids.append(client.stream_attributes["id"])
        self.assertEqual(len(set(ids)), len(ids), ids)
        for stream_id in ids:
            # 16 random bytes in hex; anything much shorter is guessable.
            self.assertGreaterEqual(len(stream_id), 16, stream_id)


class StreamFeatures(SharedServerCase):
    """RFC 6120 4.3.2: the features the server offers in each state."""

    accounts = {"alice": PASSWORD}

    def test_plaintext_stream_offers_starttls_and_mechanisms(self):
        with self.server.client() as client:
            features = client.open_stream()
            self.assertIsNotNone(features.find(tag(NS_TLS, "starttls")))
            mechanisms = client.mechanisms()
            self.assertIn("SCRAM-SHA-256", mechanisms)
            # Channel binding needs TLS, so no -PLUS without it.
            self.assertFalse([m for m in mechanisms if m.endswith("-PLUS")], mechanisms)
            self.assertIsNone(features.find(tag(NS_BIND, "bind")))

    def test_tls_stream_offers_plus_mechanisms_and_no_starttls(self):
        with self.server.client() as client:
            client.open_stream()
            client.starttls()
            features = client.open_stream()
            self.assertIsNone(features.find(tag(NS_TLS, "starttls")))
            mechanisms = client.mechanisms()
            self.assertIn("SCRAM-SHA-256-PLUS", mechanisms)
            self.assertIn("PLAIN", mechanisms)

    def test_authenticated_stream_offers_bind_only(self):
        with self.server.client() as client:
            client.open_stream()
            client.starttls()
            client.open_stream()
            client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)
            features = client.open_stream()
            self.assertIsNotNone(features.find(tag(NS_BIND, "bind")))
            self.assertIsNotNone(features.find(tag(NS_SESSION, "session")))
            self.assertEqual(client.mechanisms(), [])
            self.assertIsNone(features.find(tag(NS_TLS, "starttls")))


class Tls(SharedServerCase):
    """RFC 6120 5 (STARTTLS) and XEP-0368 (direct TLS)."""

    accounts = {"alice": PASSWORD}

    def test_starttls_then_login_succeeds(self):
        with self.server.login("alice", PASSWORD) as client:
            self.assertTrue(client.jid.startswith(f"alice@{DOMAIN}/"))
            client.ping()

    def test_client_hello_in_same_write_as_starttls(self):
        # RFC 6120 5.4.3.3: bytes after <starttls/> belong to the TLS layer.
        with self.server.client() as client:
            client.open_stream()
            client.start_tls(handshake=False)
            hello = client.client_hello()
            self.assertTrue(hello, "no ClientHello produced")
            client.send_raw(f"<starttls xmlns='{NS_TLS}'/>".encode() + hello)
            after_proceed = client._read_proceed()
            client._incoming.write(after_proceed)
            client.handshake()
            features = client.open_stream()
            self.assertIn("SCRAM-SHA-256", client.mechanisms(features))
            client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)

    def test_direct_tls_negotiates_xmpp_client_alpn(self):
        with self.server.client(direct_tls=True) as client:
            self.assertEqual(client.tls.selected_alpn_protocol(), "xmpp-client")
            features = client.open_stream()
            self.assertIsNone(features.find(tag(NS_TLS, "starttls")))
            client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)
            client.open_stream()
            client.bind()
            client.ping()

    def test_tls_1_1_is_rejected(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context = client_tls_context(minimum=ssl.TLSVersion.TLSv1,
                                         maximum=ssl.TLSVersion.TLSv1_1)
        # OpenSSL 3 offers TLS 1.1 on the client only at security level 0.
        context.set_ciphers("ALL:@SECLEVEL=0")
        with RawClient(self.server.direct_tls_port) as client:
            client.start_tls(context, handshake=False)
            try:
                hello = client.client_hello()
            except ssl.SSLError as error:
                self.skipTest(f"the local OpenSSL cannot offer TLS 1.1: {error}")
            self.assertTrue(hello, "no ClientHello produced")
            client.send_raw(hello)
            with self.assertRaises((ssl.SSLError, StreamClosed)):
                client.handshake()
        self.server.wait_log(r"TLS failed")


class Framing(SharedServerCase):
    """How bytes may be split or batched on the wire."""

    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_whitespace_between_stanzas_is_accepted(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send(" ")
            client.ping()
            client.send("\n \t\r\n")
            client.ping()
            client.send(" ")
            client.send(" ")
            client.ping()

    def test_byte_at_a_time_client_exchanges_a_message(self):
        with self.server.login("bob", PASSWORD, resource="trickle-peer") as bob:
            client = self.server.client()
            with client:
                client.trickle = True
                client.open_stream()
                client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)
                client.open_stream()
                client.bind("trickle")
                client.message(f"bob@{DOMAIN}/trickle-peer", "one byte at a time")
                received = bob.read_message()
                self.assertEqual(received.findtext("{jabber:client}body"), "one byte at a time")
                self.assertEqual(received.get("from"), f"alice@{DOMAIN}/trickle")

    def test_pipelined_login_and_message_in_one_write(self):
        # tsung sends the whole login without waiting for any reply.
        with self.server.login("bob", PASSWORD, resource="pipe-peer") as bob:
            client = self.server.client()
            with client:
                header = client.stream_header()
                auth = base64.b64encode(plain_message("alice", PASSWORD)).decode()
                client.send(
                    header
                    + f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{auth}</auth>"
                    + header
                    + f"<iq type='set' id='bind1'><bind xmlns='{NS_BIND}'>"
                      "<resource>pipe</resource></bind></iq>"
                    + f"<iq type='set' id='sess1'><session xmlns='{NS_SESSION}'/></iq>"
                    + f"<message to='bob@{DOMAIN}/pipe-peer' type='chat' id='p1'>"
                      "<body>pipelined</body></message>")
                client.read_raw_until(rb"<iq[^>]*id='sess1'[^>]*>|<iq[^>]*id=\"sess1\"")
                self.assertIn(b"<success", client.received)
                self.assertIn(f"alice@{DOMAIN}/pipe".encode(), client.received)
                received = bob.read_message()
                self.assertEqual(received.findtext("{jabber:client}body"), "pipelined")


class Timeouts(SharedServerCase):
    """Idle connections end with <connection-timeout/> (RFC 6120 4.9.3.4)."""

    overrides = {"c2s.stream_open_timeout_s": 1, "c2s.auth_timeout_s": 2}
    accounts = {"alice": PASSWORD}

    def test_no_stream_header_times_out(self):
        started = time.monotonic()
        with self.server.client() as client:
            client.read_header(timeout=10)
            client.expect_stream_error("connection-timeout", timeout=10)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 6)

    def test_no_authentication_times_out(self):
        started = time.monotonic()
        with self.server.client() as client:
            client.open_stream()
            client.expect_stream_error("connection-timeout", timeout=10)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 8)

    def test_bound_stream_does_not_time_out(self):
        with self.server.login("alice", PASSWORD) as client:
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                client.ping()
                time.sleep(0.25)


class ServerPings(SharedServerCase):
    """XEP-0199: the server pings quiet clients and drops silent ones."""

    overrides = {"c2s.ping_interval_s": 1, "c2s.ping_timeout_s": 1}
    accounts = {"alice": PASSWORD}

    @staticmethod
    def is_server_ping(element):
        return (local_name(element) == "iq" and element.get("type") == "get"
                and element.find("{urn:xmpp:ping}ping") is not None)

    def test_replying_client_stays(self):
        with self.server.login("alice", PASSWORD, resource="replies") as client:
            started = time.monotonic()
            for _ in range(3):
                ping = client.read_until(self.is_server_ping, timeout=6)
                self.assertEqual(ping.get("from"), DOMAIN)
                self.assertEqual(ping.get("to"), client.jid)
                client.send(f"<iq type='result' id='{ping.get('id')}' to='{DOMAIN}'/>")
            # Three intervals of silence and three replies: still connected.
            self.assertGreaterEqual(time.monotonic() - started, 2.5)
            client.ping()

    def test_silent_client_times_out(self):
        with self.server.login("alice", PASSWORD, resource="silent") as client:
            started = time.monotonic()
            client.read_until(self.is_server_ping, timeout=6)
            client.expect_stream_error("connection-timeout", timeout=6)
            # At least ping_interval_s of silence, then ping_timeout_s more.
            self.assertGreaterEqual(time.monotonic() - started, 1.5)


class StanzaRules(SharedServerCase):
    """Stanzas that the stream state or the addressing rules forbid."""

    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_message_before_auth_is_not_authorized(self):
        with self.server.client() as client:
            client.open_stream()
            client.message(f"bob@{DOMAIN}", "too early")
            client.expect_stream_error("not-authorized")

    def test_message_before_bind_is_not_authorized(self):
        with self.server.client() as client:
            client.open_stream()
            client.starttls()
            client.open_stream()
            client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)
            client.open_stream()
            client.message(f"bob@{DOMAIN}", "not bound yet")
            client.expect_stream_error("not-authorized")

    def test_unknown_element_after_bind_is_unsupported(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send("<dance xmlns='urn:example:party'/>")
            client.expect_stream_error("unsupported-stanza-type")

    def test_spoofed_from_is_invalid_from(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send(f"<message from='bob@{DOMAIN}/x' to='bob@{DOMAIN}' type='chat'>"
                        "<body>it was bob</body></message>")
            client.expect_stream_error("invalid-from")

    def test_own_full_jid_as_from_is_accepted(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send(f"<iq type='get' id='own' from='{client.jid}' to='{DOMAIN}'>"
                        "<ping xmlns='urn:xmpp:ping'/></iq>")
            reply = client.read_until(lambda e: e.get("id") == "own")
            self.assertEqual(reply.get("type"), "result")


class Limits(SharedServerCase):
    """Parser limits end the stream with <policy-violation/>, nothing else."""

    overrides = {
        "c2s.limits.max_stanza_bytes": 8192,
        "c2s.limits.max_depth": 8,
        "c2s.limits.max_attributes": 8,
        "c2s.limits.max_attribute_bytes": 256,
        "c2s.limits.max_text_bytes": 1024,
    }
    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def check_policy_violation(self, stanza):
        with self.server.login("bob", PASSWORD, resource="bystander") as bystander:
            with self.server.login("alice", PASSWORD) as client:
                client.send(stanza)
                client.expect_stream_error("policy-violation")
            bystander.ping()

    def test_stanza_within_limits_is_delivered(self):
        with self.server.login("bob", PASSWORD, resource="reader") as bob:
            with self.server.login("alice", PASSWORD) as client:
                nested = "<a>" * 3 + "</a>" * 3
                client.send(f"<message to='bob@{DOMAIN}/reader' type='chat' a1='x' a2='y'>"
                            f"<body>{'z' * 900}</body><x xmlns='urn:example'>{nested}</x>"
                            "</message>")
                received = bob.read_message()
                self.assertEqual(received.findtext("{jabber:client}body"), "z" * 900)

    def test_deep_nesting_is_policy_violation(self):
        nested = "<a>" * 20 + "</a>" * 20
        self.check_policy_violation(f"<message to='bob@{DOMAIN}'><x xmlns='urn:example'>"
                                    f"{nested}</x></message>")

    def test_too_many_attributes_is_policy_violation(self):
        attributes = " ".join(f"a{i}='v'" for i in range(20))
        self.check_policy_violation(f"<message to='bob@{DOMAIN}' {attributes}/>")

    def test_long_attribute_is_policy_violation(self):
        self.check_policy_violation(f"<message to='bob@{DOMAIN}' id='{'i' * 1000}'/>")

    def test_long_text_is_policy_violation(self):
        self.check_policy_violation(f"<message to='bob@{DOMAIN}'><body>{'t' * 3000}</body>"
                                    "</message>")


class Addressing(SharedServerCase):
    """Stanza-level errors that leave the stream open (RFC 6120 8.3)."""

    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_malformed_to_is_jid_malformed(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send("<message to='a@b@c' id='bad-to' type='chat'><body>x</body></message>")
            reply = client.read_until(lambda e: e.get("id") == "bad-to")
            self.assertEqual(reply.get("type"), "error")
            self.assertEqual(stanza_error(reply), "jid-malformed")
            client.ping()

    def test_remote_domain_is_remote_server_not_found(self):
        with self.server.login("alice", PASSWORD) as client:
            client.message("someone@example.org", "far away", id_="remote")
            reply = client.read_until(lambda e: e.get("id") == "remote")
            self.assertEqual(stanza_error(reply), "remote-server-not-found")

    def test_unknown_local_user_is_service_unavailable(self):
        with self.server.login("alice", PASSWORD) as client:
            client.message(f"nobody@{DOMAIN}", "hello?", id_="nobody")
            reply = client.read_until(lambda e: e.get("id") == "nobody")
            self.assertEqual(stanza_error(reply), "service-unavailable")

    def test_iq_without_payload_is_bad_request(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send(f"<iq type='get' id='empty' to='{DOMAIN}'/>")
            reply = client.read_until(lambda e: e.get("id") == "empty")
            self.assertEqual(stanza_error(reply), "bad-request")

    def test_iq_with_two_payloads_is_bad_request(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send(f"<iq type='get' id='two' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/>"
                        "<ping xmlns='urn:xmpp:ping'/></iq>")
            reply = client.read_until(lambda e: e.get("id") == "two")
            self.assertEqual(stanza_error(reply), "bad-request")

    def test_message_to_available_bare_jid_is_delivered(self):
        with self.server.login("bob", PASSWORD, resource="home") as bob:
            bob.send("<presence/>")
            bob.read_until(lambda e: local_name(e) == "presence")
            with self.server.login("alice", PASSWORD) as client:
                client.message(f"bob@{DOMAIN}", "to the bare JID")
                received = bob.read_message()
                self.assertEqual(received.findtext("{jabber:client}body"), "to the bare JID")


class Closing(SharedServerCase):
    """RFC 6120 4.4: closing the stream and repeated STARTTLS."""

    accounts = {"alice": PASSWORD}

    def test_client_close_is_answered_with_close(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send("</stream:stream>")
            kind, _ = client.next_event()
            self.assertEqual(kind, "end")
            client.expect_closed()

    def test_second_starttls_fails_and_closes(self):
        # RFC 6120 5.4.2.2 and 5.4.3.1: STARTTLS is offered once only.
        with self.server.client() as client:
            client.open_stream()
            client.starttls()
            client.open_stream()
            client.send(f"<starttls xmlns='{NS_TLS}'/>")
            answer = client.read_element()
            self.assertEqual(local_name(answer), "failure")
            client.expect_closed()


class RateLimit(SharedServerCase):
    """c2s.max_bytes_per_second slows a sender down without dropping input."""

    overrides = {"c2s.max_bytes_per_second": 8000}
    accounts = {"alice": PASSWORD}

    def test_flood_is_slowed_not_dropped(self):
        with self.server.login("alice", PASSWORD) as client:
            started = time.monotonic()
            # 24000 bytes at 8000 bytes/s with a one-second bucket: the
            # reply cannot come before about (24000 - 8000) / 8000 = 2 s.
            for _ in range(24):
                client.send(" " * 1000)
            client.ping(timeout=20)
            elapsed = time.monotonic() - started
            self.assertGreaterEqual(elapsed, 1.5)
            self.assertLess(elapsed, 10)


if __name__ == "__main__":
    unittest.main()
