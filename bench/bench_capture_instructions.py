"""Runtime capture overhead counted in instructions, not seconds: repeatable on a noisy machine.

    .venv/bin/python bench/bench_capture_instructions.py [--loops 100] [--rounds 4] [--json bench/results/capture_instructions.json]

``bench_capture.py`` times the same ORM workload with and without sqlperf; on a shared
virtual machine two timings of a 300-500 us statement differ by more than the few
microseconds being looked for. Here one process runs every variant, in rotating order,
under ``valgrind --tool=callgrind``, which counts the instructions executed. Each variant's
workload is one phase: the process calls ``os.getppid()`` just before and just after it and
callgrind (``--dump-before=os_getppid``) writes the count of each stretch apart, so the
set-up between phases, the imports and the warm-up are not in any phase. With
``PYTHONHASHSEED=0``, address-space randomisation off (``setarch -R``) and the collector
frozen after the warm-up (``gc.freeze()``; collections of what the phases make, sqlperf's
records included, still count), the counts repeat from round to round.

Variants (the workload of ``bench_capture.py``, SQLite in memory, 5 statements per loop):

- ``bare``: SQLAlchemy, no listener: the reference;
- ``null listeners``: a ``before_cursor_execute`` (``retval=True``) and an
  ``after_cursor_execute`` listener that do nothing: what SQLAlchemy's event dispatch costs;
- ``floor recorder``: the least any pure-Python recorder does: a context-variable read, a list
  of (text, parameters, clock) appended, the execution context tagged, and the duration taken
  in the after listener; no call site, no ORM facts;
- ``capture``: ``with sqlperf.capture():`` around the workload (call sites, ORM loads, and
  what ``finish()`` resolves when the block ends);
- ``capture + judge``: the same, then ``.findings`` (detectors and static rules, cached per text).

Overhead per statement = (variant - bare) instructions. It is converted to microseconds at the
speed this machine runs the bare workload, measured natively in the same run (the least
thread-CPU time of a few rounds): us = instructions x (bare us / bare instructions). That
assumes sqlperf's code runs at the workload's average instructions per second; the
instruction counts and their ratio to ``bare`` are the exact part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("bare", "null listeners", "floor recorder", "capture", "capture + judge")
TARGET_US = 5.0

# The child program: one variant at one size. Kept here so the bench is one file.
CHILD = r'''
import gc, os, sys, time
from contextvars import ContextVar
sys.path.insert(0, ROOT); sys.path.insert(0, ROOT + "/bench"); sys.path.insert(0, ROOT + "/fixtures")
import bench_capture as bc
import sqlperf
from sqlperf.capture import recorder
from sqlalchemy import event
from sqlalchemy.engine import Engine

loops, rounds = int(sys.argv[1]), int(sys.argv[2])
engine = bc.build()
with sqlperf.capture() as warm:  # SQLAlchemy's compiled cache, sqlperf's caches, the linter
    bc.workload(engine, 20)
warm.findings
recorder.uninstall()

def null_before(conn, cursor, statement, parameters, context, executemany):
    return statement, parameters

def null_after(conn, cursor, statement, parameters, context, executemany):
    pass

floor_scopes = ContextVar("floor", default=())
clock = time.perf_counter

def floor_before(conn, cursor, statement, parameters, context, executemany):
    active = floor_scopes.get()
    if active:
        record = [statement, parameters, clock()]
        active[-1].append(record)
        context._floor_record = record
    return statement, parameters

def floor_after(conn, cursor, statement, parameters, context, executemany):
    record = context.__dict__.get("_floor_record")
    if record is not None:
        record[2] = clock() - record[2]

def with_listeners(before, after):
    def run():
        event.listen(Engine, "before_cursor_execute", before, retval=True)
        event.listen(Engine, "after_cursor_execute", after)
        return lambda: (event.remove(Engine, "before_cursor_execute", before),
                        event.remove(Engine, "after_cursor_execute", after))
    return run

def floor_setup():
    undo = with_listeners(floor_before, floor_after)()
    token = floor_scopes.set(([],))
    return lambda: (floor_scopes.reset(token), undo())

def phase_bare():
    bc.workload(engine, loops)

def phase_capture():
    with sqlperf.capture():
        bc.workload(engine, loops)

def phase_judge():
    with sqlperf.capture() as result:
        bc.workload(engine, loops)
    result.findings

VARIANTS = {  # name -> (set-up returning its undo, the measured phase)
    "bare": (lambda: (lambda: None), phase_bare),
    "null listeners": (with_listeners(null_before, null_after), phase_bare),
    "floor recorder": (floor_setup, phase_bare),
    "capture": (lambda: (lambda: None), phase_capture),
    "capture + judge": (lambda: (lambda: None), phase_judge),
}
names = list(VARIANTS)
gc.collect()
gc.freeze()
order = []
for number in range(rounds):
    for name in names[number % len(names):] + names[:number % len(names)]:
        setup, phase = VARIANTS[name]
        undo = setup()
        gc.collect()
        os.getppid()  # callgrind dumps: what came before is not this phase's
        phase()
        os.getppid()  # callgrind dumps: this phase
        undo()
        order.append(name)
print("ORDER=" + "|".join(order))
'''


def phases(loops: int, rounds: int, child: Path) -> list[tuple[str, int]]:
    """(variant, instructions) of every measured phase, in the order they ran."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = dict(os.environ, PYTHONHASHSEED="0")
        command = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid", f"--callgrind-out-file={out}",
                   sys.executable, str(child), str(loops), str(rounds)]
        if shutil.which("setarch"):
            # Without address-space randomisation: dictionaries keyed by object identity then
            # collide the same way on every run.
            command = ["setarch", platform.machine(), "-R", *command]
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
        found = re.search(r"^ORDER=(.*)$", proc.stdout, re.M)
        if proc.returncode != 0 or found is None:
            raise SystemExit(f"the callgrind run failed:\n{proc.stdout[-1000:]}\n{proc.stderr[-2000:]}")
        order = found.group(1).split("|")
        # Dump k holds what ran between marker k-1 and marker k: even k are the phases.
        counts = []
        for k in range(1, 2 * len(order) + 1):
            text = Path(f"{out}.{k}").read_text()
            counts.append(int(re.search(r"^summary: (\d+)", text, re.M).group(1)))
        return list(zip(order, counts[1::2]))


def bare_native_us(loops: int, rounds: int = 7) -> float:
    """Least thread-CPU microseconds per statement of the bare workload, natively, in this process."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "fixtures")]
    import gc

    import bench_capture as bc
    from sqlperf.capture import recorder

    engine = bc.build()
    statements = bc.count_statements(engine, loops)
    recorder.uninstall()
    bc.workload(engine, loops)
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.thread_time()
        bc.workload(engine, loops)
        best = min(best, time.thread_time() - start)
    return best / statements * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loops", type=int, default=100, help="loops per phase (5 statements each)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of all the variants, in rotating order")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "capture_instructions.json")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind); nothing measured")
        return 2
    statements = args.loops * 5
    with tempfile.TemporaryDirectory() as tmp:
        child = Path(tmp) / "child.py"
        child.write_text(f"ROOT = {str(ROOT)!r}\n" + CHILD)
        measured = phases(args.loops, args.rounds, child)
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for variant, count in measured:
        samples[variant].append(count / statements)
    per_statement = {v: sum(values) / len(values) for v, values in samples.items()}
    bare = per_statement["bare"]
    bare_us = bare_native_us(args.loops)
    rows = {}
    for variant in VARIANTS:
        extra = per_statement[variant] - bare
        rows[variant] = {
            "instructions_per_statement": per_statement[variant],
            "rounds": samples[variant],
            "overhead_instructions": extra,
            "overhead_ratio_to_bare": extra / bare,
            "overhead_us_at_bare_speed": extra * bare_us / bare,
        }
    report = {
        "statements_per_phase": statements,
        "bare_us_per_statement_native": bare_us,
        "bare_instructions_per_statement": bare,
        "variants": rows,
        "target_us": TARGET_US,
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
    }
    print(f"{statements} statements per phase, {args.rounds} rounds; bare statement {bare:,.0f} instructions, "
          f"{bare_us:.0f} us natively (least thread-CPU time of 7 rounds)")
    print(f"{'per statement':18} {'instructions':>13} {'rounds':>23} {'overhead':>9} {'of bare':>8} {'us at bare speed':>17}")
    for variant, row in rows.items():
        spread = " / ".join(f"{v:,.0f}" for v in row["rounds"])
        print(f"{variant:18} {row['instructions_per_statement']:13,.0f} {spread:>23} {row['overhead_instructions']:9,.0f} "
              f"{row['overhead_ratio_to_bare']:8.2%} {row['overhead_us_at_bare_speed']:17.2f}")
    judged = rows["capture + judge"]["overhead_us_at_bare_speed"]
    print(f"target: capture + judge <= {TARGET_US} us per statement: {'met' if judged <= TARGET_US else 'MISSED'} ({judged:.2f})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
