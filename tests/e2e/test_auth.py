"""Authentication, resource binding and the server's own iq services.

SASL (RFC 6120 6, RFC 5802, RFC 4616), login throttling, binding (RFC 6120
7), in-band registration (XEP-0077), ping (XEP-0199) and service discovery
(XEP-0030), with slixmpp as a real client and RawClient for the rest.
"""

import asyncio
import base64
import re
import unittest

from harness import (DOMAIN, NS_BIND, NS_DISCO_INFO, NS_PING, NS_REGISTER, NS_SESSION,
                     RawClient, ScramClient, Server, SharedServerCase, StreamError,
                     certificate_signature_hash, local_name, plain_message, run_async,
                     sasl_condition, slixmpp_next_message, slixmpp_offline, slixmpp_online,
                     stanza_error, tag, tls_server_end_point)

PASSWORD = "auth secret"
NO_PLUS = ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]


def tls_client(server, direct_tls=False):
    """Return a RawClient on a TLS stream that has received its features."""
    client = server.client(direct_tls=direct_tls)
    client.open_stream()
    if not direct_tls:
        client.starttls()
        client.open_stream()
    return client


class SlixmppLogin(unittest.TestCase):
    """slixmpp 1.8 logs in and exchanges messages.

    slixmpp 1.8 knows only the tls-unique channel binding, which TLS 1.3
    does not define, so when -PLUS is offered it sends the gs2 flag "y" and
    RFC 5802 section 6 requires the server to reject that. This server
    therefore offers no -PLUS mechanisms; ScramFlags tests the rejection.
    """

    @classmethod
    def setUpClass(cls):
        cls.server = Server(overrides={"auth.mechanisms": NO_PLUS},
                            accounts={"alice": PASSWORD, "bob": PASSWORD})
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def exchange(self, direct_tls):
        port = self.server.direct_tls_port if direct_tls else self.server.starttls_port

        async def scenario():
            alice = await slixmpp_online(f"alice@{DOMAIN}/slix", PASSWORD, port,
                                         direct_tls=direct_tls, sasl_mech="SCRAM-SHA-256")
            bob = await slixmpp_online(f"bob@{DOMAIN}/slix", PASSWORD, port,
                                       direct_tls=direct_tls, sasl_mech="SCRAM-SHA-256")
            try:
                waiting = asyncio.ensure_future(slixmpp_next_message(bob))
                await asyncio.sleep(0)
                alice.send_message(mto=f"bob@{DOMAIN}/slix", mbody="hello from slixmpp",
                                   mtype="chat")
                message = await waiting
                return str(message["from"]), message["body"]
            finally:
                await slixmpp_offline(alice)
                await slixmpp_offline(bob)

        sender, body = run_async(scenario())
        self.assertEqual(body, "hello from slixmpp")
        self.assertEqual(sender, f"alice@{DOMAIN}/slix")
        self.server.wait_log(r"authenticated as alice@localhost with SCRAM-SHA-256")

    def test_slixmpp_starttls_scram_sha256_message(self):
        self.exchange(direct_tls=False)

    def test_slixmpp_direct_tls_message(self):
        self.exchange(direct_tls=True)


class ScramFlags(SharedServerCase):
    """Every SCRAM hash, channel binding and the gs2 flags of RFC 5802 6."""

    accounts = {"alice": PASSWORD}

    def test_every_scram_hash_succeeds(self):
        for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            with self.subTest(mechanism=mechanism), tls_client(self.server) as client:
                self.assertIn(mechanism, client.mechanisms())
                client.authenticate(mechanism, "alice", PASSWORD)
                client.open_stream()
                self.assertTrue(client.bind().startswith(f"alice@{DOMAIN}/"))

    def test_y_flag_rejected_while_plus_offered(self):
        with tls_client(self.server) as client:
            self.assertIn("SCRAM-SHA-256-PLUS", client.mechanisms())
            scram = ScramClient("SCRAM-SHA-256", "alice", PASSWORD, gs2_header="y,,")
            answer = client.sasl_auth("SCRAM-SHA-256", scram.client_first())
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "not-authorized")

    def test_plus_with_server_end_point_succeeds(self):
        with tls_client(self.server) as client:
            self.assertEqual(client.tls.version(), "TLSv1.3")
            offered = [e.get("type") for e in client.features.iter()
                       if local_name(e) == "channel-binding"]
            self.assertIn("tls-exporter", offered)
            self.assertIn("tls-server-end-point", offered)
            certificate = client.tls.getpeercert(binary_form=True)
            self.assertIsNotNone(certificate_signature_hash(certificate))
            for mechanism in ("SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS"):
                self.assertIn(mechanism, client.mechanisms())
            client.authenticate("SCRAM-SHA-256-PLUS", "alice", PASSWORD,
                                channel_binding=tls_server_end_point(certificate))
            client.open_stream()
            client.bind()

    def test_plus_with_wrong_binding_fails(self):
        with tls_client(self.server) as client:
            scram = ScramClient("SCRAM-SHA-256-PLUS", "alice", PASSWORD,
                                channel_binding=b"\x00" * 32)
            answer = client.sasl_auth("SCRAM-SHA-256-PLUS", scram.client_first())
            self.assertEqual(local_name(answer), "challenge")
            final = scram.client_final(base64.b64decode(answer.text))
            answer = client.sasl_response(final)
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "not-authorized")

    def test_plus_over_direct_tls_succeeds(self):
        with tls_client(self.server, direct_tls=True) as client:
            certificate = client.tls.getpeercert(binary_form=True)
            client.authenticate("SCRAM-SHA-512-PLUS", "alice", PASSWORD,
                                channel_binding=tls_server_end_point(certificate))


class SaslFailures(SharedServerCase):
    """SASL error paths, each with the condition RFC 6120 6.5 names."""

    accounts = {"alice": PASSWORD}

    def test_plain_over_tls_succeeds(self):
        with tls_client(self.server) as client:
            client.authenticate("PLAIN", "alice", PASSWORD)
            client.open_stream()
            self.assertTrue(client.bind().startswith(f"alice@{DOMAIN}/"))

    def test_wrong_password_is_not_authorized(self):
        for mechanism in ("PLAIN", "SCRAM-SHA-256"):
            with self.subTest(mechanism=mechanism), tls_client(self.server) as client:
                with self.assertRaisesRegex(AssertionError, "not-authorized"):
                    client.authenticate(mechanism, "alice", "wrong password")

    def test_unknown_user_fails_after_a_challenge(self):
        # The challenge looks like a real one, so names cannot be enumerated.
        with tls_client(self.server) as client:
            scram = ScramClient("SCRAM-SHA-256", "nobody", PASSWORD)
            answer = client.sasl_auth("SCRAM-SHA-256", scram.client_first())
            self.assertEqual(local_name(answer), "challenge")
            answer = client.sasl_response(scram.client_final(base64.b64decode(answer.text)))
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "not-authorized")

    def test_unknown_user_plain_is_not_authorized(self):
        with tls_client(self.server) as client:
            answer = client.sasl_auth("PLAIN", plain_message("nobody", PASSWORD))
            self.assertEqual(sasl_condition(answer), "not-authorized")

    def test_abort_is_aborted(self):
        with tls_client(self.server) as client:
            scram = ScramClient("SCRAM-SHA-256", "alice", PASSWORD)
            answer = client.sasl_auth("SCRAM-SHA-256", scram.client_first())
            self.assertEqual(local_name(answer), "challenge")
            client.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            answer = client.read_element()
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "aborted")
            # The stream stays usable for a new attempt.
            client.authenticate("SCRAM-SHA-256", "alice", PASSWORD)

    def test_invalid_base64_is_incorrect_encoding(self):
        with tls_client(self.server) as client:
            client.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                        "mechanism='PLAIN'>!!not*base64!!</auth>")
            answer = client.read_element()
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "incorrect-encoding")

    def test_equals_sign_is_empty_initial_response(self):
        # RFC 6120 6.4.2: "=" is a zero-length response, not bad base64.
        with tls_client(self.server) as client:
            answer = client.sasl_auth("SCRAM-SHA-256", b"")
            self.assertEqual(local_name(answer), "failure")
            self.assertNotEqual(sasl_condition(answer), "incorrect-encoding")
            self.assertEqual(sasl_condition(answer), "malformed-request")

    def test_missing_initial_response_gets_empty_challenge(self):
        # RFC 6120 6.4.2: without an initial response the server challenges
        # first, with an empty challenge written as "=".
        with tls_client(self.server) as client:
            answer = client.sasl_auth("SCRAM-SHA-256", None)
            self.assertEqual(local_name(answer), "challenge")
            self.assertIn(answer.text, ("=", None))
            scram = ScramClient("SCRAM-SHA-256", "alice", PASSWORD)
            answer = client.sasl_response(scram.client_first())
            self.assertEqual(local_name(answer), "challenge")
            answer = client.sasl_response(scram.client_final(base64.b64decode(answer.text)))
            self.assertEqual(local_name(answer), "success")

    def test_unknown_mechanism_is_invalid_mechanism(self):
        with tls_client(self.server) as client:
            answer = client.sasl_auth("DIGEST-MD5", None)
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "invalid-mechanism")


class PlaintextAuthDisabled(SharedServerCase):
    """With allow_plaintext_auth = false, nothing authenticates before TLS."""

    overrides = {"c2s.allow_plaintext_auth": False}
    accounts = {"alice": PASSWORD}

    def test_plain_not_offered_or_accepted_without_tls(self):
        with self.server.client() as client:
            features = client.open_stream()
            self.assertNotIn("PLAIN", client.mechanisms())
            starttls = features.find(tag("urn:ietf:params:xml:ns:xmpp-tls", "starttls"))
            self.assertIsNotNone(starttls)
            self.assertIsNotNone(starttls.find(tag("urn:ietf:params:xml:ns:xmpp-tls",
                                                   "required")))
            answer = client.sasl_auth("PLAIN", plain_message("alice", PASSWORD))
            self.assertEqual(local_name(answer), "failure")
            self.assertNotIn(b"<success", client.received)

    def test_plain_accepted_after_starttls(self):
        with tls_client(self.server) as client:
            self.assertIn("PLAIN", client.mechanisms())
            client.authenticate("PLAIN", "alice", PASSWORD)


class LoginThrottle(SharedServerCase):
    """After N failures from one address, logins from it are rejected."""

    overrides = {"auth.max_failures_per_address": 3, "auth.failure_window_s": 300}
    accounts = {"alice": PASSWORD}

    def test_failures_lead_to_temporary_auth_failure(self):
        wrong = "Wrong-Pass-7f3a9"
        with tls_client(self.server) as client:
            for _ in range(3):
                answer = client.sasl_auth("PLAIN", plain_message("alice", wrong))
                self.assertEqual(sasl_condition(answer), "not-authorized")
        with tls_client(self.server) as client:
            answer = client.sasl_auth("PLAIN", plain_message("alice", PASSWORD))
            self.assertEqual(local_name(answer), "failure")
            self.assertEqual(sasl_condition(answer), "temporary-auth-failure")

        line = self.server.wait_log(r".*too many failures.*").group(0)
        self.assertIn("127.0.0.x", line)
        log = self.server.log()
        client_lines = [l for l in log.splitlines() if re.search(r"c2s#\d+ ", l)]
        self.assertTrue(client_lines)
        for entry in client_lines:
            self.assertNotIn("127.0.0.1", entry)
        self.assertNotIn(wrong, log)
        self.assertNotIn(PASSWORD, log)


class ResourceBinding(SharedServerCase):
    """RFC 6120 7: client-chosen, server-chosen and conflicting resources."""

    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_client_chosen_resource_is_bound(self):
        with self.server.login("alice", PASSWORD, resource="phone") as client:
            self.assertEqual(client.jid, f"alice@{DOMAIN}/phone")

    def test_server_chooses_a_resource_when_none_given(self):
        with self.server.login("alice", PASSWORD) as first, \
                self.server.login("alice", PASSWORD) as second:
            self.assertRegex(first.jid, rf"^alice@{DOMAIN}/.+")
            self.assertNotEqual(first.jid, second.jid)

    def test_conflict_replaces_the_old_stream(self):
        with self.server.login("bob", PASSWORD, resource="desk") as old:
            with self.server.login("bob", PASSWORD, resource="desk") as new:
                self.assertEqual(new.jid, f"bob@{DOMAIN}/desk")
                old.expect_stream_error("conflict")
                new.ping()

    def test_legacy_session_iq_gets_result(self):
        with self.server.login("alice", PASSWORD) as client:
            reply = client.iq(f"<session xmlns='{NS_SESSION}'/>", type_="set")
            self.assertEqual(reply.get("type"), "result")


class ResourceConflictReject(SharedServerCase):
    overrides = {"c2s.resource_conflict": "reject"}
    accounts = {"alice": PASSWORD}

    def test_conflict_rejects_the_new_bind(self):
        with self.server.login("alice", PASSWORD, resource="desk") as old:
            with tls_client(self.server) as new:
                new.authenticate("SCRAM-SHA-256", "alice", PASSWORD)
                new.open_stream()
                new.send(f"<iq type='set' id='b2'><bind xmlns='{NS_BIND}'>"
                         "<resource>desk</resource></bind></iq>")
                reply = new.read_until(lambda e: e.get("id") == "b2")
                self.assertEqual(reply.get("type"), "error")
                self.assertEqual(stanza_error(reply), "conflict")
            old.ping()


class Registration(SharedServerCase):
    """XEP-0077: registration, password change and removal in-band."""

    accounts = {"alice": PASSWORD}

    def register(self, client, user, password, id_="reg1"):
        client.send(f"<iq type='set' id='{id_}'><query xmlns='{NS_REGISTER}'>"
                    f"<username>{user}</username><password>{password}</password>"
                    "</query></iq>")
        return client.read_until(lambda e: e.get("id") == id_)

    def test_register_then_login(self):
        with tls_client(self.server) as client:
            self.assertIsNotNone(client.features.find(
                tag("http://jabber.org/features/iq-register", "register")))
            client.send(f"<iq type='get' id='form'><query xmlns='{NS_REGISTER}'/></iq>")
            form = client.read_until(lambda e: e.get("id") == "form")
            self.assertEqual(form.get("type"), "result")
            query = form.find(tag(NS_REGISTER, "query"))
            self.assertIsNotNone(query.find(tag(NS_REGISTER, "username")))
            self.assertIsNotNone(query.find(tag(NS_REGISTER, "password")))

            reply = self.register(client, "carol", "carol secret")
            self.assertEqual(reply.get("type"), "result")
            duplicate = self.register(client, "carol", "other", id_="reg2")
            self.assertEqual(duplicate.get("type"), "error")
            self.assertEqual(stanza_error(duplicate), "conflict")
        with self.server.login("carol", "carol secret") as carol:
            carol.ping()
        self.assertIn("carol", self.server.ctl("list", check=True).stdout.split())

    def test_password_change_then_login_with_new(self):
        self.server.ctl("register", "dave", "-p", "old password", check=True)
        with self.server.login("dave", "old password") as client:
            reply = client.iq(f"<query xmlns='{NS_REGISTER}'><username>dave</username>"
                              "<password>new password</password></query>", type_="set",
                              to=DOMAIN)
            self.assertEqual(reply.get("type"), "result")
        with self.server.login("dave", "new password") as client:
            client.ping()
        with tls_client(self.server) as client:
            with self.assertRaisesRegex(AssertionError, "not-authorized"):
                client.authenticate("SCRAM-SHA-256", "dave", "old password")

    def test_account_removal_then_login_fails(self):
        self.server.ctl("register", "erin", "-p", PASSWORD, check=True)
        with self.server.login("erin", PASSWORD) as client:
            reply = client.iq(f"<query xmlns='{NS_REGISTER}'><remove/></query>", type_="set")
            self.assertEqual(reply.get("type"), "result")
            # XEP-0077 3.2: the streams of the removed account end.
            client.expect_stream_error("not-authorized")
        with tls_client(self.server) as client:
            with self.assertRaisesRegex(AssertionError, "not-authorized"):
                client.authenticate("SCRAM-SHA-256", "erin", PASSWORD)


class RegistrationDisabled(SharedServerCase):
    overrides = {"c2s.allow_registration": False}

    def test_register_is_service_unavailable(self):
        with tls_client(self.server) as client:
            self.assertIsNone(client.features.find(
                tag("http://jabber.org/features/iq-register", "register")))
            client.send(f"<iq type='set' id='reg'><query xmlns='{NS_REGISTER}'>"
                        "<username>mallory</username><password>x</password></query></iq>")
            reply = client.read_until(lambda e: e.get("id") == "reg")
            self.assertEqual(reply.get("type"), "error")
            self.assertEqual(stanza_error(reply), "service-unavailable")


class ServerIq(SharedServerCase):
    """The iq services of the server itself."""

    accounts = {"alice": PASSWORD}

    def test_ping_to_server_gets_result(self):
        with self.server.login("alice", PASSWORD) as client:
            reply = client.ping()
            self.assertEqual(reply.get("from"), DOMAIN)

    def test_error_iq_to_server_gets_no_reply(self):
        # RFC 6120 8.3.1: an entity never answers an error with an error.
        with self.server.login("alice", PASSWORD) as client:
            client.send(f"<iq type='error' id='err1' to='{DOMAIN}'><ping xmlns='{NS_PING}'/>"
                        "<error type='cancel'><bad-request "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
            # The ping after it is answered first: nothing came for err1.
            client.send(f"<iq type='get' id='after' to='{DOMAIN}'><ping xmlns='{NS_PING}'/></iq>")
            reply = client.read_element()
            self.assertEqual(reply.get("id"), "after")
            self.assertEqual(reply.get("type"), "result")

    def test_unknown_namespace_is_service_unavailable(self):
        with self.server.login("alice", PASSWORD) as client:
            reply = client.iq("<query xmlns='urn:example:nothing'/>", to=DOMAIN)
            self.assertEqual(reply.get("type"), "error")
            self.assertEqual(stanza_error(reply), "service-unavailable")

    def test_disco_info_lists_features(self):
        with self.server.login("alice", PASSWORD) as client:
            reply = client.iq(f"<query xmlns='{NS_DISCO_INFO}'/>", to=DOMAIN)
            self.assertEqual(reply.get("type"), "result")
            query = reply.find(tag(NS_DISCO_INFO, "query"))
            identity = query.find(tag(NS_DISCO_INFO, "identity"))
            self.assertEqual(identity.get("category"), "server")
            features = {f.get("var") for f in query.findall(tag(NS_DISCO_INFO, "feature"))}
            for var in (NS_DISCO_INFO, "http://jabber.org/protocol/disco#items", NS_PING,
                        NS_REGISTER, "jabber:iq:version"):
                self.assertIn(var, features)


if __name__ == "__main__":
    unittest.main()
