"""Process lifecycle of starlingd and the starlingctl admin tool.

Signals (SIGTERM and SIGINT stop, SIGHUP reloads), configuration errors at
start and on reload, --check-config, a port that is already taken, and
starlingctl working on the data directory of a running server.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (DOMAIN, Server, SharedServerCase, binary, config_text, free_port,
                     wait_for)

PASSWORD = "lifecycle secret"
EXIT_DEADLINE = 10.0


def run_starlingd(config_path, *extra, timeout=20):
    return subprocess.run([binary("STARLINGD"), "-c", config_path, *extra],
                          capture_output=True, text=True, timeout=timeout)


def line_of(text, needle):
    """Return the 1-based line number of the first line containing needle."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the config text")


class Shutdown(unittest.TestCase):
    """RFC 6120 4.9.3.18: open streams get <system-shutdown/> before close."""

    def check_shutdown(self, number):
        with Server(accounts={"alice": PASSWORD, "bob": PASSWORD}) as server:
            clients = [server.login("alice", PASSWORD), server.login("bob", PASSWORD)]
            waiting = server.client()
            waiting.open_stream()
            clients.append(waiting)

            started = time.monotonic()
            server.send_signal(number)
            for client in clients:
                with client:
                    client.expect_stream_error("system-shutdown")
            code = server.wait_exit(EXIT_DEADLINE)
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - started, EXIT_DEADLINE)
            self.assertIn("all actors stopped", server.log())

    def test_sigterm_sends_system_shutdown_and_exits_0(self):
        self.check_shutdown(signal.SIGTERM)

    def test_sigint_sends_system_shutdown_and_exits_0(self):
        self.check_shutdown(signal.SIGINT)


class Reload(unittest.TestCase):
    """SIGHUP re-reads the configuration file."""

    def test_sighup_changes_log_level(self):
        with Server(accounts={"alice": PASSWORD}, log_level="info") as server:
            server.client().close()
            self.assertNotIn(" debug ", server.log())

            server.log_level = "debug"
            server.write_config()
            server.send_signal(signal.SIGHUP)
            server.wait_log(r"reload: log level debug")

            # The new level applies: connections now log at debug.
            with server.login("alice", PASSWORD) as client:
                client.ping()
            server.wait_log(r" debug .*connected")

    def test_sighup_with_invalid_config_keeps_running(self):
        with Server(accounts={"alice": PASSWORD}, log_level="info") as server:
            server.write_config(**{"server.log_level": "loud"})
            server.send_signal(signal.SIGHUP)
            server.wait_log(r"reload: configuration invalid, nothing changed")
            self.assertRegex(server.log(), r"server\.log_level: invalid value 'loud'")
            self.assertIsNone(server.process.poll())
            with server.login("alice", PASSWORD) as client:
                client.ping()


class ConfigErrors(unittest.TestCase):
    """starlingd rejects a bad configuration before it starts anything."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="starling-e2e-config-")
        self.addCleanup(self.directory.cleanup)
        self.path = os.path.join(self.directory.name, "starling.toml")

    def write(self, text):
        with open(self.path, "w") as out:
            out.write(text)
        return text

    def base_text(self, **overrides):
        settings = {"server.data_dir": os.path.join(self.directory.name, "data"),
                    "c2s.starttls_port": free_port(), "c2s.direct_tls_port": free_port()}
        settings.update(overrides)
        return config_text(settings)

    def test_invalid_value_names_key_value_and_line(self):
        text = self.write(self.base_text(**{"c2s.limits.max_depth": 100000}))
        result = run_starlingd(self.path)
        self.assertNotEqual(result.returncode, 0)
        line = line_of(text, "max_depth = 100000")
        self.assertIn(f"{self.path}:{line}:", result.stderr)
        self.assertIn("c2s.limits.max_depth", result.stderr)
        self.assertIn("100000", result.stderr)

    def test_invalid_string_value_names_the_value(self):
        text = self.write(self.base_text(**{"c2s.resource_conflict": "sometimes"}))
        result = run_starlingd(self.path)
        self.assertNotEqual(result.returncode, 0)
        line = line_of(text, 'resource_conflict = "sometimes"')
        self.assertIn(f"{self.path}:{line}:", result.stderr)
        self.assertIn("c2s.resource_conflict", result.stderr)
        self.assertIn("sometimes", result.stderr)

    def test_unknown_key_is_rejected(self):
        text = self.write(self.base_text(**{"server.colour": "blue"}))
        result = run_starlingd(self.path)
        self.assertNotEqual(result.returncode, 0)
        line = line_of(text, 'colour = "blue"')
        self.assertIn(f"{self.path}:{line}: server.colour: unknown key", result.stderr)

    def test_check_config_accepts_valid_file(self):
        self.write(self.base_text())
        result = run_starlingd(self.path, "--check-config")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("configuration is valid", result.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.directory.name, "data")),
                         "--check-config must not create the data directory")

    def test_check_config_rejects_invalid_file(self):
        self.write(self.base_text(**{"auth.mechanisms": ["SCRAM-SHA-256", "CRAM-MD5"]}))
        result = run_starlingd(self.path, "--check-config")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("CRAM-MD5", result.stderr)

    def test_missing_config_file_is_reported(self):
        result = run_starlingd(os.path.join(self.directory.name, "absent.toml"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("absent.toml", result.stderr)

    def test_port_in_use_exits_with_address_and_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            self.write(self.base_text(**{"c2s.starttls_port": port}))
            result = run_starlingd(self.path)
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn(f"127.0.0.1:{port}", output)


class Starlingctl(SharedServerCase):
    """starlingctl changes accounts in the data directory of a running server."""

    accounts = {"alice": PASSWORD}

    def ctl(self, *args):
        return self.server.ctl(*args)

    def test_register_then_login(self):
        result = self.ctl("register", "frank", "-p", "frank secret")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"registered frank@{DOMAIN}", result.stdout)
        with self.server.login("frank", "frank secret") as client:
            client.ping()

    def test_list_shows_accounts(self):
        self.ctl("register", "grace", "-p", PASSWORD)
        result = self.ctl("list")
        self.assertEqual(result.returncode, 0, result.stderr)
        names = result.stdout.split()
        self.assertIn("alice", names)
        self.assertIn("grace", names)

    def test_passwd_changes_the_login_password(self):
        self.ctl("register", "heidi", "-p", "before")
        result = self.ctl("passwd", "heidi", "-p", "after")
        self.assertEqual(result.returncode, 0, result.stderr)
        with self.server.login("heidi", "after") as client:
            client.ping()
        with self.assertRaisesRegex(AssertionError, "not-authorized"):
            self.server.login("heidi", "before")

    def test_unregister_stops_logins(self):
        self.ctl("register", "ivan", "-p", PASSWORD)
        result = self.ctl("unregister", "ivan")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("ivan", self.ctl("list").stdout.split())
        with self.assertRaisesRegex(AssertionError, "not-authorized"):
            self.server.login("ivan", PASSWORD)

    def test_stats_lists_the_store(self):
        result = self.ctl("stats")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("map size", result.stdout)
        self.assertRegex(result.stdout, r"table \S+\s+\d+ entries")

    def test_check_config_accepts_the_server_config(self):
        result = self.ctl("check-config")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("configuration is valid", result.stdout)

    def test_duplicate_account_is_an_error(self):
        result = self.ctl("register", "alice", "-p", "other")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("account 'alice' already exists", result.stderr)

    def test_unknown_account_is_an_error(self):
        for command in (["passwd", "nobody", "-p", "x"], ["unregister", "nobody"]):
            with self.subTest(command=command[0]):
                result = self.ctl(*command)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn("account 'nobody' does not exist", result.stderr)

    def test_invalid_username_is_an_error(self):
        result = self.ctl("register", "bad name", "-p", PASSWORD)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("invalid username 'bad name'", result.stderr)

    def test_unknown_host_is_an_error(self):
        result = self.ctl("register", "judy@example.org", "-p", PASSWORD)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("example.org", result.stderr)


if __name__ == "__main__":
    unittest.main()
