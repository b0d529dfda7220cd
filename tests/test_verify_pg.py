"""The PostgreSQL connection layer and the safety promises of a verify run against a DSN."""

import os
import threading
import time

import psycopg
import pytest

from sqlperf.engine import lint_sql
from sqlperf.verify import verify_findings
from sqlperf.verify.pg import Database, DatabaseError, SessionSettings, StatementTimeout

from verify_tpch import load_tpch

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def tpch_dsn(pg_server):
    dsn = pg_server.create_database(f"tpch_pg_{os.getpid()}")
    load_tpch(dsn)
    return dsn


def _snapshot(dsn):
    """Everything a verify run must leave untouched: rows, sequences, catalog objects."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = {t: conn.execute(f"SELECT count(*), sum(hashtext(x::text)) FROM {t} x").fetchone() for t in ("region", "nation", "customer", "part", "orders")}
        catalog = conn.execute(
            "SELECT count(*), string_agg(relname::text || relkind::text, ',' ORDER BY relname) FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace"
        ).fetchone()
        sequences = conn.execute("SELECT string_agg(sequencename::text || coalesce(last_value, 0)::text, ',') FROM pg_sequences").fetchone()
        extensions = conn.execute("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension").fetchone()
    return rows, catalog, sequences, extensions


def test_explain_is_json_plan_with_read_only_session(tpch_dsn):
    with Database(tpch_dsn).open() as db:
        plan = db.explain("SELECT * FROM orders WHERE o_custkey = 7")
        assert plan.root.node_type in ("Bitmap Heap Scan", "Index Scan")
        assert plan.total_cost > 0
        with db.transaction() as conn:
            settings = dict(conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('default_transaction_read_only', 'application_name', 'statement_timeout', 'lock_timeout')"
            ).fetchall())
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TABLE sneaky (id int)")
    assert settings == {
        "default_transaction_read_only": "on",
        "application_name": "sqlperf",
        "statement_timeout": "5000",
        "lock_timeout": "1000",
    }


@pytest.mark.parametrize("sql", ["SELECT * FROM orders WHERE o_custkey = $1", "SELECT * FROM orders WHERE o_custkey = :cust",
                                 "SELECT * FROM orders WHERE o_custkey = %s", "SELECT * FROM orders WHERE o_custkey = ?"])
def test_parameterised_statements_get_generic_plans(tpch_dsn, sql):
    with Database(tpch_dsn).open() as db:
        plan = db.explain(sql)
    conds = " ".join(n.index_cond or n.filter or "" for n in plan.nodes())
    assert "$1" in conds  # planned generically: the parameter stays symbolic, never bound to NULL


def test_prepare_path_used_before_16_leaves_no_prepared_statement(tpch_dsn):
    with Database(tpch_dsn, SessionSettings(pool_size=1)).open() as db:
        db.server_version = 150000  # take the pre-16 PREPARE + force_generic_plan path on this server
        plan = db.explain("SELECT * FROM customer WHERE c_nationkey = $1 AND c_acctbal > $2")
        with db.transaction() as conn:
            left = conn.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'sqlperf%'").fetchone()[0]
    assert "$1" in (plan.root.filter or "") and left == 0


def test_verify_run_changes_nothing_and_leaves_no_transaction(tpch_dsn):
    before = _snapshot(tpch_dsn)
    queries = [
        "SELECT c_custkey FROM customer WHERE lower(c_name) = 'customer#000000042'",
        "SELECT o_orderkey FROM orders WHERE date_trunc('year', o_orderdate) = date '1994-01-01'",
        "SELECT * FROM part WHERE p_name LIKE '%green%'",
    ]
    findings = [f for q in queries for f in lint_sql(q)]
    assert findings
    verify_findings(findings, dsn=tpch_dsn, allow_index_build=True, analyze=True)
    assert all(f.verification is not None for f in findings)
    assert _snapshot(tpch_dsn) == before
    with psycopg.connect(tpch_dsn, autocommit=True) as conn:
        for _ in range(100):  # a closed backend leaves pg_stat_activity a moment after the client
            sessions = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlperf'").fetchone()[0]
            if not sessions:
                break
            time.sleep(0.05)
        locks = conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'sqlperf'").fetchone()[0]
    assert sessions == 0 and locks == 0


def test_lock_wait_is_cancelled_and_reported(tpch_dsn):
    holder = psycopg.connect(tpch_dsn)
    try:
        holder.execute("LOCK TABLE part IN ACCESS EXCLUSIVE MODE")
        findings = lint_sql("SELECT p_partkey FROM part WHERE lower(p_name) = 'x'")
        verify_findings(findings, dsn=tpch_dsn, options={"lock_timeout_ms": 200})
        verification = findings[0].verification
        assert verification.status == "skipped"
        assert "lock_timeout" in verification.reason
    finally:
        holder.rollback()
        holder.close()


def test_statement_timeout_cancels_and_reports(tpch_dsn):
    with Database(tpch_dsn, SessionSettings(statement_timeout_ms=200)).open() as db:
        with pytest.raises(StatementTimeout) as caught:
            with db.transaction() as conn:
                conn.execute("SELECT pg_sleep(30)")
        # the pooled session is still usable afterwards
        assert db.explain("SELECT 1").total_cost >= 0
    assert "statement_timeout" in str(caught.value)


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://app:hunter2secret@127.0.0.1:1/shop", "host=/nonexistent/dir user=app password=hunter2secret dbname=x"],
)
def test_unreachable_dsn_is_one_clear_line_without_password(dsn):
    with pytest.raises(DatabaseError) as caught:
        verify_findings(lint_sql("SELECT * FROM t WHERE lower(a) = 'x'"), dsn=dsn, options={"connect_timeout_s": 2})
    message = str(caught.value)
    assert "hunter2secret" not in message and "\n" not in message
    assert message.startswith("cannot connect to") and caught.value.exit_code == 2


def test_unknown_database_is_reported(pg_server):
    dsn = pg_server.dsn("no_such_database_here")
    with pytest.raises(DatabaseError, match="no_such_database_here"):
        Database(dsn).open()


def test_pool_serves_concurrent_threads(tpch_dsn):
    errors = []
    with Database(tpch_dsn, SessionSettings(pool_size=2)).open() as db:
        def work():
            try:
                for _ in range(5):
                    db.explain("SELECT count(*) FROM nation")
            except Exception as error:  # collected and asserted below
                errors.append(error)
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
