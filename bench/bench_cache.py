"""Benchmark 2: a warm re-run of an unchanged tree against the cold run that filled the cache.

Both are whole ``sqlperf check --select ALL`` processes; the cold run starts from an empty
cache folder each round (the deletion is not timed).

    python bench/bench_cache.py [--corpus DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SQLPERF, Measurement, alternate, command_text, corpus_or_generated, report, run, sql_files, verdict, work_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="directory of .sql files (default: a generated corpus)")
    parser.add_argument("--files", type=int, default=300, help="size of the generated corpus")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--jobs", default=None, help="--jobs for both runs (default: sqlperf's default)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    work = work_dir()
    root, described = corpus_or_generated(args.corpus, work, args.files)
    cold_dir, warm_dir = work / "cache-cold", work / "cache-warm"
    base = [*SQLPERF, "check", "--select", "ALL", "--format", "json"] + (["--jobs", args.jobs] if args.jobs else [])
    cold = [*base, "--cache-dir", str(cold_dir), str(root)]
    warm = [*base, "--cache-dir", str(warm_dir), str(root)]
    shutil.rmtree(warm_dir, ignore_errors=True)
    run(warm)  # fills the warm cache

    def cold_run() -> float:
        shutil.rmtree(cold_dir, ignore_errors=True)
        return run(cold)

    samples = alternate({"cold": cold_run, "warm": lambda: run(warm)}, args.rounds)
    ratio = statistics.median(samples["warm"]) / statistics.median(samples["cold"])
    report(
        "cache",
        [
            Measurement("cold (empty cache)", samples["cold"], command=command_text(cold)),
            Measurement("warm (unchanged tree)", samples["warm"], reference="cold (empty cache)", command=command_text(warm)),
        ],
        {"warm <= 5% of cold": verdict(ratio, 0.05)},
        {"corpus": described, "files": len(sql_files(root))},
        args.out,
    )


if __name__ == "__main__":
    main()
