"""The new user's tour: migrations + queries give index findings with ready-to-run DDL, and the
same findings come from the equivalent SQLAlchemy models and from the live database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sqlperf.config import Settings
from sqlperf.runner import check
from sqlperf.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "schema"
QUERIES = FIXTURES / "queries"
MIGRATIONS = FIXTURES / "migrations"
INDEX_RULES = {"SP201", "SP202", "SP204", "SP205"}


def expected() -> set[tuple[str, str]]:
    """Each query file says what it expects on its first line: ``-- expect: SP201 (...)`` or ``nothing``."""
    found = set()
    for path in sorted(QUERIES.glob("*.sql")):
        label = path.read_text(encoding="utf-8").splitlines()[0]
        assert label.startswith("-- expect:"), path
        found |= {(path.name, code) for code in re.findall(r"SP\d{3}", label.split("(")[0])}
    return found


def run_cli(*args: str, target: str = "fixtures/schema/queries/") -> tuple[int, dict]:
    """The real command, in process (click's runner) to spare an interpreter start per call."""
    from click.testing import CliRunner

    from sqlperf.cli import cli

    result = CliRunner().invoke(cli, ["check", *args, "--format", "json", target], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(autouse=True)
def in_project_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def from_migrations():
    import os

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        return run_cli("--schema", "fixtures/schema/migrations/*.sql")
    finally:
        os.chdir(here)


def comparable(findings) -> list[tuple]:
    return sorted((Path(f["path"]).name, f["code"], f["line"], f["column"], f["message"], f["help"]) for f in findings)


def test_library_check_matches_the_labels():
    schema = load_schema(["fixtures/schema/migrations/*.sql"], base=ROOT)
    result = check([QUERIES], Settings(), schema=schema)
    assert {(Path(f.path).name, f.code) for f in result.findings} == expected()


def test_cli_from_migrations_gives_ready_to_run_ddl(from_migrations):
    code, report = from_migrations
    assert code == 1
    assert {(Path(f["path"]).name, f["code"]) for f in report["findings"]} == expected()
    for finding in report["findings"]:
        if finding["code"] in INDEX_RULES:
            ddl = finding["fix"]["replacement"]
            assert re.fullmatch(r"CREATE INDEX CONCURRENTLY \w+ ON \w+ \([^;]+\);", ddl), ddl
            assert ddl in finding["help"]


def test_cli_from_models_gives_the_same_findings(from_migrations):
    _, from_ddl = from_migrations
    _, from_models = run_cli("--schema-metadata", "fixtures.schema.models:Base")
    assert comparable(from_models["findings"]) == comparable(from_ddl["findings"])


def test_the_migrations_themselves_get_the_ddl_rules():
    # Alone, 002 has two unindexed foreign keys; with the later migrations as the schema,
    # orders.user_id is covered by 003's composite index and only order_items.product_id is left.
    _, alone = run_cli(target="fixtures/schema/migrations/")
    assert sorted((f["code"], f["line"]) for f in alone["findings"]) == [("SP203", 9), ("SP203", 16)]
    _, with_schema = run_cli("--schema", "fixtures/schema/migrations/*.sql", target="fixtures/schema/migrations/")
    assert [(f["code"], f["line"], f["fix"]["replacement"]) for f in with_schema["findings"]] == [
        ("SP203", 16, "CREATE INDEX CONCURRENTLY order_items_product_id_idx ON order_items (product_id);")
    ]


def test_without_a_schema_the_index_rules_are_silent():
    code, report = run_cli()
    assert not {f["code"] for f in report["findings"]} & (INDEX_RULES | {"SP106"})


def test_the_real_command_line():
    """One run through the installed entry point, exactly as a user types it."""
    out = subprocess.run(
        [sys.executable, "-m", "sqlperf.cli", "check", "--schema", "fixtures/schema/migrations/*.sql", "fixtures/schema/queries/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    assert "CREATE INDEX CONCURRENTLY orders_status_total_idx ON orders (status, total);" in out.stdout


def test_a_missing_schema_file_is_one_line_and_exit_2():
    from click.testing import CliRunner

    from sqlperf.cli import cli

    result = CliRunner().invoke(cli, ["check", "--schema", "migrations/nope.sql", "fixtures/schema/queries/"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "sqlperf: error: schema file not found: migrations/nope.sql"


@pytest.mark.postgres
def test_live_database_gives_the_same_findings_and_its_ddl_runs(pg_dsn, from_migrations):
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for path in sorted(MIGRATIONS.glob("*.sql")):
            conn.execute(path.read_text(encoding="utf-8"))
    _, from_ddl = from_migrations
    code, from_db = run_cli("--schema-dsn", pg_dsn)
    assert code == 1
    assert comparable(from_db["findings"]) == comparable(from_ddl["findings"])
    # The suggested DDL is ready to run: apply it, and the index findings go away.
    suggestions = sorted({f["fix"]["replacement"] for f in from_db["findings"] if f["code"] in INDEX_RULES})
    assert suggestions
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for ddl in suggestions:
            conn.execute(ddl)
    _, after = run_cli("--schema-dsn", pg_dsn)
    assert not [f for f in after["findings"] if f["code"] in INDEX_RULES]
