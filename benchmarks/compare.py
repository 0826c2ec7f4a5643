#!/usr/bin/env python3
"""Run the same loadgen scenario against Starling, ejabberd and Prosody.

Each server is started by hand on its own loopback ports, with a config file
written to a temporary directory (never the system service units), and is
stopped by PID afterwards. Every measured run starts on a freshly started
server, so memory left over from registration or an earlier run does not
hide in the baseline. Accounts are created once per server with
`loadgen register` (XEP-0077 in-band registration over the generator's own
connections), because starlingctl, ejabberdctl and prosodyctl each take
hundreds of milliseconds per account.

Usage: see benchmarks/README.md. Needs root for apt-get and for starting
ejabberd as its own user; installs ejabberd and prosody when missing.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PASSWORD = "benchpass"
USER_PREFIX = "bench"
ITERATIONS = 4096  # SCRAM/PBKDF2 iterations of stored credentials, all servers
FD_LIMIT = 20000


def log(message):
    print(f"compare: {message}", file=sys.stderr, flush=True)


def wait_for_port(port, timeout_s, proc):
    import socket
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError):
            continue
    return out


def descendants(pid):
    found, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def process_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def pids_named(name):
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and process_name(int(p)) == name}


def stop_pid(pid, timeout_s=15):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(") ", 1)[1][0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def make_certificate(directory):
    """One EC P-256 self-signed certificate for all three servers."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o644)
    with open(os.path.join(directory, "combined.pem"), "w") as out:
        out.write(open(cert).read() + open(key).read())
    os.chmod(os.path.join(directory, "combined.pem"), 0o644)
    return cert, key


class Server:
    """A server under test: start() -> root pid; sample_pids() for loadgen."""

    name = ""
    include_children = False

    def __init__(self, work, base_port, cert, key):
        self.dir = os.path.join(work, self.name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)
        self.plain_port, self.tls_port = base_port, base_port + 1
        self.cert, self.key = cert, key
        self.proc = None
        self.log = None

    def popen(self, argv, **kwargs):
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        return subprocess.Popen(["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}", "--"] + argv,
                                stdout=self.log, stderr=subprocess.STDOUT, **kwargs)

    def sample_pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc is None:
            return
        for pid in reversed([self.proc.pid] + descendants(self.proc.pid)):
            stop_pid(pid)
        self.proc.wait(timeout=30)
        self.proc = None


class Starling(Server):
    name = "starling"

    def __init__(self, work, base_port, cert, key, build, label=None, preload=None):
        if label:
            self.name = label  # own directory and label in the results
        self.preload = preload
        super().__init__(work, base_port, cert, key)
        self.binary = os.path.join(build, "app", "starlingd")
        # Only the options the comparison depends on; everything else keeps
        # the defaults documented in config/starling.toml.
        text = f"""[server]
hosts = ["localhost"]
data_dir = "{self.dir}/var"
log_level = "warn"

[store]
scram_iterations = {ITERATIONS}

[tls]
min_version = "1.2"

[[tls.certificates]]
host = "localhost"
cert_file = "{cert}"
key_file = "{key}"

[c2s]
starttls_address = "127.0.0.1"
starttls_port = {self.plain_port}
direct_tls_address = "127.0.0.1"
direct_tls_port = {self.tls_port}
allow_plaintext_auth = true
allow_registration = true
max_bytes_per_second = 0

[auth]
max_failures_per_address = 0
max_failures_per_account = 0
"""
        self.config = os.path.join(self.dir, "starling.toml")
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        env = dict(os.environ, LD_PRELOAD=self.preload) if self.preload else None
        self.proc = self.popen([self.binary, "-c", self.config], cwd=self.dir, env=env)
        if not wait_for_port(self.plain_port, 30, self.proc):
            raise RuntimeError("starlingd did not open its port; see " + self.log.name)


class Ejabberd(Server):
    name = "ejabberd"
    include_children = True  # beam.smp and erl_child_setup

    def __init__(self, work, base_port, cert, key):
        super().__init__(work, base_port, cert, key)
        self.node = f"bench{os.getpid()}@localhost"
        for sub in ("spool", "logs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            shutil.chown(os.path.join(self.dir, sub), "ejabberd", "ejabberd")
        self.config = os.path.join(self.dir, "ejabberd.yml")
        with open(self.config, "w") as f:
            f.write(f"""hosts: [localhost]
loglevel: warning
certfiles: ["{os.path.join(os.path.dirname(cert), 'combined.pem')}"]
listen:
  - port: {self.plain_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: true
    shaper: none
    access: c2s
    backlog: 1024
  - port: {self.tls_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    tls: true
    shaper: none
    access: c2s
    backlog: 1024
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha
acl:
  everyone:
    user_regexp: ""
access_rules:
  c2s:
    allow: all
  register:
    allow: all
shaper: {{}}
shaper_rules: {{}}
modules:
  mod_register:
    ip_access: all
    access: register
registration_timeout: infinity
""")
        os.chmod(self.config, 0o644)
        # Debian's /etc/ejabberd/ejabberdctl.cfg names the system config file,
        # so the wrapper gets a control config of its own.
        self.ctl_config = os.path.join(self.dir, "ejabberdctl.cfg")
        with open(self.ctl_config, "w") as f:
            f.write(f'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\nEJABBERD_CONFIG_PATH={self.config}\n'
                    f'ERL_MAX_PORTS=65536\n')
        os.chmod(self.ctl_config, 0o644)
        # Debian's ejabberd user gets 1,024 open files by default; su applies
        # pam_limits, so the raised limit has to be in limits.d as well.
        with open("/etc/security/limits.d/ejabberd-bench.conf", "w") as f:
            f.write(f"ejabberd soft nofile {FD_LIMIT}\nejabberd hard nofile {FD_LIMIT}\n")
        self.epmd_before = pids_named("epmd")

    def start(self):
        self.proc = self.popen(["ejabberdctl", "--node", self.node, "--ctl-config", self.ctl_config,
                                "--config", self.config,
                                "--spool", os.path.join(self.dir, "spool"),
                                "--logs", os.path.join(self.dir, "logs"), "foreground"])
        if not wait_for_port(self.plain_port, 60, self.proc):
            raise RuntimeError("ejabberd did not open its port; see " + self.dir)

    def sample_pids(self):
        beams = [p for p in descendants(self.proc.pid) if process_name(p) == "beam.smp"]
        return beams or [self.proc.pid]

    def stop(self):
        super().stop()
        # erl starts epmd as a daemon; stop the one this run started.
        for pid in pids_named("epmd") - self.epmd_before:
            stop_pid(pid)


class Prosody(Server):
    name = "prosody"

    def __init__(self, work, base_port, cert, key):
        super().__init__(work, base_port, cert, key)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "data"), "prosody", "prosody")
        sources = ", ".join(f'"127.0.0.{i}"' for i in range(1, 251))
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        with open(self.config, "w") as f:
            f.write(f"""-- Written by benchmarks/compare.py
daemonize = false
data_path = "{self.dir}/data"
log = {{ warn = "{self.dir}/prosody.log" }}
network_backend = "epoll"
-- The default listen backlog of 128 overflows under 200 concurrent
-- connects, and the dropped handshakes then time out after 30 s.
network_settings = {{ tcp_backlog = 1024 }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.plain_port} }}
c2s_direct_tls_ports = {{ {self.tls_port} }}
s2s_ports = {{ }}
modules_enabled = {{ "saslauth", "tls", "register" }}
modules_disabled = {{ "s2s", "offline" }}
authentication = "internal_hashed"
default_iteration_count = {ITERATIONS}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = true
registration_allowlist = {{ {sources} }}
ssl = {{ certificate = "{cert}", key = "{self.key}" }}
VirtualHost "localhost"
""")

    def start(self):
        # Prosody refuses to run as root, so it starts as its own user.
        self.proc = self.popen(["setpriv", "--reuid=prosody", "--regid=prosody", "--clear-groups",
                                "prosody", "--config", self.config, "-F"], cwd=self.dir)
        if not wait_for_port(self.plain_port, 30, self.proc):
            raise RuntimeError("prosody did not open its port; see " + self.dir)


def machine_info():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem_kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": model, "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "date": datetime.date.today().isoformat()}


def run_loadgen(loadgen, args, server, json_path, timeout_s):
    argv = [loadgen] + args + ["--json", json_path, "--label", server.name, "--password", PASSWORD,
                               "--user-prefix", USER_PREFIX, "--max-seconds", str(timeout_s)]
    for pid in server.sample_pids():
        argv += ["--server-pid", str(pid)]
    if server.include_children:
        argv.append("--include-children")
    log(" ".join(argv))
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, timeout=timeout_s + 120)
    print(done.stdout, flush=True)
    with open(json_path) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(REPO, "build", "bench"), help="CMake build directory")
    parser.add_argument("--servers", default="starling,ejabberd,prosody")
    parser.add_argument("--sessions", type=int, default=15000, help="hold-idle sessions")
    parser.add_argument("--hold-seconds", type=float, default=10)
    parser.add_argument("--logins", type=int, default=5000, help="login-storm logins")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--scenarios", default="hold-idle:plain,hold-idle:tls,login-storm:plain,login-storm:tls",
                        help="comma-separated KIND:SECURITY, KIND one of hold-idle, login-storm, chat")
    parser.add_argument("--chat-sessions", type=int, default=1000, help="chat: sessions (pairs)")
    parser.add_argument("--chat-rate", type=float, default=7500, help="chat: messages per second, all senders")
    parser.add_argument("--chat-duration", type=float, default=10, help="chat: seconds of sending")
    parser.add_argument("--preload", action="append", default=[], metavar="LABEL=LIBRARY",
                        help="also run Starling with LD_PRELOAD=LIBRARY under LABEL (e.g. an allocator)")
    parser.add_argument("--mechanism", default="PLAIN")
    parser.add_argument("--output", default="compare-results.json", help="JSON file with every run")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install missing servers")
    parser.add_argument("--record", default=os.path.join(HERE, "RESULTS.md"),
                        help="Markdown file to append the comparison to, with date, machine and command")
    parser.add_argument("--no-record", action="store_true", help="print the comparison only")
    opts = parser.parse_args()

    loadgen = os.path.join(opts.build, "benchmarks", "loadgen")
    names = opts.servers.split(",")
    missing = [n for n, tool in (("ejabberd", "ejabberdctl"), ("prosody", "prosody")) if n in names and not shutil.which(tool)]
    if missing and not opts.no_install:
        subprocess.run(["apt-get", "install", "-y"] + missing, check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))

    work = tempfile.mkdtemp(prefix="starling-compare-")
    os.chmod(work, 0o755)
    cert, key = make_certificate(work)
    accounts = max(opts.sessions, opts.logins, opts.chat_sessions)
    factories = {
        # Below the ephemeral port range (32768-60999 by default): a client
        # socket in TIME_WAIT on a listening port makes a later bind fail.
        "starling": lambda: Starling(work, 21222, cert, key, opts.build),
        "ejabberd": lambda: Ejabberd(work, 22222, cert, key),
        "prosody": lambda: Prosody(work, 23222, cert, key),
    }
    for i, entry in enumerate(opts.preload):
        label, library = entry.split("=", 1)
        factories[label] = (lambda label=label, library=library, port=24322 + 100 * i:
                            Starling(work, port, cert, key, opts.build, label, library))
    results = {"machine": machine_info(), "runs": []}
    for name in names:
        server = factories[name]()
        try:
            server.start()
            reg = run_loadgen(loadgen, ["register", "--port", str(server.plain_port), "--count", str(accounts),
                                        "--concurrency", "50"], server,
                              os.path.join(work, f"{name}-register.json"), 1800)
            if reg["failed"] != 0:
                raise RuntimeError(f"{name}: registration failed: {reg['failures']}")
            server.stop()
            for scenario in opts.scenarios.split(","):
                kind, security = scenario.split(":")
                port = server.tls_port if security == "tls" else server.plain_port
                args = [kind, "--port", str(port), "--security", security, "--mechanism", opts.mechanism,
                        "--concurrency", str(opts.concurrency)]
                if kind == "hold-idle":
                    args += ["--count", str(opts.sessions), "--hold-seconds", str(opts.hold_seconds)]
                elif kind == "chat":
                    args += ["--count", str(opts.chat_sessions), "--rate", str(opts.chat_rate),
                             "--duration", str(opts.chat_duration), "--processes", "2"]
                else:
                    args += ["--count", str(opts.logins)]
                server.start()
                time.sleep(2)  # let start-up allocations settle before the baseline sample
                result = run_loadgen(loadgen, args, server, os.path.join(work, f"{name}-{kind}-{security}.json"), 900)
                result["command"] = " ".join(["loadgen"] + args)
                results["runs"].append(result)
                server.stop()
        finally:
            server.stop()
    with open(opts.output, "w") as f:
        json.dump(results, f, indent=2)
    table = comparison_lines(results)
    print("\n".join(table))
    if not opts.no_record:
        record(opts.record, results["machine"], names, table)
        log(f"comparison appended to {opts.record}")
    log(f"results in {opts.output}; server configs and logs in {work}")


def package_version(package):
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return done.stdout.strip() if done.returncode == 0 else "not installed"


def record(path, machine, names, table):
    """Appends one dated section with the machine, the command and `table`."""
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    versions = [f"Starling {commit or 'unknown commit'}"]
    versions += [f"{name} {package_version(name)}" for name in ("ejabberd", "prosody") if name in names]
    lines = [
        "",
        f"## compare.py run of {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        "    python3 benchmarks/compare.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "",
        f"- Machine: `nproc` = {machine['nproc']}, CPU \"{machine['cpu']}\", {machine['memory_gib']} GiB, "
        f"kernel {machine['kernel']}.",
        "- Servers: " + ", ".join(versions) + ".",
        "- Written by compare.py; the ratio columns divide each server's figure by Starling's.",
        "",
    ] + [line for line in table if line]
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")


def comparison_lines(results):
    """Returns the comparison as Markdown tables, one line per element."""
    out = []
    runs = results["runs"]
    by_key = {(r["label"], r["scenario"], r["security"]): r for r in runs}
    if any(r["scenario"] != "chat" for r in runs):
        out.append("")
        out.append("| scenario | security | server | ok | failed | logins/s | p50 ms | p99 ms | RSS B/session | PSS B/session | ratio to Starling |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        if r["scenario"] == "chat":
            continue
        base = by_key.get(("starling", r["scenario"], r["security"]))
        if r["scenario"] == "hold-idle":
            value, ref = r["server"]["rss_bytes_per_session"], base and base["server"]["rss_bytes_per_session"]
        else:
            value, ref = r["logins_per_second"], base and base["logins_per_second"]
        ratio = f"{value / ref:.2f}" if ref else "-"
        out.append(f"| {r['scenario']} | {r['security']} | {r['label']} | {r['ok']} | {r['failed']} | "
                   f"{r['logins_per_second']:.0f} | {r['latency_ms']['p50']:.1f} | {r['latency_ms']['p99']:.1f} | "
                   f"{r['server']['rss_bytes_per_session']:.0f} | {r['server']['pss_bytes_per_session']:.0f} | {ratio} |")

    chats = [r for r in runs if r["scenario"] == "chat"]
    if not chats:
        return out
    out.append("")
    out.append("| security | server | rate offered | achieved | sent | received | lost | reordered | p50 ms | p90 ms | p99 ms | max ms "
          "| server CPU s | CPU ratio to Starling | p99 ratio to Starling |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in chats:
        t = r["traffic"]
        base = by_key.get(("starling", "chat", r["security"]))
        bt = base and base["traffic"]
        cpu_ratio = f"{t['server_cpu_seconds'] / bt['server_cpu_seconds']:.2f}" if bt and bt["server_cpu_seconds"] else "-"
        p99_ratio = f"{t['latency_ms']['p99'] / bt['latency_ms']['p99']:.2f}" if bt and bt["latency_ms"]["p99"] else "-"
        out.append(f"| {r['security']} | {r['label']} | {t['rate']:.0f} | {t['achieved_rate']:.0f} | {t['sent']} | "
                   f"{t['received']} | {t['lost']} | {t['reordered']} | {t['latency_ms']['p50']:.3f} | "
                   f"{t['latency_ms']['p90']:.3f} | {t['latency_ms']['p99']:.3f} | {t['latency_ms']['max']:.3f} | "
                   f"{t['server_cpu_seconds']:.2f} | {cpu_ratio} | {p99_ratio} |")
    return out


if __name__ == "__main__":
    main()
