from sqlglot import exp

from sqlperf.analysis import is_constant
from sqlperf.rule import Applicability, Rule


class LargeInList(Rule):
    """## What it does
    Flags `IN (...)` and `NOT IN (...)` with more constant values than a threshold, the shape an
    ORM produces for `filter(id.in_(ids))` with a long list of ids.

    ## Why is this bad?
    Every value is parsed, planned and estimated one by one, so planning alone can take longer
    than running the query; each list length is a different statement text, so prepared
    statements and the plan cache do not help and `pg_stat_statements` fills with variants;
    and drivers hit their parameter limits (65,535 binds in PostgreSQL, 999 or 32,766 in SQLite).

    A list of at most `threshold` values and `IN (SELECT ...)` are not reported.

    ## Example
    The list an ORM binds for 501 ids:
    ```sql
    SELECT id FROM users WHERE id IN (
    {binds}
    );
    ```

    ## Use instead
    Pass one array parameter (PostgreSQL), or load the values into a temporary table and join it:
    ```sql
    SELECT id FROM users WHERE id = ANY(:ids);
    SELECT u.id FROM users u JOIN wanted_ids w ON w.id = u.id;
    ```

    ## Options
    - `threshold` (default 500): the largest number of values that is not reported. The
      threshold is exclusive: a list of exactly 500 values is not reported with the default.
    """

    code = "SP407"
    name = "large-in-list"
    category = "shape"
    node_types = (exp.In,)
    fix_applicability = Applicability.DISPLAY
    options = {"threshold": 500}

    def visit(self, node, ctx):
        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            return None
        values = node.expressions
        if len(values) <= self.opts["threshold"] or not all(is_constant(v) for v in values):
            return None
        subject = ctx.resolve_column(node.this).label if isinstance(node.this, exp.Column) else ctx.text(node.this)
        message = (
            f"IN list of {len(values)} values on {subject} is planned value by value and gives every list length "
            "its own statement text, so planning is slow and no cached plan is reused."
        )
        if ctx.dialect in ("postgres", "postgresql", "redshift"):
            help_text = f"pass one array parameter: {ctx.text(node.this)} = ANY(:values), or join a temporary table of the values"
        else:
            help_text = "load the values into a temporary table and join it"
        return [ctx.finding(self, node, message, help_text, data={"values": len(values)})]


def _example_binds(count: int, per_line: int = 25) -> str:
    lines = [", ".join(["?"] * min(per_line, count - i)) for i in range(0, count, per_line)]
    return ",\n    ".join(lines)


# The Example must really exceed the default threshold; 501 binds are generated, not typed.
LargeInList.__doc__ = LargeInList.__doc__.replace("{binds}", _example_binds(LargeInList.options["threshold"] + 1))
