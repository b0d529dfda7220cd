"""Each rule's documentation is complete, and its examples are true."""

from __future__ import annotations

import pytest

from sqlperf.config import Settings
from sqlperf.docs import sections, sql_examples
from sqlperf.engine import Linter
from sqlperf.registry import load_registry

RULES = load_registry().sorted()


def test_registry_loads_cleanly():
    assert load_registry().errors == []
    assert {"SP000", "SP101", "SP102", "SP104", "SP301"} <= set(load_registry().rules)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_doc_has_the_sections(rule):
    found = sections(rule.doc())
    assert found.get("What it does"), f"{rule.code} lacks 'What it does'"
    assert found.get("Why is this bad?"), f"{rule.code} lacks 'Why is this bad?'"
    assert found.get("Example") and found.get("Use instead")
    if rule.fix_applicability is not None and rule.fix_applicability.value in ("safe", "unsafe") and rule.code != "SP000":
        assert "Fix safety" in found or rule.fix_applicability.value == "safe", f"{rule.code}: unsafe fix without 'Fix safety'"


STATIC = [r for r in RULES if r.static and r.code != "SP000" and not r.needs_schema]


@pytest.mark.parametrize("rule", STATIC, ids=lambda r: r.code)
def test_example_fires_and_use_instead_is_silent(rule):
    linter = Linter(Settings(select=[rule.code]))
    examples = sql_examples(rule.doc(), "Example")
    assert examples, f"{rule.code}: no ```sql block under Example"
    for sql in examples:
        found = [f for f in linter.lint_text(sql).findings if f.code == rule.code]
        assert found, f"{rule.code} does not fire on its own Example:\n{sql}"
    for sql in sql_examples(rule.doc(), "Use instead"):
        found = [f for f in linter.lint_text(sql).findings if f.code == rule.code]
        assert not found, f"{rule.code} fires on its own 'Use instead':\n{sql}\n{found[0].message}"
