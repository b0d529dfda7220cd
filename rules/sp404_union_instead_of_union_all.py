from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.rule import Applicability, Edit, Fix, Rule


class UnionInsteadOfUnionAll(Rule):
    """## What it does
    Flags `UNION` (and `UNION DISTINCT`), which removes duplicate rows from the combined result.

    ## Why is this bad?
    To remove duplicates the database must sort or hash every row of every branch before it can
    return the first one, often spilling to disk on large results, and it cannot stream rows
    or stop early under a LIMIT. When the branches cannot return the same row (they read
    different tables, or select a different constant tag) or when duplicates do not matter,
    that work buys nothing; `UNION ALL` simply appends the branches.

    `UNION ALL`, `INTERSECT` and `EXCEPT` are not reported.

    ## Example
    ```sql
    SELECT id, 'open' AS state FROM open_tickets
    UNION
    SELECT id, 'closed' AS state FROM closed_tickets;
    ```

    ## Use instead
    ```sql
    SELECT id, 'open' AS state FROM open_tickets
    UNION ALL
    SELECT id, 'closed' AS state FROM closed_tickets;
    ```

    ## Fix safety
    The fix (replace `UNION` with `UNION ALL`) is unsafe: `UNION` also removes duplicates
    *within* each branch and between branches, so after the fix a row that occurs twice is
    returned twice. It keeps the result exactly when no branch can return a duplicate row and
    no two branches can return the same row, or when the result only feeds `IN`, `EXISTS`,
    `DISTINCT` or `GROUP BY`, which ignore duplicates. Apply it with `--unsafe-fixes` once you
    know which holds.
    """

    code = "SP404"
    name = "union-instead-of-union-all"
    category = "shape"
    node_types = (exp.Union,)
    fix_applicability = Applicability.UNSAFE

    def visit(self, node, ctx):
        if type(node) is not exp.Union or not node.args.get("distinct"):
            return None
        keyword = _union_keyword(ctx, node)
        if keyword is None:
            return None
        start, end = keyword
        finding = ctx.finding(
            self,
            node,
            "UNION removes duplicate rows, so the database must sort or hash every row of both branches before "
            "returning any; if the branches cannot overlap, that work is wasted.",
            "write UNION ALL when the branches cannot return the same row or duplicates do not matter",
            Fix(Applicability.UNSAFE, [Edit(start, end, "UNION ALL")], "UNION ALL", "keep duplicate rows instead of removing them"),
        )
        finding.start, finding.end = start, end
        finding.line, finding.column = ctx.source.position(start)
        finding.end_line, finding.end_column = ctx.source.position(end)
        return [finding]


def _union_keyword(ctx, node) -> tuple[int, int] | None:
    """Offsets of ``UNION`` (with a following ``DISTINCT``) between the two branches."""
    left_end = ctx.span(node.this)[1]
    right_start = ctx.span(node.expression)[0]
    tokens = ctx.statement.tokens
    for i, token in enumerate(tokens):
        if token.start < left_end or token.start >= right_start:
            continue
        if token.token_type == TokenType.UNION:
            end = token.end + 1
            # A branch starts with SELECT or '(', so a DISTINCT right after UNION is UNION's own
            # (the right branch's span may claim it, taking it for SELECT DISTINCT).
            if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.DISTINCT:
                end = tokens[i + 1].end + 1
            return token.start, end
    return None

