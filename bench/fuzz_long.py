"""The long fuzz run of the check pipeline; the in-suite run (tests/test_fuzz_sql.py) is its bounded sample.

    .venv/bin/python bench/fuzz_long.py [--minutes 10] [--seed 1] [--cli-every 50]

Two streams, alternating until the time is up:

- generated SQL from the grammar strategy of tests/test_fuzz_sql.py (hypothesis, in batches of
  500 examples with a fresh seed each, every dialect of the suite);
- byte-level mutations of the project's sample queries and, when /work/shared/corpora is there,
  the TPC-H and TPC-DS queries (a seeded ``random.Random`` per input, 1-8 edits each).

Every input goes through the library door with every rule selected and the invariants of
``check_text`` (no exception, no rule crash, spans and edits inside the file, each safe fix
re-parses, is idempotent and does not fire its own rule again where it fixed). Every
``--cli-every``-th mutated input also goes through ``sqlperf check --select ALL`` in a
subprocess-free CliRunner, in each output format, and must exit 0, 1 or 2 without a traceback.
The summary (inputs tried, failures by kind, time) is printed and written to
bench/results/fuzz_long.json; distinct failures are kept in bench/results/fuzz_failures/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import test_fuzz_sql as fuzz  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FORMATS = ("json", "text", "sarif", "github")


class Tally:
    def __init__(self) -> None:
        self.tried = {"generated": 0, "mutated": 0, "cli": 0}
        self.failures: dict[str, dict] = {}

    def record(self, stream: str, problems: list[str], data) -> None:
        if not problems:
            return
        # One bug usually fails the same way on many inputs: key it by its first line, sans offsets.
        kind = "".join(ch for ch in problems[0].splitlines()[0] if not ch.isdigit())[:160]
        entry = self.failures.setdefault(kind, {"stream": stream, "count": 0, "example": None})
        entry["count"] += 1
        if entry["example"] is None:
            entry["example"] = data if isinstance(data, str) else data.decode("utf-8", "backslashreplace")
            entry["problems"] = problems[:3]


def run_generated(tally: Tally, batch_seed: int, examples: int) -> None:
    @seed(batch_seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(text=fuzz.sql_files(), dialect=st.sampled_from(("postgres",) * 4 + fuzz.DIALECTS))
    def one(text, dialect):
        tally.tried["generated"] += 1
        try:
            problems = fuzz.check_text(text, dialect)
        except Exception as error:  # noqa: BLE001 - an escaping exception is exactly what we count
            problems = [f"exception escaped: {type(error).__name__}: {error}"]
        tally.record("generated", problems, f"-- dialect {dialect}\n{text}")

    one()


def run_mutated(tally: Tally, rng: random.Random, count: int, cli_every: int, workdir: Path) -> None:
    corpus = fuzz.real_queries()
    for _ in range(count):
        data = fuzz.mutate(rng.choice(corpus), random.Random(rng.getrandbits(64)), rng.randint(1, 8))
        tally.tried["mutated"] += 1
        try:
            problems = fuzz.check_bytes(data)
        except Exception as error:  # noqa: BLE001
            problems = [f"exception escaped: {type(error).__name__}: {error}"]
        tally.record("mutated", problems, data)
        if cli_every and tally.tried["mutated"] % cli_every == 0:
            tally.tried["cli"] += 1
            tally.record("cli", run_cli(data, rng.choice(FORMATS), workdir), data)


def run_cli(data: bytes, fmt: str, workdir: Path) -> list[str]:
    from click.testing import CliRunner

    from sqlperf.cli import cli

    target = workdir / "fuzz.sql"
    target.write_bytes(data)
    result = CliRunner().invoke(
        cli, ["check", "--no-cache", "--select", "ALL", "--schema", str(fuzz.MIGRATIONS), "--format", fmt, str(target)]
    )
    problems = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problems.append(f"cli ({fmt}): exception escaped: {type(result.exception).__name__}: {result.exception}")
    if result.exit_code not in (0, 1, 2):
        problems.append(f"cli ({fmt}): exit code {result.exit_code}")
    if "Traceback" in result.output or "Traceback" in (result.stderr or ""):
        problems.append(f"cli ({fmt}): a traceback was printed")
    # The text report carries its errors itself; the other formats put them on stderr.
    said = [line for line in result.output.splitlines() if line.startswith("error: ")] if fmt == "text" else result.stderr.split()
    if result.exit_code == 2 and not said:
        problems.append(f"cli ({fmt}): exit 2 without a message")
    if fmt == "text" and result.exit_code == 2 and "All checks passed" in result.output:
        problems.append("cli (text): exit 2 but the report says all checks passed")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500, help="generated inputs per hypothesis batch")
    parser.add_argument("--cli-every", type=int, default=50, help="every Nth mutated input also through the CLI (0: never)")
    args = parser.parse_args()

    tally = Tally()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    deadline = started + args.minutes * 60
    batches = 0
    with tempfile.TemporaryDirectory() as tmp:
        while time.perf_counter() < deadline:
            run_generated(tally, args.seed * 100_003 + batches, args.batch)
            run_mutated(tally, rng, args.batch, args.cli_every, Path(tmp))
            batches += 1
            elapsed = time.perf_counter() - started
            print(f"{elapsed:7.0f}s  generated {tally.tried['generated']:7d}  mutated {tally.tried['mutated']:7d}  "
                  f"cli {tally.tried['cli']:5d}  distinct failures {len(tally.failures)}", flush=True)
    elapsed = time.perf_counter() - started
    corpora = fuzz.CORPORA.is_dir()
    summary = {
        "seed": args.seed,
        "minutes": round(elapsed / 60, 1),
        "inputs": tally.tried,
        "seed_files": len(fuzz.real_queries()),
        "tpc_corpora": corpora,
        "distinct_failures": len(tally.failures),
        "failures": tally.failures,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_long.json").write_text(json.dumps(summary, indent=2, default=str))
    if tally.failures:
        folder = RESULTS / "fuzz_failures"
        folder.mkdir(exist_ok=True)
        for kind, entry in tally.failures.items():
            name = hashlib.sha256(kind.encode()).hexdigest()[:12]
            (folder / f"{name}.sql").write_text(f"-- {kind}\n-- seen {entry['count']} times\n{entry['example']}")
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}))
    for kind, entry in tally.failures.items():
        print(f"FAIL x{entry['count']} [{entry['stream']}] {kind}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
