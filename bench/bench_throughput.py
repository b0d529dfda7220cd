"""Benchmark 1: lint throughput on a corpus directory.

``sqlperf check --select ALL`` against bare sqlglot parsing of the same files (both as whole
processes, and both in this process without start-up), and against ``sqlfluff lint`` when
SQLFluff is installed (``pip install sqlperf[bench]``).

    python bench/bench_throughput.py [--corpus DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, SQLPERF, Measurement, alternate, command_text, corpus_or_generated, report, run, sql_files, verdict, work_dir  # noqa: E402


def in_process(root: Path, dialect: str, rounds: int) -> dict[str, list[float]]:
    import sqlglot

    from sqlperf.config import Settings
    from sqlperf.runner import check

    texts = [p.read_text(encoding="utf-8") for p in sql_files(root)]
    settings = Settings(select=["ALL"], dialect=dialect, cache_dir=None)

    def parse() -> float:
        started = time.perf_counter()
        for text in texts:
            try:
                sqlglot.parse(text, read=dialect)
            except sqlglot.errors.SqlglotError:
                pass
        return time.perf_counter() - started

    def parse_tuned() -> float:
        # The bare parse under the policy linting uses (sqlperf/gcpolicy.py).
        from sqlperf.gcpolicy import StatementCollector

        started = time.perf_counter()
        with StatementCollector() as collector:
            for text in texts:
                try:
                    sqlglot.parse(text, read=dialect)
                except sqlglot.errors.SqlglotError:
                    pass
                collector.between_statements()
        return time.perf_counter() - started

    def lint() -> float:
        started = time.perf_counter()
        check([root], settings, jobs=1)
        return time.perf_counter() - started

    return alternate({"parse": parse, "parse_tuned": parse_tuned, "lint": lint}, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="directory of .sql files (default: a generated corpus)")
    parser.add_argument("--dialect", default="postgres")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fluff-rounds", type=int, default=1, help="SQLFluff is slow: rounds for it (0 skips it)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    root, described = corpus_or_generated(args.corpus, work_dir())
    files = sql_files(root)
    size = sum(p.stat().st_size for p in files)
    bare = [PYTHON, str(Path(__file__).with_name("_bare_parse.py")), str(root), args.dialect]
    bare_gc = [*bare, "--tuned-gc"]
    lint1 = [*SQLPERF, "check", "--select", "ALL", "--no-cache", "--jobs", "1", "--dialect", args.dialect, "--format", "json", str(root)]
    lint_all = [a for a in lint1 if a not in ("--jobs", "1")]

    cpu: dict[str, list[float]] = {"bare": [], "lint1": []}
    samples = alternate(
        {"bare": lambda: run(bare, cpu=cpu["bare"]), "lint1": lambda: run(lint1, cpu=cpu["lint1"]), "lint_all": lambda: run(lint_all),
         "bare_gc": lambda: run(bare_gc)},
        args.rounds,
    )
    for name in cpu:
        del cpu[name][0]  # the warm-up round, as alternate() drops it from the wall times
    inside = in_process(root, args.dialect, args.rounds)
    measurements = [
        Measurement("bare sqlglot parse (process)", samples["bare"], command=command_text(bare)),
        Measurement("sqlperf check --jobs 1", samples["lint1"], reference="bare sqlglot parse (process)", command=command_text(lint1)),
        Measurement("sqlperf check (all cores)", samples["lint_all"], reference="bare sqlglot parse (process)", command=command_text(lint_all)),
        Measurement("bare parse, sqlperf's GC policy", samples["bare_gc"], command=command_text(bare_gc)),
        Measurement("check --jobs 1 vs that", samples["lint1"], reference="bare parse, sqlperf's GC policy", command=command_text(lint1)),
        Measurement("bare sqlglot parse (process CPU)", cpu["bare"], command=command_text(bare)),
        Measurement("sqlperf check --jobs 1 (CPU)", cpu["lint1"], reference="bare sqlglot parse (process CPU)", command=command_text(lint1)),
        Measurement("parse, in process", inside["parse"], command="sqlglot.parse(text) for every file"),
        Measurement("lint, in process", inside["lint"], reference="parse, in process", command="sqlperf.check([root], Settings(select=['ALL'], cache_dir=None), jobs=1)"),
        Measurement("parse, in process, sqlperf's GC policy", inside["parse_tuned"], command="sqlglot.parse(text) for every file, gcpolicy.StatementCollector"),
        Measurement("lint, in process vs that", inside["lint"], reference="parse, in process, sqlperf's GC policy", command="the lint above"),
    ]
    targets: dict[str, str] = {}

    fluff = shutil.which("sqlfluff") or str(Path(PYTHON).with_name("sqlfluff"))
    if args.fluff_rounds > 0 and Path(fluff).exists():
        fluff_cmd = [fluff, "lint", "--dialect", args.dialect, "--processes", "1", "--nocolor", str(root)]
        side = alternate({"lint1": lambda: run(lint1), "fluff": lambda: run(fluff_cmd, check_codes=(0, 1))}, args.fluff_rounds, warmup=0)
        # SQLFluff is timed once or twice; the sqlperf runs beside it join the ones above, so a
        # single noisy sample of sqlperf cannot swing the ratio.
        measurements[1].samples.extend(side["lint1"])
        measurements.append(Measurement("sqlfluff lint", side["fluff"], reference="sqlperf check --jobs 1", command=command_text(fluff_cmd)))
        targets["sqlperf >= 100x faster than sqlfluff"] = verdict(_median(side["fluff"]) / measurements[1].median, 100, at_most=False)
    else:
        targets["sqlperf >= 100x faster than sqlfluff"] = "not measured: sqlfluff is not installed (pip install sqlperf[bench])"
    targets["check --select ALL <= 1.5x bare parse (process, one core)"] = verdict(measurements[1].median / measurements[0].median, 1.5)
    targets["the same in CPU time (steadier on a busy machine)"] = verdict(measurements[6].median / measurements[5].median, 1.5)
    targets["the same against a bare parse with sqlperf's GC policy"] = verdict(measurements[4].median / measurements[3].median, 1.5)

    report("throughput", measurements, targets, {"corpus": described, "files": len(files), "bytes": size}, args.out)


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


if __name__ == "__main__":
    main()
