"""Scripted XMPP conversations: a text file per case, run against a real server.

A script in scripts/*.xmpp is read line by line:

    # a comment; the first comment line is the test's description
    # expect-failure: reason     (the test becomes an expected failure)
    config offline.max_messages_per_user = 2     (a server override, TOML value)
    account alice secret                         (registered before the start)
    login alice alice phone     (client "alice" logs in as alice, resource phone)
    alice> <presence/>          (client alice sends the text as it is)
    alice< <presence from='{alice.full}' to='{alice.bare}'/>
    alice! nothing 1.0          (client alice receives no stanza for 1.0 s)
    close alice                 (drop the TCP connection without a stream end)
    sleep 0.5

`config` and `account` lines come before everything else. The server
starts at the first other line, with a data directory of its own.

Expectations are strict: the next stanza the client receives must match,
so an extra or missing stanza fails the script. Two elements match when
their names, namespaces, attributes (the same set, no more) and text are
equal and their children match in order. In expected lines:

- `{NAME.full}` and `{NAME.bare}` expand to the JIDs of logged-in client
  NAME, and `{NAME}` alone to its full JID; this also works in sent lines.
- `{any}` as an attribute value or text matches any value.
- `{id}` as a value matches anything and remembers it; a later sent line
  uses the remembered value in place of `{id}` (to reply to a roster push).
- `{id:NAME}` matches anything the first time and remembers it under NAME;
  later it must be equal, and sent lines replace it with the value.

Unordered expectations: `<` lines of the same client on adjacent lines
form a group whose stanzas may arrive in any order. Each arriving stanza
must match one expectation of the group that is still open. A blank line
or a comment ends a group, so stanzas that must arrive in order go on
lines separated by one, or a line reads `CLIENT< then <xml...>`: it
belongs to the group but matches only after the line before it did.

A failing line raises ScriptFailure naming the script, the line number,
what was expected and what arrived. Set CONVERSATION_TRACE=1 to print
every stanza sent and received.

Run one script by hand: python3 conversation.py scripts/NAME.xmpp
"""

import glob
import os
import re
import sys
import time
import tomllib
import unittest
import xml.etree.ElementTree as ET

from harness import Server, StreamClosed, StreamError

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
EXPECT_TIMEOUT = 5.0
TRACE = os.environ.get("CONVERSATION_TRACE") == "1"

WRAPPER = ("<wrapper xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams'>{}</wrapper>")
CLIENT_LINE = re.compile(r"^([A-Za-z][\w-]*)([<>!])\s*(.*)$")
PLACEHOLDER = re.compile(r"\{([A-Za-z][\w-]*)(?:\.(full|bare))?\}")
CAPTURE = re.compile(r"^\{id(?::([\w-]+))?\}$")


class ScriptFailure(AssertionError):
    """A script line whose expectation did not hold."""


# -- reading scripts -------------------------------------------------------------


class Line:
    """One script line: its number, the command and what follows it."""

    def __init__(self, number, command, client=None, text=""):
        self.number = number
        self.command = command   # config, account, login, close, sleep, >, <, !
        self.client = client
        self.text = text
        self.after = None        # for `< then`: the line that must match first


class Script:
    """A parsed script: server settings, accounts and the conversation."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.description = ""
        self.expected_failure = None
        self.overrides = {}
        self.accounts = {}
        self.lines = []
        with open(path, encoding="utf-8") as source:
            for number, raw in enumerate(source, start=1):
                self._parse(number, raw.strip())

    def _parse(self, number, text):
        if not text:
            return
        if text.startswith("#"):
            comment = text.lstrip("#").strip()
            if comment.startswith("expect-failure:"):
                self.expected_failure = comment.split(":", 1)[1].strip()
            elif not self.description:
                self.description = comment
            return
        word, _, rest = text.partition(" ")
        if word in ("config", "account") and self.lines:
            self._error(number, f"'{word}' must come before the conversation")
        if word == "config":
            key, equals, value = rest.partition("=")
            if not equals:
                self._error(number, "expected 'config KEY = VALUE'")
            self.overrides[key.strip()] = tomllib.loads(f"v = {value.strip()}")["v"]
        elif word == "account":
            user, password = self._fields(number, rest, 2)
            self.accounts[user] = password
        elif word == "login":
            self.lines.append(Line(number, "login", text=self._fields(number, rest, 3)))
        elif word in ("close", "sleep"):
            self.lines.append(Line(number, word, text=rest.strip()))
        else:
            match = CLIENT_LINE.match(text)
            if not match:
                self._error(number, f"unknown line {text!r}")
            line = Line(number, match[2], match[1], match[3])
            if line.command == "<" and line.text.startswith("then "):
                line.text = line.text[len("then "):]
                line.after = number - 1
            self.lines.append(line)

    def _fields(self, number, rest, count):
        fields = rest.split()
        if len(fields) != count:
            self._error(number, f"expected {count} fields, got {rest!r}")
        return fields

    def _error(self, number, message):
        raise ValueError(f"{self.name}:{number}: {message}")


# -- comparing stanzas ----------------------------------------------------------------


def describe(element, parent_ns=None):
    """Return element as compact XML with xmlns only where it changes."""
    namespace, _, name = element.tag[1:].partition("}") if element.tag[0] == "{" \
        else ("", "", element.tag)
    text = f"<{name}"
    if namespace != parent_ns:
        text += f" xmlns='{namespace}'"
    for key, value in element.attrib.items():
        key = key.replace("{http://www.w3.org/XML/1998/namespace}", "xml:")
        text += f" {key}='{value}'"
    inner = (element.text or "").strip() + "".join(describe(c, namespace) for c in element)
    return text + (f">{inner}</{name}>" if inner else "/>")


def mismatch(expected, actual, captures):
    """Return why actual does not match expected, or None when it does.

    Captures found on the way are added to captures; the caller passes a
    copy so that a failed match leaves nothing behind.
    """
    if expected.tag != actual.tag:
        return f"element {actual.tag} where {expected.tag} was expected"
    for key in expected.attrib.keys() - actual.attrib.keys():
        return f"attribute {key} missing on <{describe_name(actual)}>"
    for key in actual.attrib.keys() - expected.attrib.keys():
        return f"unexpected attribute {key}='{actual.get(key)}' on <{describe_name(actual)}>"
    for key, pattern in expected.attrib.items():
        if not value_matches(pattern, actual.get(key), captures):
            return f"attribute {key}='{actual.get(key)}' where {pattern!r} was expected"
    expected_text = (expected.text or "").strip()
    actual_text = (actual.text or "").strip()
    if not value_matches(expected_text, actual_text, captures):
        return f"text {actual_text!r} where {expected_text!r} was expected"
    if len(expected) != len(actual):
        return (f"<{describe_name(actual)}> has {len(actual)} children where "
                f"{len(expected)} were expected")
    for expected_child, actual_child in zip(expected, actual):
        reason = mismatch(expected_child, actual_child, captures)
        if reason:
            return reason
    return None


def describe_name(element):
    return element.tag.rsplit("}", 1)[-1]


def value_matches(pattern, value, captures):
    if pattern == "{any}":
        return True
    capture = CAPTURE.match(pattern)
    if not capture:
        return pattern == value
    if capture[1] is None:
        captures["id"] = value
        return True
    name = "id:" + capture[1]
    if name in captures:
        return captures[name] == value
    captures[name] = value
    return True


# -- running ------------------------------------------------------------------------


class Conversation:
    """One Script run against a server of its own; call run()."""

    def __init__(self, script):
        self.script = script
        self.clients = {}     # client name -> RawClient
        self.captures = {}    # "id" or "id:NAME" -> value

    def run(self):
        with Server(overrides=self.script.overrides, accounts=self.script.accounts) as server:
            self.server = server
            try:
                index = 0
                while index < len(self.script.lines):
                    index = self.step(index)
            finally:
                for client in self.clients.values():
                    client.close()

    def step(self, index):
        """Run the line at index (a whole group for `<`); return the next index."""
        line = self.script.lines[index]
        if line.command == "login":
            name, user, resource = line.text
            if name in ("any", "id") or name in self.clients:
                self.fail(line, f"client name {name!r} is reserved or taken")
            password = self.script.accounts.get(user)
            if password is None:
                self.fail(line, f"no 'account {user} ...' line")
            self.clients[name] = self.server.login(user, password, resource)
        elif line.command == "close":
            self.client(line).close()
        elif line.command == "sleep":
            time.sleep(float(line.text))
        elif line.command == ">":
            text = self.expand(line, line.text, sending=True)
            self.trace(line, "sent", text)
            self.client(line).send(text)
        elif line.command == "!":
            self.expect_nothing(line)
        else:
            group = [line]
            lines = self.script.lines
            while (index + len(group) < len(lines)
                   and lines[index + len(group)].command == "<"
                   and lines[index + len(group)].client == line.client
                   and lines[index + len(group)].number == group[-1].number + 1):
                group.append(lines[index + len(group)])
            self.expect_group(group)
            return index + len(group)
        return index + 1

    def client(self, line):
        name = line.client or line.text
        if name not in self.clients:
            self.fail(line, f"client {name!r} has not logged in")
        return self.clients[name]

    def expand(self, line, text, sending):
        def replace(match):
            name, part = match[1], match[2]
            if name in self.clients:
                jid = self.clients[name].jid
                return jid.split("/", 1)[0] if part == "bare" else jid
            if part is not None:
                self.fail(line, f"{{{name}.{part}}} names no logged-in client")
            return match[0]
        text = PLACEHOLDER.sub(replace, text)
        if sending:
            for key, value in self.captures.items():
                text = text.replace("{" + key + "}", value)
        return text

    def parse(self, line):
        try:
            return ET.fromstring(WRAPPER.format(self.expand(line, line.text, sending=False)))[0]
        except (ET.ParseError, IndexError) as error:
            self.fail(line, f"the expected stanza is not valid XML: {error}")

    def expect_group(self, group):
        client = self.client(group[0])
        pending = [(line, self.parse(line)) for line in group]
        matched = set()
        while pending:
            first = pending[0][0]
            expected_text = "\n    ".join(describe(element) for _, element in pending)
            try:
                actual = client.read_element(EXPECT_TIMEOUT)
            except TimeoutError:
                self.fail(first, f"expected\n    {expected_text}\n"
                                 f"  got nothing within {EXPECT_TIMEOUT} s")
            except (StreamClosed, StreamError) as error:
                self.fail(first, f"expected\n    {expected_text}\n  got {error}")
            self.trace(first, "received", describe(actual))
            reasons = []
            for position, (line, element) in enumerate(pending):
                if line.after is not None and line.after not in matched:
                    reasons.append(f"line {line.number} waits for line {line.after}")
                    continue
                captures = dict(self.captures)
                reason = mismatch(element, actual, captures)
                if reason is None:
                    self.captures = captures
                    matched.add(line.number)
                    del pending[position]
                    break
                reasons.append(reason)
            else:
                one_of = " one of" if len(pending) > 1 else ""
                self.fail(first, f"expected{one_of}\n    {expected_text}\n"
                                 f"  got\n    {describe(actual)}\n"
                                 f"  because {'; '.join(reasons)}")

    def expect_nothing(self, line):
        words = line.text.split()
        if len(words) != 2 or words[0] != "nothing":
            self.fail(line, "expected 'CLIENT! nothing SECONDS'")
        try:
            actual = self.client(line).read_element(float(words[1]))
        except TimeoutError:
            return
        except (StreamClosed, StreamError) as error:
            self.fail(line, f"expected no stanza for {words[1]} s, got {error}")
        self.fail(line, f"expected no stanza for {words[1]} s, got\n    {describe(actual)}")

    def fail(self, line, message):
        raise ScriptFailure(f"{self.script.name}:{line.number}: {message}")

    def trace(self, line, verb, text):
        if TRACE:
            print(f"{self.script.name}:{line.number}: {line.client} {verb} {text}",
                  file=sys.stderr)


# -- unittest ----------------------------------------------------------------------


def conversation_tests(folder=SCRIPTS):
    """Return a TestCase class with one test per script in folder."""

    class Conversations(unittest.TestCase):
        maxDiff = None

    for path in sorted(glob.glob(os.path.join(folder, "*.xmpp"))):
        script = Script(path)

        def test(self, script=script):
            Conversation(script).run()

        test.__doc__ = script.description or None
        if script.expected_failure:
            test = unittest.expectedFailure(test)
        stem = os.path.splitext(script.name)[0]
        setattr(Conversations, "test_" + re.sub(r"\W", "_", stem), test)
    return Conversations


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: conversation.py SCRIPT")
    Conversation(Script(sys.argv[1])).run()
    print(f"{sys.argv[1]}: passed")
