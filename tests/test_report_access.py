"""What the report does without pg_stat_statements, without privileges, without a database, and
with HypoPG (PostgreSQL 15 in CI through SQLPERF_TEST_PG15_DSN), plus the ``--demo`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from sqlperf.dbreport import Thresholds, build_report
from sqlperf.dbreport.demo import load_demo, run_workload

pytestmark = pytest.mark.postgres

PG15_DSN = os.environ.get("SQLPERF_TEST_PG15_DSN")


def _sqlperf(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sqlperf.cli", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "SQLPERF_DSN": "", "DATABASE_URL": "", **(env or {})},
    )


def test_without_pg_stat_statements_the_other_sections_still_run(pg_dsn):
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)")
        conn.execute("CREATE INDEX child_id_idx ON child (id)")
    report = build_report(pg_dsn)
    assert report.sections["queries"] == "unavailable" and report.queries == []
    notice = next(n for n in report.notices if n.section == "queries")
    assert "CREATE EXTENSION pg_stat_statements" in notice.remedy  # loaded by the server, missing in this database
    assert report.sections["health"] == "ok"
    assert [i.detail["columns"] for i in report.health_of("unindexed-foreign-key")] == [["parent_id"]]
    assert {i.index for i in report.health_of("duplicate-index")} == {"child_id_idx"}  # same as child_pkey
    assert any(n.section == "advice" for n in report.notices)


def test_a_role_without_pg_read_all_stats_is_told_what_to_grant(pg_dsn):
    role = f"limited_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
        for value in range(5):
            conn.execute("SELECT v FROM t WHERE v = %s", (value,))
        conn.execute(f"CREATE ROLE {role} LOGIN")
    limited = pg_dsn.replace("postgresql://postgres:@", f"postgresql://{role}:@", 1)
    assert limited != pg_dsn
    try:
        report = build_report(limited)
        notices = [n for n in report.notices if n.section == "queries"]
        assert notices and "GRANT pg_read_all_stats" in notices[0].remedy
        assert all("insufficient" not in q.query for q in report.queries)
        assert report.sections["health"] == "ok"
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


def test_unreachable_database_one_line_exit_2_no_password():
    result = _sqlperf("report", "postgresql://app:s3cretpw@127.0.0.1:1/shop", timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "s3cretpw" not in result.stderr + result.stdout
    assert result.stderr.startswith("sqlperf: error: cannot connect to") and len(result.stderr.strip().splitlines()) == 1


def test_no_database_given():
    result = _sqlperf("report")
    assert result.returncode == 2
    assert "SQLPERF_DSN" in result.stderr and "--demo" in result.stderr and "Traceback" not in result.stderr


def test_bad_option_value_exit_2():
    result = _sqlperf("report", "--top", "0", "--demo")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_demo_from_the_command_line(tmp_path):
    out = tmp_path / "demo.json"
    result = _sqlperf("report", "--demo", "--demo-scale", "0.05", "--format", "json", "--output", str(out), timeout=240)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    kinds = {h["kind"] for h in data["health"]}
    assert {"unused-index", "duplicate-index", "redundant-index", "unindexed-foreign-key"} <= kinds
    assert any("SP101" in {f["code"] for f in q["findings"]} for q in data["queries"])  # the non-sargable predicate
    assert any(a["columns"][:1] == ["customer_id"] and a["status"] == "verified" for a in data["advice"])  # the missing index


# -- HypoPG (the CI's PostgreSQL 15 with postgresql-15-hypopg) ------------------------------------------
# CI's role is no superuser and its server may not preload pg_stat_statements: the advisor test
# therefore works in a schema of its own and weighs the queries by times it measures itself.

@pytest.fixture
def pg15_shop():
    if not PG15_DSN:
        pytest.skip("SQLPERF_TEST_PG15_DSN is not set (.ci/pg15.sh sets it: PostgreSQL 15 with HypoPG)")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    schema = f"sqlperf_report_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG15_DSN, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'").fetchone() is None:
            pytest.skip("HypoPG is not created in the PostgreSQL 15 database")
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = make_conninfo(**{**conninfo_to_dict(PG15_DSN), "options": f"-c search_path={schema},public"})
    try:
        load_demo(dsn, 0.1, extension=False)
        yield dsn, schema
    finally:
        with psycopg.connect(PG15_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _measured_workload(dsn: str) -> list:
    """The demo's read queries as pg_stat_statements would show them, weighed by measured time."""
    import time

    from sqlperf.dbreport.demo import WORKLOAD, sizes
    from sqlperf.dbreport.model import QueryStat
    from sqlperf.verify.params import to_numbered_params
    import random

    rng, n, stats = random.Random(3), sizes(0.1), []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for number, (name, sql, per_scale, params) in enumerate(WORKLOAD, 1):
            if not sql.startswith("SELECT"):
                continue
            calls = max(3, per_scale // 10)
            started = time.perf_counter()
            for _ in range(calls):
                conn.execute(sql, params(rng, n))
            total = (time.perf_counter() - started) * 1000
            stats.append(QueryStat(number, to_numbered_params(sql)[0], calls, total, total / calls, calls, None, 0.0))
    return stats


def test_hypopg_verifies_the_advice_and_a_real_build_agrees(pg15_shop):
    from sqlperf.dbreport.advisor import advise
    from sqlperf.dbreport.statements import plan_query
    from sqlperf.schema.catalog import load_catalog
    from sqlperf.verify.pg import Database

    dsn, schema_name = pg15_shop
    stats = _measured_workload(dsn)
    schema = load_catalog(dsn, schemas=[schema_name])
    with Database(dsn).open() as db:
        assert db.has_hypopg and db.server_version < 160000  # the PREPARE generic-plan path
        for stat in stats:
            plan_query(db, stat, schema)
            assert stat.plan_error is None, stat.plan_error
        advice = advise(db, stats, schema, Thresholds(), method="hypopg", writes_per_hour={})
    assert advice and all(a.status == "verified" and a.method == "hypopg" for a in advice)
    on_customer = [a for a in advice if a.columns[0] == "customer_id"]
    assert len(on_customer) == 1 and len(on_customer[0].gains) == 2  # one index serves both customer queries
    composite = on_customer[0]
    assert f"{schema_name}.orders" in composite.ddl  # qualified outside public
    assert any("lower" in a.ddl.lower() for a in advice)
    gain = composite.gains[0]
    with psycopg.connect(dsn) as conn:  # the real index, built and rolled back
        conn.execute(composite.ddl.replace(" CONCURRENTLY", ""))
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE q AS {gain.query}")
        plan = conn.execute("EXPLAIN (FORMAT JSON) EXECUTE q(NULL)").fetchone()[0]
        conn.rollback()
    assert composite.ddl.split()[3] in json.dumps(plan)  # the real build is used by the same query
    assert plan[0]["Plan"]["Total Cost"] < gain.cost_before / 2


def test_full_report_with_hypopg_when_the_server_allows(pg15_shop):
    """With pg_stat_statements preloaded and a superuser (a developer's PostgreSQL 15), the whole report."""
    dsn, _ = pg15_shop
    with psycopg.connect(dsn, autocommit=True) as conn:
        allowed = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0] if allowed else ""
        if not allowed or "pg_stat_statements" not in preload:
            pytest.skip("needs a superuser and pg_stat_statements in shared_preload_libraries")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    run_workload(dsn, 0.1)
    report = build_report(dsn, Thresholds())
    assert report.server_version.startswith("15.")
    assert report.sections["advice"] == "ok" and report.advice
    assert all(a.method == "hypopg" for a in report.advice)
    assert not any(n.section == "advice" for n in report.notices)


def test_without_hypopg_advice_is_unverified_and_says_how_to_install(pg_dsn):
    load_demo(pg_dsn, 0.05)
    run_workload(pg_dsn, 0.05)
    report = build_report(pg_dsn, Thresholds())  # the embedded server has no HypoPG
    assert report.advice and all(a.status == "unverified" and a.method == "none" for a in report.advice)
    notice = next(n for n in report.notices if n.section == "advice")
    assert "hypopg" in notice.remedy.lower() and "CREATE EXTENSION hypopg" in notice.remedy
    assert report.sections["advice"] == "partial"
    # still consolidated: the order-by composite absorbs the single-column candidate
    on_customer = [a for a in report.advice if a.columns[0] == "customer_id"]
    assert len(on_customer) == 1 and len(on_customer[0].gains) == 2
