from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.analysis import chain_operands, keyword_before, own_columns
from sqlperf.rule import Applicability, Rule


class ImplicitCrossJoin(Rule):
    """## What it does
    Flags a query whose FROM clause lists tables (comma-separated, or `JOIN` without `ON`)
    that no condition links, neither in `WHERE` nor in any `ON`: `FROM orders, customers`
    with no `orders.customer_id = customers.id` anywhere.

    ## Why is this bad?
    Without a condition between them the database pairs every row of one table with every
    row of the other: 10,000 orders and 1,000 customers make 10 million rows before any other
    filter applies. It is almost always a forgotten join condition, and the query is both
    slow and wrong.

    An explicit `CROSS JOIN`, a comma join whose condition is in `WHERE` (the TPC style
    `FROM a, b WHERE a.id = b.a_id`), a join with a one-row derived table or CTE
    (`FROM t, (SELECT max(x) AS m FROM u) s`), `LATERAL` and table functions are not
    reported. Without a schema, a condition on unqualified columns may link any two tables,
    so such a query is not reported either.

    ## Example
    ```sql
    SELECT o.id, c.name FROM orders o, customers c WHERE o.total > 100;
    ```

    ## Use instead
    ```sql
    SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 100;
    SELECT s.size, c.color FROM sizes s CROSS JOIN colors c;
    ```
    """

    code = "SP403"
    name = "implicit-cross-join"
    category = "shape"
    node_types = (exp.Select,)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        joins = node.args.get("joins") or []
        source = node.args.get("from_")
        if source is None or not joins or not any(_implicit(j, ctx) for j in joins):
            return None
        items = [source.this, *(j.this for j in joins)]
        keys = [item.alias_or_name for item in items]
        if len(set(keys)) != len(keys):
            return None
        conditions = []
        where = node.args.get("where")
        if where is not None:
            conditions.extend(chain_operands(where.this, exp.And))
        for join in joins:
            if join.args.get("on") is not None:
                conditions.extend(chain_operands(join.args["on"], exp.And))
        if ctx.schema is None and any(_unplaceable(condition) for condition in conditions):
            return None  # decided before building scopes: the TPC style without a schema
        # First what the syntax shows: joins with a condition, explicit CROSS, LATERAL, functions,
        # and conditions whose own columns are all qualified. The scope-based check below can
        # only add links to these, so when they already connect everything, scopes are not built.
        links = _Links(keys)
        for index, (item, join) in enumerate(zip(items[1:], joins), start=1):
            if not _implicit(join, ctx) or not _relation(item):
                links.join_all(keys[index])
        if not _relation(items[0]):
            links.join_all(keys[0])
        for condition in conditions:
            tables = _own_qualifiers(condition)
            if tables is not None:
                links.link([t for t in tables if t in links.parent])
        if links.connected():
            return None
        scope = ctx.scope_of(node)
        if scope is None or scope.expression is not node or any(k not in scope.sources for k in keys):
            return None
        for key in keys:
            if _one_row(scope.sources[key]):
                links.join_all(key)  # a derived table or CTE of one row
        for condition in conditions:
            referenced = _referenced(ctx, condition, scope, keys)
            if referenced is None:
                return None  # an unqualified column might link anything: stay silent
            links.link(referenced)
        if links.connected():
            return None
        apart = links.apart()
        index = keys.index(apart[0])
        names = [_name(items[keys.index(k)]) for k in links.group_of(keys[0])]
        others = [_name(items[keys.index(k)]) for k in apart]
        message = (
            f"{', '.join(others)} is joined to {', '.join(names)} with no condition linking them, so every row of one "
            "is paired with every row of the other (a cartesian product)."
        )
        help_text = "add the join condition (JOIN ... ON ...), or write CROSS JOIN if the product is intended"
        return [ctx.finding(self, items[index], message, help_text, data={"tables": others + names})]


def _implicit(join, ctx) -> bool:
    """A comma join, or a JOIN written without ON/USING/NATURAL (MySQL reads it as a cross join)."""
    if join.args.get("on") is not None or join.args.get("using") or join.args.get("method") or join.args.get("side"):
        return False
    if (join.args.get("kind") or "").upper() == "CROSS":
        # SQLite's parser records a comma join as CROSS too: only the written keyword says which it was.
        return keyword_before(ctx.statement.tokens, ctx.span(join.this)[0], {TokenType.COMMA}) is not None
    return True


def _relation(item) -> bool:
    """A named table or a derived table; a table function (``generate_series(...)``, ``unnest``) is not."""
    return (isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier)) or isinstance(item, exp.Subquery)


def _one_row(source) -> bool:
    """A derived table or CTE that returns exactly one row: an aggregate with no GROUP BY."""
    expression = getattr(source, "expression", None)
    if not isinstance(expression, exp.Select) or expression.args.get("group") or not expression.expressions:
        return False
    return all(_aggregate(e.unalias()) for e in expression.expressions)


def _aggregate(node) -> bool:
    if isinstance(node, exp.AggFunc) or isinstance(node, exp.Literal):
        return True
    if isinstance(node, (exp.Column, exp.Window, exp.Star)):
        return False
    children = list(node.iter_expressions())
    return bool(children) and all(_aggregate(c) for c in children)


def _own_qualifiers(condition) -> set | None:
    """Table qualifiers of a condition's own columns (nested queries skipped); None if one is unqualified."""
    tables = {column.table for column in own_columns(condition)}
    return None if "" in tables else tables


def _unplaceable(condition) -> bool:
    """Without a schema, :func:`_referenced` gives up on a condition with an unqualified column
    among two or more of the query's own: found here without scopes (nested queries skipped)."""
    columns = own_columns(condition)
    return len(columns) > 1 and any(not column.table for column in columns)


def _referenced(ctx, condition, scope, keys) -> set | None:
    """Which FROM items a condition mentions; None when an unqualified column cannot be placed."""
    found = set()
    unknown = False
    columns = 0
    for column in condition.find_all(exp.Column):
        if isinstance(column.this, exp.Star):
            continue
        own = ctx.scope_of(column)
        if own is not scope:
            # A nested query: only its references to this query's FROM items count.
            if column.table and column.table in keys and own is not None and column.table not in own.sources:
                found.add(column.table)
                columns += 1
            continue
        columns += 1
        if column.table:
            if column.table in keys:
                found.add(column.table)
            continue
        owner = _owner(ctx, column, scope, keys)
        if owner is None:
            unknown = True
        else:
            found.add(owner)
    if unknown and columns > 1:
        return None
    return found


def _owner(ctx, column, scope, keys) -> str | None:
    """The FROM item an unqualified column belongs to, known only from a schema."""
    if ctx.schema is None:
        return None
    owners = []
    for key in keys:
        source = scope.sources[key]
        if not isinstance(source, exp.Table):
            return None  # a derived table's columns are not in the schema
        table = ctx.schema.table(source.name, source.db or None)
        if table is None:
            return None
        if table.column(column.name) is not None:
            owners.append(key)
    return owners[0] if len(owners) == 1 else None


def _name(item) -> str:
    if isinstance(item, exp.Table):
        return item.name if item.alias_or_name == item.name else f"{item.name} {item.alias_or_name}"
    return item.alias_or_name


class _Links:
    """Which FROM items are connected by some condition (union-find)."""

    def __init__(self, keys):
        self.keys = keys
        self.parent = {k: k for k in keys}

    def find(self, key):
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def link(self, keys):
        keys = list(keys)
        for other in keys[1:]:
            self.parent[self.find(other)] = self.find(keys[0])

    def join_all(self, key):
        self.link([key, *[k for k in self.keys if k != key]])

    def connected(self) -> bool:
        return len({self.find(k) for k in self.keys}) == 1

    def group_of(self, key):
        root = self.find(key)
        return [k for k in self.keys if self.find(k) == root]

    def apart(self):
        root = self.find(self.keys[0])
        return [k for k in self.keys if self.find(k) != root]
