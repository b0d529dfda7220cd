import datetime as dt
import re

from sqlglot import exp

from sqlperf.analysis import COMPARISONS, date_wrap, flip, is_constant, literal_value, needs_parens
from sqlperf.rule import Applicability, Fix, Rule

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_RANGE_UNITS = ("year", "quarter", "month", "day")


class DateFunctionOnColumn(Rule):
    """## What it does
    Flags a date or time column wrapped in a date function and compared with a constant:
    `YEAR(created_at) = 2024`, `EXTRACT(YEAR FROM created_at) = 2024`,
    `date_trunc('month', created_at) = '2024-03-01'`, `DATE(created_at) = '2024-03-05'`,
    `created_at::date = '2024-03-05'`.

    ## Why is this bad?
    The index on `created_at` is ordered by `created_at`, not by its year. The planner cannot
    turn `YEAR(created_at) = 2024` into a range of that index, so it scans the whole table and
    computes the function row by row. The same question asked as a half-open range on the
    bare column is answered by an index range scan.

    ## Example
    ```sql
    SELECT * FROM orders WHERE YEAR(created_at) = 2024;
    ```

    ## Use instead
    ```sql
    SELECT * FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01';
    ```

    ## Fix safety
    The fix is safe: for whole years, quarters, months and days, `f(col) = k` and the
    half-open range select exactly the same rows (NULLs included: both are unknown for a
    NULL). `<`, `<=`, `>`, `>=` and `BETWEEN` are rewritten to the matching bound. A
    comparison with something other than a literal, or a unit that is not a range (the
    month of any year, the day of the week), is reported without a fix.
    """

    code = "SP102"
    name = "date-function-on-column"
    category = "sargability"
    node_types = (*COMPARISONS, exp.Between, exp.In)
    wraps_operands = True
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        if ctx.predicate_clause(node) is None:
            return None
        for side, other in _operands(node):
            wrap = date_wrap(side)
            if wrap is None or not all(is_constant(o) for o in other):
                continue
            if ctx.scope_of(wrap.column) is not ctx.scope_of(node):
                continue
            resolved = ctx.resolve_column(wrap.column)
            if resolved.derived or _already_a_date(wrap, resolved):
                continue
            column_sql = ctx.text(wrap.column)
            replacement = _range(node, side, wrap, column_sql)
            fix = None
            if replacement is not None:
                if needs_parens(node):
                    replacement = f"({replacement})"
                fix = Fix(Applicability.SAFE, [ctx.edit(node, replacement)], replacement, "compare the bare column with a half-open range")
            function = ctx.text(side)
            message = (
                f"{function} hides column {resolved.label} inside a date function, so no index on "
                f"{wrap.column.name} can serve this {ctx.predicate_clause(node).key.upper()} predicate."
            )
            help_text = f"write it as a range on the bare column: {replacement}" if replacement else (
                "compare the bare column with a range of timestamps, or index the expression"
            )
            return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": wrap.column.name})]
        return None


def _already_a_date(wrap, resolved) -> bool:
    """``CAST(d AS DATE)`` of a DATE column is a no-op the planner removes: the index still serves."""
    definition = resolved.definition
    return wrap.kind == "trunc" and wrap.unit == "day" and definition is not None and definition.type.split("(")[0] == "date"


def _operands(node):
    if isinstance(node, exp.Between):
        return [(node.this, [node.args["low"], node.args["high"]])]
    if isinstance(node, exp.In):
        if node.args.get("query") is not None:
            return []
        return [(node.this, list(node.expressions))]
    return [(node.this, [node.expression]), (node.expression, [node.this])]


def _range(node, side, wrap, column_sql: str) -> str | None:
    """The half-open range equivalent to ``node``, or None when there is no exact one."""
    if wrap.unit not in _RANGE_UNITS or isinstance(node, exp.In):
        return None
    if wrap.kind == "part" and wrap.unit != "year":
        return None  # MONTH(c) = 3 is every March: not one range
    if isinstance(node, exp.Between):
        low, high = _bounds(node.args["low"], wrap), _bounds(node.args["high"], wrap)
        if low is None or high is None:
            return None
        return f"{column_sql} >= '{low[0]}' AND {column_sql} < '{high[1]}'"
    op = type(node) if side is node.this else flip(type(node))
    constant = node.expression if side is node.this else node.this
    bounds = _bounds(constant, wrap)
    if bounds is None or op is exp.NEQ:
        return None
    lo, hi = bounds
    return {
        exp.EQ: f"{column_sql} >= '{lo}' AND {column_sql} < '{hi}'",
        exp.GT: f"{column_sql} >= '{hi}'",
        exp.GTE: f"{column_sql} >= '{lo}'",
        exp.LT: f"{column_sql} < '{lo}'",
        exp.LTE: f"{column_sql} < '{hi}'",
    }[op]


def _bounds(constant, wrap) -> tuple[str, str] | None:
    """[start, end) of the period the constant names, as ISO dates."""
    value = literal_value(constant)
    if wrap.kind == "part":
        if not isinstance(value, int) or not 1 <= value <= 9998:
            return None
        return f"{value:04d}-01-01", f"{value + 1:04d}-01-01"
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if match is None:
        return None
    try:
        start = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    end = _next(start, wrap.unit)
    if end is None:
        return None  # the constant is not the start of its period: date_trunc never equals it
    return start.isoformat(), end.isoformat()


def _next(start: dt.date, unit: str) -> dt.date | None:
    if unit == "day":
        return start + dt.timedelta(days=1)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    if start.day != 1 or (unit == "quarter" and (start.month - 1) % 3) or (unit == "year" and start.month != 1):
        return None
    total = start.month - 1 + months
    return dt.date(start.year + total // 12, total % 12 + 1, 1)
