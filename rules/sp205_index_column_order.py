from __future__ import annotations

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule


class IndexColumnOrder(Rule):
    """## What it does
    Flags a filter on a column that appears in a composite index, but not as its first column,
    when no other index leads with any column the query filters on. Needs the schema.

    ## Why is this bad?
    A B-tree on `(order_id, product_id)` is sorted by `order_id` first; rows for one
    `product_id` are scattered across the whole index. A query that filters only
    `product_id` cannot descend the tree to them and usually reads the whole table instead.
    PostgreSQL 18 can sometimes skip-scan such an index when the first column has few
    distinct values, but that is the planner's bet, not a plan to rely on.

    A derived table joined on the leading column (`JOIN (SELECT model_id, ... FROM params
    WHERE param_key = ?) p ON p.model_id = m.model_id`) counts as filtering it: the planner
    merges such a body into the join and looks both columns up per row. A body it cannot
    merge (grouping, DISTINCT, LIMIT, a window function) is judged on its own. Tables whose
    row estimate is below the `min_rows` option (default 1000) are skipped.

    ## Example
    ```sql
    -- schema: CREATE TABLE order_items (order_id bigint, product_id bigint, quantity int, PRIMARY KEY (order_id, product_id));
    SELECT order_id FROM order_items WHERE product_id = 42;
    ```

    ## Use instead
    Add an index that leads with the filtered column (or reorder the composite, if every
    query that uses it filters both columns):
    ```sql
    CREATE INDEX CONCURRENTLY order_items_product_id_idx ON order_items (product_id);
    ```
    A query that also filters the leading column is served as it is:
    ```sql
    -- schema: CREATE TABLE order_items (order_id bigint, product_id bigint, quantity int, PRIMARY KEY (order_id, product_id));
    SELECT quantity FROM order_items WHERE order_id = 7 AND product_id = 42;
    ```
    """

    code = "SP205"
    name = "index-column-order"
    category = "index"
    node_types = (exp.Select, exp.Update, exp.Delete)
    needs_schema = True
    fix_applicability = Applicability.DISPLAY
    options = {"min_rows": 1000}

    def visit(self, node, ctx):
        from sqlperf.schema.advice import suggest_index
        from sqlperf.schema.usage import later_in_composite, leads_usable_index, query_usage, small_table

        usage = query_usage(ctx, node)
        if usage is None:
            return None
        findings = []
        for alias, table in usage.tables.items():
            if small_table(table, self.opts["min_rows"]) or leads_usable_index(table, usage, alias):
                continue
            misplaced = later_in_composite(table, usage, alias)
            if not misplaced:
                continue
            item, index, position = misplaced[0]
            filters = usage.filters_on(alias)
            advice = suggest_index(
                table,
                equality=[f.column for f in filters if f.kind in ("eq", "in")],
                range=[f.column for f in filters if f.kind == "range"],
                conjuncts=usage.conjuncts,
            )
            message = (
                f"{table.name}.{item.column} is column {position + 1} of index {index.name} "
                f"({', '.join(index.columns)}), which this query cannot descend without filtering "
                f"{index.columns[0]}; no other index leads with a filtered column."
            )
            help_text = "add an index that leads with the filtered column"
            fix = None
            if advice is not None:
                help_text += f": {advice.ddl}"
                fix = Fix(Applicability.DISPLAY, replacement=advice.ddl, message="create the index")
            findings.append(
                ctx.finding(
                    self,
                    item.node,
                    message,
                    help=help_text,
                    fix=fix,
                    data={"table": table.qualified_name, "index": index.name, "ddl": advice.ddl if advice else None},
                )
            )
        return findings
