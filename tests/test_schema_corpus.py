"""The schema rules on the TPC-H queries against the TPC-H schema: no crash, and labelled results.

The queries live beside the checkout (../shared/corpora); the test skips where they are absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlperf.config import Settings
from sqlperf.runner import check
from sqlperf.schema import load_schema
from sqlperf.schema.ddl import apply_sql

ROOT = Path(__file__).resolve().parent.parent
TPCH = ROOT.parent / "shared" / "corpora" / "tpch"
SCHEMA_FILE = ROOT / "fixtures" / "schema" / "tpch" / "schema.sql"
SCHEMA_RULES = {"SP106", "SP201", "SP202", "SP203", "SP204", "SP205", "SP206"}

pytestmark = pytest.mark.skipif(not TPCH.is_dir(), reason="TPC-H corpus not available")


def findings(schema, name: str | None = None):
    paths = [TPCH / name] if name else [TPCH]
    result = check(paths, Settings(), schema=schema)
    assert result.all_errors == []
    return [(Path(f.path).name, f.code, f.data.get("table"), tuple(f.data.get("columns") or ())) for f in result.findings if f.code in SCHEMA_RULES]


def test_every_query_runs_through_the_schema_rules():
    schema = load_schema([str(SCHEMA_FILE)])
    assert schema.notes == []
    found = findings(schema)
    assert {code for _, code, _, _ in found} <= SCHEMA_RULES
    # The labels: an unindexed foreign-key join, and an unindexed selective filter.
    assert ("q03.sql", "SP202", "orders", ("o_custkey",)) in found
    assert ("q12.sql", "SP201", "lineitem", ("l_shipmode",)) in found


def test_the_suggested_indexes_silence_their_findings():
    schema = load_schema([str(SCHEMA_FILE)])
    before = findings(schema, "q03.sql")
    assert ("q03.sql", "SP202", "orders", ("o_custkey",)) in before
    apply_sql(schema, "CREATE INDEX orders_o_custkey_idx ON orders (o_custkey);")
    after = findings(schema, "q03.sql")
    assert not [f for f in after if f[2] == "orders" and f[1] == "SP202"]
    # Joins on primary keys never needed one: the other findings are unchanged.
    assert [f for f in before if f[2] != "orders" or f[1] != "SP202"] == after
