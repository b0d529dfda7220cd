import operator

from sqlglot import exp

from sqlperf.analysis import (
    RANGE_COMPARISONS,
    bare_column,
    compared_operands,
    filters_rows,
    flip,
    from_derived_table,
    is_constant,
    literal_value,
    or_keeps_index,
    predicate_span,
    shown,
    unparen,
)
from sqlperf.rule import Applicability, Edit, Fix, Rule

_TESTS = {exp.EQ: operator.eq, exp.GT: operator.gt, exp.GTE: operator.ge, exp.LT: operator.lt, exp.LTE: operator.le}
_OPERATORS = {exp.EQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}


class CoalesceOnColumn(Rule):
    """## What it does
    Flags a column wrapped in `COALESCE`, `IFNULL`, `NVL` or `ISNULL` inside a row-filtering
    predicate and compared with a constant: `COALESCE(status, 'new') = 'new'`.

    ## Why is this bad?
    The index on `status` holds `status`, not `COALESCE(status, 'new')`. The planner cannot
    use it for the wrapped column, so it reads every row. The same question can be asked of
    the bare column: when the default cannot match, `COALESCE(status, 'new') = 'open'` is
    just `status = 'open'`; when it can, `(status = 'new' OR status IS NULL)`, which the
    planner answers with the index (B-tree indexes store NULLs).

    ## Example
    ```sql
    SELECT id FROM tickets WHERE COALESCE(status, 'new') = 'open';
    ```

    ## Use instead
    ```sql
    SELECT id FROM tickets WHERE status = 'open';
    SELECT id FROM tickets WHERE (status = 'new' OR status IS NULL);
    ```

    ## Fix safety
    The fix is unsafe. sqlperf decides whether the default matches by comparing the two
    literals as written, with numbers compared as numbers and strings compared exactly; the
    database decides with the column's type and collation. They disagree when a collation
    ignores case or trailing spaces (MySQL's default: `COALESCE(status, 'NEW') = 'new'` is
    true for NULL rows there, but sqlperf sees different strings and writes `status = 'new'`,
    which drops those rows), or when a string default is compared with a number. When the
    two literals are of different kinds, or the comparison of strings is an ordering (`<`,
    `>`) that depends on the collation, no fix is offered. Nor is `col = x` offered under
    `NOT` or inside an expression: there a NULL row turns from false into unknown, which
    `NOT` does not turn into true.
    """

    code = "SP107"
    name = "coalesce-on-column"
    category = "sargability"
    node_types = (*RANGE_COMPARISONS, exp.Between, exp.In)
    wraps_operands = True
    fix_applicability = Applicability.UNSAFE

    def visit(self, node, ctx):
        for side, others in compared_operands(node):
            wrapped = unparen(side)
            if not isinstance(wrapped, exp.Coalesce) or not all(is_constant(o) for o in others):
                continue
            clause = ctx.predicate_clause(node)
            if clause is None or not filters_rows(node, clause):
                return None
            column = bare_column(wrapped.this)
            defaults = wrapped.expressions
            if column is None or len(defaults) != 1 or not is_constant(defaults[0]):
                continue
            if ctx.scope_of(column) is not ctx.scope_of(node) or from_derived_table(ctx, column):
                continue
            if not or_keeps_index(ctx, node, clause, column):
                continue
            resolved = ctx.resolve_column(column)
            function = shown(ctx, wrapped).split("(", 1)[0].strip() or "COALESCE"
            message = (
                f"{function}() wraps column {resolved.label} in a {clause.key.upper()} predicate, so no index on "
                f"{column.name} can serve it and every row is read."
            )
            fix = _fix(ctx, node, side, column, defaults[0])
            help_text = (
                f"compare the bare column: {fix.replacement}" if fix is not None
                else f"compare the bare column and add `OR {column.name} IS NULL` only where the default can match"
            )
            return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": column.name})]
        return None


def _decides_rows(node) -> bool:
    """Only AND, OR and parentheses stand between ``node`` and its WHERE/ON/HAVING."""
    parent = node.parent
    while isinstance(parent, (exp.And, exp.Or, exp.Paren)):
        parent = parent.parent
    return isinstance(parent, (exp.Where, exp.Having, exp.Join))


def _fix(ctx, node, side, column, default) -> Fix | None:
    """``col OP x``, with ``OR col IS NULL`` when the default itself satisfies the comparison."""
    if not isinstance(node, RANGE_COMPARISONS):
        return None
    constant = node.expression if side is node.this else node.this
    op = type(node) if side is node.this else flip(type(node))
    left, right = literal_value(default), literal_value(constant)
    if left is None or right is None or isinstance(left, str) != isinstance(right, str):
        return None
    if isinstance(left, str) and op is not exp.EQ:
        return None  # string order is the collation's business
    span = predicate_span(ctx, node)
    constant_rng = ctx.spans.token_range(constant)
    if span is None or constant_rng is None:
        return None
    column_text = ctx.text(column)
    constant_text = ctx.text(constant)
    bare = f"{column_text} {_OPERATORS[op]} {constant_text}"
    if _TESTS[op](left, right):
        bare = f"({bare} OR {column_text} IS NULL)"
    elif not _decides_rows(node):
        # Without the default, a NULL row yields unknown instead of false: the same in a
        # filter, but not under NOT or inside CASE.
        return None
    return Fix(Applicability.UNSAFE, [Edit(span[0], span[1], bare)], bare, "compare the bare column")
