"""Small, shared questions rules ask about expressions: is it constant, which column does it wrap.

Kept free of any one rule so that the sargability rules agree on what a "column" and a
"constant" are, and on which rule owns which wrapper (so one predicate yields one finding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
# Predicates whose operands an index can serve when the column stands bare.
SARGABLE_PREDICATES = (*COMPARISONS, exp.Like, exp.ILike, exp.In, exp.Between)
_FLIPPED = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}
_SCOPE_NODES = (exp.Select, exp.Subquery, exp.Union)
_OPAQUE = (exp.AggFunc, exp.Window)

# Wrappers another, more specific rule owns (SP101 stays silent on them).
DATE_PARTS = (exp.Year, exp.Month, exp.Day, exp.Quarter, exp.Week, exp.DayOfWeek, exp.DayOfMonth, exp.DayOfYear, exp.Extract)
DATE_TRUNCS = (exp.TimestampTrunc, exp.DateTrunc, exp.Date, exp.TsOrDsToDate)
JSON_EXTRACTS = (exp.JSONExtract, exp.JSONExtractScalar, exp.JSONBExtract, exp.JSONBExtractScalar)
SPECIFIC_WRAPPERS = (
    *DATE_PARTS,
    *DATE_TRUNCS,
    *JSON_EXTRACTS,
    exp.Cast,
    exp.TryCast,
    exp.Coalesce,
    exp.Substring,
    exp.Left,
    exp.Concat,
    exp.DPipe,
)


def own_columns(node: exp.Expression) -> list[exp.Column]:
    """Columns ``node`` computes from directly: not inside a subquery, aggregate or window.

    A column under an aggregate (``max(created_at)``) or in a nested query is not one the
    enclosing predicate could reach through an index.
    """
    found: list[exp.Column] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.Column):
            if not isinstance(current.this, exp.Star):
                found.append(current)
            continue
        if current is not node and isinstance(current, (*_SCOPE_NODES, *_OPAQUE)):
            continue
        if isinstance(current, _OPAQUE) and current is node:
            continue
        stack.extend(current.iter_expressions())
    return found


def chain_operands(node: exp.Expression, kind: type[exp.Expression], unwrap: bool = False) -> list[exp.Expression]:
    """The operands of a chain of ``kind`` (``exp.And`` or ``exp.Or``), left to right.

    Iterative, because a long AND chain is a deep tree. With ``unwrap``, parentheses are looked
    through, so ``(a AND b) AND c`` gives three operands, each without its parentheses.
    """
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if unwrap:
            current = unparen(current)
        if isinstance(current, kind):
            stack.extend((current.expression, current.this))
        else:
            found.append(current)
    return found


def is_constant(node: exp.Expression) -> bool:
    """True when ``node`` depends on no column and no subquery: a literal, a parameter, now()."""
    for child in node.walk():
        if isinstance(child, (exp.Column, exp.Select, exp.Subquery)):
            return False
    return True


def flip(comparison: type[exp.Expression]) -> type[exp.Expression]:
    """The operator to use when the operands of ``comparison`` swap sides (``5 < x`` is ``x > 5``)."""
    return _FLIPPED[comparison]


def sides(predicate: exp.Expression) -> list[tuple[exp.Expression, exp.Expression | None]]:
    """Each operand of a predicate with the operand(s) it is compared to."""
    if isinstance(predicate, exp.In):
        return [(predicate.this, None)]
    if isinstance(predicate, exp.Between):
        return [(predicate.this, None)]
    left, right = predicate.this, predicate.expression
    return [(left, right), (right, left)]


def other_side_is_constant(predicate: exp.Expression, side: exp.Expression) -> bool:
    if isinstance(predicate, exp.In):
        if predicate.args.get("query") is not None:
            return False
        return all(is_constant(e) for e in predicate.expressions)
    if isinstance(predicate, exp.Between):
        return is_constant(predicate.args["low"]) and is_constant(predicate.args["high"])
    other = predicate.expression if side is predicate.this else predicate.this
    return is_constant(other)


def needs_parens(node: exp.Expression) -> bool:
    """Would a replacement ``a AND b`` for ``node`` bind differently where ``node`` stands?"""
    parent = node.parent
    return not isinstance(parent, (exp.And, exp.Where, exp.Having, exp.Paren)) and not (
        isinstance(parent, exp.Join) and node.arg_key == "on"
    )


def literal_value(node: exp.Expression) -> str | int | float | None:
    """The Python value of a plain literal (``'2024-01-01'``, ``2024``, ``-3``); None otherwise."""
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, (exp.Cast, exp.TryCast)) and isinstance(node.this, exp.Literal) and node.this.is_string:
        # A typed literal: DATE '1993-07-01', TIMESTAMP '2024-01-01 00:00:00'.
        if node.to.this in (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ):
            return node.this.this
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        value = literal_value(node.this)
        return -value if isinstance(value, (int, float)) else None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        try:
            return int(node.this)
        except ValueError:
            try:
                return float(node.this)
            except ValueError:
                return None
    return None


@dataclass
class DateWrap:
    column: exp.Column
    unit: str  # year, quarter, month, week, day, dow, hour ...
    kind: str  # "part" (a number: YEAR(c)) or "trunc" (a timestamp: date_trunc, DATE(c), c::date)


def date_wrap(node: exp.Expression) -> DateWrap | None:
    """Recognise ``YEAR(c)``, ``EXTRACT(YEAR FROM c)``, ``date_part('year', c)``, ``date_trunc('month', c)``,
    ``DATE(c)`` and ``c::date`` in any dialect sqlglot reads."""
    inner = node
    unit: str | None = None
    kind = "part"
    if isinstance(node, exp.Extract):
        unit = node.this.name if isinstance(node.this, (exp.Var, exp.Literal)) else None
        inner = node.expression
    elif isinstance(node, DATE_PARTS):
        unit = {exp.DayOfMonth: "day", exp.DayOfWeek: "dow", exp.DayOfYear: "doy"}.get(type(node), node.key)
        inner = node.this
    elif isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit_node = node.args.get("unit")
        unit = unit_node.name if unit_node is not None else None
        kind, inner = "trunc", node.this
    elif isinstance(node, (exp.Date, exp.TsOrDsToDate)):
        kind, unit, inner = "trunc", "day", node.this
    elif isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this == exp.DataType.Type.DATE:
        kind, unit, inner = "trunc", "day", node.this
    else:
        return None
    # MySQL's YEAR(c) reads as Year(TsOrDsToDate(c)): look through the implicit conversion.
    while isinstance(inner, (exp.TsOrDsToDate, exp.Paren)):
        inner = inner.this
    if not isinstance(inner, exp.Column) or unit is None:
        return None
    return DateWrap(inner, unit.lower(), kind)


def index_name(table: str, parts: list[str], suffix: str = "idx") -> str:
    """A readable, valid index name: ``orders_lower_email_idx`` (at most 63 characters)."""
    words = [re.sub(r"\W+", "_", p).strip("_").lower() for p in [table, *parts]]
    name = "_".join(w for w in words if w) + f"_{suffix}"
    return name[:63]


# Comparisons an index range can serve; `<>` is left out because the planner would not use
# an index for it even on a bare column, so wrapping the column costs nothing there.
RANGE_COMPARISONS = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def bare_column(node: exp.Expression | None) -> exp.Column | None:
    """The column ``node`` is, once parentheses are removed; None for anything else."""
    if node is None:
        return None
    node = unparen(node)
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        return node
    return None


def indexable_column(branch: exp.Expression) -> exp.Column | None:
    """The column of a predicate an index on that column could serve on its own: ``col = 5``,
    ``col > ?``, ``col IN (1, 2)``, ``col BETWEEN ? AND ?``, ``col IS NULL``; None otherwise."""
    if isinstance(branch, RANGE_COMPARISONS):
        for side, other in ((branch.this, branch.expression), (branch.expression, branch.this)):
            column = bare_column(side)
            if column is not None and is_constant(other):
                return column
        return None
    if isinstance(branch, exp.In):
        column = bare_column(branch.this)
        if branch.args.get("query") is not None or not branch.expressions:
            return None
        return column if column is not None and all(is_constant(e) for e in branch.expressions) else None
    if isinstance(branch, exp.Between):
        column = bare_column(branch.this)
        return column if column is not None and is_constant(branch.args["low"]) and is_constant(branch.args["high"]) else None
    if isinstance(branch, exp.Is) and isinstance(branch.expression, exp.Null):
        return bare_column(branch.this)
    return None


def compared_operands(node: exp.Expression) -> list[tuple[exp.Expression, list[exp.Expression]]]:
    """Each operand of a comparison, BETWEEN or IN (list) with the operands it is compared to."""
    if isinstance(node, exp.Between):
        return [(node.this, [node.args["low"], node.args["high"]])]
    if isinstance(node, exp.In):
        if node.args.get("query") is not None or node.args.get("unnest") is not None or not node.expressions:
            return []
        return [(node.this, list(node.expressions))]
    return [(node.this, [node.expression]), (node.expression, [node.this])]


# What an operand is when nothing wraps it: the engine skips rules that only report wrapped
# operands (Rule.wraps_operands) on predicates made of these alone, most of a query's predicates.
_BARE = frozenset((exp.Column, exp.Literal, exp.Placeholder, exp.Parameter, exp.Null, exp.Boolean))


def bare_operands(node: exp.Expression) -> bool:
    """True when every operand of a comparison, LIKE, IN (list) or BETWEEN is a column or a constant.

    Only exact classes count: a parenthesised, cast or negated operand is not bare.
    """
    args = node.args
    if type(node.this) not in _BARE:
        return False
    if isinstance(node, exp.In):
        if args.get("query") is not None or args.get("unnest") is not None or args.get("field") is not None:
            return False
        return all(type(e) in _BARE for e in node.expressions)
    if isinstance(node, exp.Between):
        return type(args.get("low")) in _BARE and type(args.get("high")) in _BARE
    if args.get("escape") is not None:
        return False
    return type(node.expression) in _BARE


def from_derived_table(ctx, column: exp.Column) -> bool:
    """True when ``column`` comes, or may come, from a CTE or derived table rather than a base table.

    Such a column has no index of its own; a predicate on it is the derived query's business.
    """
    scope = ctx.scope_of(column)
    if scope is None:
        return False
    sources = scope.sources
    if column.table:
        source = sources.get(column.table)
        return source is not None and not isinstance(source, exp.Table)
    if not any(not isinstance(s, exp.Table) for s in sources.values()):
        return False
    # Unqualified next to a CTE or derived table: unless the schema places it in a base table,
    # it may well be the derived one's column, and a finding would be a guess.
    return ctx.resolve_column(column).table_name is None


def _token_types(*names: str) -> frozenset:
    from sqlglot.tokens import TokenType

    return frozenset(getattr(TokenType, n) for n in names if hasattr(TokenType, n))


# Tokens that can stand right before / right after a whole predicate, and never inside one.
_OPENS_PREDICATE = _token_types("WHERE", "AND", "OR", "L_PAREN", "ON", "HAVING", "NOT", "WHEN", "THEN", "ELSE", "COMMA")
_CLOSES_PREDICATE = _token_types(
    "AND", "OR", "R_PAREN", "SEMICOLON", "GROUP_BY", "ORDER_BY", "HAVING", "LIMIT", "OFFSET", "UNION", "EXCEPT",
    "INTERSECT", "THEN", "WHEN", "ELSE", "END", "COMMA", "WHERE", "WINDOW", "QUALIFY", "FETCH", "RETURNING", "JOIN",
    "LEFT", "RIGHT", "INNER", "FULL", "CROSS", "OUTER", "NATURAL", "STRAIGHT_JOIN", "FOR",
)


def predicate_span(ctx, node: exp.Expression) -> tuple[int, int] | None:
    """The span of a whole predicate, when the tokens around it prove it complete; else None.

    Spans come from positioned tokens; a predicate whose outer operand has no position (a
    bind parameter, ``INTERVAL '1' DAY``) may get a span that stops short. A fix that replaces
    such a span would leave a fragment behind, so fixes ask for this checked span instead.
    """
    rng = ctx.spans.token_range(node)
    if rng is None:
        return None
    lo, hi = rng
    tokens = ctx.spans.tokens
    if lo > 0 and tokens[lo - 1].token_type not in _OPENS_PREDICATE:
        return None
    if hi + 1 < len(tokens) and tokens[hi + 1].token_type not in _CLOSES_PREDICATE:
        return None
    return tokens[lo].start, tokens[hi].end + 1


def shown(ctx, node: exp.Expression) -> str:
    """``node`` as the user wrote it, for a message; generated SQL when its span may be incomplete.

    Leaves without a recorded position (a bind parameter, an interval's trailing unit) can
    leave a span short, and a message that quotes half an expression misleads.
    """
    rng = ctx.spans.token_range(node)
    tokens = ctx.spans.tokens
    if rng is not None and _all_leaves_positioned(node):
        lo, hi = rng
        after = tokens[hi + 1].token_type if hi + 1 < len(tokens) else None
        before = tokens[lo - 1].token_type if lo > 0 else None
        if after not in _CONTINUES and before not in _CONTINUED:
            return ctx.text(node)
    # Bind parameters print in the dialect's driver style (%(p)s); the neutral form reads better.
    neutral = any(isinstance(n, (exp.Placeholder, exp.Parameter)) for n in node.walk())
    return node.sql() if neutral else node.sql(dialect=ctx.dialect)


def _all_leaves_positioned(node: exp.Expression) -> bool:
    stack = [node]
    while stack:
        child = stack.pop()
        if isinstance(child, (exp.DataType, exp.DataTypeParam, exp.Star)):
            continue
        if child is not node and child.arg_key == "expression" and isinstance(child.parent, exp.Binary):
            if not any(n._meta and "start" in n._meta for n in child.walk()):
                continue  # a trailing operand without positions (`+ interval '2 hours'`): spans grow over it
        children = list(child.iter_expressions())
        if not children and not (child._meta and "start" in child._meta):
            return False
        stack.extend(children)
    return True


_CONTINUES = _token_types(
    "VAR", "NUMBER", "STRING", "IDENTIFIER", "L_PAREN", "COLON", "DCOLON", "DOT", "PARAMETER",
    "ARROW", "DARROW", "HASH_ARROW", "DHASH_ARROW",
)
_CONTINUED = _token_types("COLON", "PARAMETER", "DOT", "DCOLON")


def identifier_sql(name: str, dialect: str, table: str | None = None) -> str:
    """``name`` (optionally ``table.name``) written so the dialect reads back exactly that name.

    Quotes only where needed: a name the dialect would fold (``Note`` in PostgreSQL), one with
    unsafe characters, or one that is a keyword (``order``).
    """
    from sqlperf.engine import get_dialect

    d = get_dialect(dialect)
    keywords = d.tokenizer_class.KEYWORDS

    def one(part: str) -> str:
        ident = exp.to_identifier(part)
        if d.case_sensitive(part) or part.upper() in keywords:
            ident.set("quoted", True)
        return ident.sql(dialect=dialect)

    return f"{one(table)}.{one(name)}" if table else one(name)


def keyword_before(tokens, offset: int, types, skip=()) -> object | None:
    """The token right before ``offset`` when it is one of ``types`` (a clause keyword such as
    LIMIT or HAVING, which has no node of its own), looking past tokens of the ``skip`` types
    (``FETCH FIRST 5``); None otherwise."""
    index = next((i for i, token in enumerate(tokens) if token.start >= offset), len(tokens)) - 1
    while index >= 0 and tokens[index].token_type in skip:
        index -= 1
    return tokens[index] if index >= 0 and tokens[index].token_type in types else None


def widen_to(ctx, finding, start: int):
    """Start ``finding`` at ``start`` (e.g. at its clause keyword) and return it."""
    finding.start = start
    finding.line, finding.column = ctx.source.position(start)
    return finding


def filters_rows(node: exp.Expression, clause: exp.Expression) -> bool:
    """Only AND, OR, NOT and parentheses stand between ``node`` and its WHERE/HAVING/JOIN.

    A predicate inside CASE, a function argument or a comparison of booleans decides a
    value, not which rows are read, so an index could not serve it either way.
    """
    parent = node.parent
    negated = False
    while parent is not None and parent is not clause:
        if not isinstance(parent, (exp.And, exp.Or, exp.Not, exp.Paren)):
            return False
        negated ^= isinstance(parent, exp.Not)
        parent = parent.parent
    # Negated, an equality or an OR becomes `<>` or an AND of `<>`, which no index serves either way;
    # a negated range (NOT x > 5) is still a range.
    if negated and not isinstance(node, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)):
        return False
    return parent is clause


def source_key(ctx, column: exp.Column) -> str | None:
    """Which table instance ``column`` is read from: its alias, or its resolved table; None if unknown."""
    if column.table:
        return "alias:" + column.table.lower()
    table = ctx.resolve_column(column).table_name
    return "table:" + table.lower() if table else None


def or_keeps_index(ctx, node: exp.Expression, clause: exp.Expression, column: exp.Column) -> bool:
    """Could an index on ``column`` still serve ``node`` given the ORs around it?

    Under ``a OR b`` an index helps only when every branch can be answered from the same
    table (PostgreSQL then merges index scans). A branch on another table, or on a column
    whose table cannot be told, means the rows are read anyway, so rewriting ``node`` gains
    nothing and a finding would only nag.
    """
    key = None
    child, parent = node, node.parent
    while parent is not None and parent is not clause:
        if isinstance(parent, exp.Or):
            sibling = parent.expression if child is parent.this else parent.this
            for other in own_columns(sibling):
                key = key or source_key(ctx, column)
                if key is None or source_key(ctx, other) != key:
                    return False
        child, parent = parent, parent.parent
    return True


_AFTER_EXPRESSION = _CLOSES_PREDICATE | _token_types("FROM", "ALIAS", "INTO", "IS")


def ends_cleanly(ctx, end: int, closers=None) -> bool:
    """No token of the same expression follows offset ``end``: the next token closes it (AND, ')',
    FROM, ';' ...) or the statement ends. A span that stopped short of a bind parameter
    (``= %(p)s``) fails this, so a fix never copies half an expression."""
    tokens = ctx.statement.tokens
    following = next((t for t in tokens if t.start >= end), None)
    return following is None or following.token_type in (closers or _AFTER_EXPRESSION)
