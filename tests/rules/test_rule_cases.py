"""Every rule's cases, as data: tests/rules/cases/<CODE>.toml.

Each file holds ``[[fail]]`` cases (the rule must fire, ``count`` times if given; with
``fixed`` the safe fixes must produce exactly that text, with ``unsafe_fixed`` the unsafe
ones too) and ``[[pass]]`` cases (the rule must stay silent). A case may set ``dialect``
and ``schema`` (DDL text). ``pytest -k SP104`` runs one rule.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sqlperf.config import Settings
from sqlperf.engine import Linter, get_dialect
from sqlperf.fix import fix_text

CASES = Path(__file__).parent / "cases"


def _cases():
    for path in sorted(CASES.glob("SP*.toml")):
        code = path.stem
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for kind in ("fail", "pass"):
            for case in data.get(kind, []):
                yield pytest.param(code, kind, case, id=f"{code}-{kind}-{case['name']}")


def _schema(case):
    if "schema" not in case:
        return None
    from sqlperf.schema.ddl import apply_sql
    from sqlperf.schema.model import Schema

    return apply_sql(Schema(), case["schema"], dialect=case.get("dialect", "postgres"))


def _lint(code, case, text):
    linter = Linter(Settings(dialect=case.get("dialect", "postgres"), select=[code]), schema=_schema(case))
    return linter, [f for f in linter.lint_text(text, "case.sql").findings if f.code == code]


@pytest.mark.parametrize(("code", "kind", "case"), list(_cases()))
def test_rule_case(code, kind, case):
    sql = case["sql"]
    linter, found = _lint(code, case, sql)
    if kind == "pass":
        assert found == [], f"{code} fired on a correct query: {[f.message for f in found]}"
        return
    assert found, f"{code} did not fire on: {sql}"
    if "count" in case:
        assert len(found) == case["count"], [f.message for f in found]
    for finding in found:
        assert 1 <= finding.line and finding.start < finding.end <= len(sql)
        if "message_contains" in case:
            assert case["message_contains"] in finding.message
    dialect = get_dialect(case.get("dialect", "postgres"))

    def lint(text):
        return _lint(code, case, text)[1]

    for key, unsafe in (("fixed", False), ("unsafe_fixed", True)):
        if key in case:
            fixed, applied, refused, remaining = fix_text(sql, lint, dialect, unsafe=unsafe)
            assert refused == [], refused
            assert fixed == case[key]
            # Idempotent: fixing the fixed text changes nothing.
            assert fix_text(fixed, lint, dialect, unsafe=unsafe)[0] == fixed
