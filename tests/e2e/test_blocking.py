"""XEP-0191 blocking: a blocked contact receives nothing, presence included,
and the user cannot send to a JID they blocked."""

import time
import unittest

from harness import SharedServerCase

PASSWORD = "blocking secret"
NS = "urn:xmpp:blocking"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def is_message(element):
    return element.tag == "{jabber:client}message"


def make_contacts(alice, bob):
    """Mutual subscription, both available."""
    for client in (alice, bob):
        client.send("<presence/>")
    alice.send("<presence to='bob@localhost' type='subscribe'/>")
    bob.read_until(lambda e: e.get("type") == "subscribe")
    bob.send("<presence to='alice@localhost' type='subscribed'/>")
    bob.send("<presence to='alice@localhost' type='subscribe'/>")
    alice.read_until(lambda e: e.get("type") == "subscribe")
    alice.send("<presence to='bob@localhost' type='subscribed'/>")
    bob.read_until(lambda e: e.get("from") == "alice@localhost/pc" and e.get("type") is None)


class Blocking(SharedServerCase):
    accounts = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD, "dave": PASSWORD}

    def test_blocklist_starts_empty(self):
        with self.server.login("carol", PASSWORD) as carol:
            result = carol.iq(f"<blocklist xmlns='{NS}'/>")
            blocklist = result.find(f"{{{NS}}}blocklist")
            self.assertIsNotNone(blocklist)
            self.assertEqual(len(blocklist), 0)

    def test_blocked_contact_receives_nothing(self):
        with self.server.login("alice", PASSWORD, "pc") as alice, \
                self.server.login("bob", PASSWORD, "phone") as bob:
            make_contacts(alice, bob)
            alice.iq(f"<blocklist xmlns='{NS}'/>")
            alice.iq(f"<block xmlns='{NS}'><item jid='bob@localhost'/></block>", type_="set")

            # XEP-0191 3.3: the push reaches the resource that asked for the list.
            push = alice.read_until(lambda e: e.get("type") == "set")
            self.assertIsNotNone(push.find(f"{{{NS}}}block/{{{NS}}}item[@jid='bob@localhost']"))

            # Bob saw alice available, so he now sees her unavailable.
            gone = bob.read_until(lambda e: e.get("type") == "unavailable")
            self.assertEqual(gone.get("from"), "alice@localhost/pc")

            # Presence updates and messages from alice no longer reach bob.
            alice.send("<presence><show>away</show></presence>")
            bob.message("alice@localhost", "are you there?")
            error = bob.read_until(is_message)
            self.assertEqual(error.get("type"), "error")
            self.assertIsNotNone(error.find(f".//{{{STANZAS}}}service-unavailable"))
            with self.assertRaises(TimeoutError):
                bob.read_element(timeout=0.5)

    def test_sending_to_blocked_jid_is_refused(self):
        with self.server.login("carol", PASSWORD) as carol, \
                self.server.login("dave", PASSWORD) as dave:
            carol.iq(f"<block xmlns='{NS}'><item jid='dave@localhost'/></block>", type_="set")
            carol.message("dave@localhost", "hello")
            error = carol.read_until(is_message)
            self.assertEqual(error.get("type"), "error")
            self.assertIsNotNone(error.find(f".//{{{STANZAS}}}not-acceptable"))
            self.assertIsNotNone(error.find(".//{urn:xmpp:blocking:errors}blocked"))

            # Unblocking everything restores delivery.
            dave.send("<presence/>")
            carol.iq(f"<unblock xmlns='{NS}'/>", type_="set")
            carol.message("dave@localhost", "hello again")
            arrived = dave.read_until(is_message)
            self.assertEqual(arrived.findtext("{jabber:client}body"), "hello again")

    def test_block_without_items_is_bad_request(self):
        with self.server.login("carol", PASSWORD) as carol:
            carol.send(f"<iq type='set' id='b1'><block xmlns='{NS}'/></iq>")
            reply = carol.read_until(lambda e: e.get("id") == "b1")
            self.assertEqual(reply.get("type"), "error")
            self.assertIsNotNone(reply.find(f".//{{{STANZAS}}}bad-request"))

    def test_invalid_jid_is_jid_malformed(self):
        with self.server.login("carol", PASSWORD) as carol:
            carol.send(f"<iq type='set' id='b2'><block xmlns='{NS}'><item jid='@bad'/></block></iq>")
            reply = carol.read_until(lambda e: e.get("id") == "b2")
            self.assertIsNotNone(reply.find(f".//{{{STANZAS}}}jid-malformed"))


if __name__ == "__main__":
    unittest.main()
