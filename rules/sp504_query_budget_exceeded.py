from sqlperf.rule import Rule


class QueryBudgetExceeded(Rule):
    """## What it does
    Flags a scope (a test, a `sqlperf.capture()` block, a request) that sent more statements
    than its budget: `@pytest.mark.sqlperf(max_queries=N)`, `--sqlperf-max-queries N`, or
    `sqlperf.capture(max_queries=N)`. Statements inside `sqlperf.allow(...)`, transaction
    control, savepoints, DDL, schema introspection and migration tools' bookkeeping (the
    `alembic_version` table) do not count.

    ## Why is this bad?
    A budget pins down how much work an endpoint may do. When a change adds a query per row
    or an extra lookup, the budget fails in the test that covers it, long before the page is
    slow in production.

    ## Example
    ```python
    @pytest.mark.sqlperf(max_queries=2)
    def test_post_list(client):
        client.get("/posts")  # sends 12 statements
    ```

    ## Use instead
    Bring the statement count back under the budget (eager loading, one bulk statement), or
    raise the budget when the new work is intended:
    ```python
    @pytest.mark.sqlperf(max_queries=3, reason="the page now also shows tags")
    def test_post_list(client):
        client.get("/posts")
    ```
    """

    code = "SP504"
    name = "query-budget-exceeded"
    category = "runtime"
    static = False
