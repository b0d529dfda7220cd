from sqlglot import exp

from sqlperf.analysis import (
    JSON_EXTRACTS,
    RANGE_COMPARISONS,
    bare_column,
    compared_operands,
    filters_rows,
    from_derived_table,
    index_name,
    is_constant,
    or_keeps_index,
    shown,
    unparen,
)
from sqlperf.rule import Applicability, Fix, Rule


class JsonExtractionPredicate(Rule):
    """## What it does
    Flags a value extracted from a JSON column and compared with a constant in a row-filtering
    predicate: `payload->>'status' = 'paid'`, `(payload->>'total')::numeric > 100`,
    MySQL and SQLite `json_extract(payload, '$.status') = 'paid'`.

    ## Why is this bad?
    An index on the JSON column (if any) indexes whole documents, not the value under one key.
    To answer `payload->>'status' = 'paid'` the database parses the document of every row and
    extracts the key. An index on exactly that expression, or a containment query served by a
    GIN index, lets the planner find the rows directly.

    Extractions in the select list, containment (`payload @> '{"status": "paid"}'`) and a
    `LIKE` with a leading wildcard (SP104's) are not reported, nor is an extraction the schema
    shows an expression index for.

    ## Example
    ```sql
    SELECT id FROM events WHERE payload->>'status' = 'paid';
    ```

    ## Use instead
    Index the expression the query filters on:
    ```sql
    CREATE INDEX CONCURRENTLY events_payload_status_idx ON events ((payload->>'status'));
    ```
    or, in PostgreSQL with a `jsonb` column, ask with containment and index the column with
    GIN (`CREATE INDEX ... ON events USING gin (payload jsonb_path_ops)`):
    ```sql
    SELECT id FROM events WHERE payload @> '{"status": "paid"}';
    ```
    MySQL: a generated column with an index, or a functional index on
    `(CAST(payload->>'$.status' AS CHAR(255)))`; SQLite: an index on `json_extract(payload, '$.status')`.

    ## Options
    - `mysql_index_length` (default: 255): the `CHAR(n)` length suggested for a MySQL
      functional index, which cannot index a JSON value without a cast to a sized type.
    """

    code = "SP112"
    name = "json-extraction-predicate"
    category = "sargability"
    node_types = (*RANGE_COMPARISONS, exp.In, exp.Between, exp.Like, exp.ILike)
    wraps_operands = True
    fix_applicability = Applicability.DISPLAY
    options = {"mysql_index_length": 255}

    def visit(self, node, ctx):
        for side, others in _operands(node):
            column = _json_column(side)
            if column is None or not all(is_constant(o) for o in others):
                continue
            clause = ctx.predicate_clause(node)
            if clause is None or not filters_rows(node, clause):
                return None
            if ctx.scope_of(column) is not ctx.scope_of(node) or from_derived_table(ctx, column):
                continue
            if not or_keeps_index(ctx, node, clause, column):
                continue
            resolved = ctx.resolve_column(column)
            if resolved.table is not None and _has_expression_index(resolved.table, side):
                continue
            expression = shown(ctx, side)
            message = (
                f"{expression} extracts from JSON column {resolved.label} in a {clause.key.upper()} predicate, so "
                "the planner parses every row's document and no index can serve the filter."
            )
            help_text, fix = _advice(ctx, side, column, resolved.table_name, self.opts["mysql_index_length"])
            return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": column.name})]
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


def _json_column(side) -> exp.Column | None:
    """The JSON column under ``payload->'a'->>'b'`` (optionally cast), or None."""
    node = unparen(side)
    if isinstance(node, (exp.Cast, exp.TryCast)):
        node = unparen(node.this)
    if not isinstance(node, JSON_EXTRACTS):
        return None
    while isinstance(node, JSON_EXTRACTS):
        node = unparen(node.this)
    return bare_column(node)


def _unqualified(node, dialect: str) -> str:
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    return copy.sql(dialect=dialect)


def _has_expression_index(table, side) -> bool:
    check = getattr(table, "has_expression_index", None)
    if check is None:
        return False
    try:
        return bool(check(_unqualified(side, "postgres")))
    except Exception:  # a schema without expression details: assume no such index
        return False


def _advice(ctx, side, column, table, mysql_length) -> tuple[str, Fix | None]:
    keys = [k.name for k in side.find_all(exp.JSONPathKey)] or [
        lit.this for lit in side.find_all(exp.Literal) if lit.is_string
    ]
    name = index_name(table or column.name, [column.name, *keys[-1:]])
    if ctx.dialect in ("postgres", "postgresql") and table:
        ddl = f"CREATE INDEX CONCURRENTLY {name} ON {table} (({_unqualified(unparen(side), 'postgres')}));"
        help_text = f"index the expression, or use containment (@>) with a GIN index on {column.name}: {ddl}"
        return help_text, Fix(Applicability.DISPLAY, replacement=ddl, message="index the expression")
    if ctx.dialect == "sqlite" and table:
        ddl = f"CREATE INDEX {name} ON {table} ({_unqualified(unparen(side), 'sqlite')});"
        return f"index the expression: {ddl}", Fix(Applicability.DISPLAY, replacement=ddl, message="index the expression")
    if ctx.dialect == "mysql":
        return (
            f"add a generated column for the value and index it, or a functional index on "
            f"(CAST({_unqualified(unparen(side), 'mysql')} AS CHAR({mysql_length})))",
            None,
        )
    return f"index the expression the query filters on (an expression index on {column.name})", None
