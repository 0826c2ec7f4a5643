"""Run tsung's jabber plugin against a starlingd on loopback and read its report.

`run_tsung(server, workdir)` registers the tsung users with starlingctl,
starts a private epmd, runs tests/e2e/clients/tsung_jabber.xml with a
deadline and returns a `TsungReport` parsed from tsung.log. The Erlang
nodes stay on loopback: epmd gets its own free port and address
127.0.0.1, distribution binds 127.0.0.1, and the web GUI is off.

By hand, from tests/e2e with STARLINGD and STARLINGCTL exported:

    python3 clients/tsung_runner.py [--users 200] [--dump]

starts its own server, runs the scenario and prints the report.
"""

import concurrent.futures
import os
import re
import shutil
import socket
import string
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "tsung_jabber.xml")

USERS = 200
ARRIVAL_SECONDS = 10
# tsung stops the load itself after 50 s (<load duration>); this deadline
# covers start-up and the final report on a busy 2-core machine.
TSUNG_DEADLINE = 90
REGISTER_WORKERS = 4


def user_name(index):
    return f"tsung{index}"


def user_password(index):
    return f"tsungpw{index}"


class TsungReport:
    """The last statistics tsung wrote to tsung.log, plus its output.

    counters maps a statistic name (users_count, error_connect_etimedout,
    tr_authenticate, ...) to its total over the run: the last column of its
    last "stats:" line.
    """

    def __init__(self, log_dir, returncode, output, counters):
        self.log_dir = log_dir
        self.returncode = returncode
        self.output = output
        self.counters = counters

    def errors(self):
        return {name: count for name, count in self.counters.items()
                if name.startswith("error_") and count > 0}

    def describe(self):
        lines = [f"tsung exit code {self.returncode}, logs in {self.log_dir}"]
        lines += [f"  {name} = {count}" for name, count in sorted(self.counters.items())]
        lines.append("tsung output:\n" + self.output[-4000:])
        return "\n".join(lines)


def parse_stats(text):
    """Return {statistic: total} from the "stats:" lines of a tsung.log."""
    counters = {}
    for line in text.splitlines():
        match = re.match(r"stats: (\S+) (.+)$", line)
        if not match:
            continue
        fields = match.group(2).split()
        # Counters have two columns: the change in the last period and
        # the total. Samples (requests, transactions) have seven: count,
        # mean, stddev, max and min of the last period, then the mean and
        # count of all periods before it, so their total is the sum of
        # the first and the last column.
        try:
            if len(fields) == 2:
                counters[match.group(1)] = int(float(fields[1]))
            elif len(fields) == 7:
                counters[match.group(1)] = int(float(fields[0])) + int(float(fields[6]))
        except ValueError:
            continue
    return counters


def register_users(server, users):
    """Register tsung1..tsungN with starlingctl, a few processes at a time."""
    def register(index):
        server.ctl("register", user_name(index), "-p", user_password(index), check=True)

    with concurrent.futures.ThreadPoolExecutor(REGISTER_WORKERS) as pool:
        for future in [pool.submit(register, i) for i in range(1, users + 1)]:
            future.result()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_scenario(path, port, users, dump_traffic):
    """Write the scenario for users arriving over ARRIVAL_SECONDS.

    The phase lasts two seconds longer than the arrivals need because tsung
    ends a phase on time even when maxnumber users have not all started.
    """
    with open(SCENARIO) as source:
        template = string.Template(source.read())
    with open(path, "w") as out:
        out.write(template.substitute(port=port, users=users, max_users=2 * users,
                                      dump="true" if dump_traffic else "false",
                                      arrival_seconds=ARRIVAL_SECONDS + 2,
                                      arrival_rate=max(1, users // ARRIVAL_SECONDS)))


def run_tsung(server, workdir, users=USERS, dump_traffic=False):
    """Run the scenario against server; return a TsungReport.

    dump_traffic makes tsung write every byte to tsung.dump in its log
    directory.
    Raises RuntimeError when tsung or epmd is not installed.
    """
    for program in ("tsung", "epmd"):
        if shutil.which(program) is None:
            raise RuntimeError(f"{program} not found: install the Debian package tsung "
                               "(scripts/install-deps.sh --test)")
    register_users(server, users)

    home = os.path.join(workdir, "home")
    log_dir = os.path.join(workdir, "log")
    os.makedirs(home, exist_ok=True)
    os.makedirs(log_dir, exist_ok=True)
    scenario = os.path.join(workdir, "scenario.xml")
    write_scenario(scenario, server.starttls_port, users, dump_traffic)

    epmd_port = free_port()
    environment = dict(os.environ, HOME=home, ERL_EPMD_PORT=str(epmd_port),
                       ERL_EPMD_ADDRESS="127.0.0.1",
                       ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}")
    epmd = subprocess.Popen(["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"],
                            env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.2)  # epmd must listen before the first node registers
        node_id = f"starling{os.getpid()}"
        try:
            result = subprocess.run(
                ["tsung", "-n", "-i", node_id, "-f", scenario, "-l", log_dir, "start"],
                env=environment, cwd=workdir, capture_output=True, text=True,
                timeout=TSUNG_DEADLINE)
            returncode, output = result.returncode, result.stdout + result.stderr
        except subprocess.TimeoutExpired as expired:
            returncode = None
            output = (f"tsung did not finish within {TSUNG_DEADLINE} s\n"
                      + (expired.stdout or b"").decode(errors="replace")
                      + (expired.stderr or b"").decode(errors="replace"))
    finally:
        epmd.kill()
        epmd.wait()

    counters = {}
    for root, _dirs, files in os.walk(log_dir):
        if "tsung.log" in files:
            with open(os.path.join(root, "tsung.log")) as source:
                counters = parse_stats(source.read())
    return TsungReport(log_dir, returncode, output, counters)


def main():
    import argparse
    import tempfile

    sys.path.insert(0, os.path.dirname(HERE))
    import harness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=USERS, help="number of tsung users")
    parser.add_argument("--dump", action="store_true", help="write tsung.dump with all traffic")
    arguments = parser.parse_args()
    with harness.Server(log_level="info") as server:
        workdir = tempfile.mkdtemp(prefix="starling-tsung-")
        started = time.monotonic()
        report = run_tsung(server, workdir, arguments.users, arguments.dump)
        print(report.describe())
        print(f"took {time.monotonic() - started:.1f} s")
    return 0 if report.returncode == 0 and not report.errors() else 1


if __name__ == "__main__":
    sys.exit(main())
