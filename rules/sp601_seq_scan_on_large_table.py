from sqlperf.rule import Rule


class SeqScanOnLargeTable(Rule):
    """## What it does
    Reported by `--verify` (and `sqlperf explain`) when the planner's plan reads a large table
    sequentially and its Filter keeps only a small share of the rows: more than
    `min_table_rows` rows (default 10,000) and less than `max_selectivity` of them kept
    (default 0.1, that is 10%).

    ## Why is this bad?
    A sequential scan reads every page of the table for a handful of rows, and its cost grows
    with the table. It usually means the filtered column has no usable index, or the
    predicate hides the column from one (a function, a cast, a leading wildcard).

    ## Example
    ```sql
    SELECT id, total FROM orders WHERE customer_id = 42;
    ```
    with no index on `orders.customer_id`: `Seq Scan on orders, Filter: (customer_id = 42)`.

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);
    SELECT id, total FROM orders WHERE customer_id = 42;
    ```
    The plan becomes `Index Scan using orders_customer_id_idx on orders`.
    """

    code = "SP601"
    name = "seq-scan-on-large-table"
    category = "plan"
    static = False
    # Read by sqlperf.verify.checks; the rule itself only documents the check.
    options = {"min_table_rows": 10_000, "max_selectivity": 0.1}
