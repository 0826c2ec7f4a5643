"""Faults inside the server: a crashed session actor.

server.fault_injection lets a client crash its own session actor the way a
bug would. Its connection ends with <internal-server-error/>, every contact
who saw the resource available receives unavailable presence, and other
sessions keep working.
"""

import time
import unittest

from harness import SharedServerCase

PASSWORD = "fault secret"
CRASH = "<iq type='set' id='boom'><crash xmlns='urn:starling:fault-injection'/></iq>"


def subscribe_both_ways(alice, bob):
    """Give alice and bob subscription 'both' and make both available."""
    for client in (alice, bob):
        client.send("<presence/>")
        client.read_until(lambda e: e.get("type") is None and e.tag.endswith("presence"))
    alice.send("<presence to='bob@localhost' type='subscribe'/>")
    bob.read_until(lambda e: e.get("type") == "subscribe")
    bob.send("<presence to='alice@localhost' type='subscribed'/>")
    bob.send("<presence to='alice@localhost' type='subscribe'/>")
    alice.read_until(lambda e: e.get("type") == "subscribe")
    alice.send("<presence to='bob@localhost' type='subscribed'/>")
    # Approving sends alice's presence to bob at once (RFC 6121 3.1.5).
    bob.read_until(lambda e: e.get("from") == "alice@localhost/pc" and e.get("type") is None)


class SessionCrash(SharedServerCase):
    overrides = {"server.fault_injection": True}
    accounts = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD}

    def test_contacts_see_crashed_session_leave(self):
        with self.server.login("alice", PASSWORD, "pc") as alice, \
                self.server.login("bob", PASSWORD, "phone") as bob, \
                self.server.login("carol", PASSWORD, "tab") as carol:
            subscribe_both_ways(alice, bob)

            alice.send(CRASH)
            alice.expect_stream_error("internal-server-error")

            gone = bob.read_until(lambda e: e.get("type") == "unavailable")
            self.assertEqual(gone.get("from"), "alice@localhost/pc")

            # Everyone else is undisturbed.
            self.assertIsNotNone(bob.ping())
            self.assertIsNotNone(carol.ping())
            carol.message("bob@localhost/phone", "still here")
            self.assertEqual(bob.read_message().findtext("{jabber:client}body"), "still here")

    def test_crashed_user_can_log_in_again(self):
        with self.server.login("carol", PASSWORD, "tab") as carol:
            carol.send(CRASH)
            carol.expect_stream_error("internal-server-error")
        with self.server.login("carol", PASSWORD, "tab") as carol:
            self.assertIsNotNone(carol.ping())


class FaultInjectionOff(SharedServerCase):
    accounts = {"alice": PASSWORD}

    def test_crash_request_is_refused_by_default(self):
        with self.server.login("alice", PASSWORD) as alice:
            alice.send(CRASH)
            reply = alice.read_element()
            self.assertEqual(reply.get("type"), "error")
            self.assertIsNotNone(reply.find(".//{urn:ietf:params:xml:ns:xmpp-stanzas}"
                                            "service-unavailable"))
            self.assertIsNotNone(alice.ping())


if __name__ == "__main__":
    unittest.main()
