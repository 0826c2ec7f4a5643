"""Interop with real XMPP clients from Debian 12, each against its own starlingd.

| client | Debian package and version | what the test does |
|---|---|---|
| slixmpp | python3-slixmpp 1.8.3 | SCRAM login, messages both ways, roster after a subscription |
| go-sendxmpp | go-sendxmpp 0.5.6 | sends to, and listens with `-l` for, messages |
| sendxmpp | sendxmpp 1.24 (Perl Net::XMPP) | sends to a go-sendxmpp listener |
| libstrophe | libstrophe-dev 0.12.2 | clients/strophe_client.c: roster, one message each way |
| profanity | profanity 0.13.1 in tmux 3.3a | /connect, /msg, a reply on screen, /roster, /quit |
| tsung | tsung 1.7.0 (jabber plugin) | 200 users log in, chat and change presence, no errors |

The certificate is self-signed, so every client runs with its check off.
A failing test prints the client's output here and the server log tail
through SharedServerCase. tsung runs as its own ctest entry, e2e_tsung,
because it takes about 25 s; e2e_real_clients runs the other classes.
"""

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (DOMAIN, NS_CLIENT, SharedServerCase, run_async, slixmpp_next_message,
                     slixmpp_offline, slixmpp_online, tag, wait_for)

PASSWORD = "interop secret"
CLIENT_DEADLINE = 30
NS_ROSTER = "jabber:iq:roster"

# slixmpp 1.8 implements only the tls-unique channel binding, which TLS 1.3 does
# not define. When the server offers -PLUS mechanisms, slixmpp sets the gs2
# flag "y" ("client supports channel binding, thinks the server does not"),
# and RFC 5802 6 requires the server to fail that login because it did
# advertise -PLUS (see test_auth). So the slixmpp server offers no -PLUS
# mechanisms, and slixmpp picks SCRAM on its own.
MECHANISMS_WITHOUT_PLUS = ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]


def require_program(test, name, package):
    if shutil.which(name) is None:
        test.fail(f"{name} not found: install the Debian package {package} "
                  "(scripts/install-deps.sh --test)")


def befriend(server, user, contact, contact_name):
    """Put contact on user's roster with a subscription approved by contact.

    Returns the roster push item that user saw last.
    """
    user_jid = f"{user}@{DOMAIN}"
    contact_jid = f"{contact}@{DOMAIN}"
    with server.login(user, PASSWORD, "setup") as asker, \
            server.login(contact, PASSWORD, "setup") as approver:
        approver.send("<presence/>")
        # RFC 6121 2.1.6: only a resource that requested the roster is an
        # interested resource and gets roster pushes.
        asker.iq(f"<query xmlns='{NS_ROSTER}'/>")
        reply = asker.iq(f"<query xmlns='{NS_ROSTER}'><item jid='{contact_jid}' "
                         f"name='{contact_name}'/></query>", type_="set")
        if reply.get("type") != "result":
            raise AssertionError(f"roster set for {contact_jid} failed: {reply.attrib}")

        # RFC 6121 3.1: subscribe, the contact approves, then the user's
        # roster push carries subscription='to'.
        asker.send(f"<presence to='{contact_jid}' type='subscribe'/>")
        approver.read_until(lambda e: e.tag == tag(NS_CLIENT, "presence")
                            and e.get("type") == "subscribe")
        approver.send(f"<presence to='{user_jid}' type='subscribed'/>")

        def pushed_to(element):
            item = element.find(f"{{{NS_ROSTER}}}query/{{{NS_ROSTER}}}item")
            return (element.tag == tag(NS_CLIENT, "iq") and item is not None
                    and item.get("subscription") == "to")

        push = asker.read_until(pushed_to)
        return push.find(f"{{{NS_ROSTER}}}query/{{{NS_ROSTER}}}item")


def bound_resource(server, bare_jid, resource, timeout=CLIENT_DEADLINE):
    """Wait until the server log shows bare_jid/resource bound."""
    server.wait_log(re.escape(f"bound {bare_jid}/{resource}"), timeout=timeout)


def run_client(command, timeout=CLIENT_DEADLINE, **kwargs):
    """Run a client to completion; fail with its output when it fails."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                **kwargs)
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"{command[0]} timed out after {timeout} s:\n"
                             f"{expired.stdout}\n{expired.stderr}") from None
    if result.returncode != 0:
        raise AssertionError(f"{command[0]} exited with {result.returncode}:\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


# -- slixmpp -------------------------------------------------------------------


class Slixmpp(SharedServerCase):
    overrides = {"auth.mechanisms": MECHANISMS_WITHOUT_PLUS}
    accounts = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD, "dave": PASSWORD}

    def test_slixmpp_logs_in_with_scram(self):
        async def scenario():
            client = await slixmpp_online(f"alice@{DOMAIN}/scram", PASSWORD,
                                          self.server.starttls_port)
            await slixmpp_offline(client)

        run_async(scenario(), timeout=CLIENT_DEADLINE)
        self.server.wait_log(r"authenticated as alice@localhost with SCRAM-SHA-512")

    def test_slixmpp_exchanges_messages(self):
        server = self.server

        async def scenario():
            alice = await slixmpp_online(f"alice@{DOMAIN}/chat", PASSWORD, server.starttls_port)
            bob = await slixmpp_online(f"bob@{DOMAIN}/chat", PASSWORD, server.starttls_port)
            try:
                waiting = asyncio.ensure_future(slixmpp_next_message(bob))
                alice.send_message(mto=bob.boundjid, mbody="hello bob", mtype="chat")
                to_bob = await waiting

                waiting = asyncio.ensure_future(slixmpp_next_message(alice))
                bob.send_message(mto=to_bob["from"], mbody="hello alice", mtype="chat")
                to_alice = await waiting
                return to_bob, to_alice
            finally:
                await slixmpp_offline(alice)
                await slixmpp_offline(bob)

        to_bob, to_alice = run_async(scenario(), timeout=2 * CLIENT_DEADLINE)
        self.assertEqual(to_bob["body"], "hello bob")
        self.assertEqual(str(to_bob["from"]), f"alice@{DOMAIN}/chat")
        self.assertEqual(to_alice["body"], "hello alice")
        self.assertEqual(str(to_alice["from"]), f"bob@{DOMAIN}/chat")

    def test_slixmpp_roster_has_contact_after_subscription(self):
        server = self.server
        dave_jid = f"dave@{DOMAIN}"

        async def scenario():
            carol = await slixmpp_online(f"carol@{DOMAIN}/roster", PASSWORD,
                                         server.starttls_port)
            dave = await slixmpp_online(f"dave@{DOMAIN}/roster", PASSWORD, server.starttls_port)
            try:
                # RFC 6121 2.1.6: roster pushes go only to resources that
                # requested the roster.
                await carol.get_roster(timeout=CLIENT_DEADLINE)
                # RFC 6121 3.1.3: a subscription request reaches dave's
                # available resources, so dave sends initial presence.
                dave.send_presence()
                # dave approves on his own: slixmpp's auto_authorize is on
                # by default, so it replies to subscribe with subscribed.
                carol.send_presence_subscription(pto=dave_jid)

                def subscribed():
                    entry = carol.client_roster[dave_jid]
                    return entry["subscription"] in ("to", "both")

                deadline = time.monotonic() + CLIENT_DEADLINE
                while not subscribed() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                pushed = carol.client_roster[dave_jid]["subscription"]

                # A roster get without 'ver': slixmpp's get_roster() sends
                # the version it has, and RFC 6121 2.6.3 lets the server
                # reply to that with an empty result.
                request = carol.Iq()
                request["type"] = "get"
                request.enable("roster")
                result = await request.send(timeout=CLIENT_DEADLINE)
                return pushed, result["roster"]["items"]
            finally:
                await slixmpp_offline(carol)
                await slixmpp_offline(dave)

        pushed, items = run_async(scenario(), timeout=2 * CLIENT_DEADLINE)
        self.assertIn(pushed, ("to", "both"), "roster pushes gave no subscription to dave")
        self.assertIn(dave_jid, [str(jid) for jid in items], f"roster result: {items}")
        item = items[dave_jid]
        self.assertIn(item["subscription"], ("to", "both"), f"roster item: {item}")


# -- go-sendxmpp and sendxmpp ---------------------------------------------------


class CommandLineClients(SharedServerCase):
    """sendxmpp and go-sendxmpp send to a go-sendxmpp listener (`-l`)."""

    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def listen(self, resource):
        """Start go-sendxmpp -l as bob/resource; return it once it is bound.

        A thread collects the listener's output lines in listener.lines.
        """
        require_program(self, "go-sendxmpp", "go-sendxmpp")
        listener = subprocess.Popen(
            ["go-sendxmpp", "-l", "-u", f"bob@{DOMAIN}", "-p", PASSWORD, "-r", resource,
             "-j", f"127.0.0.1:{self.server.starttls_port}", "-n"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        listener.lines = []
        listener.reader = threading.Thread(target=lambda: listener.lines.extend(listener.stdout),
                                           daemon=True)
        listener.reader.start()
        try:
            bound_resource(self.server, f"bob@{DOMAIN}", resource)
        except AssertionError:
            output = self.stop_listener(listener)
            raise AssertionError(f"go-sendxmpp -l did not bind:\n{output}") from None
        return listener

    @staticmethod
    def stop_listener(listener):
        """Stop the listener by its PID and return everything it printed."""
        if listener.poll() is None:
            listener.send_signal(signal.SIGINT)
            try:
                listener.wait(timeout=5)
            except subprocess.TimeoutExpired:
                listener.kill()
                listener.wait()
        listener.reader.join(timeout=5)
        listener.stdout.close()
        return "".join(listener.lines)

    def deliver_to_listener(self, resource, text, send):
        """Run send(full_jid) and wait until the listener prints text; return its output."""
        listener = self.listen(resource)
        full_jid = f"bob@{DOMAIN}/{resource}"
        try:
            send(full_jid)
            try:
                wait_for(lambda: text in "".join(listener.lines), CLIENT_DEADLINE,
                         f"go-sendxmpp -l prints {text!r}")
            except AssertionError:
                pass  # the asserts below show the output
        finally:
            output = self.stop_listener(listener)
        return output

    def test_go_sendxmpp_delivers_to_listener(self):
        text = "go-sendxmpp to listener " + secrets.token_hex(4)

        def send(full_jid):
            run_client(["go-sendxmpp", "-u", f"alice@{DOMAIN}", "-p", PASSWORD,
                        "-j", f"127.0.0.1:{self.server.starttls_port}", "-n", full_jid],
                       input=text)

        output = self.deliver_to_listener("go-listener", text, send)
        self.assertIn(text, output, f"go-sendxmpp -l output:\n{output}")
        self.assertIn(f"alice@{DOMAIN}", output, f"go-sendxmpp -l output:\n{output}")

    def test_sendxmpp_delivers_to_listener(self):
        require_program(self, "sendxmpp", "sendxmpp")
        text = "sendxmpp to listener " + secrets.token_hex(4)
        # sendxmpp reads the password from this file and requires mode 0600.
        config = os.path.join(self.server.workdir, "sendxmpprc")
        with open(config, "w") as out:
            out.write(f"username: alice\njserver: {DOMAIN}\n"
                      f"port: {self.server.starttls_port}\npassword: {PASSWORD}\n")
        os.chmod(config, 0o600)

        def send(full_jid):
            run_client(["sendxmpp", "-f", config, "-t", "-n", full_jid], input=text)

        output = self.deliver_to_listener("perl-listener", text, send)
        self.assertIn(text, output, f"go-sendxmpp -l output:\n{output}")
        self.assertIn(f"alice@{DOMAIN}", output, f"go-sendxmpp -l output:\n{output}")


# -- libstrophe ----------------------------------------------------------------


class Libstrophe(SharedServerCase):
    """clients/strophe_client.c, built by CMake when pkg-config finds libstrophe."""

    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # unittest skips tearDownClass when setUpClass raises, so stop the
        # server here in that case.
        try:
            befriend(cls.server, "alice", "bob", "Bob Builder")
        except BaseException:
            cls.server.__exit__(*sys.exc_info())
            raise

    def converse(self, direct_tls):
        program = os.environ.get("STROPHE_CLIENT")
        if not program or not os.access(program, os.X_OK):
            self.fail(f"STROPHE_CLIENT is not set to an executable ({program!r}): install "
                      "libstrophe-dev (scripts/install-deps.sh --test), reconfigure and build "
                      "the strophe_client target")
        port = self.server.direct_tls_port if direct_tls else self.server.starttls_port
        text = "from libstrophe " + secrets.token_hex(4)
        command = [program, "--timeout", str(CLIENT_DEADLINE - 5)]
        if direct_tls:
            command.append("--direct-tls")
        command += [f"alice@{DOMAIN}", PASSWORD, "127.0.0.1", str(port), f"bob@{DOMAIN}", text]

        with self.server.login("bob", PASSWORD, "strophe-peer") as bob:
            bob.send("<presence/>")
            client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
            try:
                message = bob.read_until(lambda e: e.tag == tag(NS_CLIENT, "message"),
                                         timeout=CLIENT_DEADLINE)
                bob.send(f"<message to='{message.get('from')}' type='chat'>"
                         "<body>reply from bob</body></message>")
                stdout, stderr = client.communicate(timeout=CLIENT_DEADLINE)
            except BaseException:
                client.kill()
                stdout, stderr = client.communicate()
                raise AssertionError(f"strophe_client output:\n{stdout}\n{stderr}")

        report = f"strophe_client exited with {client.returncode}:\n{stdout}\n{stderr}"
        self.assertEqual(client.returncode, 0, report)
        self.assertEqual(message.findtext(tag(NS_CLIENT, "body")), text)
        self.assertTrue(message.get("from").startswith(f"alice@{DOMAIN}/"), message.get("from"))
        self.assertRegex(stdout, rf"bound alice@{DOMAIN}/\S+ secured=1", report)
        self.assertIn(f"roster bob@{DOMAIN} subscription=to name=Bob Builder", stdout, report)
        self.assertIn("roster-end 1", stdout, report)
        self.assertIn(f"received bob@{DOMAIN}/strophe-peer reply from bob", stdout, report)

    def test_libstrophe_over_starttls(self):
        self.converse(direct_tls=False)

    def test_libstrophe_over_direct_tls(self):
        self.converse(direct_tls=True)


# -- profanity -----------------------------------------------------------------


class Tmux:
    """A tmux server of its own (socket in a temporary directory) running one program."""

    def __init__(self, directory, command, environment, width=200, height=50):
        self.socket = os.path.join(directory, "tmux.sock")
        self.environment = environment
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", str(width),
                 "-y", str(height), command)

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.socket, *args], env=self.environment,
                              capture_output=True, text=True, timeout=10, check=check)

    def type_line(self, text):
        self.run("send-keys", "-t", "main", "-l", text)
        self.run("send-keys", "-t", "main", "Enter")

    def screen(self):
        """Return the visible pane plus scrollback, or "" when the session is gone."""
        result = self.run("capture-pane", "-p", "-J", "-t", "main", "-S", "-300", check=False)
        return result.stdout if result.returncode == 0 else ""

    def wait_screen(self, pattern, timeout=CLIENT_DEADLINE):
        compiled = re.compile(pattern)
        try:
            return wait_for(lambda: compiled.search(self.screen()), timeout,
                            f"screen matching {pattern!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}; screen:\n{self.screen()}") from None

    def alive(self):
        return self.run("has-session", "-t", "main", check=False).returncode == 0

    def kill_server(self):
        # Only the server on this socket; other tmux servers are left alone.
        self.run("kill-server", check=False)


class Profanity(SharedServerCase):
    accounts = {"alice": PASSWORD, "bob": PASSWORD}

    def test_profanity_messages_and_roster(self):
        require_program(self, "tmux", "tmux")
        require_program(self, "profanity", "profanity")
        befriend(self.server, "alice", "bob", "Bob Builder")

        home = tempfile.mkdtemp(prefix="profanity-", dir=self.server.workdir)
        environment = dict(os.environ, HOME=home, TERM="xterm-256color", LANG="C.UTF-8",
                           XDG_CONFIG_HOME=os.path.join(home, "config"),
                           XDG_DATA_HOME=os.path.join(home, "data"))
        tmux = Tmux(home, "profanity -l DEBUG", environment)
        try:
            self.converse(tmux)
        except BaseException:
            log = os.path.join(home, "data", "profanity", "logs", "profanity.log")
            details = f"profanity screen:\n{tmux.screen()}"
            if os.path.exists(log):
                with open(log, errors="replace") as source:
                    details += "\nprofanity.log tail:\n" + "".join(source.readlines()[-30:])
            raise AssertionError(details)
        finally:
            tmux.kill_server()

    def converse(self, tmux):
        tmux.wait_screen(r"Type '/help'")
        # profanity 0.13: "tls trust" forces TLS and accepts any certificate.
        tmux.type_line(f"/connect alice@{DOMAIN} server 127.0.0.1 "
                       f"port {self.server.starttls_port} tls trust")
        tmux.wait_screen(r"(?i)password")
        tmux.type_line(PASSWORD)
        tmux.wait_screen(rf"alice@{DOMAIN}/\S+ logged in successfully")

        with self.server.login("bob", PASSWORD, "tty-peer") as bob:
            bob.send("<presence/>")
            text = "from profanity " + secrets.token_hex(4)
            # To the bare JID, so that bob's reply from his full JID
            # shows in the same chat window.
            tmux.type_line(f"/msg bob@{DOMAIN} {text}")
            message = bob.read_until(lambda e: e.tag == tag(NS_CLIENT, "message")
                                     and e.find(tag(NS_CLIENT, "body")) is not None,
                                     timeout=CLIENT_DEADLINE)
            self.assertEqual(message.findtext(tag(NS_CLIENT, "body")), text)
            self.assertTrue(message.get("from").startswith(f"alice@{DOMAIN}/"))

            bob.send(f"<message to='{message.get('from')}' type='chat'>"
                     "<body>reply shown in profanity</body></message>")
            tmux.wait_screen(r"reply shown in profanity")

        # /roster prints into the console window, which is window 1.
        tmux.type_line("/win 1")
        tmux.type_line("/roster")
        tmux.wait_screen(r"Roster: jid \(nick\) - subscription - groups")
        tmux.wait_screen(rf"bob@{DOMAIN} \(Bob Builder\) - to")

        tmux.type_line("/quit")
        wait_for(lambda: not tmux.alive(), CLIENT_DEADLINE, "profanity exits after /quit")


# -- tsung ---------------------------------------------------------------------


class TsungLoad(SharedServerCase):
    """200 tsung users: STARTTLS, PLAIN, bind, presence, roster, chat, close."""

    def test_tsung_users_finish_without_errors(self):
        from clients.tsung_runner import USERS, run_tsung

        workdir = tempfile.mkdtemp(prefix="tsung-", dir=self.server.workdir)
        try:
            report = run_tsung(self.server, workdir)
        except RuntimeError as error:
            self.fail(str(error))
        details = report.describe()

        self.assertEqual(report.returncode, 0, details)
        self.assertEqual(report.errors(), {}, details)
        self.assertEqual(report.counters.get("users_count"), USERS, details)
        self.assertEqual(report.counters.get("finish_users_count"), USERS, details)
        self.assertEqual(report.counters.get("tr_authenticate"), USERS, details)
        self.assertEqual(report.counters.get("tr_roster"), USERS, details)
        self.assertEqual(report.counters.get("tr_chat"), 5 * USERS, details)
        self.assertEqual(report.counters.get("tr_close"), USERS, details)


if __name__ == "__main__":
    unittest.main()
