"""Conformance cases for hostile input and SASL corner cases, over real sockets.

P1-P4 are parser attacks (RFC 6120 section 11 restricted XML and the stanza
size limit), A1-A2 are SASL cases (RFC 5802 section 5.1, RFC 6120 6.4.5).
"""

import base64
import select
import unittest

from harness import (DOMAIN, Server, SharedServerCase, local_name, plain_message,
                     sasl_condition)

PASSWORD = "correct horse"


def entity_bomb_header(levels=10, fan_out=8):
    """Return a DTD of nested entities and a stream header that uses the last."""
    declarations = ['<!ENTITY e0 "boom">']
    for level in range(1, levels):
        reference = f"&e{level - 1};" * fan_out
        declarations.append(f'<!ENTITY e{level} "{reference}">')
    return ("<?xml version='1.0'?>\n"
            "<!DOCTYPE stream:stream [\n" + "\n".join(declarations) + "\n]>\n"
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
            f" to='{DOMAIN}' version='1.0' xml:lang='&e{levels - 1};'>")


class HostileXml(SharedServerCase):
    """P1-P4: input that a restricted XML parser must reject cheaply."""

    overrides = {"c2s.limits.max_stanza_bytes": 4096}
    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_entity_expansion_is_rejected_before_expanding(self):
        cpu_before = self.server.cpu_seconds()
        with self.server.client() as client:
            client.send(entity_bomb_header())
            client.read_header()
            client.expect_stream_error("restricted-xml")
        cpu_used = self.server.cpu_seconds() - cpu_before
        self.assertLess(cpu_used, 1.0, "CPU seconds spent on the entity declarations")
        with self.server.login("alice", PASSWORD) as other:
            other.ping()

    def test_plain_text_is_not_well_formed(self):
        with self.server.login("bob", PASSWORD) as bystander:
            with self.server.client() as client:
                client.send(b"HELLO this is not XML at all\r\n")
                client.read_header()
                client.expect_stream_error("not-well-formed")
            bystander.ping()

    def test_endless_stanza_hits_the_size_limit(self):
        rss_before = self.server.rss_kib()
        with self.server.login("alice", PASSWORD) as client:
            client.send(f"<message to='bob@{DOMAIN}'><body>")
            chunk = b"y" * 256
            sent = 0
            error_seen = False
            # 256 bytes every 20 ms is about 12 KiB/s and no rate limit is set.
            while sent < 64 * 1024:
                try:
                    client.send(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
                readable, _, _ = select.select([client.sock], [], [], 0.02)
                if readable:
                    error_seen = True
                    break
            self.assertTrue(error_seen, f"no reply after {sent} body bytes")
            client.expect_stream_error("policy-violation")
            # The error must come soon after the 4096-byte limit, not at the end.
            self.assertLess(sent, 3 * 4096)
        rss_growth_kib = self.server.rss_kib() - rss_before
        self.assertLess(rss_growth_kib, 5 * 1024, "VmRSS growth in KiB")

    def test_comment_after_login_is_restricted(self):
        with self.server.login("alice", PASSWORD) as client:
            client.send("<!-- x -->")
            client.expect_stream_error("restricted-xml")

    def test_processing_instruction_after_login_is_restricted(self):
        with self.server.login("bob", PASSWORD) as client:
            client.send("<?render mode='x'?>")
            client.expect_stream_error("restricted-xml")


class ScramReservedAttribute(SharedServerCase):
    """A1: RFC 5802 section 5.1 says a client-first with m= must fail."""

    accounts = {"alice": PASSWORD}

    def check_reserved_attribute_fails(self, mechanism):
        with self.server.client() as client:
            client.open_stream()
            client.starttls()
            client.open_stream()
            first = b"n,,m=ext1,n=alice,r=" + base64.b64encode(b"0123456789abcdef")
            answer = client.sasl_auth(mechanism, first)
            self.assertEqual(local_name(answer), "failure",
                             "the server must not send a challenge for m=")
            self.assertIn(sasl_condition(answer), ("malformed-request", "not-authorized"))

    def test_reserved_attribute_fails_with_sha1(self):
        self.check_reserved_attribute_fails("SCRAM-SHA-1")

    def test_reserved_attribute_fails_with_sha256(self):
        self.check_reserved_attribute_fails("SCRAM-SHA-256")


class UsernameCase(unittest.TestCase):
    """A2: the username is a JID localpart, so nodeprep folds its case."""

    def test_plain_login_with_capitals_binds_lowercase_jid(self):
        with Server(accounts={"alicex": PASSWORD}) as server:
            with server.client() as client:
                client.open_stream()
                client.starttls()
                client.open_stream()
                answer = client.sasl_auth("PLAIN", plain_message("AliceX", PASSWORD))
                self.assertEqual(local_name(answer), "success")
                client.open_stream()
                jid = client.bind()
                self.assertTrue(jid.startswith(f"alicex@{DOMAIN}/"), jid)


if __name__ == "__main__":
    unittest.main()
