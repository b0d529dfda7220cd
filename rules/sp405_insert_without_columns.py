from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.rule import Applicability, Edit, Fix, Rule


_FOLDING_DIALECTS = ("postgres", "postgresql", "redshift")
# Words PostgreSQL reserves (sqlglot reads some of them, e.g. ``order``, as plain names); quoting a
# word that turns out not to be reserved is harmless, leaving a reserved one bare breaks the statement.
_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
    collation column concurrently constraint create cross current_catalog current_date current_role
    current_schema current_time current_timestamp current_user default deferrable desc distinct do else end
    except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into
    is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on
    only or order outer overlaps placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user using variadic verbose
    when where window with""".split()
)


class InsertWithoutColumns(Rule):
    """## What it does
    Flags `INSERT INTO t VALUES (...)` and `INSERT INTO t SELECT ...` that do not name the
    columns they fill.

    ## Why is this bad?
    The values are matched to the table's columns by position, so the statement depends on
    the column order of the table as it is today. A migration that adds, drops or reorders a
    column makes it fail, or worse, silently writes values into the wrong columns. It also
    hides which columns are set, so a reader cannot see that a defaulted or indexed column is
    skipped.

    `INSERT INTO t DEFAULT VALUES` and MySQL `INSERT INTO t SET a = 1` are not reported.

    ## Example
    ```sql
    INSERT INTO orders VALUES (1, 42, 'new');
    ```

    ## Use instead
    ```sql
    INSERT INTO orders (id, customer_id, status) VALUES (1, 42, 'new');
    ```

    ## Fix safety
    With a schema (`--schema`), the fix writes the table's first columns in their declared
    order, as many as each row has values, which is exactly how the database matches them
    today, so it is safe. Without a schema, or when the number of values cannot be counted
    (`SELECT *`), there is no fix.
    """

    code = "SP405"
    name = "insert-without-columns"
    category = "shape"
    node_types = (exp.Insert,)
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        target = node.this
        if not isinstance(target, exp.Table) or node.args.get("default"):
            return None  # a Schema target already lists its columns
        source = node.expression
        if not isinstance(source, (exp.Values, exp.Select, exp.Union, exp.Subquery)):
            return None
        message = (
            f"INSERT INTO {target.name} without a column list matches values to columns by position, so adding or "
            "reordering a column breaks it or writes values into the wrong columns."
        )
        columns = _column_list(ctx, target, _width(source))
        if columns is None:
            return [ctx.finding(self, target, message, f"name the columns: INSERT INTO {target.name} (col, ...)", data={"table": target.name})]
        listed = f" ({columns})"
        fix = Fix(Applicability.SAFE, [Edit(ctx.span(target)[1], ctx.span(target)[1], listed)], listed, "name the columns")
        return [ctx.finding(self, target, message, f"name the columns: INSERT INTO {target.name}{listed}", fix, data={"table": target.name})]


def _width(source) -> int | None:
    """How many values each inserted row has, when every row agrees."""
    if isinstance(source, exp.Values):
        widths = {len(row.expressions) if isinstance(row, exp.Tuple) else 1 for row in source.expressions}
        return widths.pop() if len(widths) == 1 else None
    while isinstance(source, (exp.Subquery, exp.Union)):
        source = source.this
    if not isinstance(source, exp.Select):
        return None
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)) for e in source.expressions):
        return None
    return len(source.expressions)


def _column_list(ctx, target, width) -> str | None:
    if ctx.schema is None or width is None:
        return None
    table = ctx.schema.table(target.name, target.db or None)
    if table is None or not table.columns or width > len(table.columns):
        return None
    names = table.column_names()[:width]
    if ctx.dialect in _FOLDING_DIALECTS and any(name != name.lower() for name in names):
        # The schema keeps names as written; PostgreSQL folds unquoted ``Note`` to ``note`` but keeps a
        # quoted ``"Note"``, and which one the DDL meant is lost: no fix rather than a wrong one.
        return None
    return ", ".join(_identifier(name, ctx) for name in names)


def _identifier(name: str, ctx) -> str:
    """``name`` quoted only when it would not read back as a plain identifier (``order``, ``my col``)."""
    from sqlperf.engine import get_dialect

    try:
        tokens = get_dialect(ctx.dialect).tokenize(name)
    except Exception:  # noqa: BLE001 - an untokenizable name is quoted
        tokens = []
    reserved = _RESERVED | set(getattr(get_dialect(ctx.dialect).generator_class, "RESERVED_KEYWORDS", ()))
    plain = len(tokens) == 1 and tokens[0].token_type == TokenType.VAR and tokens[0].text == name
    if plain and name.lower() not in reserved:
        return name
    return exp.to_identifier(name, quoted=True).sql(dialect=ctx.dialect)
