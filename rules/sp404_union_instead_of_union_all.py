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

    `UNION ALL`, `INTERSECT`, `EXCEPT` and the `UNION` of a `WITH RECURSIVE` query (where
    removing duplicates is what stops a walk around a cycle) are not reported.

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
    no two branches can return the same row, or when the result only feeds `DISTINCT` or
    `GROUP BY`, which ignore duplicates; apply it with `--unsafe-fixes` once you know which
    holds. When the union is the subquery of `IN (...)` or `EXISTS (...)`, which ignore
    duplicates by definition, the fix is marked safe.
    """

    code = "SP404"
    name = "union-instead-of-union-all"
    category = "shape"
    node_types = (exp.Union,)
    fix_applicability = Applicability.UNSAFE

    def visit(self, node, ctx):
        if type(node) is not exp.Union or not node.args.get("distinct"):
            return None
        if _recursive_cte_body(node):
            return None  # in WITH RECURSIVE, UNION's de-duplication is what stops a walk around a cycle
        keyword = _union_keyword(ctx, node)
        if keyword is None:
            return None
        start, end = keyword
        tables = _branch_tables(node)
        of = f" of {' and '.join(tables)}" if tables else ""
        if _membership_test(node):
            message = (
                f"UNION{of} removes duplicate rows that IN / EXISTS ignore anyway, so sorting or hashing every row of both "
                "branches is wasted work."
            )
            fix = Fix(Applicability.SAFE, [Edit(start, end, "UNION ALL")], "UNION ALL", "IN and EXISTS ignore duplicates")
        else:
            message = (
                f"UNION{of} removes duplicate rows, so the database must sort or hash every row of both branches before "
                "returning any; if the branches cannot overlap, that work is wasted."
            )
            fix = Fix(Applicability.UNSAFE, [Edit(start, end, "UNION ALL")], "UNION ALL", "keep duplicate rows instead of removing them")
        help_text = "write UNION ALL when the branches cannot return the same row or duplicates do not matter"
        return [ctx.finding(self, node, message, help_text, fix, at=keyword)]


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



def _membership_test(node) -> bool:
    """The union only feeds ``IN (...)`` or ``EXISTS (...)``, where duplicates change nothing."""
    child, parent = node, node.parent
    while isinstance(parent, (exp.Union, exp.Subquery, exp.Paren)):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Exists):
        return True
    return isinstance(parent, exp.In) and child.arg_key == "query"


def _branch_tables(node) -> list[str]:
    """The table each branch reads first (``open_tickets``, ``closed_tickets``), for the message."""
    names = []
    for branch in (node.this, node.expression):
        while isinstance(branch, (exp.Subquery, exp.Union)):
            branch = branch.expression if isinstance(branch, exp.Union) else branch.this
        source = branch.args.get("from_") if isinstance(branch, exp.Select) else None
        table = source.this if source is not None else None
        if not isinstance(table, exp.Table) or not table.name:
            return []
        names.append(table.name)
    return names


def _recursive_cte_body(node) -> bool:
    parent = node.parent
    while isinstance(parent, (exp.Union, exp.Subquery, exp.Paren)):
        parent = parent.parent
    return isinstance(parent, exp.CTE) and isinstance(parent.parent, exp.With) and bool(parent.parent.args.get("recursive"))
