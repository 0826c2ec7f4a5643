"""What the server answers for an account: vCards (XEP-0054) and last
activity (XEP-0012), for the account itself and for other users."""

import time
import unittest

from harness import SharedServerCase

PASSWORD = "services secret"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
VCARD = "vcard-temp"
LAST = "jabber:iq:last"


def condition(reply):
    error = reply.find("{jabber:client}error")
    return None if error is None else error[0].tag.split("}")[1]


class VCard(SharedServerCase):
    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_vcard_round_trip(self):
        with self.server.login("alice", PASSWORD) as alice, \
                self.server.login("bob", PASSWORD) as bob:
            empty = alice.iq(f"<vCard xmlns='{VCARD}'/>")
            self.assertEqual(len(empty.find(f"{{{VCARD}}}vCard")), 0)

            alice.iq(f"<vCard xmlns='{VCARD}'><FN>Alice Example</FN><NICKNAME>al &amp; co</NICKNAME></vCard>",
                     type_="set")
            own = alice.iq(f"<vCard xmlns='{VCARD}'/>")
            self.assertEqual(own.findtext(f"{{{VCARD}}}vCard/{{{VCARD}}}FN"), "Alice Example")

            # Anyone may read it through alice's bare JID.
            other = bob.iq(f"<vCard xmlns='{VCARD}'/>", to="alice@localhost")
            self.assertEqual(other.findtext(f"{{{VCARD}}}vCard/{{{VCARD}}}NICKNAME"), "al & co")
            self.assertEqual(other.get("from"), "alice@localhost")

    def test_setting_another_users_vcard_is_forbidden(self):
        with self.server.login("bob", PASSWORD) as bob:
            bob.send(f"<iq type='set' id='v1' to='alice@localhost'><vCard xmlns='{VCARD}'><FN>x</FN></vCard></iq>")
            reply = bob.read_until(lambda e: e.get("id") == "v1")
            self.assertEqual(condition(reply), "forbidden")

    def test_unknown_user_is_service_unavailable(self):
        with self.server.login("bob", PASSWORD) as bob:
            bob.send(f"<iq type='get' id='v2' to='nobody@localhost'><vCard xmlns='{VCARD}'/></iq>")
            reply = bob.read_until(lambda e: e.get("id") == "v2")
            self.assertEqual(condition(reply), "service-unavailable")


class LastActivity(SharedServerCase):
    accounts = {"carol": PASSWORD, "dave": PASSWORD, "erin": PASSWORD}

    def test_server_uptime(self):
        with self.server.login("carol", PASSWORD) as carol:
            reply = carol.iq(f"<query xmlns='{LAST}'/>", to="localhost")
            self.assertGreaterEqual(int(reply.find(f"{{{LAST}}}query").get("seconds")), 0)

    def test_contact_sees_time_since_logout(self):
        with self.server.login("carol", PASSWORD, "pc") as carol, \
                self.server.login("dave", PASSWORD, "phone") as dave:
            for client in (carol, dave):
                client.send("<presence/>")
            dave.send("<presence to='carol@localhost' type='subscribe'/>")
            carol.read_until(lambda e: e.get("type") == "subscribe")
            carol.send("<presence to='dave@localhost' type='subscribed'/>")
            dave.read_until(lambda e: e.get("from") == "carol@localhost/pc")

            online = dave.iq(f"<query xmlns='{LAST}'/>", to="carol@localhost")
            self.assertEqual(online.find(f"{{{LAST}}}query").get("seconds"), "0")

            carol.send("<presence type='unavailable'><status>gone fishing</status></presence>")
            dave.read_until(lambda e: e.get("type") == "unavailable")
            time.sleep(1.2)
            away = dave.iq(f"<query xmlns='{LAST}'/>", to="carol@localhost")
            query = away.find(f"{{{LAST}}}query")
            self.assertGreaterEqual(int(query.get("seconds")), 1)
            self.assertEqual(query.text, "gone fishing")

    def test_stranger_is_forbidden(self):
        with self.server.login("erin", PASSWORD) as erin:
            erin.send(f"<iq type='get' id='l1' to='carol@localhost'><query xmlns='{LAST}'/></iq>")
            reply = erin.read_until(lambda e: e.get("id") == "l1")
            self.assertEqual(condition(reply), "forbidden")


if __name__ == "__main__":
    unittest.main()


class ServerCapabilities(SharedServerCase):
    """XEP-0115: the caps hash in the stream features matches disco#info."""

    accounts = {"frank": PASSWORD}

    def test_caps_hash_matches_disco_info(self):
        import base64
        import hashlib

        with self.server.login("frank", PASSWORD) as frank:
            caps = frank.features.find("{http://jabber.org/protocol/caps}c")
            self.assertIsNotNone(caps)
            self.assertEqual(caps.get("hash"), "sha-1")

            info = frank.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>", to="localhost")
            query = info.find("{http://jabber.org/protocol/disco#info}query")
            identities = sorted(
                f"{i.get('category')}/{i.get('type')}/{i.get('{http://www.w3.org/XML/1998/namespace}lang') or ''}/{i.get('name') or ''}"
                for i in query.findall("{http://jabber.org/protocol/disco#info}identity"))
            features = sorted(f.get("var") for f in
                              query.findall("{http://jabber.org/protocol/disco#info}feature"))
            text = "".join(i + "<" for i in identities) + "".join(f + "<" for f in features)
            expected = base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()
            self.assertEqual(caps.get("ver"), expected)
            self.assertIn("http://jabber.org/protocol/caps", features)

            node = f"{caps.get('node')}#{caps.get('ver')}"
            by_node = frank.iq(f"<query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/>",
                               to="localhost")
            self.assertEqual(by_node.find("{http://jabber.org/protocol/disco#info}query").get("node"),
                             node)
