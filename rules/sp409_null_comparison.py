from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.analysis import ends_cleanly
from sqlperf.rule import Applicability, Edit, Fix, Rule

# Where ``x = NULL`` is an assignment, not a comparison.
_ASSIGNMENTS = (exp.Update, exp.OnConflict, exp.SetItem, exp.Set)
_OPERATORS = frozenset({TokenType.EQ, TokenType.NEQ})


class NullComparison(Rule):
    """## What it does
    Flags a comparison with `NULL` by `=`, `<>` or `!=`: `WHERE deleted_at = NULL`.

    ## Why is this bad?
    A comparison with NULL is never true: it yields NULL (unknown) for every row, so
    `WHERE deleted_at = NULL` matches no row at all and `<> NULL` matches none either. The
    query silently returns nothing, and the index on the column that `IS NULL` could use is
    never asked.

    An assignment (`UPDATE ... SET x = NULL`, `ON CONFLICT DO UPDATE SET x = NULL`, MySQL
    `SET @x = NULL`) is not a comparison and is not reported; nor are `IS NULL`,
    `IS DISTINCT FROM NULL` and MySQL's `<=> NULL`.

    ## Example
    ```sql
    SELECT id FROM users WHERE deleted_at = NULL;
    ```

    ## Use instead
    ```sql
    SELECT id FROM users WHERE deleted_at IS NULL;
    ```

    ## Fix safety
    The fix writes `IS NULL` for `= NULL` and `IS NOT NULL` for `<>`/`!= NULL`, which is what
    the comparison was written to mean. It is unsafe because it changes the result on
    purpose: the original predicate is never true and matches no row (that is the bug), the
    fixed one matches the rows whose value is NULL (or not NULL). Review the rows it brings
    back, then apply it with `--fix --unsafe-fixes`.
    """

    code = "SP409"
    name = "null-comparison"
    category = "shape"
    node_types = (exp.EQ, exp.NEQ)
    fix_applicability = Applicability.UNSAFE

    def visit(self, node, ctx):
        if isinstance(node.parent, _ASSIGNMENTS):
            return None
        if isinstance(node.expression, exp.Null):
            other = node.this
        elif isinstance(node.this, exp.Null):
            other = node.expression
        else:
            return None
        if ctx.spans.token_range(other) is None:
            return None  # NULL = NULL, CURRENT_DATE = NULL: nothing positioned to anchor an exact edit
        if any(isinstance(n, (exp.Placeholder, exp.Parameter)) for n in other.walk()):
            return None  # a bind parameter has no position, so the operand's span may stop short of it
        negated = isinstance(node, exp.NEQ)
        operand = ctx.text(other)
        if isinstance(other, (exp.Predicate, exp.Connector, exp.Not)) and not isinstance(other, exp.Paren):
            operand = f"({operand})"
        replacement = f"{operand} IS {'NOT ' if negated else ''}NULL"
        subject = _subject(ctx, other)
        clause = ctx.predicate_clause(node)
        effect = (
            f"so this {clause.key.upper()} predicate matches no row" if clause is not None else "so it is NULL for every row"
        )
        start, end = _span(ctx, node)
        if not ends_cleanly(ctx, end):
            return None  # the comparison's span stops short of an operand without a position
        written = " ".join(ctx.source.text[start:end].split())
        message = f"{written} compares {subject} with NULL, which is never true (it yields NULL), {effect}."
        fix = Fix(Applicability.UNSAFE, [Edit(start, end, replacement)], replacement, "test for NULL with IS")
        finding = ctx.finding(self, node, message, f"write {replacement}", fix)
        finding.start = start
        finding.line, finding.column = ctx.source.position(start)
        return [finding]


def _span(ctx, node) -> tuple[int, int]:
    """The comparison's offsets, including a leading ``NULL =`` (a NULL literal carries no position)."""
    start, end = ctx.span(node)
    if isinstance(node.this, exp.Null):
        tokens = ctx.statement.tokens
        index = next((i for i, t in enumerate(tokens) if t.start >= start), len(tokens))
        if index >= 2 and tokens[index - 1].token_type in _OPERATORS and tokens[index - 2].token_type == TokenType.NULL:
            start = tokens[index - 2].start
    return start, end


def _subject(ctx, other) -> str:
    if isinstance(other, exp.Column):
        return f"column {ctx.resolve_column(other).label}"
    return ctx.text(other)
