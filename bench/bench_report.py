"""Benchmark of ``sqlperf report``: 5,000 pg_stat_statements rows and 1,000 tables, on an embedded PostgreSQL.

    .venv/bin/python bench/bench_report.py [--tables 1000] [--statements 5000] [--top 20] [--json bench/results/report.json]

Builds the database (1,000 tables with indexes, foreign keys and rows; 5,000 distinct statements
run so pg_stat_statements holds them), then times ``build_report`` (every section: statement
ranking, lint and generic plan of the top queries, index advice, catalog health) and the four
renderers. With Debian's chromium installed, the HTML report is also loaded in headless
Chromium and the time to render it is recorded. Target: the report in under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 30.0
SHAPES = (
    "SELECT id, c FROM t{i} WHERE a = %s",
    "SELECT id FROM t{i} WHERE b > %s ORDER BY b LIMIT 10",
    "SELECT count(*) FROM t{i} WHERE lower(c) = %s",
    "SELECT t{i}.id, p.c FROM t{i} JOIN t{p} p ON p.id = t{i}.parent_id WHERE t{i}.a = %s",
    "UPDATE t{i} SET c = %s WHERE id = 1",
)


def build(dsn: str, tables: int, statements: int, rows: int) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        with conn.transaction():
            for i in range(tables):
                parent = f", parent_id int REFERENCES t{i - 1} (id)" if i else ", parent_id int"
                conn.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY, a int, b int, c text{parent})")
                conn.execute(f"INSERT INTO t{i} SELECT g, g % 97, g, 'v' || g, CASE WHEN {i} > 0 THEN 1 + g % 10 END "
                             f"FROM generate_series(1, {rows}) g")
                if i % 3 == 0:
                    conn.execute(f"CREATE INDEX t{i}_b_idx ON t{i} (b)")
                if i % 10 == 0:
                    conn.execute(f"CREATE INDEX t{i}_b_dup_idx ON t{i} (b)")
        conn.execute("ANALYZE")
        conn.execute("SELECT pg_stat_statements_reset()")
        made = 0
        for i in range(tables):
            for shape in SHAPES:
                if made >= statements:
                    break
                sql = shape.format(i=i, p=max(i - 1, 0))
                for _ in range(1 + (i * 7 + made) % 3):
                    conn.execute(sql, ("v1",) if "lower(c)" in sql or "SET c" in sql else (made % 97,))
                made += 1


def pgss_rows(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_statements WHERE dbid = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0]


def chromium_render(html_path: Path) -> float | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--dump-dom", html_path.as_uri()], capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - started
    if result.returncode != 0 or 'data-ready="' not in result.stdout:
        raise SystemExit(f"chromium could not render {html_path}: {result.stderr[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--statements", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=200, help="rows per table")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "report.json"))
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from rich.console import Console
    from rich.table import Table

    from sqlperf.dbreport import Thresholds, build_report
    from sqlperf.dbreport.render import render
    from sqlperf.embedded import EmbeddedPostgres

    console = Console(stderr=True)
    workdir = Path(tempfile.mkdtemp(prefix="sqlperf-bench-report-"))
    server = EmbeddedPostgres(workdir / "data", preload=("pg_stat_statements",), keep_data=True).start()
    try:
        import psycopg

        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET pg_stat_statements.max = {max(5000, args.statements * 2)}")
            conn.execute("ALTER SYSTEM SET max_locks_per_transaction = 1024")
        server.stop()  # the data directory stays; the settings need a restart
        server = EmbeddedPostgres(workdir / "data", preload=("pg_stat_statements",)).start()
        dsn = server.create_database("bench_report")
        console.print(f"building {args.tables} tables and {args.statements} statements ...")
        started = time.perf_counter()
        build(dsn, args.tables, args.statements, args.rows)
        setup_s = time.perf_counter() - started
        rows = pgss_rows(dsn)

        started = time.perf_counter()
        report = build_report(dsn, Thresholds(top=args.top))
        report_s = time.perf_counter() - started
        renders = {}
        out_dir = workdir
        for fmt in ("text", "json", "markdown", "html"):
            started = time.perf_counter()
            with (out_dir / f"report.{fmt}").open("w", encoding="utf-8") as stream:
                render(report, fmt, stream, color=False)
            renders[fmt] = time.perf_counter() - started
        chromium_s = chromium_render(out_dir / "report.html")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "benchmark": "sqlperf report",
        "tables": args.tables,
        "pg_stat_statements_rows": rows,
        "top": args.top,
        "report_seconds": round(report_s, 3),
        "target_seconds": TARGET_S,
        "within_target": report_s < TARGET_S,
        "phases_seconds": report.timings,
        "render_seconds": {k: round(v, 3) for k, v in renders.items()},
        "chromium_render_seconds": round(chromium_s, 3) if chromium_s is not None else None,
        "setup_seconds": round(setup_s, 3),
        "findings": {"queries": len(report.queries), "advice": len(report.advice), "health": len(report.health)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "server_version": report.server_version,
    }
    table = Table(title="sqlperf report benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("tables", f"{args.tables:,}")
    table.add_row("pg_stat_statements rows", f"{rows:,}")
    for phase, seconds in report.timings.items():
        table.add_row(f"  {phase}", f"{seconds:.2f} s")
    table.add_row("report (all sections)", f"{report_s:.2f} s (target < {TARGET_S:.0f} s)")
    for fmt, seconds in renders.items():
        table.add_row(f"render {fmt}", f"{seconds * 1000:.0f} ms")
    table.add_row("chromium loads the HTML", "-" if chromium_s is None else f"{chromium_s:.2f} s")
    table.add_row("findings (queries / advice / health)", f"{len(report.queries)} / {len(report.advice)} / {len(report.health)}")
    Console().print(table)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.json}")
    return 0 if report_s < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
