"""Confirmation from the plan's shape, for advice that has no rewritten statement to compare.

- SP302 deep-offset-pagination: the page at the offset against the first page (the same
  statement without OFFSET); keyset pagination keeps every page as cheap as the first.
- SP305 order-by-random: a Sort on ``random()`` over many rows.
- SP401 correlated-subquery-in-select: a SubPlan run once per row of a large input (a
  hashed SubPlan runs once and is fine).
"""

from __future__ import annotations

from sqlperf.rule import Finding, Verification
from sqlperf.verify.plan import Plan, PlanNode

SHAPE_CODES = frozenset({"SP302", "SP305", "SP401"})
DEFAULT_OPTIONS = {
    # A per-row SubPlan or a random sort matters from this many rows on.
    "min_shape_rows": 1_000,
}


def confirm_by_shape(backend, finding: Finding, sql: str, before: Plan, opts: dict, verdict) -> Verification | None:
    """A verification from the plan's shape, or None when the finding is not one of these."""
    opts = {**DEFAULT_OPTIONS, **opts}
    if finding.code == "SP305":
        return _random_sort(before, opts, verdict)
    if finding.code == "SP401":
        return _per_row_subplan(before, opts, verdict)
    if finding.code == "SP302":
        return _deep_offset(backend, sql, before, opts, verdict)
    return None


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _random_sort(plan: Plan, opts: dict, verdict) -> Verification:
    for node in plan.nodes():
        keys = " ".join(node.raw.get("Sort Key") or [])
        if node.node_type in ("Sort", "Incremental Sort") and "random()" in keys.lower():
            rows = node.plan_rows
            source = _first_scan(node)
            what = f"Sort on random() of ~{_fmt(rows)} rows" + (f" from {source.label()}" if source else "")
            if rows > opts["min_shape_rows"]:
                return verdict("confirmed", f"{what}: every row is read and sorted", plan, evidence=what)
            return verdict("not-confirmed", f"{what}: too few rows to matter", plan, evidence=what)
    return verdict("not-confirmed", "the plan has no sort on random()", plan)


def _per_row_subplan(plan: Plan, opts: dict, verdict) -> Verification:
    for parent in plan.nodes():
        for child in parent.children:
            if child.raw.get("Parent Relationship") != "SubPlan":
                continue
            name = child.raw.get("Subplan Name") or "SubPlan"
            if name.lower().startswith("hashed"):
                return verdict("not-confirmed", f"the planner hashes the subquery ({name}): it runs once", plan)
            loops = parent.plan_rows
            what = f"{name} ({child.node_type}) runs once for each of ~{_fmt(loops)} rows of {parent.label()}"
            if loops > opts["min_shape_rows"]:
                return verdict("confirmed", what, plan, evidence=what)
            return verdict("not-confirmed", f"{what}: too few rows to matter", plan, evidence=what)
    return verdict("not-confirmed", "the planner turned the subquery into a join (no SubPlan)", plan)


def _deep_offset(backend, sql: str, before: Plan, opts: dict, verdict) -> Verification:
    limit = next((n for n in before.nodes() if n.node_type == "Limit" and n.children), None)
    available = limit.children[0].plan_rows if limit is not None else 0.0
    if available <= opts["min_shape_rows"]:
        return verdict("not-confirmed", f"only ~{_fmt(available)} rows reach the OFFSET: too few to matter", before)
    first_page = _without_offset(sql)
    if first_page is None:
        return verdict("skipped", "could not build the first-page statement to compare", before)
    after = backend.explain(first_page)
    change = f"cost {_fmt(before.total_cost)} at the offset -> {_fmt(after.total_cost)} for the first page"
    if after.total_cost <= before.total_cost * (1.0 - float(opts["min_cost_reduction"])):
        return verdict("confirmed", f"every row before the offset is produced and discarded: {change}", before, after)
    return verdict("not-confirmed", f"the offset costs little here ({change})", before, after)


def _without_offset(sql: str) -> str | None:
    try:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, dialect="postgres")
    except Exception:  # not parseable on its own: nothing to compare
        return None
    if not isinstance(tree, exp.Query) or tree.args.get("offset") is None:
        return None
    tree.set("offset", None)
    return tree.sql(dialect="postgres")


def _first_scan(node: PlanNode) -> PlanNode | None:
    return next((n for n in node.walk() if n.is_scan and n.relation), None)
