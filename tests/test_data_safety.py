"""Nothing sqlperf does to a real database changes it: after `check --verify` (plain, with
--analyze, with --allow-index-build) and `report` (plain and --build-indexes), every table's
contents (checksums), every sequence and the catalog are as they were, and no session,
transaction, prepared statement or lock of sqlperf remains.
"""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from click.testing import CliRunner

from sqlperf.cli import cli

pytestmark = pytest.mark.postgres

SETUP = """
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL, name text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), status text NOT NULL,
                     total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL);
CREATE SEQUENCE invoice_numbers START 1000;
CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open';
INSERT INTO customers (email, name, created_at)
  SELECT 'c' || g || '@example.com', 'Customer ' || g, now() - g * interval '1 hour' FROM generate_series(1, 5000) g;
INSERT INTO orders (customer_id, status, total, created_at)
  SELECT 1 + g % 5000, (ARRAY['open', 'paid', 'shipped'])[1 + g % 3], g % 997, now() - g * interval '1 minute'
  FROM generate_series(1, 30000) g;
SELECT nextval('invoice_numbers');
ANALYZE;
"""

# Statements of every kind, the data-changing ones included: verification only plans them.
QUERIES = """
SELECT * FROM customers WHERE lower(email) = 'c1@example.com';
SELECT id, total FROM orders WHERE created_at::date = '2024-03-05';
SELECT id FROM orders WHERE customer_id = 7 ORDER BY created_at DESC LIMIT 10;
SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE upper(c.name) LIKE '%SMITH%';
UPDATE orders SET status = 'paid' WHERE lower(status) = 'open';
DELETE FROM orders WHERE total + 1 = 5;
INSERT INTO customers (email, name) SELECT email, name FROM customers WHERE lower(email) = 'x';
SELECT nextval('invoice_numbers') FROM customers WHERE lower(email) = 'c2@example.com';
SELECT id FROM customers WHERE lower(email) = 'c3@example.com' FOR UPDATE;
"""


def snapshot(dsn: str) -> dict:
    """Contents, sequences and catalog of the database, read from a session that is not sqlperf's."""
    with psycopg.connect(dsn, application_name="safety-probe") as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1").fetchall()]
        contents = {
            t: conn.execute(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x").fetchone()
            for t in tables
        }
        sequences = {
            name: conn.execute(f"SELECT last_value, is_called, log_cnt FROM {name}").fetchone()[:2]
            for (name,) in conn.execute(
                "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1").fetchall()
        }
        catalog = {
            "relations": conn.execute(
                "SELECT c.oid, c.relname, c.relkind, c.relfilenode, c.relpages, c.reltuples FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY c.oid").fetchall(),
            "indexes": conn.execute("SELECT indexrelid, indrelid, indkey::text FROM pg_index ORDER BY 1").fetchall(),
            "columns": conn.execute(
                "SELECT attrelid, attname, atttypid, attnotnull FROM pg_attribute WHERE attnum > 0 AND attrelid IN "
                "(SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace) ORDER BY 1, 2").fetchall(),
            "constraints": conn.execute("SELECT oid, conname, contype FROM pg_constraint ORDER BY oid").fetchall(),
            "functions": conn.execute("SELECT count(*), max(oid::bigint) FROM pg_proc").fetchone(),
            "extensions": conn.execute("SELECT extname, extversion FROM pg_extension ORDER BY 1").fetchall(),
            "settings": conn.execute(
                "SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting ORDER BY 1, 2").fetchall(),
            "prepared_xacts": conn.execute("SELECT count(*) FROM pg_prepared_xacts").fetchone(),
        }
    return {"contents": contents, "sequences": sequences, "catalog": catalog}


def sqlperf_sessions(dsn: str) -> list[tuple]:
    """sqlperf's sessions on the server, and what they hold, as (pid, state, backend_xid, locks)."""
    with psycopg.connect(dsn, application_name="safety-probe", autocommit=True) as conn:
        return conn.execute(
            "SELECT a.pid, a.state, a.backend_xid::text, "
            "       (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid AND l.locktype <> 'virtualxid') "
            "FROM pg_stat_activity a WHERE a.application_name LIKE 'sqlperf%'"
        ).fetchall()


def assert_nothing_left(dsn: str) -> None:
    # A closed client's backend exits a moment later: wait for that, but not for ever.
    for _ in range(100):
        left = sqlperf_sessions(dsn)
        if not left:
            break
        time.sleep(0.1)
    assert left == [], f"sqlperf sessions remain: {left}"
    with psycopg.connect(dsn, application_name="safety-probe", autocommit=True) as conn:
        foreign = conn.execute(
            "SELECT l.locktype, l.relation::regclass::text, l.mode FROM pg_locks l "
            "WHERE l.pid <> pg_backend_pid() AND l.locktype <> 'virtualxid'"
        ).fetchall()
    assert foreign == [], f"locks remain: {foreign}"


@pytest.fixture
def shop(pg_dsn, tmp_path, monkeypatch):
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        for n in range(30):  # give the report something in pg_stat_statements
            conn.execute("SELECT id FROM orders WHERE lower(status) = %s", (f"s{n % 3}",))
            conn.execute("SELECT * FROM customers WHERE email = %s", (f"c{n}@example.com",))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SQLPERF_DSN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "q.sql").write_text(QUERIES)
    return pg_dsn


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


RUNS = {
    "check-verify": ["check", "--no-cache", "--select", "ALL", "--verify", "--dsn", "{dsn}", "--format", "json", "q.sql"],
    "check-verify-analyze": ["check", "--no-cache", "--select", "ALL", "--verify", "--analyze", "--dsn", "{dsn}", "--format", "json", "q.sql"],
    "check-verify-index-build": ["check", "--no-cache", "--verify", "--allow-index-build", "--dsn", "{dsn}", "--format", "json", "q.sql"],
    "explain": ["explain", "UPDATE orders SET status = 'x' WHERE lower(status) = 'open'", "--dsn", "{dsn}", "--format", "json"],
    "report": ["report", "{dsn}", "--format", "json"],
    "report-build-indexes": ["report", "{dsn}", "--format", "json", "--build-indexes"],
}


@pytest.mark.parametrize("run", list(RUNS))
def test_database_unchanged_and_nothing_left(shop, run):
    before = snapshot(shop)
    assert sqlperf_sessions(shop) == []
    result = invoke(*[part.replace("{dsn}", shop) for part in RUNS[run]])
    assert result.exit_code in (0, 1), result.output[-2000:] + result.stderr
    if run.startswith("check"):
        # The verification really reached the database: plans with costs came back.
        verified = [f["verification"] for f in json.loads(result.output)["findings"] if f["verification"]]
        assert any(v["cost_before"] is not None for v in verified), verified
    after = snapshot(shop)
    assert after["contents"] == before["contents"]
    assert after["sequences"] == before["sequences"]
    for part, rows in before["catalog"].items():
        assert after["catalog"][part] == rows, f"the catalog changed: {part}"
    assert_nothing_left(shop)


def test_sessions_carry_the_name_while_they_run(shop):
    """The check above is only worth something if sqlperf's sessions carry its name: look during a run."""
    from sqlperf.engine import lint_sql
    from sqlperf.verify import verify_findings

    seen: list[tuple] = []

    def progress(message: str) -> None:
        with psycopg.connect(shop, application_name="safety-probe", autocommit=True) as conn:
            seen.extend(conn.execute(
                "SELECT application_name, backend_type FROM pg_stat_activity WHERE application_name LIKE 'sqlperf%'"
            ).fetchall())

    findings = lint_sql(QUERIES)
    before = snapshot(shop)
    verify_findings(findings, dsn=shop, progress=progress)
    assert seen and {name for name, _ in seen} == {"sqlperf"}
    assert snapshot(shop) == before
    assert_nothing_left(shop)


def test_a_failed_run_leaves_nothing_either(shop, monkeypatch):
    """A statement that fails in the middle (it names a table that does not exist) ends its transaction too."""
    from pathlib import Path

    Path("q.sql").write_text(QUERIES + "SELECT * FROM no_such_table WHERE lower(a) = 'x';\n")
    before = snapshot(shop)
    result = invoke("check", "--no-cache", "--verify", "--dsn", shop, "--format", "json", "q.sql")
    assert result.exit_code in (1, 2)
    assert snapshot(shop) == before
    assert_nothing_left(shop)


def test_the_snapshot_sees_what_a_rollback_does_not_undo(shop):
    """The guard can fail: nextval() survives a rollback, a rolled-back index build does not show."""
    before = snapshot(shop)
    with psycopg.connect(shop) as conn:
        conn.execute("CREATE INDEX scratch_idx ON orders (status)")
        conn.execute("SELECT nextval('invoice_numbers')")
        conn.rollback()
    after = snapshot(shop)
    assert after["contents"] == before["contents"] and after["catalog"]["indexes"] == before["catalog"]["indexes"]
    assert after["sequences"] != before["sequences"]
