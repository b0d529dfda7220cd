from sqlglot import exp

from sqlglot.tokens import TokenType

from sqlperf.analysis import keyword_before, literal_value, widen_to
from sqlperf.rule import Applicability, Fix, Rule


class DeepOffsetPagination(Rule):
    """## What it does
    Flags `OFFSET n` (or MySQL's `LIMIT n, m`) with a literal `n` above a threshold.

    ## Why is this bad?
    The database cannot jump to row `n`: it produces and throws away the first `n` rows of the
    ordered result before it returns the page you asked for. Every page is slower than the one
    before it, and deep pages read most of the table even when an index serves the order.

    An offset that is a parameter (`OFFSET :offset`) cannot be judged and is not reported.

    ## Example
    ```sql
    SELECT id, title FROM posts ORDER BY id LIMIT 20 OFFSET 40000;
    ```

    ## Use instead
    Keyset (seek) pagination: remember the last key of the previous page and continue after it,
    so each page is one index range scan however deep it is.
    ```sql
    SELECT id, title FROM posts WHERE id > 40020 ORDER BY id LIMIT 20;
    ```

    ## Options
    - `threshold` (default 1000): the largest offset that is not reported. The threshold is
      exclusive: `OFFSET 1000` is not reported with the default.
    """

    code = "SP302"
    name = "deep-offset-pagination"
    category = "shape"
    node_types = (exp.Offset,)
    fix_applicability = Applicability.DISPLAY
    options = {"threshold": 1000}

    def visit(self, node, ctx):
        value = literal_value(node.expression)
        if not isinstance(value, int) or isinstance(value, bool) or value <= self.opts["threshold"]:
            return None
        query = node.parent
        tables = _tables(ctx, query)
        where = f" of {tables}" if tables else ""
        message = (
            f"OFFSET {value} makes the database produce and discard {value} rows{where} before the page it "
            "returns, so every deeper page costs more."
        )
        keyset = _keyset(ctx, query)
        help_text = "paginate by key: remember the last row's sort key and filter after it instead of skipping rows"
        fix = None
        if keyset:
            help_text += f": {keyset}"
            fix = Fix(Applicability.DISPLAY, replacement=keyset, message="keyset pagination")
        finding = ctx.finding(self, node.expression, message, help_text, fix, data={"offset": value})
        keyword = keyword_before(ctx.statement.tokens, finding.start, {TokenType.OFFSET})
        return [widen_to(ctx, finding, keyword.start) if keyword is not None else finding]


def _tables(ctx, query) -> str:
    scope = ctx.scope_of(query) if isinstance(query, exp.Select) else None
    if scope is None:
        return ""
    names = sorted({src.name for src in scope.sources.values() if isinstance(src, exp.Table)})
    return ", ".join(names)


def _keyset(ctx, query) -> str:
    """``WHERE id > :last_id ORDER BY id`` for an ORDER BY on plain columns."""
    order = query.args.get("order") if isinstance(query, (exp.Select, exp.Union)) else None
    if order is None or not order.expressions:
        return ""
    columns, descending = [], set()
    for ordered in order.expressions:
        if not isinstance(ordered.this, exp.Column):
            return ""
        columns.append(ctx.text(ordered.this))
        descending.add(bool(ordered.args.get("desc")))
    if len(descending) != 1:
        return ""  # mixed directions have no single row-value comparison
    op = "<" if descending.pop() else ">"
    params = [f":last_{c.split('.')[-1].strip(chr(34) + '`')}" for c in columns]
    if len(columns) == 1:
        return f"WHERE {columns[0]} {op} {params[0]} ORDER BY {ctx.text(order.expressions[0])}"
    return f"WHERE ({', '.join(columns)}) {op} ({', '.join(params)}) ORDER BY {', '.join(ctx.text(o) for o in order.expressions)}"
