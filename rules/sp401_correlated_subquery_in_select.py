from sqlglot import exp

from sqlperf.analysis import COMPARISONS, literal_value
from sqlperf.rule import Applicability, Rule


class CorrelatedSubqueryInSelect(Rule):
    """## What it does
    Flags a scalar subquery in the select list that references a table of the outer query:
    `SELECT c.id, (SELECT max(o.total) FROM orders o WHERE o.customer_id = c.id) FROM customers c`.

    ## Why is this bad?
    The subquery depends on the outer row, so the database runs it once for every row the
    outer query returns: a thousand customers, a thousand separate probes of `orders`, each
    with its own startup cost. PostgreSQL and MySQL do not rewrite a correlated scalar
    subquery into a join, so a plan that could read `orders` once (a hash join against one
    aggregated pass) is never considered.

    An uncorrelated subquery (computed once), `EXISTS (...)` and `IN (SELECT ...)` are not
    reported; neither is a subquery that only references a query further out.

    ## Example
    ```sql
    SELECT c.id,
           (SELECT max(o.total) FROM orders o WHERE o.customer_id = c.id) AS largest
    FROM customers c;
    ```

    ## Use instead
    Join the subquery once, aggregated by the correlation column (or use `LATERAL` where the
    subquery needs a LIMIT per row):
    ```sql
    SELECT c.id, o.largest
    FROM customers c
    LEFT JOIN (SELECT customer_id, max(total) AS largest FROM orders GROUP BY customer_id) o
           ON o.customer_id = c.id;
    ```
    """

    code = "SP401"
    name = "correlated-subquery-in-select"
    category = "shape"
    node_types = (exp.Subquery,)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        if not isinstance(node.this, (exp.Select, exp.Union)) or isinstance(node.parent, (exp.In, exp.Exists, exp.Array)):
            return None
        outer = _outer_select(node)
        if outer is None or _counted_for_existence(node):
            return None
        inner_scope = ctx.scope_of(node.this)
        outer_scope = ctx.scope_of(outer)
        if inner_scope is None or outer_scope is None or outer_scope.expression is not outer:
            return None
        references = _outer_references(ctx, inner_scope, outer_scope)
        if not references:
            return None
        inner_tables = sorted({s.name for s in inner_scope.sources.values() if isinstance(s, exp.Table)})
        outer_tables = sorted({s.name for s in outer_scope.sources.values() if isinstance(s, exp.Table)})
        reads = f"on {', '.join(inner_tables)} " if inner_tables else ""
        rows = f"every row of {', '.join(outer_tables)}" if outer_tables else "every outer row"
        message = (
            f"Scalar subquery {reads}references {', '.join(references)} of the outer query, so it runs once for "
            f"{rows}; the planner cannot turn it into a join."
        )
        help_text = "join it once, aggregated by the correlation column (LEFT JOIN (SELECT ... GROUP BY ...) ON ...), or use LATERAL"
        return [ctx.finding(self, node, message, help_text, data={"tables": inner_tables, "references": references})]


def _outer_select(node):
    """The query whose select list holds ``node``, or None when it sits elsewhere (WHERE, FROM, ...)."""
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, (exp.Select, exp.Subquery, exp.Union)):
        if isinstance(parent, (exp.Window, exp.Where, exp.Having, exp.Order, exp.Group)):
            return None
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Select) and child.arg_key == "expressions":
        return parent
    return None


def _outer_references(ctx, inner_scope, outer_scope) -> list[str]:
    """Columns the subquery (at any depth) takes from the outer query's own sources."""
    found = []
    outer_sources = outer_scope.sources
    for column in inner_scope.external_columns:
        if column.table:
            if column.table in outer_sources:
                found.append(column.sql())
        elif _unqualified_outer(ctx, column, inner_scope, outer_scope):
            found.append(column.name)
    return sorted(set(found))


def _unqualified_outer(ctx, column, inner_scope, outer_scope) -> bool:
    """With a schema, an unqualified name no inner table has but an outer table has is a correlation."""
    if ctx.schema is None:
        return False
    inner = list(inner_scope.sources.values())
    if not inner or not all(isinstance(s, exp.Table) for s in inner):
        return False
    for source in inner:
        table = ctx.schema.table(source.name, source.db or None)
        if table is None or table.column(column.name) is not None:
            return False
    return any(
        isinstance(s, exp.Table) and (t := ctx.schema.table(s.name, s.db or None)) is not None and t.column(column.name) is not None
        for s in outer_scope.sources.values()
    )


def _counted_for_existence(node) -> bool:
    """``(SELECT count(*) ...) > 0``: SP304 reports it, and its EXISTS fix settles this rule too."""
    parent = node.parent
    if not isinstance(parent, COMPARISONS) or not isinstance(node.this, exp.Select) or len(node.this.expressions) != 1:
        return False
    other = parent.expression if node is parent.this else parent.this
    return isinstance(node.this.expressions[0].unalias(), exp.Count) and literal_value(other) in (0, 1)
