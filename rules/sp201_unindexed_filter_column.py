from __future__ import annotations

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule


class UnindexedFilterColumn(Rule):
    """## What it does
    Flags a table that a query, UPDATE or DELETE filters (`=`, `IN`, `<`, `>`, `BETWEEN`,
    `LIKE 'prefix%'`) when none of the filtered columns leads an index. Needs the schema.

    ## Why is this bad?
    With no index that starts with a filtered column, PostgreSQL can only find the rows by
    reading the whole table. That is cheap on a small table and a full scan on every call once
    the table grows.

    The table stays quiet when any filtered column leads an index (a primary key, a unique
    constraint, a composite index whose first column is filtered, a partial index whose
    predicate the query repeats, or an expression index that matches a filtered expression
    such as `lower(email)`). When the column sits later in a composite index, SP205
    (index-column-order) reports it instead. Tables whose row estimate (from the live catalog)
    is below the `min_rows` option (default 1000) are skipped; an unknown estimate is not.

    ## Example
    ```sql
    -- schema: CREATE TABLE orders (id bigint PRIMARY KEY, status text, total numeric);
    SELECT id FROM orders WHERE status = 'open' AND total > 100;
    ```

    ## Use instead
    Create the suggested index (equality columns, then one range column, then ORDER BY):
    ```sql
    CREATE INDEX CONCURRENTLY orders_status_total_idx ON orders (status, total);
    ```
    or filter on a column that is already indexed:
    ```sql
    -- schema: CREATE TABLE orders (id bigint PRIMARY KEY, status text, total numeric);
    SELECT id FROM orders WHERE id = 42;
    ```
    """

    code = "SP201"
    name = "unindexed-filter-column"
    category = "index"
    node_types = (exp.Select, exp.Update, exp.Delete)
    needs_schema = True
    fix_applicability = Applicability.DISPLAY
    options = {"min_rows": 1000}

    def visit(self, node, ctx):
        from sqlperf.schema.advice import suggest_index
        from sqlperf.schema.normalize import type_family
        from sqlperf.schema.usage import later_in_composite, leads_usable_index, query_usage, small_table, sort_columns_for

        usage = query_usage(ctx, node)
        if usage is None:
            return None
        findings = []
        for alias, table in usage.tables.items():
            # A boolean splits a table in two: an index on it alone is rarely worth its writes.
            filters = [f for f in usage.filters_on(alias) if type_family(table.column(f.column).type) != "boolean"]
            if not filters or small_table(table, self.opts["min_rows"]):
                continue
            if leads_usable_index(table, usage, alias):
                continue
            if later_in_composite(table, usage, alias):
                continue  # the column is in a composite index, just not first: SP205's finding
            equality = _unique([f.column for f in filters if f.kind in ("eq", "in")])
            ranges = _unique([f.column for f in filters if f.kind == "range"])
            advice = suggest_index(
                table,
                equality=equality,
                range=ranges,
                # Only a LIMIT makes the sort order worth a place in the index (the report's advisor agrees).
                order=sort_columns_for(usage, alias) if usage.has_limit else [],
                conjuncts=usage.conjuncts,
            )
            if advice is None:
                continue
            first = filters[0]
            names = ", ".join(_unique([f.column for f in filters]))
            message = (
                f"{table.name} is filtered on {names}, but no index leads with "
                f"{'it' if len(equality) + len(ranges) == 1 else 'any of them'}: every row is read."
            )
            findings.append(
                ctx.finding(
                    self,
                    first.node,
                    message,
                    help=f"add an index: {advice.ddl}",
                    fix=Fix(Applicability.DISPLAY, replacement=advice.ddl, message="create the index"),
                    data={"table": table.qualified_name, "columns": advice.columns, "ddl": advice.ddl},
                )
            )
        return findings


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return list(seen.values())
