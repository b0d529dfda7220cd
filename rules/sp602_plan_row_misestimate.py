from sqlperf.rule import Rule


class PlanRowMisestimate(Rule):
    """## What it does
    Reported by `--verify --analyze` when a plan node's estimated row count and the rows it
    really produced differ by `misestimate_factor` (default 10) or more, on nodes with at
    least `min_rows` rows (default 100). Only the worst node of a plan is reported.

    ## Why is this bad?
    The planner picks join methods, join order and memory from its estimates. An estimate
    that is off by 10x or more leads to nested loops over thousands of rows, or hashes and
    sorts sized for far fewer rows than arrive. Stale statistics and correlated columns are
    the usual causes.

    ## Example
    ```sql
    SELECT * FROM addresses WHERE city = 'Paris' AND country = 'FR';
    ```
    The planner multiplies the two selectivities as if independent and expects 12 rows; 4,800 arrive.

    ## Use instead
    ```sql
    CREATE STATISTICS addresses_city_country (dependencies) ON city, country FROM addresses;
    ANALYZE addresses;
    ```
    Or run `ANALYZE` when statistics are stale, or raise the column's statistics target.
    """

    code = "SP602"
    name = "plan-row-misestimate"
    category = "plan"
    static = False
    options = {"misestimate_factor": 10.0, "min_rows": 100}
