"""A DSN's password never appears in any output: text, JSON, SARIF and GitHub reports of
``check --verify``, the report in text, JSON, Markdown and HTML, the logs (every logger at DEBUG),
and the error messages of every way a connection can fail.

The embedded server trusts its socket, so a password in the DSN is carried everywhere the DSN
goes but never checked; that is what these tests want: the DSN reaches every code path that
could print it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sqlperf.cli import cli

pytestmark = pytest.mark.postgres

# Distinctive, with characters that need quoting in both DSN forms.
SECRET = "Zq8-s3cr3t pw@:/'x"
SECRET_MARKERS = ("Zq8-s3cr3t", quote(SECRET, safe=""), "s3cr3t")
QUERIES = (
    "SELECT * FROM accounts WHERE lower(email) = 'a@example.com';\n"
    "SELECT id FROM accounts WHERE created_at::date = '2024-01-01';\n"
)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for marker in SECRET_MARKERS:
            assert marker not in (text or ""), f"the password leaked: ...{text[max(0, text.find(marker) - 80):][:200]}..."


def with_password(dsn: str, form: str) -> str:
    parts = conninfo_to_dict(dsn)
    if form == "kv":
        return make_conninfo(**{**parts, "password": SECRET})
    return f"postgresql://{parts['user']}:{quote(SECRET, safe='')}@/{parts['dbname']}?host={quote(parts['host'], safe='')}"


@pytest.fixture(scope="module")
def shop(pg_server):
    """A database with a table, statements in pg_stat_statements, and the DSN in both forms, with a password."""
    dsn = pg_server.create_database(f"secrets_{os.getpid()}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("DROP TABLE IF EXISTS accounts")
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL)")
        conn.execute(
            "INSERT INTO accounts SELECT g, 'u' || g || '@example.com', now() - g * interval '1 minute' FROM generate_series(1, 20000) g"
        )
        conn.execute("ANALYZE accounts")
        for n in range(20):
            conn.execute("SELECT id FROM accounts WHERE lower(email) = %s", (f"u{n}@example.com",))
    return {"uri": with_password(dsn, "uri"), "kv": with_password(dsn, "kv")}


@pytest.fixture
def queries(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SQLPERF_DSN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "q.sql").write_text(QUERIES)
    return tmp_path / "q.sql"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.mark.parametrize("form", ["uri", "kv"])
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_check_verify_output(shop, queries, fmt, form):
    result = invoke("check", "--no-cache", "--verify", "--dsn", shop[form], "--format", fmt, str(queries))
    assert result.exit_code == 1, result.output + result.stderr
    assert "SP101" in result.output  # the verification really ran on these findings
    if fmt in ("json", "sarif"):
        assert "confirmed" in result.output
    assert_no_secret(result.output, result.stderr)


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_report_output(shop, fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    result = invoke("report", shop["uri"], "--format", fmt, "--output", str(out), "--no-color")
    assert result.exit_code == 0, result.output + result.stderr
    body = out.read_text(encoding="utf-8")
    assert "accounts" in body
    assert_no_secret(body, result.output, result.stderr)


def test_report_names_the_database_without_the_password(shop):
    from sqlperf.dbreport import build_report

    report = build_report(shop["kv"])
    assert report.database and "secrets_" in report.database
    assert_no_secret(report.database, repr(report))


def test_logs_at_debug_level(shop, queries, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("psycopg", "psycopg.pool", "sqlperf", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        invoke("check", "--no-cache", "--verify", "--dsn", shop["uri"], str(queries))
        invoke("report", shop["kv"], "--format", "json")
        invoke("explain", "SELECT id FROM accounts WHERE lower(email) = 'x'", "--dsn", shop["uri"])
        bad = shop["uri"].replace("?host=", "?port=1&host=", 1)
        invoke("check", "--no-cache", "--verify", "--dsn", bad, str(queries))
    finally:
        for name in ("psycopg", "psycopg.pool", "sqlperf", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    assert caplog.records, "nothing was logged: this test would prove nothing"
    assert_no_secret(caplog.text, "\n".join(str(r.args) for r in caplog.records))


def test_logs_of_a_subprocess_run(shop, queries):
    """The real console entry point, with Python's warnings and every logger on stderr."""
    code = (
        "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr);"
        "from sqlperf.cli import main; sys.argv = ['sqlperf'] + sys.argv[1:]; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", code, "check", "--no-cache", "--verify", "--format", "json", str(queries)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "SQLPERF_DSN": shop["kv"], "DATABASE_URL": ""},
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert_no_secret(proc.stdout, proc.stderr)


UNREACHABLE = [
    pytest.param(f"postgresql://app:{quote(SECRET, safe='')}@127.0.0.1:1/shop", id="refused-uri"),
    pytest.param(make_conninfo(host="127.0.0.1", port="1", user="app", password=SECRET, dbname="shop"), id="refused-kv"),
    pytest.param(f"postgresql://app:{quote(SECRET, safe='')}@127.0.0.1:notaport/shop", id="bad-port"),
    pytest.param(f"host=127.0.0.1 password='{SECRET.replace(chr(39), chr(92) + chr(39))}' = broken", id="malformed-kv"),
    pytest.param(f"postgresql://app:{quote(SECRET, safe='')}@/nodb?host=/nonexistent/socket/dir", id="no-socket"),
    pytest.param(f"postgresql://app:{SECRET}@127.0.0.1:1/shop", id="unquoted-uri"),
]


@pytest.mark.parametrize("dsn", UNREACHABLE)
@pytest.mark.parametrize("command", ["check", "explain", "report", "schema-dsn"])
def test_error_messages(queries, dsn, command):
    args = {
        "check": ["check", "--no-cache", "--verify", "--dsn", dsn, str(queries)],
        "explain": ["explain", "SELECT 1 FROM accounts WHERE lower(email) = 'x'", "--dsn", dsn],
        "report": ["report", dsn],
        "schema-dsn": ["check", "--no-cache", "--schema-dsn", dsn, str(queries)],
    }[command]
    result = invoke(*args)
    assert result.exit_code == 2, result.output + result.stderr
    said = [line for line in (result.output + result.stderr).splitlines() if "error" in line.lower()]
    assert said, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert_no_secret(result.output, result.stderr)


@pytest.mark.parametrize("variable", ["SQLPERF_DSN", "DATABASE_URL"])
def test_error_message_with_the_dsn_from_the_environment(queries, monkeypatch, variable):
    monkeypatch.setenv(variable, f"postgresql://app:{quote(SECRET, safe='')}@127.0.0.1:1/shop")
    result = invoke("check", "--no-cache", "--verify", "--format", "json", str(queries))
    assert result.exit_code == 2
    assert_no_secret(result.output, result.stderr)
