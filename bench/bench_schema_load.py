"""How long loading a 500-table schema from DDL takes, against bare sqlglot parsing of the same DDL.

The DDL is generated (deterministic): each table has 6-12 columns, a primary key, one or two
foreign keys to earlier tables, two to four indexes (one composite, one partial or expression
every few tables) and an ALTER TABLE now and then, split into migration files of 50 tables.

    .venv/bin/python bench/bench_schema_load.py [--tables 500] [--repeat 5] [--json bench/results/schema_load.json]

Prints a table and writes JSON with median/min/max seconds per measurement. The budget is
an absolute 2 s for the load; the ratio to bare parsing shows what the loader itself costs.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_SECONDS = 2.0
TYPES = ["bigint", "integer", "text", "varchar(64)", "numeric(12,2)", "timestamptz", "boolean", "date", "uuid", "jsonb"]


def generate_ddl(tables: int, seed: int = 7) -> list[str]:
    """Migration files (as text) that create ``tables`` tables with keys and indexes."""
    rng = random.Random(seed)
    files: list[str] = []
    current: list[str] = []
    for number in range(tables):
        name = f"t{number:04d}"
        columns = [f"    id bigserial PRIMARY KEY"]
        width = rng.randint(6, 12)
        names = []
        for position in range(width):
            column = f"c{position}"
            names.append(column)
            not_null = " NOT NULL" if rng.random() < 0.4 else ""
            columns.append(f"    {column} {rng.choice(TYPES)}{not_null}")
        refs = rng.sample(range(number), k=min(number, rng.randint(1, 2))) if number else []
        for ref in refs:
            columns.append(f"    t{ref:04d}_id bigint REFERENCES t{ref:04d} (id)")
        columns.append(f"    CONSTRAINT {name}_c0_c1_key UNIQUE (c0, c1)")
        current.append(f"CREATE TABLE {name} (\n" + ",\n".join(columns) + "\n);")
        for ref in refs:
            if rng.random() < 0.7:
                current.append(f"CREATE INDEX {name}_t{ref:04d}_id_idx ON {name} (t{ref:04d}_id);")
        current.append(f"CREATE INDEX {name}_c2_c3_idx ON {name} (c2, c3 DESC);")
        if number % 3 == 0:
            current.append(f"CREATE INDEX {name}_c4_partial_idx ON {name} (c4) WHERE c5 IS NOT NULL;")
        if number % 5 == 0:
            current.append(f"CREATE INDEX {name}_lower_idx ON {name} (lower(c2::text));")
        if number % 7 == 0:
            current.append(f"ALTER TABLE {name} ADD COLUMN extra text, ADD CONSTRAINT {name}_extra_key UNIQUE (extra);")
        if len(current) >= 200 or number == tables - 1:
            files.append("\n".join(current) + "\n")
            current = []
    return files


def measure_interleaved(functions: dict, repeat: int) -> dict:
    """Run each function once per round, in turn, so a busy machine slows them all alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {
        name: {"median": statistics.median(t), "min": min(t), "max": max(t), "runs": repeat} for name, t in times.items()
    }


def paused(function):
    """``function`` with the cyclic garbage collector off, as the DDL loader runs its parse."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return function()
    finally:
        if enabled:
            gc.enable()


def _lint_overhead(repeat: int) -> dict | None:
    """The 22 TPC-H queries linted without and with their schema (skipped without the corpus)."""
    corpus = ROOT.parent / "shared" / "corpora" / "tpch"
    if not corpus.is_dir():
        return None
    from sqlperf.config import Settings
    from sqlperf.engine import Linter
    from sqlperf.schema import load_schema

    schema = load_schema([str(ROOT / "fixtures" / "schema" / "tpch" / "schema.sql")])
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(corpus.glob("*.sql"))]
    plain, aware = Linter(Settings()), Linter(Settings(), schema=schema)

    def lint(linter):
        return sum(len(linter.lint_text(text, name).findings) for name, text in texts)

    findings = lint(aware) - lint(plain)
    results = measure_interleaved({"without": lambda: lint(plain), "with": lambda: lint(aware)}, repeat)
    results["ratio"] = results["with"]["median"] / results["without"]["median"]
    results["findings"] = findings
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "schema_load.json")
    args = parser.parse_args(argv)

    import sqlglot

    from sqlperf.schema import load_schema

    files = generate_ddl(args.tables)
    with tempfile.TemporaryDirectory() as folder:
        for number, text in enumerate(files):
            (Path(folder) / f"{number:03d}_migration.sql").write_text(text, encoding="utf-8")
        texts = [p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.sql"))]
        schema = load_schema([folder])  # warm-up: imports and caches are not what we measure
        results = measure_interleaved(
            {
                "parse": lambda: [sqlglot.parse(t, read="postgres") for t in texts],
                "parse_gc_paused": lambda: paused(lambda: [sqlglot.parse(t, read="postgres") for t in texts]),
                "load": lambda: load_schema([folder]),
            },
            args.repeat,
        )
        parse, parse_paused, load = results["parse"], results["parse_gc_paused"], results["load"]

    tables = schema.unique_tables()
    indexes = sum(len(t.all_indexes()) for t in tables)
    foreign_keys = sum(len(t.foreign_keys) for t in tables)
    statements = sum(t.count(";") for t in files)
    ratio = load["median"] / parse["median"]
    rows = [
        ("sqlglot.parse (reference)", parse),
        ("sqlglot.parse, gc paused", parse_paused),
        ("load_schema (DDL)", load),
    ]
    print(f"{args.tables} tables, {statements} statements, {indexes} indexes, {foreign_keys} foreign keys, {len(files)} files")
    print(f"{'measurement':28} {'median s':>9} {'min s':>9} {'max s':>9}")
    for label, row in rows:
        print(f"{label:28} {row['median']:9.3f} {row['min']:9.3f} {row['max']:9.3f}")
    verdict = "within" if load["median"] < BUDGET_SECONDS else "OVER"
    print(f"load / parse = {ratio:.2f}x (load / parse with gc paused, as the loader does = {load['median'] / parse_paused['median']:.2f}x); load median {load['median']:.3f} s is {verdict} the {BUDGET_SECONDS:.0f} s budget")
    if schema.notes:
        print(f"notes: {len(schema.notes)} (first: {schema.notes[0]})")

    linting = _lint_overhead(args.repeat)
    if linting:
        print(f"{'check tpch, no schema':28} {linting['without']['median']:9.3f} {linting['without']['min']:9.3f} {linting['without']['max']:9.3f}")
        print(f"{'check tpch, with schema':28} {linting['with']['median']:9.3f} {linting['with']['min']:9.3f} {linting['with']['max']:9.3f}")
        print(f"schema rules cost {linting['ratio']:.2f}x a lint without them ({linting['findings']} schema findings)")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "schema_load",
                "tables": len(tables),
                "statements": statements,
                "indexes": indexes,
                "foreign_keys": foreign_keys,
                "reference_parse_seconds": parse,
                "reference_parse_gc_paused_seconds": parse_paused,
                "load_schema_seconds": load,
                "ratio_to_parse": ratio,
                "budget_seconds": BUDGET_SECONDS,
                "within_budget": load["median"] < BUDGET_SECONDS,
                "notes": len(schema.notes),
                "tpch_lint": linting,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}")
    return 0 if load["median"] < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
