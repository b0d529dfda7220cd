from sqlglot import exp

from sqlglot.tokens import TokenType

from sqlperf.analysis import is_constant, keyword_before, literal_value, widen_to
from sqlperf.rule import Applicability, Rule


_KEYWORDS = frozenset({TokenType.LIMIT, TokenType.OFFSET, TokenType.FETCH, TokenType.TOP})
_FETCH_WORDS = frozenset({TokenType.FIRST, TokenType.NEXT, TokenType.VAR})


class LimitWithoutOrder(Rule):
    """## What it does
    Flags `LIMIT`, `OFFSET`, `FETCH FIRST` and `TOP` on a query that has no `ORDER BY`.

    ## Why is this bad?
    Without an order, "the first 10 rows" means whichever rows the chosen plan happens to
    produce first. When the plan changes (new statistics, a new index, a parallel scan, a
    different page of the table in cache) the query returns different rows, and an OFFSET
    page can repeat or skip rows. Pagination built on it is wrong, not just slow.

    Not reported where order cannot matter: `LIMIT 1` inside `EXISTS`, a query that returns a
    single aggregate row (`SELECT count(*) FROM t LIMIT 1`), a query that selects only
    constants (`SELECT 1 FROM t WHERE ... LIMIT 1`), a lookup by the whole primary key,
    `LIMIT 0`, a work-queue pick with `FOR UPDATE SKIP LOCKED`, a query over one derived
    table that is itself ordered, and a statement that fetches a single row (`LIMIT 1` with no
    OFFSET past the first row, outside a subquery and a locking read): SQLAlchemy's `.first()`
    and `scalar_one_or_none()`, an existence check, a one-row settings table. Which row comes
    back matters for pages, not for "any one of them". Captured at run time, a `LIMIT ?` that
    was bound to 1 counts as `LIMIT 1`.

    ## Example
    ```sql
    SELECT id, title FROM posts WHERE author_id = 7 LIMIT 20;
    ```

    ## Use instead
    ```sql
    SELECT id, title FROM posts WHERE author_id = 7 ORDER BY id LIMIT 20;
    ```
    Order by a unique key (or end the ORDER BY with one) so that ties cannot reorder pages.
    """

    code = "SP307"
    name = "limit-without-order"
    category = "shape"
    node_types = (exp.Select, exp.Union)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        limit = node.args.get("limit") or node.args.get("offset")
        if limit is None or node.args.get("order") is not None:
            return None
        count = limit.args.get("expression") if isinstance(limit, exp.Limit) else limit.args.get("count")
        if isinstance(limit, exp.Limit) and literal_value(count) == 0:
            return None  # LIMIT 0 returns no row: used to learn a result's shape
        if _under_exists(node) or _order_cannot_matter(node) or _at_most_one_row(ctx, node):
            return None
        single_row_fetch = _single_row_fetch_allowed(node)
        if single_row_fetch and _one_row_asked(node):
            return None  # `.first()`, `scalar_one_or_none()`, an existence check: any one row is asked for
        start, end = ctx.span(limit)
        keyword = keyword_before(ctx.statement.tokens, start, _KEYWORDS, skip=_FETCH_WORDS)
        if keyword is not None:
            start = keyword.start
        clause = " ".join(ctx.source.text[start:end].split())
        tables = _tables(ctx, node)
        rows = f"rows of {', '.join(tables)}" if tables else "rows"
        message = (
            f"{clause} without ORDER BY returns whichever {rows} the plan produces first, so the result "
            "changes whenever the plan does."
        )
        help_text = "add an ORDER BY that ends with a unique key, e.g. ORDER BY id"
        # The capture knows what a `LIMIT ?` stood for, and treats a bound 1 as above.
        data = {"tables": tables, "single_row_fetch_allowed": single_row_fetch}
        return [widen_to(ctx, ctx.finding(self, limit, message, help_text, data=data), start)]


def _single_row_fetch_allowed(node) -> bool:
    """The statement itself, not a subquery (whose arbitrary row would feed a comparison), and
    not a locking read (``FOR UPDATE`` without ``SKIP LOCKED`` makes every worker wait on the
    same row)."""
    return isinstance(node, exp.Select) and node.parent is None and not node.args.get("locks")


def _one_row_asked(node) -> bool:
    """``LIMIT 1`` (``FETCH FIRST 1 ROW``, ``TOP 1``) with no OFFSET past the first row."""
    limit = node.args.get("limit")
    if limit is None:
        return False
    count = limit.args.get("expression") if isinstance(limit, exp.Limit) else limit.args.get("count")
    offset = node.args.get("offset")
    skipped = literal_value(offset.args.get("expression")) if offset is not None else 0
    return literal_value(count) == 1 and skipped in (0, "0")


def _under_exists(node) -> bool:
    parent = node.parent
    while isinstance(parent, (exp.Subquery, exp.Paren)):
        parent = parent.parent
    return isinstance(parent, exp.Exists)


def _order_cannot_matter(node) -> bool:
    if not isinstance(node, exp.Select):
        return False
    if any(lock.args.get("wait") is False for lock in node.args.get("locks") or []):
        return True  # FOR UPDATE SKIP LOCKED: a work queue that wants any unlocked row, not particular ones
    projections = [p.unalias() for p in node.expressions]
    if projections and all(is_constant(p) and not isinstance(p, exp.Star) for p in projections):
        return True  # every row looks the same
    if node.args.get("group") is None and projections and all(_is_aggregate(p) for p in projections):
        return True  # one row
    source = node.args.get("from_")
    items = [source.this, *(j.this for j in node.args.get("joins") or [])] if source is not None else []
    if items and node.args.get("group") is None and all(_one_row_source(item) for item in items):
        return True  # a product of one-row aggregates (TPC-DS q28) is one row
    if source is not None and not node.args.get("joins") and isinstance(source.this, exp.Subquery):
        inner = source.this.this
        if isinstance(inner, (exp.Select, exp.Union)) and inner.args.get("order") is not None:
            return True  # the derived table is ordered; the outer query keeps that order in practice
    return False


def _is_aggregate(node) -> bool:
    if isinstance(node, exp.Star):
        return False
    if is_constant(node):
        return True
    if isinstance(node, exp.Window):
        return False
    if isinstance(node, exp.AggFunc):
        return True
    # An expression of aggregates (sum(a) / count(*)) is one row too; a bare column is not.
    children = list(node.iter_expressions())
    return bool(children) and not isinstance(node, (exp.Column, exp.Subquery, exp.Select)) and all(_is_aggregate(c) for c in children)


def _tables(ctx, node) -> list[str]:
    scope = ctx.scope_of(node)
    if scope is None or scope.expression is not node:
        return []
    return sorted({s.name for s in scope.sources.values() if isinstance(s, exp.Table)})


def _at_most_one_row(ctx, node) -> bool:
    """One table filtered by equality on its whole primary or unique key (from the schema; without
    one, a column named ``id``): ``SELECT * FROM users WHERE id = 5 LIMIT 1`` has no order to lose."""
    if not isinstance(node, exp.Select) or node.args.get("joins") or node.args.get("where") is None:
        return False
    source = node.args.get("from_")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table):
        return False
    key = table.alias_or_name
    pinned = set()
    condition = node.args["where"].this
    conjuncts = [condition]
    while any(isinstance(c, exp.And) for c in conjuncts):
        conjuncts = [part for c in conjuncts for part in ((c.this, c.expression) if isinstance(c, exp.And) else (c,))]
    for conjunct in conjuncts:
        if not isinstance(conjunct, exp.EQ):
            continue
        for side, other in ((conjunct.this, conjunct.expression), (conjunct.expression, conjunct.this)):
            if isinstance(side, exp.Column) and side.table in ("", key) and not any(
                c.table in ("", key) for c in other.find_all(exp.Column)
            ):
                pinned.add(side.name.lower())
    if not pinned:
        return False
    schema_table = ctx.schema.table(table.name, table.db or None) if ctx.schema is not None else None
    if schema_table is None:
        return "id" in pinned
    return schema_table.pins_one_row(pinned)


def _one_row_source(item) -> bool:
    """A derived table that is an aggregate without GROUP BY: exactly one row."""
    if not isinstance(item, exp.Subquery) or not isinstance(item.this, exp.Select):
        return False
    inner = item.this
    if inner.args.get("group") or inner.args.get("having") or not inner.expressions:
        return False
    values = [p.unalias() for p in inner.expressions]
    if not all(_is_aggregate(v) for v in values):
        return False
    # Constants alone are one row only without a FROM: (SELECT 1 FROM t) has a row per row of t.
    return inner.args.get("from_") is None or any(v.find(exp.AggFunc) is not None for v in values)
