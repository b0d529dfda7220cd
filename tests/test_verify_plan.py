"""The plan model and the plan checks, on plans in PostgreSQL's JSON shape."""

import pytest

from sqlperf.verify.checks import plan_findings
from sqlperf.verify.format import describe
from sqlperf.rule import Verification
from sqlperf.verify.plan import Plan


def _plan(node, **top):
    return Plan.from_json([{"Plan": node, **top}], sql="SELECT 1")


def _seq(rows, filter_="(lower(email) = 'x'::text)", **extra):
    return {"Node Type": "Seq Scan", "Relation Name": "users", "Alias": "users", "Startup Cost": 0.0,
            "Total Cost": 2185.0, "Plan Rows": rows, "Plan Width": 8, "Filter": filter_, **extra}


def _rows(n):
    return lambda table: n


def test_json_plan_is_lifted_into_nodes():
    plan = _plan({"Node Type": "Bitmap Heap Scan", "Relation Name": "t", "Recheck Cond": "(a = 1)", "Total Cost": 12.5,
                  "Plan Rows": 3, "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "t_a", "Index Cond": "(a = 1)",
                                              "Total Cost": 4.2, "Plan Rows": 3}]}, **{"Planning Time": 0.1})
    assert plan.total_cost == 12.5 and not plan.analyzed
    child = plan.root.children[0]
    assert child.index_name == "t_a" and child.index_cond == "(a = 1)" and child.uses_index
    assert [n.node_type for n in plan.scans()] == ["Bitmap Heap Scan", "Bitmap Index Scan"]
    assert plan.to_json()["root"]["children"][0]["index_cond"] == "(a = 1)"
    assert "Index Cond: (a = 1)" in plan.text()


def test_seq_scan_on_large_table_fires_only_above_both_thresholds():
    selective = _plan(_seq(50))
    assert [f.code for f in plan_findings(selective, table_rows=_rows(100_000))] == ["SP601"]
    assert plan_findings(selective, table_rows=_rows(10_000)) == []  # thresholds are exclusive
    unselective = _plan(_seq(60_000))
    assert plan_findings(unselective, table_rows=_rows(100_000)) == []
    no_filter = _plan(_seq(100_000, filter_=None))
    assert plan_findings(no_filter, table_rows=_rows(100_000)) == []


def test_thresholds_are_options():
    plan = _plan(_seq(50))
    assert plan_findings(plan, table_rows=_rows(5_000), options={"SP601": {"min_table_rows": 1_000}})
    assert plan_findings(plan, table_rows=_rows(100_000), select=frozenset({"SP602"})) == []


def test_seq_scan_with_actuals_uses_rows_read():
    plan = _plan(_seq(50, **{"Actual Rows": 40, "Actual Loops": 1, "Rows Removed by Filter": 99_960}), **{"Execution Time": 3.0})
    found = plan_findings(plan, table_rows=_rows(0))
    assert [f.code for f in found] == ["SP601"] and "100,000" in found[0].message


def test_misestimate_needs_analyze_and_the_factor():
    node = _seq(10, **{"Actual Rows": 5_000, "Actual Loops": 1, "Rows Removed by Filter": 0})
    analysed = _plan(node, **{"Execution Time": 1.0})
    found = [f for f in plan_findings(analysed, table_rows=_rows(5_000)) if f.code == "SP602"]
    assert found and "underestimated 500x" in found[0].message
    close = _plan(_seq(1_000, **{"Actual Rows": 5_000, "Actual Loops": 1}), **{"Execution Time": 1.0})
    assert not [f for f in plan_findings(close, table_rows=_rows(5_000)) if f.code == "SP602"]
    tiny = _plan(_seq(1, **{"Actual Rows": 50, "Actual Loops": 1}), **{"Execution Time": 1.0})
    assert not [f for f in plan_findings(tiny, table_rows=_rows(50)) if f.code == "SP602"]


@pytest.mark.parametrize(
    "node, expected",
    [
        ({"Node Type": "Sort", "Sort Method": "external merge", "Sort Space Type": "Disk", "Sort Space Used": 9000}, "Sort spilled"),
        ({"Node Type": "Hash", "Hash Batches": 8, "Original Hash Batches": 1, "Peak Memory Usage": 4000}, "8 batches"),
        ({"Node Type": "Aggregate", "Strategy": "Hashed", "HashAgg Batches": 5, "Disk Usage": 2048}, "HashAggregate spilled"),
    ],
)
def test_spills_are_reported(node, expected):
    node = {"Total Cost": 1.0, "Plan Rows": 1, "Actual Rows": 1, "Actual Loops": 1, **node}
    found = plan_findings(_plan(node, **{"Execution Time": 1.0}), table_rows=_rows(0))
    assert [f.code for f in found] == ["SP603"] and expected in found[0].message


def test_in_memory_sort_is_not_a_spill():
    node = {"Node Type": "Sort", "Sort Method": "quicksort", "Sort Space Type": "Memory", "Total Cost": 1.0,
            "Plan Rows": 1, "Actual Rows": 1, "Actual Loops": 1}
    assert plan_findings(_plan(node, **{"Execution Time": 1.0}), table_rows=_rows(0)) == []


def test_describe_is_one_line_with_costs():
    v = Verification("confirmed", "Seq Scan on orders, Filter (lower(email) = 'x'); with index CREATE INDEX ON orders (lower(email))",
                     cost_before=18340.2, cost_after=8.42)
    assert describe(v) == ("confirmed: Seq Scan on orders, Filter (lower(email) = 'x'); with index CREATE INDEX ON orders "
                           "(lower(email)); cost 18,340 -> 8.42")
    assert describe(Verification("skipped", "no DDL")) == "skipped: no DDL"
