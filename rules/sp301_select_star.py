from sqlglot import exp

from sqlperf.analysis import identifier_sql
from sqlperf.rule import Applicability, Fix, Rule


class SelectStar(Rule):
    """## What it does
    Flags `SELECT *` and `t.*` that read every column of a base table.

    ## Why is this bad?
    Every column is read, sent and decoded, including wide text and JSON columns the caller
    never uses. The planner cannot answer the query from a covering index (an index-only
    scan needs every selected column in the index), and the result silently changes shape
    when a migration adds a column.

    `EXISTS (SELECT * ...)`, `count(*)` and a star over a derived table or CTE that already
    lists its columns are fine and are not reported.

    ## Example
    ```sql
    SELECT * FROM orders WHERE customer_id = 42;
    ```

    ## Use instead
    ```sql
    SELECT id, status, total FROM orders WHERE customer_id = 42;
    ```

    ## Fix safety
    With a schema (`--schema`), the fix writes out the table's columns in their declared
    order, which is exactly what the star returns today, so it is safe. Without a schema
    there is no fix.
    """

    code = "SP301"
    name = "select-star"
    category = "fetch"
    node_types = (exp.Select,)
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        stars = [e for e in node.expressions if _is_star(e)]
        if not stars or _under_exists(node) or _no_base_table(node):
            return None
        scope = ctx.scope_of(node)
        if scope is None or scope.expression is not node:
            return None
        findings = []
        for star in stars:
            qualifier = star.table if isinstance(star, exp.Column) else ""
            targets = {qualifier: scope.sources.get(qualifier)} if qualifier else dict(scope.sources)
            tables = {alias: src for alias, src in targets.items() if isinstance(src, exp.Table) and isinstance(src.this, exp.Identifier)}
            if not tables:
                continue  # only derived tables and CTEs: their own select lists decide
            names = ", ".join(sorted({t.name for t in tables.values()}))
            star_text = ctx.text(star)
            # FROM-first syntax (``FROM t WHERE ...``) selects * without writing it: nothing to replace.
            written = star_text.endswith("*")
            if not written:
                star_text = "the implied SELECT *"
            message = f"{star_text} reads every column of {names}; the query cannot be served by a covering index."
            columns = _expanded(ctx, tables, qualify=bool(qualifier) or len(scope.sources) > 1, whole=len(tables) == len(targets))
            fix = None
            help_text = "select only the columns the caller uses"
            if columns and written:
                fix = Fix(Applicability.SAFE, [ctx.edit(star, columns)], columns, "list the columns")
                help_text = f"list the columns: {columns}"
            findings.append(ctx.finding(self, star, message, help_text, fix, data={"tables": sorted({t.name for t in tables.values()})}))
        return findings


def _is_star(node) -> bool:
    return isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star))


def _no_base_table(node) -> bool:
    """Every FROM item is a derived table, a table function or a CTE in sight: no star can reach
    a base table, which the scope check below would conclude at more cost."""
    source = node.args.get("from_")
    if source is None or node.args.get("laterals"):
        return False
    ctes: set[str] | None = None
    for item in (source.this, *(j.this for j in node.args.get("joins") or [])):
        if isinstance(item, exp.Subquery):
            continue
        if not isinstance(item, exp.Table):
            return False
        if not isinstance(item.this, exp.Identifier):
            continue  # generate_series(...), unnest(...): not a table's columns
        if item.args.get("db") is not None:
            return False
        if ctes is None:
            ctes = _visible_ctes(node)
        if item.name not in ctes:
            return False
    return True


def _visible_ctes(node) -> set[str]:
    """Names of the CTEs of every WITH around ``node``."""
    names = set()
    current = node
    while current is not None:
        with_ = current.args.get("with_")
        if with_ is not None:
            names.update(cte.alias_or_name for cte in with_.expressions)
        current = current.parent
    return names


def _under_exists(node) -> bool:
    parent = node.parent
    while isinstance(parent, exp.Subquery):
        parent = parent.parent
    return isinstance(parent, exp.Exists)


def _expanded(ctx, tables, qualify: bool, whole: bool) -> str | None:
    """The explicit column list the star stands for, when the schema knows every table."""
    if ctx.schema is None or not whole:
        return None
    parts = []
    for alias, src in tables.items():
        table = ctx.schema.table(src.name, src.db or None)
        if table is None or not table.columns:
            return None
        for column in table.columns.values():
            parts.append(identifier_sql(column.name, ctx.dialect, table=alias if qualify else None))
    return ", ".join(parts)
