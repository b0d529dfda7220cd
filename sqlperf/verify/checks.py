"""Plan checks: findings that only a plan can show (SP601 seq-scan-on-large-table,
SP602 plan-row-misestimate, SP603 sort-or-hash-spill).

Each check reads one :class:`Plan` and returns ``(code, name, message, help, data)`` tuples;
:func:`plan_findings` turns them into findings at the statement's location. Thresholds come
from the rule classes' ``options`` so they are documented with the rule and configurable.
"""

from __future__ import annotations

from typing import Callable

from sqlperf.rule import Finding, Severity
from sqlperf.verify.plan import Plan, PlanNode

DEFAULTS = {
    "SP601": {"min_table_rows": 10_000, "max_selectivity": 0.1},
    "SP602": {"misestimate_factor": 10.0, "min_rows": 100},
    "SP603": {},
}


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")


def seq_scan_on_large_table(plan: Plan, table_rows: Callable[[str], float | None], opts: dict) -> list[tuple]:
    """A sequential scan of a large table whose filter keeps only a small share of its rows."""
    out = []
    for node in plan.nodes():
        if not node.is_seq_scan or not node.relation or not node.filter:
            continue
        if node.actual_rows is not None and node.rows_removed_by_filter is not None:
            loops = node.actual_loops or 1.0
            kept = node.actual_rows * loops
            read = kept + node.rows_removed_by_filter * loops
            total = read / loops
        else:
            total = table_rows(_qualified(node)) or 0.0
            kept = node.plan_rows
            read = total
            if _default_guess(node.filter, kept, total):
                continue
        if total <= opts["min_table_rows"] or read <= 0:
            continue
        share = kept / read
        if share >= opts["max_selectivity"]:
            continue
        message = (
            f"Seq Scan on {node.relation} reads about {_fmt(total)} rows to keep {_fmt(kept)} "
            f"({share:.2%}); Filter: {node.filter}"
        )
        help = "index the filtered columns (or make the predicate sargable) so the planner can use an Index Scan"
        out.append(("SP601", "seq-scan-on-large-table", message, help, {"relation": node.relation, "filter": node.filter, "rows": total, "kept": kept}))
    return out


# PostgreSQL's selectivity guesses when it has no statistics for an expression
# (DEFAULT_EQ_SEL, DEFAULT_MATCH_SEL and DEFAULT_INEQ_SEL in selfuncs.h).
_DEFAULT_SELECTIVITIES = (0.005, 1.0 / 3.0)


def _default_guess(filter_: str, kept: float, total: float) -> bool:
    """An estimate that is the planner's stock guess for a function of a column, not evidence."""
    if total <= 0 or "(" not in filter_.strip("()"):
        return False
    share = kept / total
    return any(abs(share - guess) <= guess * 0.02 for guess in _DEFAULT_SELECTIVITIES)


def plan_row_misestimate(plan: Plan, table_rows, opts: dict) -> list[tuple]:
    """Estimated and actual rows differ by the factor or more (needs EXPLAIN ANALYZE)."""
    if not plan.analyzed:
        return []
    worst: tuple[float, PlanNode] | None = None
    for node in plan.nodes():
        if node.actual_rows is None or node.actual_loops in (None, 0):
            continue
        estimated = max(node.plan_rows, 1.0)
        actual = max(node.actual_rows, 1.0)
        if max(estimated, actual) < opts["min_rows"]:
            continue
        factor = max(estimated / actual, actual / estimated)
        if factor >= opts["misestimate_factor"] and (worst is None or factor > worst[0]):
            worst = (factor, node)
    if worst is None:
        return []
    factor, node = worst
    direction = "under" if node.actual_rows > node.plan_rows else "over"
    message = (
        f"{node.label()}: the planner expected {_fmt(node.plan_rows)} rows, got {_fmt(node.actual_rows)} "
        f"({direction}estimated {factor:,.0f}x)"
    )
    help = "run ANALYZE; for correlated columns add CREATE STATISTICS; raise the column's statistics target"
    return [("SP602", "plan-row-misestimate", message, help, {"node": node.label(), "estimated": node.plan_rows, "actual": node.actual_rows})]


def sort_or_hash_spill(plan: Plan, table_rows, opts: dict) -> list[tuple]:
    """A sort, hash or hash aggregate that went to disk (needs EXPLAIN ANALYZE)."""
    if not plan.analyzed:
        return []
    out = []
    for node in plan.nodes():
        raw = node.raw
        what = None
        if node.sort_space_type == "Disk" or (node.sort_method or "").startswith("external"):
            what = f"{node.node_type} spilled to disk ({node.sort_method}, {_fmt(node.sort_space_kb or 0)} kB)"
        elif node.node_type == "Hash" and (raw.get("Hash Batches") or 1) > 1:
            what = f"Hash used {raw['Hash Batches']} batches on disk ({_fmt(raw.get('Peak Memory Usage', 0))} kB in memory)"
        elif node.node_type == "Aggregate" and ((raw.get("HashAgg Batches") or 1) > 1 or (raw.get("Disk Usage") or 0) > 0):
            what = f"HashAggregate spilled to disk ({_fmt(raw.get('Disk Usage') or 0)} kB)"
        if what:
            help = "raise work_mem for this query, or sort/hash fewer rows (filter earlier, an index that provides the order)"
            out.append(("SP603", "sort-or-hash-spill", what, help, {"node": node.label()}))
    return out


CHECKS = (seq_scan_on_large_table, plan_row_misestimate, sort_or_hash_spill)
CODES = {"SP601": seq_scan_on_large_table, "SP602": plan_row_misestimate, "SP603": sort_or_hash_spill}


def _qualified(node: PlanNode) -> str:
    return f'"{node.schema}"."{node.relation}"' if node.schema else f'"{node.relation}"'


def plan_findings(
    plan: Plan,
    *,
    table_rows: Callable[[str], float | None],
    anchor: Finding | None = None,
    path: str = "<string>",
    statement_sql: str = "",
    statement_index: int = 0,
    select: frozenset[str] | None = None,
    options: dict[str, dict] | None = None,
) -> list[Finding]:
    """Findings for ``plan``, located at ``anchor`` (a finding of the same statement) when given."""
    found: list[Finding] = []
    for code, check in CODES.items():
        if select is not None and code not in select:
            continue
        opts = {**DEFAULTS[code], **((options or {}).get(code) or {})}
        for code_, name, message, help, data in check(plan, table_rows, opts):
            finding = Finding(code=code_, name=name, message=message, help=help, severity=Severity.WARNING, data=data)
            if anchor is not None:
                for attr in ("path", "line", "column", "end_line", "end_column", "start", "end", "statement_index", "statement_sql"):
                    setattr(finding, attr, getattr(anchor, attr))
            else:
                finding.path, finding.statement_sql, finding.statement_index = path, statement_sql, statement_index
            found.append(finding)
    return found
