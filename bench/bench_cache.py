"""Benchmark 2: a warm re-run of an unchanged tree against the cold run that filled the cache.

All are whole ``sqlperf check --select ALL`` processes; the cold run starts from an empty
cache folder each round (the deletion is not timed). Two warm runs are measured: the re-run
of an unchanged tree, which replays the plain output the run before it stored, and a re-run
whose stored output was deleted (untimed), as after a run in another format, which renders
the output from the cached per-file results. Neither imports sqlglot or the rules.

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
    parser.add_argument("--format", default="json", help="--format for every run (default: json)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    work = work_dir()
    root, described = corpus_or_generated(args.corpus, work, args.files)
    cold_dir, warm_dir, first_dir = work / "cache-cold", work / "cache-warm", work / "cache-render"
    base = [*SQLPERF, "check", "--select", "ALL", "--format", args.format] + (["--jobs", args.jobs] if args.jobs else [])
    cold = [*base, "--cache-dir", str(cold_dir), str(root)]
    warm = [*base, "--cache-dir", str(warm_dir), str(root)]
    first = [*base, "--cache-dir", str(first_dir), str(root)]
    for folder, command in ((warm_dir, warm), (first_dir, first)):
        shutil.rmtree(folder, ignore_errors=True)
        run(command)  # fills the cache

    def cold_run() -> float:
        shutil.rmtree(cold_dir, ignore_errors=True)
        return run(cold)

    def first_run() -> float:
        for stored in first_dir.rglob("out-*.json"):
            stored.unlink()
        return run(first)

    samples = alternate({"cold": cold_run, "warm": lambda: run(warm), "first": first_run}, args.rounds)
    ratio = statistics.median(samples["warm"]) / statistics.median(samples["cold"])
    first_ratio = statistics.median(samples["first"]) / statistics.median(samples["cold"])
    report(
        "cache",
        [
            Measurement("cold (empty cache)", samples["cold"], command=command_text(cold)),
            Measurement("warm (unchanged tree)", samples["warm"], reference="cold (empty cache)", command=command_text(warm)),
            Measurement("warm, output not stored (renders)", samples["first"], reference="cold (empty cache)", command=command_text(first)),
        ],
        {"warm <= 5% of cold": verdict(ratio, 0.05), "rendering warm run <= 5% of cold": verdict(first_ratio, 0.05)},
        {"corpus": described, "files": len(sql_files(root))},
        args.out,
    )


if __name__ == "__main__":
    main()
