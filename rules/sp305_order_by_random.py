from sqlglot import exp

from sqlperf.rule import Applicability, Rule

_RANDOM = (exp.Rand, exp.Uuid)


class OrderByRandom(Rule):
    """## What it does
    Flags a query ordered by a random value: `ORDER BY random()` (PostgreSQL, SQLite),
    `ORDER BY RAND()` (MySQL), `ORDER BY NEWID()` (SQL Server), `ORDER BY gen_random_uuid()`.

    ## Why is this bad?
    No index can supply a random order. The database reads every row that passes the filter,
    draws a random number for each one and sorts them all, only to keep the first few when a
    LIMIT follows. The cost grows with the table, not with the number of rows you want.

    A random value in the select list, or a window ordered by one, is not reported.

    ## Example
    ```sql
    SELECT id, question FROM quiz_questions ORDER BY random() LIMIT 5;
    ```

    ## Use instead
    Pick random keys and fetch them by index, or sample pages of the table:
    ```sql
    SELECT id, question FROM quiz_questions WHERE id >= 48213 ORDER BY id LIMIT 5;
    SELECT id, question FROM quiz_questions TABLESAMPLE SYSTEM (1) LIMIT 5;
    ```
    (the key `48213` drawn by the application between the smallest and largest id).
    """

    code = "SP305"
    name = "order-by-random"
    category = "shape"
    node_types = (exp.Ordered,)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        order = node.parent
        if not isinstance(order, exp.Order) or not isinstance(order.parent, (exp.Select, exp.Union)):
            return None  # a window's ORDER BY, or a dialect's WITHIN GROUP
        random = _random_call(node.this)
        if random is None:
            return None
        call = ctx.text(node.this)
        scope = ctx.scope_of(order.parent)
        tables = sorted({s.name for s in scope.sources.values() if isinstance(s, exp.Table)}) if scope else []
        rows = f"every matching row of {', '.join(tables)}" if tables else "every matching row"
        message = (
            f"ORDER BY {call} makes the database read {rows}, give each a random key and sort them all; "
            "no index can provide this order, even with a LIMIT."
        )
        help_text = (
            "pick random keys in the application and fetch them by index (WHERE id >= :random_id ORDER BY id LIMIT n), "
            "or sample with TABLESAMPLE"
        )
        return [ctx.finding(self, node.this, message, help_text, data={"tables": tables})]


def _random_call(node):
    """The random() / RAND() / NEWID() call that ``node`` is computed from, outside any subquery."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, _RANDOM):
            return current
        if isinstance(current, (exp.Subquery, exp.Select)):
            continue
        stack.extend(current.iter_expressions())
    return None
