from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.analysis import COMPARISONS, ends_cleanly, flip, literal_value
from sqlperf.rule import Applicability, Edit, Fix, Rule

# (operator with the count on the left, constant) -> True for "exists", False for "does not exist".
_EXISTENCE = {
    (exp.GT, 0): True,
    (exp.GTE, 1): True,
    (exp.NEQ, 0): True,
    (exp.EQ, 0): False,
    (exp.LT, 1): False,
    (exp.LTE, 0): False,
}
# Clauses of a query that make it more than "count the rows of FROM ... WHERE ...".
_NOT_PLAIN = ("group", "having", "limit", "offset", "distinct", "qualify", "windows", "order", "with_", "laterals", "pivots")
_STATEMENT_END = frozenset({TokenType.SEMICOLON, TokenType.R_PAREN})
# Where ``NOT EXISTS (...)`` can replace a comparison without parentheses.
_BOOLEAN_SLOTS = (exp.And, exp.Or, exp.Where, exp.Having, exp.Paren, exp.Not, exp.If, exp.Alias, exp.Select)


class CountForExistence(Rule):
    """## What it does
    Flags a row count compared with zero to ask whether any row exists:
    `(SELECT count(*) FROM ...) > 0`, `>= 1`, `<> 0`, `= 0`, and a whole query
    `SELECT count(*) > 0 FROM ... WHERE ...`.

    ## Why is this bad?
    `count(*)` has to find and count every matching row, through the whole index range or
    the whole table, although the question needs only the first one. `EXISTS` stops at the
    first matching row, and the planner can turn it into a semi-join.

    `count(*)` in the select list, a count compared with another number (`> 5`) and
    `HAVING count(*) > 0` are not reported.

    ## Example
    ```sql
    SELECT id FROM customers c
    WHERE (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) > 0;
    ```

    ## Use instead
    ```sql
    SELECT id FROM customers c
    WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);
    ```

    ## Fix safety
    The fix is safe: a count is never NULL, so `count(*) > 0` (and `>= 1`, `<> 0`) is true
    exactly when a row exists, and `count(*) = 0` exactly when none does, which is what
    `EXISTS` and `NOT EXISTS` say. It is offered for `count(*)` and `count(<constant>)` over a
    plain `FROM ... WHERE ...`; `count(col)` (which skips NULLs), `count(DISTINCT ...)` and a
    counted query with GROUP BY, HAVING, LIMIT or DISTINCT are reported without a fix. A whole
    query `SELECT count(*) > 0 FROM t WHERE ...` becomes `SELECT EXISTS (SELECT 1 FROM t WHERE ...)`;
    without an alias its result column gets a different generated name.
    """

    code = "SP304"
    name = "count-for-existence"
    category = "shape"
    node_types = COMPARISONS
    wraps_operands = True
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        for counted, constant in ((node.this, node.expression), (node.expression, node.this)):
            op = type(node) if counted is node.this else flip(type(node))
            value = literal_value(constant)
            if not isinstance(value, int) or (op, value) not in _EXISTENCE:
                continue
            exists = _EXISTENCE[(op, value)]
            if isinstance(counted, exp.Subquery):
                return self._subquery(node, counted, exists, ctx)
            if isinstance(counted, exp.Count):
                return self._whole_query(node, counted, exists, ctx)
        return None

    def _subquery(self, node, subquery, exists, ctx):
        select = subquery.this
        count = _single_count(select)
        if count is None or select.args.get("group"):
            return None  # a count per group is not one existence test
        fix = None
        if _plain(select, count) and _exact_span(ctx, node):
            start, end = ctx.span(subquery)
            projection = select.expressions[0]
            p_start, p_end = ctx.span(projection)
            text = ctx.source.text
            inner = text[start:p_start] + "1" + text[p_end:end]
            replacement = f"{'' if exists else 'NOT '}EXISTS {inner}"
            if not isinstance(node.parent, _BOOLEAN_SLOTS) and not _join_condition(node):
                replacement = f"({replacement})"
            fix = Fix(Applicability.SAFE, [ctx.edit(node, replacement)], replacement, "test for existence")
        return [self._finding(ctx, node, select, exists, fix)]

    def _whole_query(self, node, count, exists, ctx):
        select, holder = _projection_of(node)
        if select is None or select.args.get("group") or select.args.get("from_") is None:
            return None  # HAVING count(*) > 0, or a count per group: not an existence test
        if len(select.expressions) != 1:
            return None  # other aggregates read every row anyway; the count costs nothing extra
        fix = None
        direct = holder is node or (isinstance(holder, exp.Alias) and holder.this is node)
        if direct and _plain(select, count) and _exact_span(ctx, node) and ends_cleanly(ctx, ctx.span(select)[1], _STATEMENT_END):
            text = ctx.source.text
            s_start, s_end = ctx.span(select)
            c_start, c_end = ctx.span(node)
            p_end = ctx.span(holder)[1]
            # SELECT <count(*) > 0> [AS x] FROM ... WHERE ...  ->  SELECT EXISTS (SELECT 1 FROM ... WHERE ...) [AS x]
            replacement = (
                text[s_start:c_start] + f"{'' if exists else 'NOT '}EXISTS (SELECT 1" + text[p_end:s_end] + ")" + text[c_end:p_end]
            )
            fix = Fix(Applicability.SAFE, [Edit(s_start, s_end, replacement)], replacement, "test for existence")
        return [self._finding(ctx, node, select, exists, fix)]

    def _finding(self, ctx, node, select, exists, fix):
        scope = ctx.scope_of(select)
        tables = sorted({s.name for s in scope.sources.values() if isinstance(s, exp.Table)}) if scope else []
        rows = f"every matching row of {', '.join(tables)}" if tables else "every matching row"
        keyword = "EXISTS" if exists else "NOT EXISTS"
        shown = " ".join(ctx.text(node).split())
        if len(shown) > 60:
            shown = _short(ctx, node)
        message = f"{shown} counts {rows} only to learn whether one exists; {keyword} would stop at the first."
        help_text = f"write {keyword} (SELECT 1 FROM ... WHERE ...)"
        return ctx.finding(self, node, message, help_text, fix, data={"tables": tables})


def _operator(node) -> str:
    return {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}[type(node)]


def _single_count(select):
    """The Count a query returns as its only value, or None."""
    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return None
    value = select.expressions[0].unalias()
    return value if isinstance(value, exp.Count) else None


def _projection_of(node):
    """(the Select, the select-list item) when ``node`` sits in a query's select list, else (None, None)."""
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, (exp.Select, exp.Subquery, exp.Union)):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Select) and child.arg_key == "expressions":
        return parent, child
    return None, None


def _short(ctx, node) -> str:
    """The comparison as written, with a long counted subquery abbreviated."""
    parts = []
    for side in (node.this, node.expression):
        parts.append("(SELECT count(*) ...)" if isinstance(side, exp.Subquery) else " ".join(ctx.text(side).split()))
    return f"{parts[0]} {_operator(node)} {parts[1]}"


def _plain(select, count) -> bool:
    """``count(*)`` or ``count(1)`` over a plain FROM ... WHERE ...: exactly a test for existence."""
    argument = count.this
    if isinstance(argument, exp.Distinct) or count.args.get("distinct"):
        return False
    if not (isinstance(argument, exp.Star) or (argument is not None and literal_value(argument) is not None and not isinstance(argument, exp.Null))):
        return False
    return select.args.get("from_") is not None and not any(select.args.get(key) for key in _NOT_PLAIN)


def _exact_span(ctx, node) -> bool:
    """The comparison's span runs exactly from its first operand to its last (no stray operand left out)."""
    start, end = ctx.span(node)
    a, b = ctx.span(node.this), ctx.span(node.expression)
    return start == min(a[0], b[0]) and end == max(a[1], b[1])


def _join_condition(node) -> bool:
    return isinstance(node.parent, exp.Join) and node.arg_key == "on"
