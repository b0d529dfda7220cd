from sqlglot import exp

from sqlperf.analysis import (
    bare_column,
    filters_rows,
    from_derived_table,
    is_constant,
    literal_value,
    or_keeps_index,
    predicate_span,
    shown,
    unparen,
)
from sqlperf.rule import Applicability, Edit, Fix, Rule


class SubstringPrefix(Rule):
    """## What it does
    Flags a prefix test written as a substring comparison: `substring(code, 1, 3) = 'ABC'`,
    `substr(code, 1, 3) = 'ABC'`, `left(code, 3) = 'ABC'`, and the list form
    `left(code, 2) IN ('AB', 'CD')`.

    ## Why is this bad?
    The index on `code` holds whole values; the planner cannot look up "the first three
    characters" in it, so it cuts the substring from every row. A `LIKE` with a fixed prefix
    asks the same question in a form an index range scan can answer.

    In PostgreSQL a B-tree index serves `LIKE 'ABC%'` when the column uses the `C` collation
    or the index is built with `text_pattern_ops`
    (`CREATE INDEX ... ON items (code text_pattern_ops)`); in SQLite the index must match the
    case sensitivity of `LIKE`; MySQL uses an ordinary index.

    ## Example
    ```sql
    SELECT id FROM items WHERE substring(code, 1, 3) = 'ABC';
    ```

    ## Use instead
    ```sql
    SELECT id FROM items WHERE code LIKE 'ABC%';
    ```

    ## Fix safety
    The list form is reported with advice only. For `=`, the fix is written only when the
    substring starts at 1 and its length equals the length of the compared literal, with `%`,
    `_` and the escape character `\\` escaped. It is safe in PostgreSQL, where `=` and `LIKE`
    both compare characters exactly. It is unsafe in MySQL, where `=` follows the collation
    (`'ä' = 'ae'` can be true under a German collation) but `LIKE` matches character by
    character, and in SQLite, where `LIKE` ignores ASCII case.
    A literal ending in a space (MySQL's `=` ignores trailing spaces, `LIKE` does not) or
    containing a backslash gets no fix.
    """

    code = "SP114"
    name = "substring-prefix"
    category = "sargability"
    node_types = (exp.EQ, exp.In)
    wraps_operands = True
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        for side, others in _operands(node):
            prefix = _prefix(side)
            if prefix is None or not all(is_constant(o) for o in others):
                continue
            clause = ctx.predicate_clause(node)
            if clause is None or not filters_rows(node, clause):
                return None
            column, length = prefix
            if ctx.scope_of(column) is not ctx.scope_of(node) or from_derived_table(ctx, column):
                continue
            if not or_keeps_index(ctx, node, clause, column):
                continue
            resolved = ctx.resolve_column(column)
            fix = _fix(ctx, node, column, length, others[0], resolved) if isinstance(node, exp.EQ) else None
            message = (
                f"{shown(ctx, side)} compares a prefix of column {resolved.label} in a {clause.key.upper()} predicate, "
                f"so no index on {column.name} can serve it and the substring is cut from every row."
            )
            if fix is not None:
                help_text = f"ask for the prefix with LIKE: {fix.replacement}"
                if ctx.dialect in ("postgres", "postgresql"):
                    help_text += f" (indexed with text_pattern_ops unless {column.name} uses the C collation)"
            elif isinstance(node, exp.In):
                help_text = (
                    f"test each prefix with LIKE ({column.name} LIKE 'prefix%' OR ...), or index the expression "
                    f"{_unqualified(unparen(side), ctx.dialect)} itself"
                )
            else:
                help_text = f"ask for the prefix with LIKE ({column.name} LIKE 'prefix%'), which an index can serve"
            return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": column.name})]
        return None


def _operands(node):
    if isinstance(node, exp.In):
        if node.args.get("query") is not None or node.args.get("unnest") is not None or not node.expressions:
            return []
        return [(node.this, list(node.expressions))]
    return [(node.this, [node.expression]), (node.expression, [node.this])]


def _unqualified(node, dialect: str) -> str:
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    return copy.sql(dialect=dialect)


def _prefix(side) -> tuple[exp.Column, int | None] | None:
    """(column, length) for ``left(col, n)`` or ``substring(col, 1, n)``; None for anything else."""
    side = unparen(side)
    if isinstance(side, exp.Left):
        column, length = bare_column(side.this), side.expression
    elif isinstance(side, exp.Substring):
        start = side.args.get("start")
        if start is None or literal_value(start) != 1:
            return None
        column, length = bare_column(side.this), side.args.get("length")
    else:
        return None
    if column is None or length is None:
        return None
    value = literal_value(length)
    return column, value if isinstance(value, int) and not isinstance(value, bool) else None


def _fix(ctx, node, column, length, other, resolved) -> Fix | None:
    other = unparen(other)
    if not isinstance(other, exp.Literal) or not other.is_string or length is None:
        return None
    value = other.this
    if not value or len(value) != length or value.endswith(" ") or "\\" in value:
        return None
    if not ctx.text(other).startswith("'"):
        return None  # E'...', N'...', $$...$$: keep to plain literals we can write back
    column_type = (resolved.definition.type or "") if resolved.definition is not None else ""
    if column_type.startswith("char"):
        return None  # blank-padded types compare with padding rules of their own
    span = predicate_span(ctx, node)
    if span is None:
        return None
    escaped = value.replace("%", "\\%").replace("_", "\\_").replace("'", "''")
    replacement = f"{ctx.text(column)} LIKE '{escaped}%'"
    dialect = ctx.dialect
    if dialect == "sqlite" and escaped != value.replace("'", "''"):
        replacement += " ESCAPE '\\'"  # SQLite's LIKE has no escape character unless told
    safety = Applicability.SAFE if dialect in ("postgres", "postgresql") else Applicability.UNSAFE
    return Fix(safety, [Edit(span[0], span[1], replacement)], replacement, "a LIKE prefix an index can serve")
