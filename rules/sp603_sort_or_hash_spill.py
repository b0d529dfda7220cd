from sqlperf.rule import Rule


class SortOrHashSpill(Rule):
    """## What it does
    Reported by `--verify --analyze` when a Sort, Hash or HashAggregate node of the executed
    plan spilled to disk: `Sort Method: external merge  Disk: ...`, a Hash with more than one
    batch, or a HashAggregate with disk usage.

    ## Why is this bad?
    Spilling writes and re-reads temporary files; the node becomes many times slower than the
    same work in memory, and the temporary files compete with everything else for I/O.

    ## Example
    ```sql
    SELECT customer_id, sum(total) FROM orders GROUP BY customer_id ORDER BY 2 DESC;
    ```
    on a table much larger than `work_mem` (4 MB by default).

    ## Use instead
    Sort or hash fewer rows (filter first, aggregate before joining), let an index provide the
    order, or raise `work_mem` for this query only:
    ```sql
    SET LOCAL work_mem = '64MB';
    SELECT customer_id, sum(total) FROM orders GROUP BY customer_id ORDER BY 2 DESC;
    ```
    """

    code = "SP603"
    name = "sort-or-hash-spill"
    category = "plan"
    static = False
    options: dict = {}
