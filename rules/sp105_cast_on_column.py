from __future__ import annotations

import re

from sqlglot import exp

from sqlperf.analysis import (
    RANGE_COMPARISONS,
    bare_column,
    compared_operands,
    date_wrap,
    filters_rows,
    from_derived_table,
    index_name,
    is_constant,
    literal_value,
    or_keeps_index,
    predicate_span,
    shown,
    unparen,
)
from sqlperf.rule import Applicability, Edit, Fix, Rule

_T = exp.DataType.Type
_TARGET = re.compile(r"(?:::|\bAS\s+|,\s*)([A-Za-z][\w ]*(?:\([\d, ]*\))?)\)?\s*$", re.IGNORECASE)
_INTEGER_WIDTH = {"smallint": 2, "integer": 4, "bigint": 8}
_TEXT_TYPES = {_T.TEXT, _T.VARCHAR, _T.CHAR, _T.NCHAR, _T.NVARCHAR, _T.NAME}


class CastOnColumn(Rule):
    """## What it does
    Flags a column converted with `CAST(col AS type)` or `col::type` inside a row-filtering
    predicate and compared with a constant: `CAST(customer_id AS bigint) = 42`,
    `amount::numeric > 100`.

    ## Why is this bad?
    An index stores the column's own values. Once the column is converted, the predicate is
    about a different value, so the planner cannot look it up in the index: it converts every
    row and compares. Writing the constant in the column's type keeps the column bare.

    A cast to `date` compared with a constant belongs to SP102 (which rewrites it to a range).
    In PostgreSQL a cast of a text column to another text type (`varchar_col::text`) is not
    reported when the schema shows the column is text: PostgreSQL sees through it and still
    uses the index. Without a schema the finding says so, since the column may be text.

    ## Example
    ```sql
    SELECT id FROM orders WHERE CAST(customer_id AS bigint) = 42;
    ```

    ## Use instead
    ```sql
    SELECT id FROM orders WHERE customer_id = 42;
    ```
    Where the conversion is really needed, index the expression:
    `CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders ((customer_id::bigint));`.

    ## Fix safety
    The cast is removed automatically only when the schema proves nothing changes: an integer
    column cast to an integer type at least as wide, or to `numeric` without a precision,
    compared with whole numbers. Every integer value keeps its value under such a cast, so
    the comparison selects the same rows. Anything else (narrowing casts, text, timestamps,
    no schema) is reported with advice only.
    """

    code = "SP105"
    name = "cast-on-column"
    category = "sargability"
    node_types = (*RANGE_COMPARISONS, exp.Between, exp.In)
    wraps_operands = True
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        for side, others in compared_operands(node):
            cast = unparen(side)
            if not isinstance(cast, (exp.Cast, exp.TryCast)) or not all(is_constant(o) for o in others):
                continue
            clause = ctx.predicate_clause(node)
            if clause is None or not filters_rows(node, clause):
                return None
            column = bare_column(cast.this)
            if column is None or ctx.scope_of(column) is not ctx.scope_of(node) or from_derived_table(ctx, column):
                continue
            if not or_keeps_index(ctx, node, clause, column):
                continue
            if date_wrap(cast) is not None:
                continue  # a cast to date compared with a constant is SP102's
            resolved = ctx.resolve_column(column)
            column_type = resolved.definition.type if resolved.definition is not None else None
            # PostgreSQL sees through a cast between text types (varchar is stored as text); others do not.
            to_text = cast.to.this in _TEXT_TYPES and ctx.dialect in ("postgres", "postgresql")
            if to_text and column_type is not None and _text_family(column_type):
                continue
            if column_type is not None and _same_type(column_type, cast.to):
                continue  # a cast to the column's own type is a no-op the planner removes
            target = _written_type(ctx, cast)
            # Without a schema a text column cast to text cannot be told apart from a number cast to text.
            hedge = f"unless {column.name} is already text, " if to_text and column_type is None else ""
            message = (
                f"{shown(ctx, cast)} converts column {resolved.label} to {target} in a {clause.key.upper()} predicate, "
                f"so {hedge}no index on {column.name} can serve it and every row is converted."
            )
            fix = _fix(ctx, node, side, cast, column, others, column_type)
            if fix is not None:
                help_text = f"drop the cast, the constant already fits {column_type}: {fix.replacement}"
            else:
                help_text = f"write the constant in the column's own type and compare {column.name} bare"
                if resolved.table_name and ctx.dialect in ("postgres", "postgresql"):
                    name = index_name(resolved.table_name, [column.name, target])
                    help_text += (
                        f", or index the expression: CREATE INDEX CONCURRENTLY {name} "
                        f"ON {resolved.table_name} (({column.this.sql(dialect=ctx.dialect)}::{target}));"
                    )
            return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": column.name})]
        return None


def _text_family(column_type: str) -> bool:
    from sqlperf.schema.normalize import type_family  # only with a schema: no import without one

    return type_family(column_type) == "text"


def _written_type(ctx, cast) -> str:
    """The target type as the query spells it (``bigint``, not sqlglot's ``BIGINT``)."""
    text = shown(ctx, cast)
    match = _TARGET.search(text)
    return match.group(1).strip() if match else cast.to.sql(dialect=ctx.dialect)


def _same_type(column_type: str, to: exp.DataType) -> bool:
    from sqlperf.schema.normalize import type_from_datatype

    try:
        return type_from_datatype(to) == column_type
    except Exception:  # an exotic type the normaliser does not know: not the same as far as we can tell
        return False


def _fix(ctx, node, side, cast, column, others, column_type) -> Fix | None:
    """Remove the cast when the schema proves every integer keeps its value under it."""
    from sqlperf.schema.normalize import type_from_datatype

    if column_type not in _INTEGER_WIDTH:
        return None
    try:
        target = type_from_datatype(cast.to)
    except Exception:  # a type the normaliser does not know is not one we can reason about
        return None
    widening = target in _INTEGER_WIDTH and _INTEGER_WIDTH[target] >= _INTEGER_WIDTH[column_type]
    if not (widening or (target == "numeric" and not cast.to.expressions)):
        return None
    if not all(isinstance(literal_value(o), int) and not isinstance(literal_value(o), bool) for o in others):
        return None
    span = predicate_span(ctx, node)
    rng = ctx.spans.token_range(side)
    if span is None or rng is None:
        return None
    start, end = ctx.span(side)
    if not span[0] <= start < end <= span[1]:
        return None
    text = ctx.source.text
    replacement = text[span[0] : start] + ctx.text(column) + text[end : span[1]]
    return Fix(Applicability.SAFE, [Edit(span[0], span[1], replacement)], replacement, "compare the bare column")
