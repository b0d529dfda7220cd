"""Benchmark 3: 2,000 generated files, one process against all cores.

    python bench/bench_jobs.py [--files N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SQLPERF, Measurement, alternate, command_text, generate_corpus, report, run, verdict, work_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--statements", type=int, default=5, help="statements per generated file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    root = generate_corpus(work_dir() / f"many-{args.files}x{args.statements}", args.files, args.statements)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    base = [*SQLPERF, "check", "--select", "ALL", "--no-cache", "--format", "json"]
    one = [*base, "--jobs", "1", str(root)]
    every = [*base, str(root)]
    samples = alternate({"one": lambda: run(one), "all": lambda: run(every)}, args.rounds)
    speedup = statistics.median(samples["one"]) / statistics.median(samples["all"])
    report(
        "jobs",
        [
            Measurement("one process (--jobs 1)", samples["one"], command=command_text(one)),
            Measurement(f"all cores ({cores})", samples["all"], reference="one process (--jobs 1)", command=command_text(every)),
        ],
        {f"all {cores} cores >= 1.6x faster than one": verdict(speedup, 1.6, at_most=False)},
        {"corpus": f"generated ({args.files} files x {args.statements} statements)", "speedup": speedup},
        args.out,
    )


if __name__ == "__main__":
    main()
