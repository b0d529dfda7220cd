"""Shared helpers for the benchmarks: side-by-side timing, medians, peak memory, JSON, corpora.

Every figure is a ratio against a reference measured in the same run: the commands are
alternated round by round (ABAB, then BABA) so that a noisy neighbour slows both alike.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
SQLPERF = [PYTHON, "-m", "sqlperf"]
TPCDS = ROOT.parent / "shared" / "corpora" / "tpcds"


@dataclass
class Measurement:
    name: str
    samples: list[float] = field(default_factory=list)
    unit: str = "s"
    reference: str | None = None  # the name of the measurement this one is divided by
    command: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_json(self, ratio: float | None) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.samples),
            "max": max(self.samples),
            "samples": self.samples,
            "reference": self.reference,
            "ratio_to_reference": ratio,
            "command": self.command,
        }


# -- running and timing ----------------------------------------------------------------------------
def bench_env() -> dict:
    """The environment of every measured command: bytecode cached, as in any real installation.

    With PYTHONDONTWRITEBYTECODE set (some sandboxes and CI images set it) an editable install
    compiles every module of sqlperf from source on each start, which measures the compiler,
    not sqlperf. The bytecode goes to a folder of its own, not into the source tree.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work_dir() / "pycache")
    return env


def run(argv: list[str], *, cwd: Path | None = None, env: dict | None = None, check_codes=(0, 1), cpu: list | None = None) -> float:
    """Wall time of one command; fails loudly when it exits with an unexpected code.

    With ``cpu`` given, the CPU time the command used (user + system, its worker processes
    included) is appended to it: on a shared machine that figure does not grow while the
    command waits for a core, so it is the steadier of the two.
    """
    env = env if env is not None else bench_env()
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check_codes is not None and done.returncode not in check_codes:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stderr.decode(errors='replace')[-2000:]}")
    if cpu is not None:
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return elapsed


def peak_rss_mb(argv: list[str], *, cwd: Path | None = None, env: dict | None = None) -> float:
    """Peak resident memory of one command (its own process, not the children's)."""
    env = env if env is not None else bench_env()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, argv))} exited {process.returncode}")
    # Linux reports kilobytes, macOS bytes.
    return usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def alternate(candidates: dict[str, Callable[[], float]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run each candidate once per round, in alternating order; the warm-up rounds are discarded."""
    names = list(candidates)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(warmup + rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            value = candidates[name]()
            if round_ >= warmup:
                samples[name].append(value)
    return samples


def command_text(argv: list[str]) -> str:
    shown = ["python" if a == PYTHON else str(a) for a in argv]
    return " ".join(f"'{a}'" if " " in a or '"' in a else a for a in shown)


# -- reporting -------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    import sqlglot

    try:
        import sqlglotc  # noqa: F401

        compiled = True
    except ImportError:
        compiled = False
    return {
        "cpu": cpu,
        "cores": cores,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlglot": sqlglot.__version__,
        "sqlglot_compiled": compiled,
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def report(benchmark: str, measurements: list[Measurement], targets: dict[str, str] | None = None, extra: dict | None = None,
           out: Path | None = None) -> dict:
    """Print a table and write ``bench/results/<benchmark>.json``; returns the JSON document."""
    by_name = {m.name: m for m in measurements}
    rows = []
    for m in measurements:
        ratio = m.median / by_name[m.reference].median if m.reference else None
        rows.append(m.as_json(ratio))
    document = {"benchmark": benchmark, "machine": machine(), "results": rows, "targets": targets or {}, **(extra or {})}
    width = max(len(m.name) for m in measurements)
    print(f"\n{benchmark}")
    print(f"{'':{width}}  {'median':>10} {'min':>10} {'max':>10}  ratio")
    for row in rows:
        fmt = _format(row["unit"])
        ratio = f"{row['ratio_to_reference']:.3f}x {row['reference']}" if row["ratio_to_reference"] is not None else "(reference)"
        print(f"{row['name']:{width}}  {fmt(row['median']):>10} {fmt(row['min']):>10} {fmt(row['max']):>10}  {ratio}")
    for name, verdict in (targets or {}).items():
        print(f"target {name}: {verdict}")
    path = out or RESULTS / f"{benchmark}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return document


def _format(unit: str) -> Callable[[float], str]:
    if unit == "s":
        return lambda v: f"{v * 1000:.1f} ms" if v < 10 else f"{v:.2f} s"
    return lambda v: f"{v:.1f} {unit}"


def verdict(ratio: float, limit: float, *, at_most: bool = True) -> str:
    ok = ratio <= limit if at_most else ratio >= limit
    relation = "<=" if at_most else ">="
    return f"{ratio:.3f} (want {relation} {limit}): {'met' if ok else 'MISSED'}"


# -- corpora ---------------------------------------------------------------------------------------
_TABLES = {
    "orders": ["id", "customer_id", "status", "total", "created_at", "shipped_at", "email", "note"],
    "customers": ["id", "name", "email", "country", "created_at", "score"],
    "order_items": ["id", "order_id", "product_id", "quantity", "price"],
    "products": ["id", "name", "category", "price", "stock", "updated_at"],
    "events": ["id", "customer_id", "kind", "payload", "happened_at"],
}
_JOINS = [("orders", "customers", "customer_id", "id"), ("order_items", "orders", "order_id", "id"),
          ("order_items", "products", "product_id", "id"), ("events", "customers", "customer_id", "id")]


def _predicate(rng: random.Random, alias: str, columns: list[str]) -> str:
    col = f"{alias}.{rng.choice(columns)}"
    choices = [
        lambda: f"{col} = {rng.randint(1, 10_000)}",
        lambda: f"{col} > {rng.randint(1, 500)}",
        lambda: f"{col} IN ({', '.join(str(rng.randint(1, 999)) for _ in range(rng.randint(2, 8)))})",
        lambda: f"{col} BETWEEN {rng.randint(1, 50)} AND {rng.randint(51, 900)}",
        lambda: f"lower({col}) = 'value{rng.randint(1, 99)}'",
        lambda: f"{col} LIKE '%{rng.choice(['ab', 'xy', 'zz'])}%'",
        lambda: f"date_trunc('day', {col}) = DATE '2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}'",
        lambda: f"{col} IS NOT NULL",
        lambda: f"coalesce({col}, 0) > {rng.randint(1, 9)}",
        lambda: f"{col}::date >= CURRENT_DATE - INTERVAL '{rng.randint(1, 90)} days'",
    ]
    return rng.choice(choices)()


def generate_statement(rng: random.Random) -> str:
    kind = rng.random()
    left, right, lkey, rkey = rng.choice(_JOINS)
    lcols, rcols = _TABLES[left], _TABLES[right]
    where = " AND ".join(_predicate(rng, "a", lcols) for _ in range(rng.randint(1, 4)))
    if kind < 0.35:
        cols = ", ".join(f"a.{c}" for c in rng.sample(lcols, rng.randint(1, len(lcols))))
        return (f"SELECT {cols}, b.{rng.choice(rcols)}\nFROM {left} AS a\nJOIN {right} AS b ON b.{rkey} = a.{lkey}\n"
                f"WHERE {where}\nORDER BY a.{lcols[0]} DESC\nLIMIT {rng.randint(10, 100)}")
    if kind < 0.55:
        group = rng.choice(lcols)
        return (f"WITH recent AS (\n  SELECT * FROM {left} AS a WHERE {where}\n)\n"
                f"SELECT r.{group}, count(*) AS n, sum(r.{rng.choice(lcols)}) AS s\nFROM recent AS r\n"
                f"GROUP BY r.{group}\nHAVING count(*) > {rng.randint(1, 20)}\nORDER BY n DESC")
    if kind < 0.70:
        return (f"SELECT a.*\nFROM {left} AS a\nWHERE {where}\n  AND EXISTS (SELECT 1 FROM {right} AS b "
                f"WHERE b.{rkey} = a.{lkey} AND {_predicate(rng, 'b', rcols)})")
    if kind < 0.80:
        return (f"SELECT a.{lcols[0]}, (SELECT max(b.{rcols[-1]}) FROM {right} AS b WHERE b.{rkey} = a.{lkey}) AS latest\n"
                f"FROM {left} AS a\nWHERE {where}\nUNION\nSELECT b.{rcols[0]}, NULL FROM {right} AS b WHERE {_predicate(rng, 'b', rcols)}")
    if kind < 0.88:
        return f"UPDATE {left} AS a SET {rng.choice(lcols[1:])} = {rng.randint(1, 99)}\nWHERE {where}"
    if kind < 0.94:
        values = ", ".join(f"({', '.join(str(rng.randint(1, 999)) for _ in lcols)})" for _ in range(rng.randint(1, 5)))
        return f"INSERT INTO {left} ({', '.join(lcols)}) VALUES {values}"
    return f"DELETE FROM {left} AS a WHERE {where}"


def generate_text(rng: random.Random, statements: int) -> str:
    parts = []
    for i in range(statements):
        header = f"-- query {i}: generated for the sqlperf benchmarks\n" if i % 3 == 0 else ""
        parts.append(f"{header}{generate_statement(rng)};\n")
    return "\n".join(parts)


def generate_corpus(target: Path, files: int, statements_per_file: int = 10, seed: int = 5) -> Path:
    """``files`` .sql files of realistic queries (deterministic for a seed); reused when already there."""
    marker = target / ".generated"
    spec = f"{files} {statements_per_file} {seed}\n"
    if marker.is_file() and marker.read_text() == spec:
        return target
    if target.exists():
        shutil.rmtree(target)
    rng = random.Random(seed)
    for i in range(files):
        folder = target / f"part{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"q{i:05d}.sql").write_text(generate_text(rng, statements_per_file), encoding="utf-8")
    marker.write_text(spec)
    return target


def generate_big_file(path: Path, megabytes: float, seed: int = 7) -> Path:
    """One file of about ``megabytes`` MB of statements."""
    spec_path = path.with_suffix(".spec")
    spec = f"{megabytes} {seed}\n"
    if path.is_file() and spec_path.is_file() and spec_path.read_text() == spec:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    limit = int(megabytes * 1024 * 1024)
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < limit:
            chunk = generate_text(rng, 50) + "\n"
            out.write(chunk)
            written += len(chunk)
    spec_path.write_text(spec)
    return path


def corpus_or_generated(corpus: str | None, work: Path, files: int = 300) -> tuple[Path, str]:
    """The corpus named on the command line, or a generated one (benchmarks run anywhere)."""
    if corpus:
        path = Path(corpus).resolve()
        if not path.is_dir():
            raise SystemExit(f"{corpus}: not a directory")
        return path, str(corpus)
    return generate_corpus(work / f"generated-{files}", files), f"generated ({files} files x 10 statements)"


def work_dir() -> Path:
    path = Path(os.environ.get("SQLPERF_BENCH_DIR", Path(__file__).resolve().parent / ".work"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def sql_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.sql") if p.is_file())
