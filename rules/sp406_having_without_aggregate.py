from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlperf.analysis import chain_operands, literal_value, predicate_span, shown, unparen
from sqlperf.rule import Applicability, Edit, Fix, Rule

_NOT_MOVABLE = (exp.AggFunc, exp.Window, exp.Subquery, exp.Select, exp.Rand, exp.Uuid)
_GROUPING = (exp.Rollup, exp.Cube, exp.GroupingSets)


class HavingWithoutAggregate(Rule):
    """## What it does
    Flags a `HAVING` condition that uses no aggregate and only grouped columns:
    `GROUP BY status HAVING status = 'paid'`.

    ## Why is this bad?
    HAVING filters groups after they are built. A condition on a grouped column could have
    removed those rows before grouping: in WHERE it can use an index on the column, and the
    rows it rejects are never read, sorted or hashed into groups. In HAVING every row is read
    and aggregated first, and whole groups are thrown away at the end.

    A condition with an aggregate (`HAVING count(*) > 5`), a subquery or a window, one on a
    column that is not grouped (or an output alias), and any condition under `ROLLUP`, `CUBE`
    or `GROUPING SETS` (where grouped columns are NULL in subtotal rows) are not reported.

    ## Example
    ```sql
    SELECT status, count(*) FROM orders GROUP BY status HAVING status = 'paid';
    ```

    ## Use instead
    ```sql
    SELECT status, count(*) FROM orders WHERE status = 'paid' GROUP BY status;
    ```

    ## Fix safety
    The fix moves the conditions to WHERE (joined with AND to a WHERE that exists) and leaves
    the aggregate conditions in HAVING. It is safe: a deterministic condition on grouped
    columns has the same value for every row of a group, so removing the rows before
    grouping removes exactly the groups that HAVING removed, with the same aggregates for
    the rest.
    """

    code = "SP406"
    name = "having-without-aggregate"
    category = "shape"
    node_types = (exp.Having,)
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        select = node.parent
        group = select.args.get("group") if isinstance(select, exp.Select) else None
        if group is None or not group.expressions or any(isinstance(e, _GROUPING) for e in group.expressions):
            return None
        if any(group.args.get(key) for key in ("rollup", "cube", "grouping_sets", "totals")):
            return None
        grouped = _grouped_columns(select, group)
        aliases = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias) and not _alias_of_same_column(p)}
        conjuncts = chain_operands(node.this, exp.And)
        movable = [c for c in conjuncts if _movable(ctx, c, grouped, aliases, select)]
        if not movable:
            return None
        listed = ", ".join(" ".join(shown(ctx, c).split()) for c in movable[:3])
        if len(movable) > 3:
            listed += f" and {len(movable) - 3} more"
        scope = ctx.scope_of(select)
        tables = sorted({t.name for t in scope.sources.values() if isinstance(t, exp.Table)}) if scope else []
        rows = f"row of {', '.join(tables)}" if tables else "row"
        message = (
            f"HAVING {listed} uses no aggregate, so every {rows} is read and grouped before whole groups are thrown "
            "away; in WHERE it would filter rows first and could use an index."
        )
        fix = _fix(ctx, select, group, node, conjuncts, movable)
        help_text = "move it to WHERE" + (f": {fix.replacement}" if fix is not None else "")
        # Anchored at the first condition that moves: the whole HAVING may be a very long AND chain.
        return [ctx.finding(self, movable[0], message, help_text, fix)]


def _alias_of_same_column(alias) -> bool:
    return isinstance(alias.this, exp.Column) and alias.this.name.lower() == alias.alias.lower()


def _grouped_columns(select, group) -> list[exp.Column]:
    columns = []
    for expression in group.expressions:
        value = unparen(expression)
        position = literal_value(value)
        if isinstance(position, int) and not isinstance(value, exp.Column):
            # GROUP BY 2: the second select-list item.
            if 1 <= position <= len(select.expressions):
                value = select.expressions[position - 1].unalias()
        if isinstance(value, exp.Column) and not isinstance(value.this, exp.Star):
            columns.append(value)
    return columns


def _is_grouped(column, grouped) -> bool:
    name = column.name.lower()
    for candidate in grouped:
        if candidate.name.lower() != name:
            continue
        if column.table and candidate.table and column.table != candidate.table:
            continue
        return True
    return False


def _movable(ctx, condition, grouped, aliases, select) -> bool:
    """No aggregate, window, subquery or volatile call, and every column grouped."""
    if condition.find(*_NOT_MOVABLE) is not None:
        return False
    for call in condition.find_all(exp.Anonymous):
        if call.expressions:
            return False  # an unknown function of a column may be a user-defined aggregate
    columns = list(condition.find_all(exp.Column))
    if not columns:
        return False
    for column in columns:
        if isinstance(column.this, exp.Star) or not _is_grouped(column, grouped):
            return False
        if not column.table and column.name.lower() in aliases:
            return False  # MySQL lets HAVING name an output alias, which WHERE cannot see
    return True


def _fix(ctx, select, group, having, conjuncts, movable) -> Fix | None:
    spans = {}
    for condition in conjuncts:
        span = predicate_span(ctx, condition)
        if span is None:
            return None
        spans[id(condition)] = span
    text = ctx.source.text
    tokens = ctx.statement.tokens
    combine = len(movable) > 1 or select.args.get("where") is not None
    moved = " AND ".join(_wrapped(text, spans[id(c)], c, combine) for c in movable)
    edits = []
    where = select.args.get("where")
    if where is not None:
        w_span = predicate_span(ctx, where.this)
        if w_span is None:
            return None
        w_start, w_end = w_span
        if isinstance(where.this, (exp.Or, exp.Xor)):
            edits.append(Edit(w_start, w_start, "("))
            edits.append(Edit(w_end, w_end, f") AND {moved}"))
        else:
            edits.append(Edit(w_end, w_end, f" AND {moved}"))
    else:
        index = _token_index(tokens, ctx.span(group.expressions[0])[0])
        while index >= 0 and tokens[index].token_type != TokenType.GROUP_BY:
            index -= 1
        if index <= 0:
            return None
        group_token, previous = tokens[index], tokens[index - 1]
        gap = text[previous.end + 1 : group_token.start] or " "
        edits.append(Edit(group_token.start, group_token.start, f"WHERE {moved}{gap}"))
    if len(movable) == len(conjuncts):
        index = _token_index(tokens, spans[id(conjuncts[0])][0])
        while index >= 0 and tokens[index].token_type != TokenType.HAVING:
            index -= 1
        if index <= 0:
            return None
        edits.append(Edit(tokens[index - 1].end + 1, spans[id(conjuncts[-1])][1], ""))
    else:
        moving = {id(c) for c in movable}
        for i, condition in enumerate(conjuncts):
            if id(condition) not in moving:
                continue
            start, end = spans[id(condition)]
            if any(id(c) not in moving for c in conjuncts[:i]):
                edits.append(Edit(spans[id(conjuncts[i - 1])][1], end, ""))  # " AND cond" after a kept one
            else:
                edits.append(Edit(start, spans[id(conjuncts[i + 1])][0], ""))  # "cond AND " before the next
    return Fix(Applicability.SAFE, edits, f"WHERE {moved}", "filter rows in WHERE before grouping")


def _wrapped(text, span, condition, combine) -> str:
    written = text[span[0] : span[1]]
    if combine and isinstance(condition, (exp.Or, exp.Xor)):
        return f"({written})"
    return written


def _token_index(tokens, offset) -> int:
    return next((i for i, t in enumerate(tokens) if t.start >= offset), len(tokens))
