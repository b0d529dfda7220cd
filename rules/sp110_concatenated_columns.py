from sqlglot import exp

from sqlperf.analysis import (
    RANGE_COMPARISONS,
    compared_operands,
    filters_rows,
    from_derived_table,
    index_name,
    is_constant,
    or_keeps_index,
    own_columns,
    shown,
    unparen,
)
from sqlperf.rule import Applicability, Fix, Rule

_CONCATENATIONS = (exp.DPipe, exp.Concat, exp.ConcatWs)


class ConcatenatedColumns(Rule):
    """## What it does
    Flags columns concatenated inside a row-filtering predicate and compared with a constant:
    `first_name || ' ' || last_name = 'Ann Lee'`, `CONCAT(country, '-', code) = 'SE-42'`.

    ## Why is this bad?
    Indexes hold each column's own values. Compared as a concatenation, the columns cannot be
    looked up in any of them, so the planner builds the string for every row and compares.
    Comparing each column with its own part keeps them bare, and a composite index on the
    columns then answers the query directly.

    A `LIKE` with a leading wildcard is SP104's; concatenations in the select list and
    concatenations of constants are not reported.

    ## Example
    ```sql
    SELECT id FROM customers WHERE first_name || ' ' || last_name = 'Ann Lee';
    ```

    ## Use instead
    ```sql
    SELECT id FROM customers WHERE first_name = 'Ann' AND last_name = 'Lee';
    ```
    If the combined value really is what users search by, store it in a generated column or
    index the expression (`CREATE INDEX ... ON customers ((first_name || ' ' || last_name))`).
    """

    code = "SP110"
    name = "concatenated-columns"
    category = "sargability"
    node_types = (*RANGE_COMPARISONS, exp.In, exp.Like, exp.ILike)
    wraps_operands = True
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        for side, others in _operands(node):
            concatenation = unparen(side)
            if not isinstance(concatenation, _CONCATENATIONS) or not all(is_constant(o) for o in others):
                continue
            clause = ctx.predicate_clause(node)
            if clause is None or not filters_rows(node, clause):
                return None
            columns = sorted(own_columns(concatenation), key=lambda c: ctx.span(c)[0])
            if not columns or any(ctx.scope_of(c) is not ctx.scope_of(node) or from_derived_table(ctx, c) for c in columns):
                continue
            if not or_keeps_index(ctx, node, clause, columns[0]):
                continue
            resolved = [ctx.resolve_column(c) for c in columns]
            labels = list(dict.fromkeys(r.label for r in resolved))
            expression = shown(ctx, concatenation)
            noun = "column" if len(labels) == 1 else "columns"
            message = (
                f"concatenation {expression} hides {noun} {', '.join(labels)} in a {clause.key.upper()} predicate, so "
                "no index on them can serve it and the string is built for every row."
            )
            parts = " AND ".join(f"{name} = ..." for name in dict.fromkeys(c.name for c in columns))
            help_text = f"compare each column with its own part ({parts}), or index the expression"
            fix = None
            table = resolved[0].table_name
            if table and all(r.table_name == table for r in resolved) and ctx.dialect in ("postgres", "postgresql") and isinstance(concatenation, exp.DPipe):
                # Only || on text is immutable in PostgreSQL; concat() cannot be indexed.
                ddl = (
                    f"CREATE INDEX CONCURRENTLY {index_name(table, [c.name for c in columns])} "
                    f"ON {table} (({_unqualified(concatenation, ctx.dialect)}));"
                )
                fix = Fix(Applicability.DISPLAY, replacement=ddl, message="index the expression")
                help_text += f": {ddl}"
            return [ctx.finding(self, node, message, help_text, fix, data={"table": table, "columns": [c.name for c in columns]})]
        return None


def _operands(node):
    if isinstance(node, (exp.Like, exp.ILike)):
        pattern = node.expression
        if node.args.get("negate") or isinstance(node.parent, exp.Not) or isinstance(pattern, exp.Escape):
            return []
        if isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this[:1] in ("%", "_"):
            return []  # a leading wildcard is SP104's finding
        return [(node.this, [pattern])]
    return compared_operands(node)


def _unqualified(node, dialect: str) -> str:
    """The expression as index DDL needs it: columns without the query's table aliases."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    return copy.sql(dialect=dialect)
