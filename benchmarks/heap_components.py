#!/usr/bin/python3
"""Splits a heaptrack profile of inproc_bench into Starling's components.

    heaptrack -o /tmp/h build/bench/benchmarks/inproc_bench -n 20000 -m 0 -d /tmp/hd
    heaptrack_print -f /tmp/h.zst -p 0 -a 0 -T 0 -l 0 -F /tmp/stacks.txt \\
        --flamegraph-cost-type peak
    benchmarks/heap_components.py /tmp/stacks.txt --sessions 20000

Each stack is charged to the deepest frame that a rule in RULES names. A
stack that no rule names goes to CAF's internals when it has a CAF frame,
and to "other" otherwise. The figures are
heaptrack's peak: the moment of highest heap use, which for inproc_bench is
the end of the login phase, before idle connections free their parsers.
"""
import argparse
import collections

# (component, text that identifies a frame of it).
RULES = [
    ("pending timers (CAF clock entries)", "delayed_anon_send"),
    ("pending timers (CAF clock entries)", "thread_safe_actor_clock"),
    ("expat parser (freed when the stream is idle)", "counted_malloc"),
    ("stream parser state", "starling::xml::stream_parser"),
    ("account registration and LMDB writes", "starling::store::"),
    ("supervisor bookkeeping (adopted child, monitor)", "starling::supervisor::"),
    ("c2s broker and memory scribe (CAF actor object)", "open_memory_connection"),
    ("c2s broker and memory scribe (CAF actor object)", "memory_connection_actor"),
    ("session actor (CAF actor object)", "spawn_session"),
    ("session table entry", "starling::actors::session_table::"),
    ("session behavior and state", "session_behavior"),
    ("presence and offline delivery", "presence"),
    ("presence and offline delivery", "deliver_offline"),
    ("c2s behavior, state and strings", "starling::actors::c2s_connection::"),
    ("load generator (inproc_bench)", "(anonymous namespace)::driver"),
    ("load generator (inproc_bench)", "(anonymous namespace)::run("),
]


def component_of(stack):
    for frame in reversed(stack.split(";")):
        for name, text in RULES:
            if text in frame:
                return name
    return "monitors and other CAF internals" if "caf::" in stack else "other"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", help="heaptrack_print -F output with --flamegraph-cost-type peak")
    parser.add_argument("--sessions", type=int, required=True, help="sessions online in the run")
    args = parser.parse_args()

    totals = collections.Counter()
    for line in open(args.stacks, encoding="utf-8", errors="replace"):
        stack, _, cost = line.rstrip("\n").rpartition(" ")
        if not cost.isdigit():
            continue
        totals[component_of(stack)] += int(cost)

    overall = sum(totals.values())
    print(f"| component | bytes per session | share |")
    print(f"|---|---|---|")
    for component, cost in totals.most_common():
        print(f"| {component} | {cost / args.sessions:,.0f} | {100 * cost / overall:.0f} % |")
    print(f"| **total at peak** | **{overall / args.sessions:,.0f}** | 100 % |")


if __name__ == "__main__":
    main()
