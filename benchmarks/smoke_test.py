#!/usr/bin/env python3
"""Smoke test of the benchmark harness against Starling alone.

Starts starlingd on free loopback ports in a temporary directory, registers
a few hundred accounts through loadgen, runs login-storm (plaintext PLAIN,
direct TLS with SCRAM-SHA-256, pipelined STARTTLS), a short hold-idle, a
tiny chat and presence run and the groupchat placeholder. It fails unless
every login succeeded and every chat message and presence update arrived in
order. Usage:

    smoke_test.py BUILD_DIR
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

SESSIONS = 300


def free_port_pair():
    """Returns a port P such that P and P + 1 are both free on 127.0.0.1."""
    for _ in range(100):
        base = random.randrange(20000, 32000, 2)  # below the ephemeral range
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", base))
                b.bind(("127.0.0.1", base + 1))
            return base
        except OSError:
            continue
    raise RuntimeError("no free pair of loopback ports found in 100 tries")


def run(loadgen, server, args):
    result_path = os.path.join(server.dir, "result.json")
    argv = [loadgen] + args + ["--password", compare.PASSWORD, "--user-prefix", compare.USER_PREFIX,
                               "--max-seconds", "20", "--json", result_path, "--server-pid", str(server.proc.pid)]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=40)
    print(done.stdout, flush=True)
    with open(result_path) as f:
        result = json.load(f)
    if done.returncode != 0 or result["failed"] != 0 or result["dropped"] != 0:
        raise RuntimeError(f"{' '.join(args)}: {result['failed']} failed, {result['dropped']} dropped: "
                           f"{result['failures']}")
    return result


def main():
    build = sys.argv[1]
    loadgen = os.path.join(build, "benchmarks", "loadgen")
    work = tempfile.mkdtemp(prefix="starling-bench-smoke-")
    server = None
    try:
        cert, key = compare.make_certificate(work)
        base = free_port_pair()
        server = compare.Starling(work, base, cert, key, build)
        server.start()
        plain, tls = str(server.plain_port), str(server.tls_port)
        count = str(SESSIONS)
        run(loadgen, server, ["register", "--port", plain, "--count", count, "--concurrency", "50"])
        run(loadgen, server, ["login-storm", "--port", plain, "--count", count, "--concurrency", "50"])
        run(loadgen, server, ["login-storm", "--port", tls, "--security", "tls", "--mechanism", "SCRAM-SHA-256",
                              "--count", "100", "--concurrency", "20"])
        run(loadgen, server, ["login-storm", "--port", plain, "--security", "starttls", "--pipeline",
                              "--presence", "--count", "100", "--concurrency", "20"])
        held = run(loadgen, server, ["hold-idle", "--port", plain, "--count", count, "--concurrency", "50",
                                     "--hold-seconds", "3", "--settle-seconds", "1", "--processes", "2"])
        if held["ok"] != SESSIONS:
            raise RuntimeError(f"hold-idle held {held['ok']} of {SESSIONS} sessions")
        # loadgen exits 1 on any lost, reordered, duplicate or unexpected
        # stanza, which run() turns into a failure.
        chat = run(loadgen, server, ["chat", "--port", plain, "--count", "20", "--rate", "200", "--duration", "2",
                                     "--drain-seconds", "3", "--processes", "2"])
        if chat["traffic"]["received"] != 400:
            raise RuntimeError(f"chat received {chat['traffic']['received']} of 400 messages")
        presence = run(loadgen, server, ["presence", "--port", plain, "--count", "20", "--contacts", "4",
                                         "--rate", "50", "--duration", "1", "--settle-seconds", "1",
                                         "--drain-seconds", "3", "--setup-timeout", "10"])
        if presence["traffic"]["received"] != 200:
            raise RuntimeError(f"presence delivered {presence['traffic']['received']} of 200 updates")
        skipped = subprocess.run([loadgen, "groupchat"], stdout=subprocess.PIPE, text=True, timeout=10)
        if skipped.returncode != 0 or not skipped.stdout.startswith("skipped:"):
            raise RuntimeError(f"groupchat placeholder: exit {skipped.returncode}, {skipped.stdout!r}")
        print("1 passed, 0 failed")
        return 0
    except Exception as error:  # the test reports any failure as its result
        print(f"smoke test failed: {error}")
        print("0 passed, 1 failed")
        return 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
