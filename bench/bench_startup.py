"""Benchmark 4: start-up. ``sqlperf --version`` against a bare interpreter, and ``sqlperf check``
of one small file against importing sqlglot and parsing one statement.

    python bench/bench_startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, Measurement, alternate, command_text, report, run, verdict, work_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    small = work_dir() / "small.sql"
    small.write_text("SELECT id, email FROM users WHERE lower(email) = 'a@example.com';\n", encoding="utf-8")
    # The installed console script, as a user runs it (its wrapper is part of the cost).
    script = str(Path(PYTHON).with_name("sqlperf"))
    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "sqlperf --version": [script, "--version"],
        "import sqlglot + parse_one": [PYTHON, "-c", "import sqlglot; sqlglot.parse_one('select 1')"],
        "sqlperf check small.sql": [script, "check", "--no-cache", str(small)],
        "sqlperf check small.sql (cache)": [script, "check", "--cache-dir", str(work_dir() / "cache-startup"), str(small)],
    }
    samples = alternate({name: (lambda argv=argv: run(argv)) for name, argv in commands.items()}, args.rounds, warmup=2)
    refs = {"sqlperf --version": "python -c pass", "sqlperf check small.sql": "import sqlglot + parse_one",
            "sqlperf check small.sql (cache)": "import sqlglot + parse_one"}
    measurements = [Measurement(name, samples[name], reference=refs.get(name), command=command_text(argv)) for name, argv in commands.items()]

    def med(name: str) -> float:
        return statistics.median(samples[name])

    report(
        "startup",
        measurements,
        {
            "--version within 3x of python -c pass": verdict(med("sqlperf --version") / med("python -c pass"), 3.0),
            "check of one small file within 1.5x of import sqlglot + parse_one": verdict(
                med("sqlperf check small.sql") / med("import sqlglot + parse_one"), 1.5),
        },
        out=args.out,
    )


if __name__ == "__main__":
    main()
