"""Harness for the end-to-end tests: a real starlingd and raw XMPP clients.

`Server` starts starlingd on free loopback ports with its own data
directory and removes everything again on exit. `RawClient` speaks XMPP over
a plain socket with just enough protocol (STARTTLS, direct TLS, SASL PLAIN
and SCRAM, bind) that tests can also send what a correct client never would.

The binaries come from the environment: STARLINGD and STARLINGCTL.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_CONFIG = os.path.join(REPO, "config", "starling.toml")

NS_STREAM = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
NS_PING = "urn:xmpp:ping"
NS_REGISTER = "jabber:iq:register"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

DOMAIN = "localhost"
START_DEADLINE = 20.0
STOP_DEADLINE = 20.0
READ_DEADLINE = 10.0


def binary(name):
    """Return the path of a binary named by an environment variable."""
    path = os.environ.get(name)
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"{name} is not set to an executable (value: {path!r}); "
                           "run through ctest or export it, see README.md")
    return path


def tag(namespace, name):
    return f"{{{namespace}}}{name}"


def local_name(element):
    return element.tag.rsplit("}", 1)[-1]


def free_port():
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout, message):
    """Poll condition() until it is true; fail with message at the deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s: {message}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


# -- configuration ------------------------------------------------------------


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def dump_toml(document):
    """Write a nested dict of tables, scalars and arrays as TOML text."""
    lines = []

    def table(prefix, body):
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        for key, value in scalars.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        for key, value in body.items():
            if isinstance(value, dict):
                table(f"{prefix}.{key}" if prefix else key, value)

    table("", document)
    return "\n".join(lines)


def config_text(overrides):
    """Return the documented default config with dotted-key overrides applied.

    overrides maps "c2s.limits.max_depth" style keys to values. A value of
    None removes the key, so the server's built-in default applies.
    """
    with open(DEFAULT_CONFIG, "rb") as source:
        document = tomllib.load(source)
    for dotted, value in overrides.items():
        *sections, key = dotted.split(".")
        table = document
        for section in sections:
            table = table.setdefault(section, {})
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return dump_toml(document)


# -- the server ----------------------------------------------------------------


class Server:
    """A starlingd process on free loopback ports; use it as a context manager.

    overrides: dotted config keys to change, see config_text().
    accounts: {name: password} registered with starlingctl before the test.
    On exit the server gets SIGTERM and must exit with code 0 within
    STOP_DEADLINE. When the with-block raised, the log is kept in a
    directory that is printed together with the log's tail.
    """

    def __init__(self, overrides=None, accounts=None, log_level="debug", expect_exit_code=0):
        self.overrides = dict(overrides or {})
        self.accounts = dict(accounts or {})
        self.log_level = log_level
        self.expect_exit_code = expect_exit_code
        self.process = None
        self.stopped = False
        self.keep_log = False  # set when a test using this server failed

    # Ports are picked free but another process may take one before
    # starlingd binds it, so a start that fails on a taken port retries.
    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="starling-e2e-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.config_path = os.path.join(self.workdir, "starling.toml")
        self.log_path = os.path.join(self.workdir, "starlingd.log")
        try:
            for attempt in range(3):
                self.starttls_port = free_port()
                self.direct_tls_port = free_port()
                self.write_config()
                if self.start():
                    break
            else:
                raise AssertionError("starlingd did not start:\n" + self.log_tail())
            for name, password in self.accounts.items():
                self.ctl("register", name, "-p", password, check=True)
        except BaseException:
            self.dump_log()
            self.kill()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if not self.stopped:
                code = self.stop()
                if exc_type is None and code != self.expect_exit_code:
                    raise AssertionError(f"starlingd exited with {code}, expected "
                                         f"{self.expect_exit_code}\n" + self.log_tail())
        except BaseException:
            self.dump_log()
            raise
        if exc_type is not None:
            self.dump_log()
        elif not self.keep_log:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return False

    def write_config(self, **more):
        settings = {
            "server.data_dir": self.data_dir,
            "server.log_level": self.log_level,
            "c2s.starttls_port": self.starttls_port,
            "c2s.direct_tls_port": self.direct_tls_port,
        }
        settings.update(self.overrides)
        settings.update(more)
        with open(self.config_path, "w") as out:
            out.write(config_text(settings))

    def start(self):
        """Start starlingd; return False when a port was taken meanwhile."""
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [binary("STARLINGD"), "-c", self.config_path, "-l", self.log_level],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT)
        self.stopped = False
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stopped = True
                self.log_file.close()
                if "in use" in self.log():
                    return False
                raise AssertionError(f"starlingd exited with {self.process.returncode} "
                                     "during start:\n" + self.log_tail())
            if self.ports_open():
                return True
            time.sleep(0.02)
        raise AssertionError("starlingd did not open its ports within "
                             f"{START_DEADLINE} s:\n" + self.log_tail())

    def ports_open(self):
        for port in (self.starttls_port, self.direct_tls_port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
        return True

    def send_signal(self, number):
        self.process.send_signal(number)

    def wait_exit(self, timeout=STOP_DEADLINE):
        """Wait for the process to exit and return its exit code."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"starlingd did not exit within {timeout} s:\n"
                                 + self.log_tail())
        self.stopped = True
        self.log_file.close()
        return code

    def stop(self, number=signal.SIGTERM):
        self.send_signal(number)
        return self.wait_exit()

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stopped = True

    @property
    def pid(self):
        return self.process.pid

    def ctl(self, *args, check=False):
        """Run starlingctl with this server's config; return CompletedProcess."""
        result = subprocess.run([binary("STARLINGCTL"), "-c", self.config_path, *args],
                                capture_output=True, text=True, timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"starlingctl {' '.join(args)} failed with "
                                 f"{result.returncode}: {result.stderr}")
        return result

    def log(self):
        try:
            with open(self.log_path, "rb") as source:
                return source.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=READ_DEADLINE):
        """Wait until the log matches the regular expression; return the match."""
        compiled = re.compile(pattern)
        return wait_for(lambda: compiled.search(self.log()), timeout,
                        f"log line matching {pattern!r}")

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def dump_log(self):
        sys.stderr.write(f"\n--- starlingd log kept in {self.log_path}, last lines: ---\n"
                         f"{self.log_tail()}\n--- end of log ---\n")

    # -- process measurements from /proc --

    def cpu_seconds(self):
        """Return user + system CPU time of the server process in seconds."""
        with open(f"/proc/{self.pid}/stat") as source:
            stat = source.read()
        fields = stat[stat.rindex(")") + 2:].split()
        # utime and stime are fields 14 and 15 of proc(5); fields[0] is field 3.
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as source:
            for line in source:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("VmRSS missing from /proc status")

    # -- clients --

    def client(self, direct_tls=False, **kwargs):
        port = self.direct_tls_port if direct_tls else self.starttls_port
        return RawClient(port, direct_tls=direct_tls, **kwargs)

    def login(self, user, password, resource=None, mechanism="SCRAM-SHA-256", tls=True):
        """Return a RawClient that is authenticated and bound."""
        client = self.client()
        try:
            client.open_stream()
            if tls:
                client.starttls()
                client.open_stream()
            client.authenticate(mechanism, user, password)
            client.open_stream()
            client.bind(resource)
        except BaseException:
            client.close()
            raise
        return client


# -- the raw client ------------------------------------------------------------


class StreamClosed(Exception):
    """The server closed the TCP connection while a read expected more."""


class StreamError(Exception):
    """The server sent <stream:error/>; condition is the name of its child."""

    def __init__(self, condition, element):
        super().__init__(f"stream error <{condition}/>")
        self.condition = condition
        self.element = element


def client_tls_context(minimum=None, maximum=None, alpn=None):
    """Return a client context that accepts the self-signed certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if minimum is not None:
        context.minimum_version = minimum
    if maximum is not None:
        context.maximum_version = maximum
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


class RawClient:
    """One XMPP client connection with explicit control over every byte.

    TLS runs over ssl.MemoryBIO, so a test can put plaintext and the TLS
    handshake into one write. Received XML goes through an incremental
    parser: next_event() returns ("header", attributes), ("element", Element)
    for each top-level child of the stream, ("end", None) for
    </stream:stream> and ("closed", None) at EOF. The read helpers wait for
    these with a deadline.
    """

    def __init__(self, port, direct_tls=False, tls_context=None, connect_timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls = None
        self.trickle = False      # with TCP_NODELAY each byte is its own segment
        self.closed = False
        self.received = b""        # every plaintext byte received, for checks on order
        self.stream_attributes = None
        self.jid = None
        self._queue = []
        self._new_parser()
        if direct_tls:
            self.start_tls(tls_context or client_tls_context(alpn=["xmpp-client"]))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- transport --

    def send(self, data):
        """Send data, one byte per write when self.trickle is set."""
        if isinstance(data, str):
            data = data.encode()
        if self.trickle and len(data) > 1:
            for index in range(len(data)):
                self.send(data[index:index + 1])
            return
        if self.tls is None:
            self.sock.sendall(data)
            return
        self.tls.write(data)
        self._flush_tls()

    def send_raw(self, data):
        """Send bytes on the socket as they are, below any TLS layer."""
        self.sock.sendall(data)

    def _flush_tls(self):
        pending = self._outgoing.read()
        if pending:
            self.sock.sendall(pending)

    def _recv_socket(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data before the deadline")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data before the deadline") from None
        except ConnectionResetError:
            data = b""
        return data

    def _recv(self, deadline):
        """Return the next plaintext bytes; b"" when the connection closed."""
        if self.tls is None:
            return self._recv_socket(deadline)
        while True:
            try:
                data = self.tls.read(65536)
                self._flush_tls()
                if data:
                    return data
                return b""  # close_notify
            except ssl.SSLWantReadError:
                self._flush_tls()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            raw = self._recv_socket(deadline)
            if not raw:
                self._incoming.write_eof()
                return b""
            self._incoming.write(raw)

    def start_tls(self, context=None, early_ciphertext=None, handshake=True):
        """Switch to TLS over the socket, optionally only up to the ClientHello.

        With handshake=False the caller sends the ClientHello itself (see
        client_hello()), which lets it share one write with plaintext.
        """
        context = context or client_tls_context()
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self._incoming, self._outgoing, server_side=False,
                                    server_hostname=DOMAIN)
        if early_ciphertext:
            self._incoming.write(early_ciphertext)
        self._new_parser()
        if handshake:
            self.handshake()

    def client_hello(self):
        """Return the first handshake flight without sending it."""
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self._outgoing.read()

    def handshake(self, timeout=READ_DEADLINE):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.tls.do_handshake()
                self._flush_tls()
                return
            except ssl.SSLWantReadError:
                self._flush_tls()
            raw = self._recv_socket(deadline)
            if not raw:
                raise StreamClosed("connection closed during the TLS handshake")
            self._incoming.write(raw)

    # -- parsing --

    def _new_parser(self):
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0

    def _feed(self, data):
        self.received += data
        self._parser.feed(data)
        for event, element in self._parser.read_events():
            if event == "start":
                self._depth += 1
                if self._depth == 1:
                    self.stream_attributes = dict(element.attrib)
                    self._queue.append(("header", dict(element.attrib)))
            else:
                self._depth -= 1
                if self._depth == 1:
                    self._queue.append(("element", element))
                elif self._depth == 0:
                    self._queue.append(("end", None))

    def next_event(self, timeout=READ_DEADLINE):
        """Return the next parsed event, or ("closed", None) at EOF."""
        deadline = time.monotonic() + timeout
        while not self._queue:
            if self.closed:
                return ("closed", None)
            data = self._recv(deadline)
            if not data:
                self.closed = True
                continue
            self._feed(data)
        return self._queue.pop(0)

    def read_raw_until(self, pattern, timeout=READ_DEADLINE):
        """Read without parsing until the received bytes match a regex; return the match.

        For replies that span stream restarts, which one XML parser cannot
        follow. Do not mix with the parsing readers on the same stream.
        """
        compiled = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            match = compiled.search(self.received)
            if match:
                return match
            data = self._recv(deadline)
            if not data:
                raise StreamClosed("connection closed before a match for "
                                   f"{pattern!r}: {self.received!r}")
            self.received += data

    def read_header(self, timeout=READ_DEADLINE):
        kind, value = self.next_event(timeout)
        if kind != "header":
            raise AssertionError(f"expected a stream header, got {kind}: {self._describe(value)}")
        return value

    def read_element(self, timeout=READ_DEADLINE):
        """Return the next top-level element; raise StreamError or StreamClosed."""
        kind, value = self.next_event(timeout)
        if kind == "header":
            raise AssertionError("unexpected stream header " + repr(value))
        if kind == "element":
            if value.tag == tag(NS_STREAM, "error"):
                raise StreamError(self._condition(value), value)
            return value
        raise StreamClosed(f"stream {kind} while waiting for an element")

    def read_until(self, predicate, timeout=READ_DEADLINE):
        """Return the first element for which predicate(element) is true."""
        deadline = time.monotonic() + timeout
        while True:
            element = self.read_element(max(0.0, deadline - time.monotonic()))
            if predicate(element):
                return element

    def expect_stream_error(self, condition, timeout=READ_DEADLINE):
        """Read until a stream error; check its condition, the stream end and EOF.

        A header sent by the server before the error is accepted.
        """
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            kind, value = self.next_event(max(0.0, deadline - time.monotonic()))
            if kind == "element" and value.tag == tag(NS_STREAM, "error"):
                got = self._condition(value)
                if got != condition:
                    raise AssertionError(f"expected <{condition}/>, got <{got}/>: "
                                         + self._describe(value))
                break
            if kind in ("end", "closed"):
                raise AssertionError(f"stream {kind} without <{condition}/>; before it: {seen}")
            seen.append(self._describe(value) if kind == "element" else kind)
        self.expect_closed(max(0.0, deadline - time.monotonic()))
        return value

    def expect_closed(self, timeout=READ_DEADLINE):
        """Check that the server ends the stream and closes the connection."""
        deadline = time.monotonic() + timeout
        while True:
            kind, value = self.next_event(max(0.0, deadline - time.monotonic()))
            if kind == "closed":
                return
            if kind == "element":
                raise AssertionError("expected the stream to close, got "
                                     + self._describe(value))

    @staticmethod
    def _condition(error):
        for child in error:
            if child.tag.startswith("{" + NS_STREAM_ERRORS + "}") and local_name(child) != "text":
                return local_name(child)
        return None

    @staticmethod
    def _describe(value):
        if isinstance(value, ET.Element):
            return ET.tostring(value, encoding="unicode")
        return repr(value)

    # -- stream setup --

    def stream_header(self, to=DOMAIN, version="1.0", stream_ns=NS_STREAM,
                      default_ns=NS_CLIENT, extra=""):
        attributes = f" to='{to}'" if to is not None else ""
        if version is not None:
            attributes += f" version='{version}'"
        return (f"<?xml version='1.0'?><stream:stream xmlns='{default_ns}' "
                f"xmlns:stream='{stream_ns}'{attributes}{extra}>")

    def open_stream(self, **kwargs):
        """Send a stream header; return the features element the server sends."""
        self._new_parser()
        self.send(self.stream_header(**kwargs))
        self.read_header()
        features = self.read_element()
        if features.tag != tag(NS_STREAM, "features"):
            raise AssertionError("expected stream features, got " + self._describe(features))
        self.features = features
        return features

    def mechanisms(self, features=None):
        features = features if features is not None else self.features
        found = features.find(tag(NS_SASL, "mechanisms"))
        if found is None:
            return []
        return [m.text for m in found.findall(tag(NS_SASL, "mechanism"))]

    def starttls(self, context=None):
        self.send(f"<starttls xmlns='{NS_TLS}'/>")
        answer = self._read_proceed()
        self.start_tls(context, early_ciphertext=answer)

    def _read_proceed(self, timeout=READ_DEADLINE):
        """Read <proceed/> as raw bytes; return whatever follows it (TLS)."""
        deadline = time.monotonic() + timeout
        raw = b""
        pattern = re.compile(rb"<proceed[^>]*?(/>|></proceed>)")
        while True:
            match = pattern.search(raw)
            if match:
                self.received += raw[:match.end()]
                return raw[match.end():]
            data = self._recv_socket(deadline)
            if not data:
                raise StreamClosed("connection closed before <proceed/>: " + repr(raw))
            raw += data

    # -- SASL --

    def sasl_auth(self, mechanism, initial=None):
        """Send <auth/>; initial is bytes (base64-encoded here), "=" or None."""
        if initial is None:
            body = ""
        elif initial == b"":
            body = "="
        else:
            body = base64.b64encode(initial).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{body}</auth>")
        return self.read_element()

    def sasl_response(self, data):
        body = base64.b64encode(data).decode() if data else "="
        self.send(f"<response xmlns='{NS_SASL}'>{body}</response>")
        return self.read_element()

    def authenticate(self, mechanism, user, password, **scram_options):
        """Run a whole SASL exchange; return the <success/> element or raise."""
        if mechanism == "PLAIN":
            answer = self.sasl_auth("PLAIN", plain_message(user, password))
        else:
            scram = ScramClient(mechanism, user, password, **scram_options)
            answer = self.sasl_auth(mechanism, scram.client_first())
            if local_name(answer) != "challenge":
                raise AssertionError("expected a challenge, got " + self._describe(answer))
            final = scram.client_final(base64.b64decode(answer.text or ""))
            answer = self.sasl_response(final)
            if local_name(answer) == "success":
                scram.verify_server_final(base64.b64decode(answer.text or ""))
        if local_name(answer) != "success":
            raise AssertionError("authentication failed: " + self._describe(answer))
        return answer

    # -- after authentication --

    def bind(self, resource=None):
        """Bind a resource; return the full JID the server assigned."""
        body = f"<resource>{resource}</resource>" if resource else ""
        self.send(f"<iq type='set' id='bind1'><bind xmlns='{NS_BIND}'>{body}</bind></iq>")
        reply = self.read_until(lambda e: e.get("id") == "bind1")
        if reply.get("type") != "result":
            raise AssertionError("bind failed: " + self._describe(reply))
        self.jid = reply.find(f"{tag(NS_BIND, 'bind')}/{tag(NS_BIND, 'jid')}").text
        return self.jid

    def iq(self, body, type_="get", to=None, id_=None, timeout=READ_DEADLINE):
        """Send an iq and return the reply with the same id."""
        id_ = id_ or "iq-" + secrets.token_hex(4)
        to_attribute = f" to='{to}'" if to else ""
        self.send(f"<iq type='{type_}' id='{id_}'{to_attribute}>{body}</iq>")
        return self.read_until(lambda e: local_name(e) == "iq" and e.get("id") == id_, timeout)

    def ping(self, timeout=READ_DEADLINE):
        reply = self.iq(f"<ping xmlns='{NS_PING}'/>", to=DOMAIN, timeout=timeout)
        if reply.get("type") != "result":
            raise AssertionError("ping failed: " + self._describe(reply))
        return reply

    def message(self, to, text, id_=None):
        id_ = id_ or "m-" + secrets.token_hex(4)
        self.send(f"<message to='{to}' type='chat' id='{id_}'><body>{text}</body></message>")
        return id_

    def read_message(self, timeout=READ_DEADLINE):
        return self.read_until(lambda e: local_name(e) == "message", timeout)


def stanza_error(element):
    """Return the defined condition of a stanza error reply, or None."""
    error = element.find(tag(NS_CLIENT, "error"))
    if error is None:
        return None
    for child in error:
        if child.tag.startswith("{" + NS_STANZA_ERRORS + "}") and local_name(child) != "text":
            return local_name(child)
    return None


def sasl_condition(failure):
    for child in failure:
        if local_name(child) != "text":
            return local_name(child)
    return None


# -- SASL mechanisms (client side) ---------------------------------------------


def plain_message(user, password, authzid=""):
    """Return the PLAIN message of RFC 4616: authzid NUL authcid NUL password."""
    return f"{authzid}\0{user}\0{password}".encode()


SCRAM_HASHES = {
    "SCRAM-SHA-1": "sha1",
    "SCRAM-SHA-256": "sha256",
    "SCRAM-SHA-512": "sha512",
}


def saslname(name):
    """Escape "=" and "," in a name as RFC 5802 section 5.1 requires."""
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramClient:
    """The client side of SCRAM (RFC 5802), including -PLUS variants.

    gs2_header and channel_binding let tests send what a correct client
    would not; by default they follow the mechanism: "n,," without binding,
    "p=<type>,," with it.
    """

    def __init__(self, mechanism, user, password, nonce=None, gs2_header=None,
                 channel_binding=b"", binding_type="tls-server-end-point", first_bare=None):
        base = mechanism.removesuffix("-PLUS")
        self.hash = SCRAM_HASHES[base]
        self.user = user
        self.password = password
        self.nonce = nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        if gs2_header is None:
            gs2_header = f"p={binding_type},," if mechanism.endswith("-PLUS") else "n,,"
        self.gs2_header = gs2_header
        self.channel_binding = channel_binding
        self.first_bare = first_bare or f"n={saslname(user)},r={self.nonce}"

    def client_first(self):
        return (self.gs2_header + self.first_bare).encode()

    def _hmac(self, key, message):
        return hmac.new(key, message, self.hash).digest()

    def client_final(self, server_first):
        self.server_first = server_first.decode()
        fields = dict(item.split("=", 1) for item in self.server_first.split(","))
        if not fields["r"].startswith(self.nonce):
            raise AssertionError("server nonce does not extend the client nonce")
        salt = base64.b64decode(fields["s"])
        iterations = int(fields["i"])
        salted = hashlib.pbkdf2_hmac(self.hash, self.password.encode(), salt, iterations)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = hashlib.new(self.hash, client_key).digest()
        binding = base64.b64encode(self.gs2_header.encode() + self.channel_binding).decode()
        without_proof = f"c={binding},r={fields['r']}"
        auth_message = f"{self.first_bare},{self.server_first},{without_proof}".encode()
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = self._hmac(salted, b"Server Key")
        self.expected_server_signature = self._hmac(server_key, auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server_final(self, server_final):
        text = server_final.decode()
        if not text.startswith("v="):
            raise AssertionError("server-final-message without v=: " + text)
        if base64.b64decode(text[2:]) != self.expected_server_signature:
            raise AssertionError("server signature does not verify")


def tls_server_end_point(der_certificate):
    """Return the tls-server-end-point binding (RFC 5929 4.1) of a certificate.

    The hash is the one of the certificate's signature, with SHA-256 in
    place of MD5 and SHA-1.
    """
    name = certificate_signature_hash(der_certificate)
    if name not in ("sha384", "sha512"):
        name = "sha256"
    return hashlib.new(name, der_certificate).digest()


def certificate_signature_hash(der_certificate):
    """Return the name of the hash in the certificate's signature algorithm."""
    # OIDs of sha{1,256,384,512}WithRSAEncryption and ecdsa-with-SHA*.
    oids = {
        "sha256": [bytes.fromhex("2a864886f70d01010b"), bytes.fromhex("2a8648ce3d040302")],
        "sha384": [bytes.fromhex("2a864886f70d01010c"), bytes.fromhex("2a8648ce3d040303")],
        "sha512": [bytes.fromhex("2a864886f70d01010d"), bytes.fromhex("2a8648ce3d040304")],
        "sha1": [bytes.fromhex("2a864886f70d010105"), bytes.fromhex("2a8648ce3d040301")],
    }
    for name, candidates in oids.items():
        if any(oid in der_certificate for oid in candidates):
            return name
    if bytes.fromhex("2b6570") in der_certificate:
        return "ed25519"
    return None


# -- test case base ------------------------------------------------------------


class SharedServerCase(unittest.TestCase):
    """A TestCase whose tests share one server, started in setUpClass.

    Subclasses set overrides and accounts. A failing test prints the tail of
    the server log; tearDownClass checks that the server exits with 0.
    """

    overrides = {}
    accounts = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(overrides=cls.overrides, accounts=cls.accounts)
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def run(self, result=None):
        result = result or self.defaultTestResult()
        problems_before = len(result.failures) + len(result.errors)
        outcome = super().run(result)
        if len(result.failures) + len(result.errors) > problems_before:
            server = getattr(type(self), "server", None)
            if server is not None:
                server.keep_log = True
                server.dump_log()
        return outcome


# -- slixmpp -------------------------------------------------------------------


def run_async(coroutine, timeout=60):
    """Run a coroutine on a fresh event loop with an overall deadline."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(asyncio.wait_for(coroutine, timeout))
    finally:
        # slixmpp leaves reader tasks behind; end them before the loop closes.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


async def slixmpp_online(jid, password, port, direct_tls=False, sasl_mech=None, timeout=15):
    """Return a slixmpp client that has started its session on port.

    Certificate checks are off because the server uses a self-signed
    certificate. Authentication failure raises AssertionError.
    """
    import slixmpp

    client = slixmpp.ClientXMPP(jid, password, sasl_mech=sasl_mech)
    client.ssl_context = client_tls_context()
    started = asyncio.get_running_loop().create_future()

    def settle(value):
        if not started.done():
            if isinstance(value, Exception):
                started.set_exception(value)
            else:
                started.set_result(value)

    client.add_event_handler("session_start", lambda _event: settle(True))
    client.add_event_handler("failed_all_auth",
                             lambda _event: settle(AssertionError(f"{jid}: authentication failed")))
    client.add_event_handler("disconnected",
                             lambda _event: settle(AssertionError(f"{jid}: disconnected")))
    client.connect(("127.0.0.1", port), use_ssl=direct_tls, force_starttls=not direct_tls)
    await asyncio.wait_for(started, timeout)
    return client


async def slixmpp_next_message(client, timeout=15):
    """Wait for the next chat message to client and return it."""
    arrived = asyncio.get_running_loop().create_future()

    def on_message(message):
        if not arrived.done() and message["type"] in ("chat", "normal"):
            arrived.set_result(message)

    client.add_event_handler("message", on_message)
    try:
        return await asyncio.wait_for(arrived, timeout)
    finally:
        client.del_event_handler("message", on_message)


async def slixmpp_offline(client, timeout=5):
    try:
        await asyncio.wait_for(client.disconnect(), timeout)
    except (asyncio.TimeoutError, ConnectionError):
        client.abort()
