from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.analysis import ends_cleanly, predicate_span, unparen
from sqlperf.rule import Applicability, Fix, Rule

_CLOSE = frozenset({TokenType.R_PAREN})
# Clauses that make the subquery more than "the values of P in FROM ... WHERE ...".
_NOT_PLAIN = ("group", "having", "limit", "offset", "order", "qualify", "windows", "with_", "laterals", "pivots")


class NotInSubquery(Rule):
    """## What it does
    Flags `x NOT IN (SELECT y FROM ...)`.

    ## Why is this bad?
    If the subquery returns a single NULL, `x NOT IN (...)` is NULL (not true) for every row,
    and if `x` is NULL it is never true either. Because of that rule the planner cannot turn
    `NOT IN` into an anti-join: PostgreSQL checks each outer row against a hashed copy of the
    whole subquery result, and when that does not fit in `work_mem` it re-runs the subquery
    for every outer row. `NOT EXISTS` has no such NULL rule and is planned as a hash or merge
    anti-join. The NULL rule is also a classic source of queries that silently return nothing.

    `NOT IN` over a literal list and `IN (SELECT ...)` are not reported.

    ## Example
    ```sql
    SELECT c.id FROM customers c WHERE c.id NOT IN (SELECT o.customer_id FROM orders o);
    ```

    ## Use instead
    ```sql
    SELECT c.id FROM customers c
    WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);
    ```

    ## Fix safety
    The fix rewrites `x NOT IN (SELECT y FROM t WHERE w)` to
    `NOT EXISTS (SELECT 1 FROM t WHERE w AND y = x)`, writing the outer column with its table
    so the subquery cannot capture it. It is unsafe because the two differ on NULLs: when the
    subquery returns a NULL `y`, `NOT IN` keeps no row at all while `NOT EXISTS` keeps the
    rows with no match; when `x` is NULL, `NOT IN` drops the row while `NOT EXISTS` keeps it.
    When a schema shows both `x` and `y` declared NOT NULL, the two are identical and the fix
    is marked safe. There is no fix for a multi-column `(a, b) NOT IN (...)`, a subquery with
    GROUP BY, LIMIT or an aggregate, or an outer column that cannot be qualified unambiguously.
    """

    code = "SP402"
    name = "not-in-subquery"
    category = "shape"
    node_types = (exp.Not,)
    fix_applicability = Applicability.UNSAFE

    def visit(self, node, ctx):
        predicate = unparen(node.this)
        if not isinstance(predicate, exp.In) or not isinstance(predicate.args.get("query"), exp.Subquery):
            return None
        select = predicate.args["query"].this
        outer = predicate.this
        subject = ctx.resolve_column(outer).label if isinstance(outer, exp.Column) else " ".join(ctx.text(outer).split())
        inner_label = _inner_label(ctx, select)
        message = (
            f"{subject} NOT IN (SELECT {inner_label} ...) cannot be planned as an anti-join, because one NULL in the "
            "subquery makes it false for every row, so each row is checked against the whole subquery result."
        )
        rewrite = _rewrite(ctx, node, predicate, select)
        fix = None
        help_text = "write NOT EXISTS (SELECT 1 FROM ... WHERE inner_column = outer_column)"
        if rewrite is not None:
            replacement, safe = rewrite
            applicability = Applicability.SAFE if safe else Applicability.UNSAFE
            fix = Fix(applicability, [ctx.edit(node, replacement)], replacement, "NOT EXISTS, planned as an anti-join")
            help_text = f"write {replacement}"
        return [ctx.finding(self, node, message, help_text, fix, data={"column": subject})]


def _inner_label(ctx, select) -> str:
    if isinstance(select, exp.Select) and len(select.expressions) == 1:
        value = select.expressions[0].unalias()
        if isinstance(value, exp.Column):
            return ctx.resolve_column(value).label
    return "..."


def _rewrite(ctx, node, predicate, select) -> tuple[str, bool] | None:
    """``NOT EXISTS (SELECT 1 FROM ... WHERE ... AND inner = outer)``, and whether it is exact."""
    if not isinstance(select, exp.Select) or len(select.expressions) != 1 or select.args.get("from_") is None:
        return None
    if any(select.args.get(key) for key in _NOT_PLAIN):
        return None
    projection = select.expressions[0]
    inner = projection.unalias()
    if isinstance(inner, exp.Star) or inner.find(exp.AggFunc, exp.Window, exp.Subquery, exp.Select) is not None:
        return None
    outer = predicate.this
    if any(isinstance(n, (exp.Placeholder, exp.Parameter)) for side in (outer, inner) for n in side.walk()):
        return None  # a bind parameter has no position: the copied text could stop short of it
    if isinstance(outer, exp.Tuple) or ctx.spans.token_range(outer) is None or ctx.spans.token_range(inner) is None:
        return None
    outer_sql = _qualified(ctx, outer, select)
    if outer_sql is None:
        return None
    text = ctx.source.text
    s_start, s_end = ctx.span(select)
    edits = [(*ctx.span(projection), "1")]
    condition = f"{ctx.text(inner)} = {outer_sql}"
    where = select.args.get("where")
    if not ends_cleanly(ctx, s_end, _CLOSE):
        return None  # the subquery's span stopped short of its closing parenthesis (a bind parameter)
    if where is not None:
        w_span = predicate_span(ctx, where.this)
        if w_span is None or w_span[1] > s_end:
            return None
        w_start, w_end = w_span
        existing = text[w_start:w_end]
        if isinstance(unparen(where.this), exp.Or) and not isinstance(where.this, exp.Paren):
            existing = f"({existing})"
        elif not isinstance(where.this, (exp.Paren, exp.And)) and isinstance(where.this, exp.Connector):
            existing = f"({existing})"
        edits.append((w_start, w_end, f"{existing} AND {condition}"))
    else:
        edits.append((s_end, s_end, f" WHERE {condition}"))
    out, cursor = [], s_start
    for start, end, content in sorted(edits):
        out.append(text[cursor:start])
        out.append(content)
        cursor = end
    out.append(text[cursor:s_end])
    # Keep the layout inside the parentheses as written: "(\n  select" stays "(\n  select".
    sub_start, sub_end = ctx.span(predicate.args["query"])
    if not (sub_start <= s_start and s_end <= sub_end):
        return None
    replacement = f"NOT EXISTS {text[sub_start:s_start]}{''.join(out)}{text[s_end:sub_end]}"
    return replacement, _both_not_null(ctx, outer, inner)


def _qualified(ctx, outer, select) -> str | None:
    """The outer expression's text with every column qualified by its outer source, or None."""
    outer_scope = ctx.scope_of(outer)
    inner_scope = ctx.scope_of(select)
    if outer_scope is None or inner_scope is None or inner_scope is outer_scope:
        return None
    inner_names = set(inner_scope.sources)
    start, end = ctx.span(outer)
    text = ctx.source.text
    edits = []
    for column in outer.find_all(exp.Column):
        if column.table:
            if column.table in inner_names:
                return None  # the subquery has a source of the same name: it would capture the column
            continue
        sources = list(outer_scope.sources)
        if len(sources) != 1:
            # Several outer tables: the schema may say which one has the column.
            owner = ctx.resolve_column(column).table_name
            sources = [k for k, s in outer_scope.sources.items() if isinstance(s, exp.Table) and owner and s.name == owner]
        if len(sources) != 1 or sources[0] in inner_names:
            return None
        c_start, c_end = ctx.span(column)
        edits.append((c_start, c_end, f"{sources[0]}.{text[c_start:c_end]}"))
    out, cursor = [], start
    for c_start, c_end, content in sorted(edits):
        out.append(text[cursor:c_start])
        out.append(content)
        cursor = c_end
    out.append(text[cursor:end])
    return "".join(out)


def _both_not_null(ctx, outer, inner) -> bool:
    """With a schema: both sides are NOT NULL columns, so NOT IN and NOT EXISTS agree exactly."""
    if ctx.schema is None or not isinstance(outer, exp.Column) or not isinstance(inner, exp.Column):
        return False
    left, right = ctx.resolve_column(outer).definition, ctx.resolve_column(inner).definition
    return left is not None and right is not None and not left.nullable and not right.nullable
