"""The engine's shortcuts must never change what is reported.

Rules marked ``wraps_operands`` are skipped on predicates whose operands are all bare
columns and constants. Linting every rule case and every shipped query with that shortcut
and without it must give the same findings.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlglot import exp, parse_one

from sqlperf import engine
from sqlperf.analysis import bare_operands
from sqlperf.config import Settings
from sqlperf.engine import Linter
from sqlperf.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent


def _inputs():
    for path in sorted((ROOT / "tests" / "rules" / "cases").glob("SP*.toml")):
        for kind in ("fail", "pass"):
            for case in tomllib.loads(path.read_text(encoding="utf-8")).get(kind, []):
                yield case.get("dialect", "postgres"), case["sql"]
    for path in sorted((ROOT / "fixtures" / "queries").rglob("*.sql")):
        yield "postgres", path.read_text(encoding="utf-8")


def _all_findings(monkeypatch, skip: bool) -> list[tuple]:
    if not skip:
        monkeypatch.setattr(engine, "bare_operands", lambda node: False)
    linters: dict[str, Linter] = {}
    found = []
    for dialect, sql in _inputs():
        linter = linters.get(dialect) or linters.setdefault(dialect, Linter(Settings(dialect=dialect, select=["ALL"])))
        found.extend((dialect, sql, f.code, f.start, f.end, f.message) for f in linter.lint_text(sql).findings)
    monkeypatch.undo()
    return found


def test_skipping_bare_predicates_changes_no_finding(monkeypatch):
    with_skip = _all_findings(monkeypatch, skip=True)
    without = _all_findings(monkeypatch, skip=False)
    assert len(without) > 200  # the inputs do exercise the rules
    assert with_skip == without


def test_the_shortcut_is_taken_for_the_sargability_rules():
    codes = {code for code, cls in load_registry().rules.items() if cls.wraps_operands}
    assert {"SP101", "SP102", "SP103", "SP105", "SP107", "SP110", "SP112", "SP114", "SP304"} <= codes
    assert not codes & {"SP104", "SP106", "SP409"}  # they report bare operands: LIKE '%x', a type mismatch, = NULL


@pytest.mark.parametrize(
    ("sql", "bare"),
    [
        ("a.id = b.a_id", True),
        ("x = 5", True),
        ("x IN (1, 2, :p)", True),
        ("x BETWEEN 1 AND ?", True),
        ("email LIKE 'a%'", True),
        ("x = NULL", True),
        ("lower(email) = 'a'", False),
        ("x + 1 > 5", False),
        ("(x) = 5", False),
        ("x = -1", False),
        ("x IN (SELECT y FROM t)", False),
        ("CAST(x AS DATE) = '2024-01-01'", False),
        ("x BETWEEN 1 AND y + 1", False),
        ("x LIKE 'a!%' ESCAPE '!'", True),
    ],
)
def test_bare_operands(sql, bare):
    node = parse_one(f"SELECT 1 FROM t WHERE {sql}").args["where"].this
    if isinstance(node, exp.Escape):
        node = node.this
    assert bare_operands(node) is bare
