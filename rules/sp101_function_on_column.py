from sqlglot import exp

from sqlperf.analysis import SARGABLE_PREDICATES, SPECIFIC_WRAPPERS, index_name, other_side_is_constant, own_columns, sides
from sqlperf.rule import Applicability, Fix, Rule


class FunctionOnColumn(Rule):
    """## What it does
    Flags a column wrapped in a function inside a row-filtering predicate (WHERE, JOIN ON,
    HAVING), such as `lower(email) = 'a@b.c'`.

    ## Why is this bad?
    A B-tree index on `email` stores `email`, not `lower(email)`. Wrapped in a function, the
    column can no longer be looked up in the index, so the planner reads every row and
    computes the function for each one.

    Functions of constants (`WHERE created_at > now() - interval '1 day'`), functions in the
    select list and aggregates in HAVING are fine and are not reported. Date functions, casts,
    COALESCE, substrings and JSON extraction have rules of their own.

    ## Example
    ```sql
    SELECT id FROM users WHERE lower(email) = 'ann@example.com';
    ```

    ## Use instead
    Store the normalised value, or index the expression itself:
    ```sql
    CREATE INDEX CONCURRENTLY users_lower_email_idx ON users (lower(email));
    SELECT id FROM users WHERE email = 'ann@example.com';
    ```
    With an expression index that matches the predicate exactly, the original query is
    sargable, and sqlperf stays silent when the schema shows such an index.
    """

    code = "SP101"
    name = "function-on-column"
    category = "sargability"
    node_types = SARGABLE_PREDICATES
    wraps_operands = True
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        if ctx.predicate_clause(node) is None:
            return None
        findings = []
        for side, _ in sides(node):
            # CASE/IF are conditional logic rather than a function a reader would index.
            if not isinstance(side, exp.Func) or isinstance(side, (*SPECIFIC_WRAPPERS, exp.AggFunc, exp.Window, exp.Case, exp.If)):
                continue
            columns = own_columns(side)
            if not columns or not (other_side_is_constant(node, side) or _compares_other_table(node, side, columns)):
                continue
            resolved = ctx.resolve_column(columns[0])
            if resolved.derived:
                continue  # a CTE or derived table's column has no index to lose
            expression = ctx.text(side)
            if resolved.table is not None and _has_expression_index(resolved.table, side, ctx.dialect):
                continue
            func = side.sql_name().lower() if not isinstance(side, exp.Anonymous) else side.name.lower()
            clause = ctx.predicate_clause(node).key.upper()
            message = (
                f"{func}() wraps column {resolved.label} in a {clause} predicate, so an index on "
                f"{columns[0].name} cannot be used and every row is read."
            )
            fix = None
            help_text = "compare the bare column (store the value normalised), or index the expression itself"
            if resolved.table_name:
                ddl = f"CREATE INDEX CONCURRENTLY {index_name(resolved.table_name, [func, columns[0].name])} ON {resolved.table_name} ({expression});"
                fix = Fix(Applicability.DISPLAY, replacement=ddl, message="index the expression")
                help_text += f": {ddl}"
            findings.append(
                ctx.finding(self, side, message, help_text, fix, data={"table": resolved.table_name, "column": columns[0].name, "expression": expression})
            )
        return findings


def _compares_other_table(predicate, side, columns) -> bool:
    """``lower(a.email) = b.email`` in a join: the wrapped side cannot use its index either."""
    if isinstance(predicate, (exp.In, exp.Between)):
        return False
    other = predicate.expression if side is predicate.this else predicate.this
    tables = {c.table for c in columns}
    other_columns = own_columns(other)
    return bool(other_columns) and all(c.table and c.table not in tables for c in other_columns) and all(c.table for c in columns)


def _has_expression_index(table, side, dialect) -> bool:
    """An expression index on exactly this expression makes the predicate sargable."""
    check = getattr(table, "has_expression_index", None)
    if check is not None:
        return bool(check(side.sql(dialect="postgres")))
    target = _normal(side.sql(dialect="postgres"))
    return any(
        ix.is_expression(0) and _normal(ix.columns[0]) == target for ix in table.all_indexes()
    )


def _normal(sql: str) -> str:
    return "".join(sql.lower().split()).replace("(", "").replace(")", "")
