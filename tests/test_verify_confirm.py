"""Confirmation on a TPC-H-like database: confirmed where the planner really suffers, not where
the table is small or the index would not help, and the costs are the planner's own."""

import os

import psycopg
import pytest
from verify_tpch import load_tpch

from sqlperf.engine import lint_sql
from sqlperf.rule import Applicability, Finding, Fix
from sqlperf.verify import explain_statement, verify_findings
from sqlperf.verify.format import describe

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def tpch_dsn(pg_server):
    dsn = pg_server.create_database(f"tpch_confirm_{os.getpid()}")
    load_tpch(dsn)
    return dsn


def _verify(sql, dsn, code, **kw):
    findings = [f for f in lint_sql(sql) if f.code == code]
    assert findings, f"{code} did not fire on {sql}"
    plan_findings = verify_findings(findings, dsn=dsn, allow_index_build=True, **kw)
    return findings[0].verification, plan_findings


def test_function_on_large_table_is_confirmed_with_planner_costs(tpch_dsn):
    sql = "SELECT c_custkey FROM customer WHERE lower(c_name) = 'customer#000000042'"
    v, plan_findings = _verify(sql, tpch_dsn, "SP101")
    assert v.status == "confirmed", v.reason
    assert "Seq Scan on customer" in v.reason and "lower" in v.reason
    assert v.cost_after < v.cost_before
    # the costs shown are the planner's own: the same EXPLAIN run by hand gives the same number
    with psycopg.connect(tpch_dsn) as conn:
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()[0]
    assert v.cost_before == plan[0]["Plan"]["Total Cost"]
    assert v.plan_before["root"]["node_type"] == "Seq Scan"
    assert plan_findings == []  # the planner's 0.5% guess for lower(...) is no SP601 evidence
    line = describe(v)
    assert line.startswith("confirmed: Seq Scan on customer") and "->" in line and "\n" not in line


def test_function_on_small_table_is_not_confirmed(tpch_dsn):
    v, plan_findings = _verify("SELECT n_nationkey FROM nation WHERE lower(n_name) = 'nation7'", tpch_dsn, "SP101")
    assert v.status == "not-confirmed", v.reason
    assert plan_findings == []  # 25 rows: no seq-scan-on-large-table either


def test_function_on_column_with_few_values_is_not_confirmed(tpch_dsn):
    v, _ = _verify("SELECT o_orderkey FROM orders WHERE upper(o_orderstatus) = 'F'", tpch_dsn, "SP101")
    assert v.status == "not-confirmed" and "distinct values" in v.reason


def test_leading_wildcard_is_confirmed_with_trigram_index(tpch_dsn):
    v, _ = _verify("SELECT p_partkey FROM part WHERE p_name LIKE '%green%'", tpch_dsn, "SP104")
    assert v.status == "confirmed", v.reason
    assert "gin_trgm_ops" in v.reason


def test_unselective_range_fix_is_not_confirmed(tpch_dsn):
    # most orders are from 1993 on: a range on the bare column still reads most of the table
    v, _ = _verify("SELECT o_orderkey FROM orders WHERE extract(year FROM o_orderdate) >= 1993", tpch_dsn, "SP102")
    assert v.status == "not-confirmed", v.reason


def test_index_already_used_is_not_confirmed(tpch_dsn):
    # orders_custkey_idx exists: a finding about this predicate has nothing to prove
    sql = "SELECT o_orderkey FROM orders WHERE o_custkey = 42"
    finding = Finding("SP101", "function-on-column", "synthetic", statement_sql=sql, data={"table": "orders", "column": "o_custkey"})
    verify_findings([finding], dsn=tpch_dsn)
    assert finding.verification.status == "not-confirmed"
    assert "already reads orders.o_custkey through an index" in finding.verification.reason


def test_index_advice_is_confirmed_only_when_the_index_is_used(tpch_dsn):
    sql = "SELECT o_orderkey FROM orders WHERE o_clerk = 'Clerk#000000042'"
    good = Finding("SP201", "unindexed-filter-column", "x", statement_sql=sql,
                   fix=Fix(Applicability.DISPLAY, replacement="CREATE INDEX CONCURRENTLY orders_clerk_idx ON orders (o_clerk);"))
    useless = Finding("SP201", "unindexed-filter-column", "x", statement_sql=sql,
                      fix=Fix(Applicability.DISPLAY, replacement="CREATE INDEX CONCURRENTLY orders_priority_idx ON orders (o_orderpriority);"))
    verify_findings([good, useless], dsn=tpch_dsn, allow_index_build=True)
    assert good.verification.status == "confirmed", good.verification.reason
    assert good.verification.cost_after < good.verification.cost_before * 0.7
    assert useless.verification.status == "not-confirmed", useless.verification.reason


def test_without_hypopg_or_build_permission_the_what_if_is_skipped(tpch_dsn):
    findings = lint_sql("SELECT c_custkey FROM customer WHERE lower(c_name) = 'x'")
    verify_findings(findings, dsn=tpch_dsn)
    v = findings[0].verification
    assert v.status == "skipped" and "--allow-index-build" in v.reason and "Seq Scan on customer" in v.reason


def test_unknown_table_is_skipped_with_the_database_message(tpch_dsn):
    findings = lint_sql("SELECT * FROM no_such_table WHERE lower(a) = 'x'")
    verify_findings(findings, dsn=tpch_dsn)
    assert {f.verification.status for f in findings} == {"skipped"}
    assert any("does not exist" in f.verification.reason for f in findings)


def test_explain_statement_shows_plan_findings_and_what_if(tpch_dsn):
    result = explain_statement("SELECT c_custkey FROM customer WHERE lower(c_name) = 'customer#000000042'",
                               dsn=tpch_dsn, allow_index_build=True)
    text = result.text()
    assert "Seq Scan on customer" in text and "SP101" in text and "confirmed:" in text
    plain = explain_statement("SELECT * FROM orders WHERE o_totalprice = 1234", dsn=tpch_dsn)
    assert [f.code for f in plain.plan_findings] == ["SP601"]
    assert "Seq Scan on orders reads about 150,000 rows" in plain.text()


def test_analyze_reports_row_misestimate(tpch_dsn):
    # o_orderkey % 3 = 0 and o_orderstatus = 'F' select the same rows; the planner multiplies them
    sql = "SELECT o_comment FROM orders WHERE o_orderkey % 3 = 0 AND o_orderstatus = 'F' AND lower(o_clerk) <> ''"
    new = verify_findings(lint_sql(sql), dsn=tpch_dsn, analyze=True)
    misestimate = [f for f in new if f.code == "SP602"]
    assert misestimate and "underestimated" in misestimate[0].message


def test_analyze_reports_sort_spill(tpch_dsn):
    sql = "SELECT o_comment, o_clerk FROM orders WHERE lower(o_clerk) <> '' ORDER BY o_comment, o_clerk"
    new = verify_findings(lint_sql(sql), dsn=tpch_dsn, analyze=True)
    spill = [f for f in new if f.code == "SP603"]
    assert spill and "spilled to disk" in spill[0].message


def test_analyze_never_runs_a_write_against_a_dsn(tpch_dsn):
    sql = "DELETE FROM orders WHERE lower(o_clerk) = 'clerk#000000001'"
    findings = lint_sql(sql)
    assert findings
    verify_findings(findings, dsn=tpch_dsn, analyze=True, allow_index_build=True)
    with psycopg.connect(tpch_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 150000
    assert all("actual_rows" not in (f.verification.plan_before or {}).get("root", {}) for f in findings)


def test_unindexed_foreign_key_is_judged_by_the_lookup_it_costs(tpch_dsn):
    from verify_tpch import TPCH_DDL

    findings = [f for f in lint_sql(TPCH_DDL) if f.code == "SP203"]
    by_table = {f.data["table"]: f for f in findings}
    verify_findings(findings, dsn=tpch_dsn, allow_index_build=True)
    # nation has 25 rows: the index would not be used at all
    assert by_table["nation"].verification.status == "not-confirmed"
    assert "would not use" in by_table["nation"].verification.reason
    # customer.c_nationkey has 25 values over 15,000 rows: usable, but the lookup stays costly
    assert by_table["customer"].verification.status == "not-confirmed"
    assert "falls by less than 50%" in by_table["customer"].verification.reason


def test_plan_check_ignores_the_planner_default_guess(tpch_dsn):
    # upper(o_orderstatus) has no statistics: the planner guesses 0.5%, really a third of the rows
    new = verify_findings(lint_sql("SELECT o_orderkey FROM orders WHERE upper(o_orderstatus) = 'F'"), dsn=tpch_dsn)
    assert [f for f in new if f.code == "SP601"] == []


def test_or_across_columns_is_confirmed_with_an_index_per_column(tpch_dsn):
    v, _ = _verify("SELECT o_orderkey FROM orders WHERE o_custkey = 5 OR o_clerk = 'Clerk#000000001'", tpch_dsn, "SP108")
    assert v.status == "confirmed", v.reason
    assert "orders (o_custkey)" in v.reason and "orders (o_clerk)" in v.reason
    assert any(n["node_type"] == "BitmapOr" for n in _walk(v.plan_after["root"]))


def _walk(node):
    yield node
    for child in node.get("children", []):
        yield from _walk(child)


@pytest.mark.parametrize(
    "sql, code, status, words",
    [
        ("SELECT * FROM orders ORDER BY random() LIMIT 5", "SP305", "confirmed", "Sort on random() of ~150,000 rows"),
        ("SELECT * FROM nation ORDER BY random() LIMIT 5", "SP305", "not-confirmed", "too few rows"),
        ("SELECT c_name, (SELECT max(o_totalprice) FROM orders o WHERE o.o_custkey = c.c_custkey) FROM customer c",
         "SP401", "confirmed", "runs once for each of ~15,000 rows"),
        ("SELECT n_name, (SELECT count(*) FROM customer c WHERE c.c_nationkey = n.n_nationkey) FROM nation n",
         "SP401", "not-confirmed", "too few rows"),
        ("SELECT o_orderkey FROM orders ORDER BY o_orderkey OFFSET 100000 LIMIT 10", "SP302", "confirmed", "for the first page"),
        ("SELECT n_nationkey FROM nation ORDER BY n_nationkey OFFSET 5000 LIMIT 10", "SP302", "not-confirmed", "too few"),
    ],
)
def test_display_advice_is_judged_by_the_plan_shape(tpch_dsn, sql, code, status, words):
    v, _ = _verify(sql, tpch_dsn, code)
    assert v.status == status, v.reason
    assert words in v.reason
