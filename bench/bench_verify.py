"""Verification speed: building the scratch database, reusing it from the cache, and verifying
100 statements against a bare EXPLAIN loop on one connection.

    .venv/bin/python bench/bench_verify.py [--rows 100000] [--repeat 3] [--json bench/results/verify.json]

1. scratch build: 5 tables x ``--rows`` rows (keys, foreign keys, text/numeric/date/uuid/jsonb
   columns), a schema not built before, to a started, analysed database. Target: under 20 s.
   Shown separately: the very first build in an empty cache, which also runs initdb once for
   the template cluster every later build is copied from.
2. cache reuse: the same DDL and row settings again. Target: under 3 s.
3. verify 100 statements: ``verify_findings`` on one finding per statement whose verdict comes
   from the plan (its own rolled-back transaction, timeouts, the plan model, the plan checks),
   against a bare ``EXPLAIN (FORMAT JSON)`` loop over the same statements on one autocommit
   connection, the two run alternately in the same process. Target: ratio under 2x.
4. for scale, not budgeted: the same with a what-if index per finding (built and analysed
   inside each rolled-back transaction), which is what a confirmation of SP101 costs.

Prints a table and writes JSON with median/min/max seconds per measurement.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DDL = """
CREATE TABLE customers (id bigint PRIMARY KEY, email varchar(120) NOT NULL UNIQUE, name text NOT NULL,
                        country char(2) NOT NULL, created_at timestamptz NOT NULL, profile jsonb);
CREATE TABLE products (id integer PRIMARY KEY, sku varchar(32) NOT NULL UNIQUE, title text NOT NULL,
                       price numeric(10,2) NOT NULL, added date NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
                     status smallint NOT NULL, total numeric(12,2) NOT NULL, placed_at timestamptz NOT NULL,
                     external_id uuid NOT NULL);
CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
                          product_id integer NOT NULL REFERENCES products, quantity integer NOT NULL,
                          price numeric(10,2) NOT NULL);
CREATE TABLE reviews (id bigint PRIMARY KEY, product_id integer NOT NULL REFERENCES products,
                      customer_id bigint NOT NULL REFERENCES customers, rating smallint NOT NULL, body text);
CREATE INDEX orders_customer_idx ON orders (customer_id);
"""

TARGETS = {"scratch_build": 20.0, "cache_reuse": 3.0, "verify_ratio": 2.0}


def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def bench_scratch(rows: int, repeat: int) -> tuple[list[float], list[float], list[float], Path]:
    from sqlperf.verify.scratch import ScratchDatabase, ScratchOptions

    firsts, builds, reuses = [], [], []
    keep = None
    for run in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="sqlperf-bench-cache-"))
        # A brand-new cache: initdb of the template cluster included.
        started = time.perf_counter()
        first = ScratchDatabase(DDL, ScratchOptions(rows=rows + 1, cache_dir=cache)).start()
        firsts.append(time.perf_counter() - started)
        first.stop()
        # A schema (or row setting) not built before, in a cache that has the template.
        options = ScratchOptions(rows=rows, cache_dir=cache)
        started = time.perf_counter()
        scratch = ScratchDatabase(DDL, options).start()
        builds.append(time.perf_counter() - started)
        scratch.stop()
        started = time.perf_counter()
        again = ScratchDatabase(DDL, options).start()
        reuses.append(time.perf_counter() - started)
        assert again.from_cache
        again.stop()
        if run == repeat - 1:
            keep = cache
        else:
            shutil.rmtree(cache, ignore_errors=True)
    return firsts, builds, reuses, keep


def _statements(count: int) -> list[str]:
    shapes = [
        "SELECT * FROM orders WHERE customer_id = {i}",
        "SELECT * FROM customers WHERE id = {i}",
        "SELECT * FROM order_lines WHERE order_id = {i} AND quantity > 1",
        "SELECT * FROM products WHERE price > {i}",
        "SELECT * FROM reviews r JOIN products p ON p.id = r.product_id WHERE r.customer_id = {i}",
    ]
    return [shapes[i % len(shapes)].format(i=i + 1) for i in range(count)]


def bench_verify(dsn: str, repeat: int, count: int = 100) -> dict:
    import psycopg

    from sqlperf.engine import lint_sql
    from sqlperf.verify import verify_findings
    from sqlperf.verify.backend import BackendOptions, PostgresBackend
    from sqlperf.verify.pg import Database, SessionSettings

    statements = _statements(count)
    findings_per_run = []
    for _ in range(repeat):
        batch = []
        for sql in statements:
            found = [f for f in lint_sql(sql) if f.code == "SP301"]
            assert found, sql
            batch.append(found[0])
        findings_per_run.append(batch)
    whatif = [lint_sql(f"SELECT id FROM customers WHERE lower(name) = 'name_{i}'")[0] for i in range(count // 10)]

    bare, ours, with_index = [], [], []
    conn = psycopg.connect(dsn, autocommit=True)
    db = Database(dsn, SessionSettings(read_only=False)).open()
    try:
        for run in range(repeat):
            started = time.perf_counter()
            for sql in statements:
                conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()
            bare.append(time.perf_counter() - started)

            backend = PostgresBackend(db, scratch=True, options=BackendOptions())
            started = time.perf_counter()
            verify_findings(findings_per_run[run], backend=backend)
            ours.append(time.perf_counter() - started)

            backend = PostgresBackend(db, scratch=True, options=BackendOptions())
            started = time.perf_counter()
            verify_findings(whatif, backend=backend)
            with_index.append((time.perf_counter() - started) * (count / len(whatif)))
    finally:
        conn.close()
        db.close()
    ratios = [o / b for o, b in zip(ours, bare)]
    return {"bare": bare, "verify": ours, "ratio": ratios, "whatif_per_100": with_index}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "verify.json")
    args = parser.parse_args()

    firsts, builds, reuses, cache = bench_scratch(args.rows, args.repeat)
    from sqlperf.verify.scratch import ScratchDatabase, ScratchOptions

    scratch = ScratchDatabase(DDL, ScratchOptions(rows=args.rows, cache_dir=cache)).start()
    try:
        verify = bench_verify(scratch.dsn, max(args.repeat, 5))
    finally:
        scratch.stop()
        shutil.rmtree(cache, ignore_errors=True)

    results = {
        "first_build_with_initdb_s": _stats(firsts),
        "scratch_build_s": _stats(builds),
        "cache_reuse_s": _stats(reuses),
        "bare_explain_100_s": _stats(verify["bare"]),
        "verify_100_s": _stats(verify["verify"]),
        "verify_ratio": _stats(verify["ratio"]),
        "whatif_verify_100_s": _stats(verify["whatif_per_100"]),
        "rows_per_table": args.rows,
        "tables": 5,
        "targets": TARGETS,
    }
    rows = [
        ("first build, empty cache (with initdb)", results["first_build_with_initdb_s"], ""),
        ("scratch build (5 x %d rows)" % args.rows, results["scratch_build_s"], f"< {TARGETS['scratch_build']:g} s"),
        ("cache reuse", results["cache_reuse_s"], f"< {TARGETS['cache_reuse']:g} s"),
        ("bare EXPLAIN loop, 100 statements", results["bare_explain_100_s"], ""),
        ("verify_findings, 100 statements", results["verify_100_s"], ""),
        ("ratio verify / bare", results["verify_ratio"], f"< {TARGETS['verify_ratio']:g}x"),
        ("with what-if index (per 100, scaled)", results["whatif_verify_100_s"], "not budgeted"),
    ]
    print(f"{'measurement':<42} {'median':>9} {'min':>9} {'max':>9}  target")
    for name, s, target in rows:
        print(f"{name:<42} {s['median']:>9.3f} {s['min']:>9.3f} {s['max']:>9.3f}  {target}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
