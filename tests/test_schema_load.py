"""load_schema: one entry point over the three loaders, and a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlperf.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_package_loads_no_driver_or_orm():
    code = (
        "import sys, sqlperf.schema; "
        "bad = [m for m in ('psycopg', 'sqlalchemy') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_nothing_given_is_an_empty_schema():
    schema = load_schema()
    assert not schema and schema.notes == []


def test_later_sources_replace_tables_of_earlier_ones(tmp_path):
    (tmp_path / "old.sql").write_text("CREATE TABLE users (id int, legacy text); CREATE TABLE only_here (x int);")
    schema = load_schema([str(tmp_path / "old.sql")], metadata="fixtures.schema.models:Base", base=ROOT)
    assert "legacy" not in schema.table("users").column_names()
    assert schema.table("only_here") is not None


def test_relative_paths_resolve_against_base():
    schema = load_schema(["fixtures/schema/migrations/*.sql"], base=ROOT)
    assert {t.name for t in schema.unique_tables()} == {"orgs", "users", "products", "orders", "order_items"}


def test_verbose_notes_carry_what_the_loader_skipped(tmp_path):
    from sqlperf.config import Settings
    from sqlperf.engine import Linter

    (tmp_path / "s.sql").write_text("CREATE TABLE t (a int);\nALTER TABLE t SET SCHEMA x;\n")
    schema = load_schema(["s.sql"], base=tmp_path)
    linter = Linter(Settings(), schema=schema)
    assert any("SET SCHEMA" in note and note.startswith("schema: ") for note in linter.notes)
