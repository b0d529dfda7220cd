"""Benchmark 5: peak memory of ``sqlperf check --select ALL`` (one process, no cache).

On the TPC-DS corpus (or a generated one where it is absent), and on single generated files of
2.5, 5 and 10 MB, to show that memory grows linearly with the file's size.

    python bench/bench_memory.py [--corpus DIR] [--sizes 2.5,5,10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, SQLPERF, TPCDS, Measurement, command_text, corpus_or_generated, generate_big_file, peak_rss_mb, report, verdict, work_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(TPCDS) if TPCDS.is_dir() else None)
    parser.add_argument("--sizes", default="2.5,5,10", help="sizes in MB of the single generated files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    work = work_dir()
    root, described = corpus_or_generated(args.corpus, work)
    base = [*SQLPERF, "check", "--select", "ALL", "--no-cache", "--jobs", "1", "--format", "json"]
    baseline = [PYTHON, "-c", "import sqlglot; sqlglot.parse_one('select 1')"]
    measurements = [
        Measurement("import sqlglot + parse_one", [peak_rss_mb(baseline) for _ in range(args.rounds)], unit="MB", command=command_text(baseline)),
        Measurement(f"corpus: {described}", [peak_rss_mb([*base, str(root)]) for _ in range(args.rounds)], unit="MB",
                    reference="import sqlglot + parse_one", command=command_text([*base, str(root)])),
    ]
    per_size = {}
    for size in [float(s) for s in args.sizes.split(",")]:
        path = generate_big_file(work / f"big-{size:g}mb.sql", size)
        name = f"one {size:g} MB file"
        measurements.append(Measurement(name, [peak_rss_mb([*base, str(path)]) for _ in range(args.rounds)], unit="MB",
                                        reference="import sqlglot + parse_one", command=command_text([*base, str(path)])))
        per_size[size] = measurements[-1].median
    corpus_peak = measurements[1].median
    floor = measurements[0].median
    sizes = sorted(per_size)
    growth = {f"{s:g}": round((per_size[s] - floor) / s, 1) for s in sizes}
    targets = {"corpus peak < 200 MB": verdict(corpus_peak, 200)}
    if len(sizes) >= 2:
        first, last = sizes[0], sizes[-1]
        slope_ratio = ((per_size[last] - floor) / last) / ((per_size[first] - floor) / first)
        targets["linear in size (MB per MB at the largest / at the smallest, want ~1)"] = f"{slope_ratio:.2f}"
    report("memory", measurements, targets, {"mb_above_interpreter_per_mb_of_sql": growth}, args.out)


if __name__ == "__main__":
    main()
