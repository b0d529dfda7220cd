"""Confirmation: turn one static finding into the planner's verdict.

- A non-sargable predicate (SP1xx) is confirmed when its column sits in a scan's Filter
  rather than an Index Cond, and the fixed statement or a what-if index on the expression
  moves it into an Index Cond.
- An index finding (its fix is CREATE INDEX DDL) is confirmed when the what-if index is used
  and the cost falls by at least ``min_cost_reduction``.
- A rewrite (SP3xx, SP4xx) with a fixed statement is compared by cost.

Costs are the planner's own total costs. Nothing here runs anything but EXPLAIN.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlperf.rule import Finding, Verification
from sqlperf.verify.backend import WhatIfUnavailable, uses_whatif_index
from sqlperf.verify.pg import DatabaseError
from sqlperf.verify.plan import Plan, PlanNode
from sqlperf.verify.shapes import SHAPE_CODES, confirm_by_shape

# Errors that end the whole run (the database is gone), not just one statement's verification.
FATAL_KINDS = frozenset({"unreachable", "auth"})

DEFAULT_OPTIONS = {
    # An index (or rewrite) counts only when the total cost falls by at least this share.
    "min_cost_reduction": 0.5,
    # An equality that matches more than this share of a table is not worth an index.
    "max_equality_share": 0.05,
}

_DDL_START = re.compile(r"^\s*(create|alter|drop|comment|grant|revoke|truncate|vacuum|analyze|set|begin|commit)\b", re.I)
_INDEX_DDL = re.compile(r"^\s*create\s+(unique\s+)?index\b", re.I)
_QUERY_START = re.compile(r"^\s*(\(\s*)*(select|with|values|table|insert|update|delete)\b", re.I)


def skipped(reason: str, plan: Plan | None = None) -> Verification:
    return Verification(
        "skipped", reason, plan_before=plan.to_json() if plan else None, cost_before=plan.total_cost if plan else None
    )


def confirm_finding(backend, finding: Finding, options: dict | None = None) -> Verification:
    """The verification of ``finding`` against ``backend`` (never raises for database errors)."""
    opts = {**DEFAULT_OPTIONS, **(options or {})}
    code = finding.code
    sql = finding.statement_sql.strip().rstrip(";").strip()
    if code == "SP000":
        return skipped("the statement does not parse")
    if code.startswith("SP5"):
        return skipped("a runtime finding: the problem is how often the statement runs, not its plan")
    if code.startswith("SP6"):
        return skipped("a plan finding is its own evidence")
    if not sql or _DDL_START.match(sql) or not _QUERY_START.match(sql):
        return _confirm_ddl_finding(backend, finding, opts) if _index_ddl(finding) else skipped(
            "a DDL finding has no query plan to compare"
        )
    try:
        before = backend.explain(sql)
    except DatabaseError as error:
        if error.kind in FATAL_KINDS:
            raise
        return skipped(f"EXPLAIN failed on {backend.target}: {error}")
    try:
        if code.startswith("SP1"):
            return _confirm_sargability(backend, finding, sql, before, opts)
        if _index_ddl(finding):
            return _confirm_index(backend, finding, sql, before, _index_ddl(finding), opts)
        if code in SHAPE_CODES and before.backend == "postgresql" and not fixed_statement(finding):
            return confirm_by_shape(backend, finding, sql, before, opts, _verdict)
        return _confirm_rewrite(backend, finding, sql, before, opts)
    except WhatIfUnavailable as error:
        return skipped(str(error), before)
    except DatabaseError as error:
        if error.kind in FATAL_KINDS:
            raise
        return skipped(f"EXPLAIN of the fixed statement failed: {error}", before)


# -- sargability ------------------------------------------------------------------------------

def _target(finding: Finding) -> tuple[str | None, list[str]]:
    """The table and column(s) a sargability finding is about, from its data."""
    data = finding.data
    table = data.get("table")
    columns = list(data.get("columns") or ([data["column"]] if data.get("column") else []))
    if not table and len(columns) == 1 and "." in columns[0]:  # "orders.o_custkey" labels
        table, columns[0] = columns[0].rsplit(".", 1)
    return table, columns


def _confirm_sargability(backend, finding: Finding, sql: str, before: Plan, opts: dict) -> Verification:
    table, columns = _target(finding)
    if not table or not columns:
        if fixed_statement(finding):
            return _confirm_rewrite(backend, finding, sql, before, opts)
        return skipped("the finding does not name its table and column", before)
    filtered = [node for column in columns for node in _filtering_scans(before, table, column)]
    if not filtered:
        used = [node for column in columns for node in _index_scans(before, table, column)]
        label = f"{table}.{columns[0]}" if len(columns) == 1 else f"{table} ({', '.join(columns)})"
        if used:
            return _verdict("not-confirmed", f"the planner already reads {label} through an index: {_evidence(used[0])}", before)
        scans = before.scans(table)
        if scans:
            return _verdict("not-confirmed", f"{label} is not filtered in a scan of {table} ({scans[0].label()})", before)
        return _verdict("not-confirmed", f"the plan does not scan {table} with this predicate", before)
    scan = filtered[0]
    column = next((c for c in columns if _filtering_scans(before, table, c)), columns[0])
    evidence = f"{scan.label()}, Filter {scan.filter}" if scan.filter else scan.label()
    # 1. The fixed statement, as the rule wrote it (safe/unsafe edits).
    fixed = fixed_statement(finding)
    if fixed:
        after = backend.explain(fixed)
        if _index_scans(after, table, column) and _cheaper(before, after, opts):
            return _verdict("confirmed", f"{evidence}; the fixed statement reads it through an index", before, after, evidence)
    # 2. What-if indexes: the one the fix suggests, else one on the wrapped expression; after a
    #    fix on the bare column; for an OR across columns one per column (a BitmapOr can merge them).
    if fixed:
        ddls = [_expression_index(table, column)]
    elif _index_ddl(finding):
        ddls = [_index_ddl(finding)]
    elif len(columns) > 1:
        ddls = [_expression_index(table, c) for c in columns]
    else:
        ddls = [_expression_index(table, finding.data.get("expression") or _expression_at(finding, column) or column)]
    shown = " and ".join(_short(d) for d in ddls)
    target = fixed or sql
    try:
        after, name = backend.explain_with_index(target, ddls)
    except WhatIfUnavailable as error:
        return Verification("skipped", f"{evidence}; {error}", plan_before=before.to_json(), cost_before=before.total_cost, evidence=evidence)
    except DatabaseError as error:
        if error.kind in FATAL_KINDS:
            raise
        reason = f"{evidence}; no what-if index {shown}: {error}"
        return Verification("skipped", reason, plan_before=before.to_json(), cost_before=before.total_cost, evidence=evidence)
    reads_index = any(_index_scans(after, table, c) for c in columns) or after.backend == "sqlite"
    if uses_whatif_index(after, name) and reads_index:
        few = _few_distinct(backend, table, column, scan, opts) if len(columns) == 1 else ""
        if few:
            return _verdict("not-confirmed", f"{evidence}; {few}", before, after, evidence)
        if _cheaper(before, after, opts):
            how = "with the fix and index" if fixed else "with index"
            return _verdict("confirmed", f"{evidence}; {how} {shown}", before, after, evidence)
        return _verdict("not-confirmed", f"{evidence}; an index is usable but saves little (the table is small)", before, after, evidence)
    return _verdict(
        "not-confirmed",
        f"{evidence}; even with index {shown} the planner keeps {_main_scan(after, table)} (small table or unselective predicate)",
        before,
        after,
        evidence,
    )


def _filtering_scans(plan: Plan, table: str, column: str) -> list[PlanNode]:
    """Scans of ``table`` that test ``column`` in a Filter and not in an index condition.

    SQLite's plan names no filter: there a full ``SCAN`` of the table is the evidence.
    """
    if plan.backend == "sqlite":
        return [node for node in plan.scans(table) if node.is_seq_scan]
    pattern = _column_pattern(column)
    out = []
    for node in plan.scans(table):
        in_filter = bool(node.filter and pattern.search(node.filter))
        in_index = bool(node.index_cond and pattern.search(node.index_cond)) or bool(
            node.recheck_cond and pattern.search(node.recheck_cond)
        )
        if in_filter and not in_index:
            out.append(node)
    return out


def _index_scans(plan: Plan, table: str, column: str) -> list[PlanNode]:
    """Index accesses whose condition uses ``column``, on ``table`` (bitmap index scans carry no relation)."""
    pattern = _column_pattern(column)
    out = []
    for node in plan.nodes():
        cond = node.index_cond or ""
        if not node.index_name or not pattern.search(cond):
            continue
        if node.relation and node.relation.lower() != table.split(".")[-1].lower():
            continue
        out.append(node)
    return out


def _few_distinct(backend, table: str, column: str, scan: PlanNode, opts: dict) -> str:
    """Why an index would not really help an equality on a column with few distinct values.

    A what-if index on an expression has no statistics of its own (HypoPG's never do), so the
    planner falls back to a default selectivity and may favour it wrongly; the column's own
    statistics say how many rows one value really matches. Empty when that is not the case.
    """
    distinct_of = getattr(backend, "column_distinct", None)
    if distinct_of is None or not re.search(r"(?<![<>!])=(?!>)", scan.filter or ""):
        return ""
    rows = backend.table_rows(table) or 0.0
    distinct = distinct_of(table, column)
    if not distinct or rows <= 0:
        return ""
    share = 1.0 / distinct
    if share <= float(opts["max_equality_share"]):
        return ""
    return (
        f"{table}.{column} has only about {distinct:,.0f} distinct values, so one value matches "
        f"~{share:.0%} of {rows:,.0f} rows: an index would not be selective"
    )


def _expression_at(finding: Finding, column: str) -> str | None:
    """The wrapped expression of the finding's predicate, e.g. ``date_trunc('day', d)``."""
    offset = _statement_offset(finding)
    if offset is None:
        return None
    snippet = finding.statement_sql[finding.start - offset : finding.end - offset]
    if not snippet.strip():
        return None
    try:
        import sqlglot
        from sqlglot import exp

        node = sqlglot.parse_one(snippet, dialect="postgres", into=exp.Condition)
    except Exception:  # a snippet that is not a condition on its own: no expression to index
        return None
    sides = [node.this, node.expression] if isinstance(node, exp.Binary) else [node]
    for side in sides:
        if isinstance(side, exp.Expression) and not isinstance(side, exp.Column) and any(
            c.name.lower() == column.lower() for c in side.find_all(exp.Column)
        ):
            return side.sql(dialect="postgres")
    return None


def _column_pattern(column: str) -> re.Pattern:
    return re.compile(r'(?<![\w$])"?' + re.escape(column) + r'"?(?![\w$])', re.I)


def _expression_index(table: str, expression: str) -> str:
    return f"CREATE INDEX ON {table} ({expression})"


# -- index advice -----------------------------------------------------------------------------

def _index_ddl(finding: Finding) -> str | None:
    """The CREATE INDEX a finding suggests: its ``data["ddl"]`` or its display fix."""
    candidates = [finding.data.get("ddl") or ""]
    if finding.fix is not None and finding.fix.replacement:
        candidates.append(finding.fix.replacement)
    for text in candidates:
        for part in str(text).split(";"):
            if _INDEX_DDL.match(part):
                return part.strip()
    return None


def _confirm_index(backend, finding: Finding, sql: str, before: Plan, ddl: str, opts: dict) -> Verification:
    after, name = backend.explain_with_index(sql, ddl)
    used = uses_whatif_index(after, name)
    change = _cost_change(before, after)
    if used and _cheaper(before, after, opts):
        return _verdict("confirmed", f"with index {_short(ddl)} the planner uses it; {change}", before, after, _short(ddl))
    if used:
        share = float(opts["min_cost_reduction"])
        reason = f"the planner would use {_short(ddl)} but the cost falls by less than {share:.0%} ({change})"
        return _verdict("not-confirmed", reason, before, after)
    return _verdict("not-confirmed", f"the planner would not use {_short(ddl)} ({change})", before, after)


def _confirm_ddl_finding(backend, finding: Finding, opts: dict) -> Verification:
    """An unindexed foreign key: plan the lookup PostgreSQL runs on every parent delete/update."""
    table = finding.data.get("table")
    columns = finding.data.get("columns") or ([finding.data["column"]] if finding.data.get("column") else [])
    ddl = _index_ddl(finding)
    if not table or not columns or not ddl:
        return skipped("a DDL finding has no query plan to compare")
    probe = f"SELECT 1 FROM {table} WHERE " + " AND ".join(f"{c} = ${i}" for i, c in enumerate(columns, 1))
    try:
        before = backend.explain(probe)
        return _confirm_index(backend, finding, probe, before, ddl, opts)
    except WhatIfUnavailable as error:
        return skipped(str(error))
    except DatabaseError as error:
        if error.kind in FATAL_KINDS:
            raise
        return skipped(f"EXPLAIN failed on {backend.target}: {error}")


# -- rewrites ---------------------------------------------------------------------------------

def _confirm_rewrite(backend, finding: Finding, sql: str, before: Plan, opts: dict) -> Verification:
    fixed = fixed_statement(finding)
    if not fixed and finding.fix is not None and _QUERY_START.match(finding.fix.replacement or ""):
        fixed = finding.fix.replacement.strip().rstrip(";")
    if not fixed:
        return skipped("no rewritten statement to compare (display-only advice)", before)
    after = backend.explain(fixed)
    change = _cost_change(before, after)
    if _cheaper(before, after, opts):
        return _verdict("confirmed", f"the rewrite lowers the planner's cost: {change}", before, after)
    return _verdict("not-confirmed", f"the rewrite does not lower the planner's cost ({change})", before, after)


def fixed_statement(finding: Finding) -> str | None:
    """The statement with the finding's fix edits applied, or None (no edits, or unlocatable)."""
    fix = finding.fix
    if fix is None or not fix.edits:
        return None
    offset = _statement_offset(finding)
    if offset is None:
        return None
    text = finding.statement_sql
    out, cursor = [], 0
    for edit in sorted(fix.edits, key=lambda e: e.start):
        start, end = edit.start - offset, edit.end - offset
        if start < cursor or end > len(text):
            return None
        out.append(text[cursor:start])
        out.append(edit.content)
        cursor = end
    out.append(text[cursor:])
    return "".join(out).strip().rstrip(";").strip()


def _statement_offset(finding: Finding) -> int | None:
    """Where the statement starts in its file: edits are file offsets, the statement is not."""
    explicit = finding.data.get("statement_start", getattr(finding, "statement_start", None))
    if isinstance(explicit, int):
        return explicit
    sql = finding.statement_sql
    try:
        text = Path(finding.path).read_text(encoding="utf-8") if finding.path and not finding.path.startswith("<") else None
    except OSError:
        text = None
    if text is not None:
        position = text.find(sql)
        while position >= 0:
            if position <= finding.start <= position + len(sql):
                return position
            position = text.find(sql, position + 1)
        return None
    # A string linted on its own: the statement is the text up to its first token.
    return 0 if finding.statement_index == 0 and finding.end <= len(sql) else None


# -- verdicts ---------------------------------------------------------------------------------

def _cheaper(before: Plan, after: Plan, opts: dict) -> bool:
    if before.backend == "sqlite":  # SQLite gives no costs: using the index is the evidence
        return True
    return after.total_cost <= before.total_cost * (1.0 - float(opts["min_cost_reduction"]))


def _cost_change(before: Plan, after: Plan) -> str:
    return f"cost {format_cost(before.total_cost)} -> {format_cost(after.total_cost)}"


def format_cost(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _evidence(node: PlanNode) -> str:
    cond = node.index_cond or node.filter or ""
    return f"{node.label()} ({cond})" if cond else node.label()


def _main_scan(plan: Plan, table: str) -> str:
    scans = plan.scans(table)
    return scans[0].label() if scans else "its plan"


def _short(ddl: str) -> str:
    text = " ".join(ddl.split()).rstrip(";")
    return re.sub(r"\bconcurrently\s+", "", text, flags=re.I)


def _verdict(status: str, reason: str, before: Plan, after: Plan | None = None, evidence: str = "") -> Verification:
    return Verification(
        status,
        reason,
        plan_before=before.to_json(),
        plan_after=after.to_json() if after is not None else None,
        cost_before=before.total_cost if before.backend != "sqlite" else None,
        cost_after=after.total_cost if after is not None and after.backend != "sqlite" else None,
        evidence=evidence,
    )
