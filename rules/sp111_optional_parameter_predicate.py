from sqlglot import exp

from sqlperf.analysis import bare_column, chain_operands, filters_rows, from_derived_table, is_constant, unparen
from sqlperf.rule import Applicability, Rule

_FILTERS = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In, exp.Between)


class OptionalParameterPredicate(Rule):
    """## What it does
    Flags the "optional filter" idiom: `(:status IS NULL OR status = :status)`, in any
    placeholder style (`:name`, `$1`, `%s`, `%(name)s`, `?`, `@name`), and its twin
    `status = COALESCE(:status, status)`.

    ## Why is this bad?
    One statement has to answer two questions: "all rows" when the parameter is NULL, and
    "rows with this status" otherwise. A plan that is prepared once and reused (a generic plan
    in PostgreSQL, a prepared statement in MySQL, a cached plan in SQL Server) must be right
    for both, so it cannot use the index on `status`: it scans and filters. Even a
    per-execution plan costs the planner the chance to combine several such filters well.

    ## Example
    ```sql
    SELECT id FROM orders WHERE (:status IS NULL OR status = :status);
    ```

    ## Use instead
    Add the condition to the SQL only when the parameter is given, so each shape gets a plan
    of its own (in SQLAlchemy: `if status is not None: query = query.where(Order.status == status)`):
    ```sql
    SELECT id FROM orders WHERE status = :status;
    SELECT id FROM orders;
    ```
    """

    code = "SP111"
    name = "optional-parameter-predicate"
    category = "sargability"
    node_types = (exp.Or, exp.EQ)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        if isinstance(node, exp.EQ):
            found = _coalesce_form(node)
        else:
            if isinstance(_outer(node), exp.Or):
                return None  # the outermost OR of a chain speaks for it
            found = _or_form(node)
        if found is None:
            return None
        clause = ctx.predicate_clause(node)
        if clause is None or not filters_rows(node, clause):
            return None
        column, parameter = found
        if ctx.scope_of(column) is not ctx.scope_of(node) or from_derived_table(ctx, column):
            return None
        resolved = ctx.resolve_column(column)
        # Bind parameters carry no source position, so the message names the column, not the placeholder.
        message = (
            f"optional filter on {resolved.label}: one plan must serve both a NULL parameter and a value, so a "
            f"prepared or cached plan cannot use an index on {column.name} and scans instead."
        )
        help_text = (
            f"add the condition on {column.name} to the SQL only when the parameter is given (build the query "
            "in code), and leave it out otherwise"
        )
        return [ctx.finding(self, node, message, help_text, None, data={"table": resolved.table_name, "column": column.name})]


def _outer(node):
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return parent


def _parameter_key(node) -> tuple | None:
    """Which bind parameter ``node`` is; positional ones (``?``, ``%s``) all share one key."""
    node = unparen(node)
    while isinstance(node, (exp.Cast, exp.TryCast)):
        node = unparen(node.this)  # `:p::text IS NULL`, as drivers that need a type write it
    if isinstance(node, exp.Placeholder):
        name = node.this
        if isinstance(name, exp.Expression):
            name = name.name
        return ("named", str(name).lower()) if name else ("positional",)
    if isinstance(node, exp.Parameter):
        inner = node.this
        return ("named", inner.name.lower()) if isinstance(inner, exp.Expression) else None
    return None


def _or_form(node):
    """``:p IS NULL OR col = :p``: the column and the parameter, or None."""
    branches = chain_operands(node, exp.Or, unwrap=True)
    null_tests = {}
    for branch in branches:
        if isinstance(branch, exp.Is) and isinstance(branch.expression, exp.Null):
            key = _parameter_key(branch.this)
            if key is not None:
                null_tests[key] = unparen(branch.this)
    if not null_tests:
        return None
    for branch in branches:
        if not isinstance(branch, _FILTERS) or (isinstance(branch, (exp.Like, exp.ILike)) and branch.args.get("negate")):
            continue
        column, others = _column_and_others(branch)
        if column is None:
            continue
        for other in others:
            if not is_constant(other):
                break
            for part in other.walk():
                key = _parameter_key(part)
                if key is not None and key in null_tests:
                    return column, null_tests[key]
    return None


def _column_and_others(branch):
    if isinstance(branch, exp.In):
        if branch.args.get("query") is not None:
            return None, []
        return bare_column(branch.this), list(branch.expressions)
    if isinstance(branch, exp.Between):
        return bare_column(branch.this), [branch.args["low"], branch.args["high"]]
    left, right = bare_column(branch.this), bare_column(branch.expression)
    if left is not None and right is None:
        return left, [branch.expression]
    if right is not None and left is None and not isinstance(branch, (exp.Like, exp.ILike)):
        return right, [branch.this]
    return None, []


def _coalesce_form(node):
    """``col = COALESCE(:p, col)`` (also IFNULL, ISNULL): the column and the parameter, or None."""
    for side, other in ((node.this, node.expression), (node.expression, node.this)):
        column = bare_column(side)
        wrapped = unparen(other)
        if column is None or not isinstance(wrapped, exp.Coalesce) or len(wrapped.expressions) != 1:
            continue
        fallback = bare_column(wrapped.expressions[0])
        if _parameter_key(wrapped.this) is not None and fallback is not None and _same_column(fallback, column):
            return column, unparen(wrapped.this)
    return None


def _same_column(a: exp.Column, b: exp.Column) -> bool:
    return a.name.lower() == b.name.lower() and (a.table or "").lower() == (b.table or "").lower()
