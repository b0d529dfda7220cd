from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.analysis import chain_operands
from sqlperf.rule import Applicability, Fix, Rule


class DistinctOverJoin(Rule):
    """## What it does
    Flags `SELECT DISTINCT` over an inner join when every selected column comes from one
    table, so the other tables are only there to filter it:
    `SELECT DISTINCT c.id, c.name FROM customers c JOIN orders o ON o.customer_id = c.id`.

    ## Why is this bad?
    The join returns each customer once per matching order, and DISTINCT then sorts or hashes
    that whole fanned-out result to throw the copies away again. A customer with 10,000
    orders costs 10,000 rows of work to report once. A semi-join (`EXISTS`) stops at the
    first matching order and needs no de-duplication at all.

    Not reported: a DISTINCT whose columns come from more than one table, `DISTINCT ON`,
    outer joins, and queries with GROUP BY or aggregates. Without a schema, unqualified
    columns cannot be placed in a table, so such a query is not reported.

    ## Example
    ```sql
    SELECT DISTINCT c.id, c.name
    FROM customers c
    JOIN orders o ON o.customer_id = c.id
    WHERE o.total > 100;
    ```

    ## Use instead
    ```sql
    SELECT c.id, c.name
    FROM customers c
    WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.total > 100);
    ```
    Keep DISTINCT only if the selected columns can repeat within the one table itself.
    """

    code = "SP306"
    name = "distinct-over-join"
    category = "shape"
    node_types = (exp.Select,)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        distinct = node.args.get("distinct")
        if distinct is None or distinct.args.get("on") is not None:
            return None
        joins = node.args.get("joins") or []
        if not joins or node.args.get("from_") is None or node.args.get("group") or node.args.get("having"):
            return None
        if any(j.args.get("side") or (j.args.get("kind") or "").upper() in ("SEMI", "ANTI") for j in joins):
            return None  # an outer join keeps unmatched rows: EXISTS would not say the same
        if any(not isinstance(j.this, (exp.Table, exp.Subquery)) for j in joins):
            return None  # LATERAL, a table function: the selected side may be computed per row
        scope = ctx.scope_of(node)
        if scope is None or scope.expression is not node:
            return None
        keys = [node.args["from_"].this.alias_or_name, *(j.this.alias_or_name for j in joins)]
        selected = _selected_sources(ctx, node, scope, keys)
        if selected is None or len(selected) != 1:
            return None
        kept = selected.pop()
        others = [k for k in keys if k != kept]
        if not others:
            return None
        if all(_joined_on_unique_key(ctx, node, scope, k) for k in others):
            return None  # each joined table matches at most one row: no fan-out, the DISTINCT is the query's own
        kept_name = _name(scope.sources.get(kept), kept)
        other_names = ", ".join(_name(scope.sources.get(k), k) for k in others)
        message = (
            f"DISTINCT removes the copies of {kept_name} rows that the join to {other_names} creates, after sorting or "
            "hashing the whole fanned-out result; the joined tables only filter."
        )
        help_text = f"select from {kept_name} alone and test the other tables with WHERE EXISTS (SELECT 1 FROM ... WHERE <join condition>)"
        rewrite = _semi_join(ctx, node, kept)
        fix = None
        if rewrite is not None:
            help_text = f"select from {kept_name} alone and test the join with EXISTS: {rewrite}"
            fix = Fix(Applicability.DISPLAY, replacement=rewrite, message="EXISTS semi-join, no DISTINCT")
        finding = ctx.finding(self, node, message, help_text, fix, data={"table": kept_name, "joined": others})
        keyword = _distinct_keyword(ctx, node)
        if keyword is not None:
            finding.start, finding.end = keyword.start, keyword.end + 1
            finding.line, finding.column = ctx.source.position(finding.start)
            finding.end_line, finding.end_column = ctx.source.position(finding.end)
        return [finding]


def _distinct_keyword(ctx, node):
    """The DISTINCT token of ``SELECT DISTINCT`` (the Distinct node carries no position)."""
    start = ctx.span(node)[0]
    tokens = ctx.statement.tokens
    for i, token in enumerate(tokens):
        if token.start >= start:
            if token.token_type == TokenType.SELECT and i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.DISTINCT:
                return tokens[i + 1]
            return token if token.token_type == TokenType.DISTINCT else None
    return None


def _selected_sources(ctx, node, scope, keys) -> set | None:
    """The FROM items the select list reads from; None when a column cannot be placed."""
    found = set()
    for projection in node.expressions:
        value = projection.unalias()
        if value.find(exp.AggFunc, exp.Window, exp.Subquery) is not None:
            return None
        if isinstance(value, exp.Star):
            return None  # every table's columns
        for column in value.find_all(exp.Column):
            if isinstance(column.this, exp.Star):
                if column.table not in keys:
                    return None
                found.add(column.table)
            elif column.table:
                if column.table not in keys:
                    return None
                found.add(column.table)
            else:
                owner = _owner(ctx, column, scope, keys)
                if owner is None:
                    return None
                found.add(owner)
    return found


def _owner(ctx, column, scope, keys) -> str | None:
    if ctx.schema is None:
        return None
    owners = []
    for key in keys:
        source = scope.sources.get(key)
        if not isinstance(source, exp.Table):
            return None
        table = ctx.schema.table(source.name, source.db or None)
        if table is None:
            return None
        if table.column(column.name) is not None:
            owners.append(key)
    return owners[0] if len(owners) == 1 else None


def _name(source, key) -> str:
    return source.name if isinstance(source, exp.Table) else key


def _joined_on_unique_key(ctx, node, scope, key) -> bool:
    """Whether ``key`` is joined by equality on its primary/unique key (schema), or on a column
    named ``id`` without a schema, so that it adds at most one row per row it joins."""
    equated = set()
    conditions = []
    where = node.args.get("where")
    if where is not None:
        conditions.append(where.this)
    conditions.extend(j.args["on"] for j in node.args.get("joins") or [] if j.args.get("on") is not None)
    for condition in conditions:
        for eq in condition.find_all(exp.EQ):
            for side, other in ((eq.this, eq.expression), (eq.expression, eq.this)):
                if isinstance(side, exp.Column) and side.table == key and isinstance(other, exp.Column) and other.table != key:
                    equated.add(side.name.lower())
    if not equated:
        return False
    source = scope.sources.get(key)
    table = ctx.schema.table(source.name, source.db or None) if ctx.schema is not None and isinstance(source, exp.Table) else None
    if table is None:
        return "id" in equated
    return table.pins_one_row(equated)


def _semi_join(ctx, node, kept) -> str | None:
    """``SELECT cols FROM kept WHERE EXISTS (SELECT 1 FROM other WHERE on AND its filters)``, for the
    simple shape: the kept table in FROM and one other table joined with ON."""
    joins = node.args.get("joins") or []
    source = node.args["from_"].this
    if len(joins) != 1 or source.alias_or_name != kept or joins[0].args.get("on") is None:
        return None
    if any(node.args.get(key) for key in ("order", "limit", "offset", "with_", "windows", "qualify", "locks")):
        return None  # the suggestion would have to carry these clauses too: keep it to the plain shape
    join = joins[0]
    other = join.this.alias_or_name
    if any(isinstance(n, (exp.Placeholder, exp.Parameter)) for n in node.walk()):
        return None  # bind parameters have no position: the copied text could be incomplete
    on = join.args["on"]
    inner = [f"({ctx.text(on)})" if isinstance(on, exp.Or) else ctx.text(on)]
    outer = []
    where = node.args.get("where")
    if where is not None:
        for part in chain_operands(where.this, exp.And):
            tables = {c.table for c in part.find_all(exp.Column)}
            text = ctx.text(part)
            if isinstance(part, exp.Or):
                text = f"({text})"
            (inner if other in tables else outer).append(text)
    columns = ", ".join(ctx.text(p) for p in node.expressions)
    exists = f"EXISTS (SELECT 1 FROM {ctx.text(join.this)} WHERE {' AND '.join(inner)})"
    rewritten = f"SELECT {columns} FROM {ctx.text(source)} WHERE {' AND '.join([exists, *outer])}"
    return " ".join(rewritten.split())
