from __future__ import annotations

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule


class SortWithoutIndex(Rule):
    """## What it does
    Flags `ORDER BY ... LIMIT` on one table when no index returns the rows in that order
    (after the columns the query fixes with `=`). Needs the schema.

    ## Why is this bad?
    With an index in the sort order, PostgreSQL reads the first N entries and stops. Without
    one it must read every matching row and sort them all to return the first N: the cost
    grows with the table, not with the LIMIT.

    Only single-table queries with plain column sort keys and a LIMIT are judged; a query
    whose filter lacks an index is reported by SP201, whose suggestion already includes the
    sort columns. Not reported either when the filter pins at most one row (equality on a
    unique key), when it is an `OR` of lookups each served by an index (the few rows found
    are sorted), or, outside MySQL, when an index gives every sort key but trailing ones that
    only break ties (`ORDER BY created_at DESC, id`: PostgreSQL and SQLite sort each run of
    equal `created_at` values as they read them; MySQL sorts every matching row again).
    Tables whose row estimate is below the `min_rows` option (default 1000) are skipped.

    ## Example
    ```sql
    -- schema: CREATE TABLE products (id int PRIMARY KEY, name text, price numeric);
    SELECT id, name FROM products ORDER BY price DESC LIMIT 10;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY products_price_idx ON products (price DESC);
    ```
    A sort the primary key already serves is fine:
    ```sql
    -- schema: CREATE TABLE products (id int PRIMARY KEY, name text, price numeric);
    SELECT id, name FROM products ORDER BY id DESC LIMIT 10;
    ```
    """

    code = "SP204"
    name = "sort-without-index"
    category = "index"
    node_types = (exp.Select,)
    needs_schema = True
    fix_applicability = Applicability.DISPLAY
    options = {"min_rows": 1000}

    def visit(self, node, ctx):
        from sqlperf.schema.advice import suggest_index
        from sqlperf.schema.model import fold
        from sqlperf.schema.usage import leads_usable_index, query_usage, small_table

        usage = query_usage(ctx, node)
        if usage is None or not usage.has_limit or not usage.order_complete or len(usage.tables) != 1:
            return None
        if node.args.get("joins") or node.args.get("group") or node.args.get("distinct") or _aggregates(node):
            return None
        alias, table = next(iter(usage.tables.items()))
        scope = ctx.scope_of(node)
        if scope is None or len(scope.sources) != 1 or small_table(table, self.opts["min_rows"]):
            return None
        filters = usage.filters_on(alias)
        if filters and not leads_usable_index(table, usage, alias):
            return None  # SP201's finding, with the sort columns in its suggestion
        equal = {fold(f.column) for f in usage.filters_on(alias, ("eq",))}
        if table.pins_one_row(equal) or _index_lookups(ctx, usage, scope, alias, table):
            return None  # only the few rows the lookups find are sorted
        order = [(c.name, desc) for _, c, desc in usage.order if fold(c.name) not in equal]
        if not order or _served(table, equal, order, usage.conjuncts, partly=ctx.dialect != "mysql"):
            return None
        equality = [f.column for f in usage.filters_on(alias, ("eq",))]
        advice = suggest_index(table, equality=equality, order=order, conjuncts=usage.conjuncts)
        if advice is None:
            return None
        keys = ", ".join(f"{name}{' DESC' if desc else ''}" for name, desc in order)
        message = f"ORDER BY {keys} LIMIT on {table.name} has no index in that order: every matching row is read and sorted."
        return [
            ctx.finding(
                self,
                node.args["order"],
                message,
                help=f"add an index in the sort order: {advice.ddl}",
                fix=Fix(Applicability.DISPLAY, replacement=advice.ddl, message="create the index"),
                data={"table": table.qualified_name, "columns": advice.columns, "ddl": advice.ddl},
            )
        ]


def _aggregates(select: exp.Select) -> bool:
    return any(e.find(exp.AggFunc) for e in select.expressions)


def _served(table, equal: set[str], order: list[tuple[str, bool]], conjuncts, partly: bool) -> bool:
    """Some btree index, after a prefix of equality-fixed columns, lists the sort keys in order.

    A btree scans both ways, so the directions must all match the index or all be reversed.
    With ``partly``, the index may stop short of trailing sort keys that only break ties: keys
    that, with the equality-fixed columns, make up a unique key (``ORDER BY created_at DESC, id``).
    """
    from sqlperf.schema.advice import entry_matches, index_usable
    from sqlperf.schema.model import fold

    for index in table.all_indexes():
        if index.method != "btree" or not index_usable(index, conjuncts):
            continue
        skip = 0
        while skip < len(index.columns) and not index.is_expression(skip) and fold(index.columns[skip]) in equal:
            skip += 1
        for start in range(0, skip + 1):
            matched = 0
            while matched < len(order) and entry_matches(index, start + matched, order[matched][0]):
                matched += 1
            for given in range(matched, 0, -1):
                rest = {fold(name) for name, _ in order[given:]}
                if rest and not (partly and table.pins_one_row(rest | equal)):
                    continue
                flags = [
                    (index.descending[start + i] if start + i < len(index.descending) else False) != desc
                    for i, (_, desc) in enumerate(order[:given])
                ]
                if all(flags) or not any(flags):
                    return True
    return False


def _index_lookups(ctx, usage, scope, alias: str, table) -> bool:
    """A condition like ``did = ? OR baseid = ?`` whose every branch an index of ``alias`` serves:
    the planner fetches the matching rows by index and merges them, and no single index can also
    give them in the sort order."""
    from sqlperf.analysis import chain_operands, indexable_column, unparen
    from sqlperf.schema.advice import looks_up
    from sqlperf.schema.usage import resolve_alias

    for predicate in usage.predicates:
        predicate = unparen(predicate)
        if not isinstance(predicate, exp.Or):
            continue
        columns = [indexable_column(branch) for branch in chain_operands(predicate, exp.Or, unwrap=True)]
        if all(
            column is not None and resolve_alias(usage, scope, column) == alias and looks_up(table, column.name)
            for column in columns
        ):
            return True
    return False
