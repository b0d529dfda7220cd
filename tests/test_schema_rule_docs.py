"""The schema rules' documented examples are true against the schema their first line declares.

A doc example of a schema rule starts with ``-- schema: <DDL>``; the example must fire with
that schema and the *Use instead* blocks must stay silent with it.
"""

from __future__ import annotations

import pytest

from sqlperf.config import Settings
from sqlperf.docs import sql_examples
from sqlperf.engine import Linter
from sqlperf.registry import load_registry
from sqlperf.schema import Schema
from sqlperf.schema.ddl import apply_sql

SCHEMA_RULES = [r for r in load_registry().sorted() if r.needs_schema and r.static]
MARK = "-- schema:"


def _split(example: str) -> tuple[Schema | None, str]:
    lines = example.splitlines()
    if lines and lines[0].startswith(MARK):
        return apply_sql(Schema(), lines[0][len(MARK) :]), "\n".join(lines[1:])
    return None, example


def _fired(rule, example: str) -> list:
    schema, sql = _split(example)
    linter = Linter(Settings(select=[rule.code]), schema=schema)
    return [f for f in linter.lint_text(sql).findings if f.code == rule.code]


def test_the_schema_rules_are_registered():
    assert {"SP106", "SP201", "SP202", "SP204", "SP205"} <= {r.code for r in SCHEMA_RULES}


@pytest.mark.parametrize("rule", SCHEMA_RULES, ids=lambda r: r.code)
def test_example_fires_with_its_schema(rule):
    examples = sql_examples(rule.doc(), "Example")
    assert examples and all(e.startswith(MARK) for e in examples), f"{rule.code}: Example without '{MARK}'"
    for example in examples:
        assert _fired(rule, example), f"{rule.code} does not fire on its own Example:\n{example}"


@pytest.mark.parametrize("rule", SCHEMA_RULES, ids=lambda r: r.code)
def test_use_instead_is_silent_with_its_schema(rule):
    for example in sql_examples(rule.doc(), "Use instead"):
        found = _fired(rule, example)
        assert not found, f"{rule.code} fires on its own 'Use instead':\n{example}\n{found[0].message}"


@pytest.mark.parametrize("rule", SCHEMA_RULES, ids=lambda r: r.code)
def test_silent_without_a_schema(rule):
    for example in sql_examples(rule.doc(), "Example"):
        _, sql = _split(example)
        linter = Linter(Settings(select=[rule.code]))
        assert rule.code not in linter.rules
        assert not [f for f in linter.lint_text(sql).findings if f.code == rule.code]
        assert any(rule.code in note for note in linter.notes)
