"""Third-party command-line clients send a message that a slixmpp client receives.

go-sendxmpp (Debian 0.5.6) and sendxmpp (Debian 1.24, Perl Net::XMPP) both
log in with PLAIN after TLS. The default configuration offers PLAIN on TLS
streams, so the server runs with no client-specific changes. Their
certificate checks are off (-n) because the certificate is self-signed.
"""

import asyncio
import os
import secrets
import subprocess
import unittest

from harness import (DOMAIN, SharedServerCase, run_async, slixmpp_next_message,
                     slixmpp_offline, slixmpp_online)

PASSWORD = "client secret"
CLIENT_DEADLINE = 30


async def wait_own_presence(client, timeout=10):
    """Send initial presence and wait until the server returns it.

    A message to a bare JID reaches only available resources (RFC 6121
    8.5.2.1), so the receiver must be available before anyone sends.
    """
    echoed = asyncio.get_running_loop().create_future()

    def on_presence(presence):
        if presence["from"] == client.boundjid and not echoed.done():
            echoed.set_result(True)

    client.add_event_handler("presence_available", on_presence)
    client.send_presence()
    try:
        await asyncio.wait_for(echoed, timeout)
    finally:
        client.del_event_handler("presence_available", on_presence)


class CommandLineClients(SharedServerCase):
    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def deliver_with(self, command, text, stdin_text=None):
        """Run command while bob listens; return the message bob received."""
        server = self.server

        async def scenario():
            # PLAIN because slixmpp 1.8 responds to offered -PLUS mechanisms
            # with the gs2 flag "y", which the server must reject (test_auth).
            bob = await slixmpp_online(f"bob@{DOMAIN}/listener", PASSWORD, server.starttls_port,
                                       sasl_mech="PLAIN")
            try:
                await wait_own_presence(bob)
                waiting = asyncio.ensure_future(slixmpp_next_message(bob, timeout=CLIENT_DEADLINE))
                result = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: subprocess.run(command, input=stdin_text or text,
                                                 capture_output=True, text=True,
                                                 timeout=CLIENT_DEADLINE))
                if result.returncode != 0:
                    waiting.cancel()
                    raise AssertionError(f"{command[0]} exited with {result.returncode}:\n"
                                         f"{result.stdout}\n{result.stderr}")
                return await waiting
            finally:
                await slixmpp_offline(bob)

        message = run_async(scenario(), timeout=2 * CLIENT_DEADLINE)
        self.assertEqual(message["body"].strip(), text)
        self.assertEqual(message["from"].bare, f"alice@{DOMAIN}")
        return message

    def test_go_sendxmpp_starttls_delivers_message(self):
        text = "go-sendxmpp over STARTTLS " + secrets.token_hex(4)
        self.deliver_with(["go-sendxmpp", "-u", f"alice@{DOMAIN}", "-p", PASSWORD,
                           "-j", f"127.0.0.1:{self.server.starttls_port}", "-n",
                           f"bob@{DOMAIN}"], text)

    def test_go_sendxmpp_direct_tls_delivers_message(self):
        text = "go-sendxmpp over direct TLS " + secrets.token_hex(4)
        self.deliver_with(["go-sendxmpp", "-u", f"alice@{DOMAIN}", "-p", PASSWORD,
                           "-j", f"127.0.0.1:{self.server.direct_tls_port}", "-t", "-n",
                           f"bob@{DOMAIN}"], text)

    def sendxmpp_config(self, port):
        # sendxmpp reads the password from this file and requires mode 0600.
        path = os.path.join(self.server.workdir, f"sendxmpprc-{port}")
        with open(path, "w") as out:
            out.write(f"username: alice\njserver: {DOMAIN}\nport: {port}\n"
                      f"password: {PASSWORD}\n")
        os.chmod(path, 0o600)
        return path

    def test_sendxmpp_starttls_delivers_message(self):
        text = "sendxmpp over STARTTLS " + secrets.token_hex(4)
        config = self.sendxmpp_config(self.server.starttls_port)
        self.deliver_with(["sendxmpp", "-f", config, "-t", "-n", f"bob@{DOMAIN}"], text)

    def test_sendxmpp_direct_tls_delivers_message(self):
        text = "sendxmpp over direct TLS " + secrets.token_hex(4)
        config = self.sendxmpp_config(self.server.direct_tls_port)
        self.deliver_with(["sendxmpp", "-f", config, "-e", "-n", f"bob@{DOMAIN}"], text)


if __name__ == "__main__":
    unittest.main()
