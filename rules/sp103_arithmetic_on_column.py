from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from sqlglot.tokens import TokenType

from sqlperf.analysis import (
    RANGE_COMPARISONS,
    compared_operands,
    filters_rows,
    flip,
    from_derived_table,
    is_constant,
    or_keeps_index,
    predicate_span,
    shown,
    unparen,
)
from sqlperf.rule import Applicability, Edit, Fix, Rule

_ADDITIVE = (exp.Add, exp.Sub)
# Modulo is left out: `id % 10 = 3` has no range form, so reporting it would only nag.
_MULTIPLICATIVE = (exp.Mul, exp.Div, exp.IntDiv)
_PREDICATE_OPERATORS = frozenset(
    {TokenType.EQ, TokenType.GT, TokenType.GTE, TokenType.LT, TokenType.LTE, TokenType.BETWEEN, TokenType.IN, TokenType.NOT}
)
_OPERATORS = {exp.EQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
# Interval units of a fixed length: moving them across a comparison is exact on any type.
_FIXED_UNITS = {"microsecond", "millisecond", "second", "minute", "hour"}
# A day or week is 24 hours only without time zones (timestamptz crosses DST changes).
_DAY_UNITS = {"day", "week"}
_UNIT = re.compile(r"([a-z]+?)s?$")
_INTERVAL_PART = re.compile(r"\s*[-+]?\d+(?:\.\d+)?\s*([a-z]+)\s*", re.IGNORECASE)
# Operands that can stand on either side of `-` without parentheses.
_TIGHT = (exp.Literal, exp.Func, exp.Paren, exp.Column, exp.Placeholder, exp.Parameter, exp.Interval, exp.Cast, exp.Null)


class ArithmeticOnColumn(Rule):
    """## What it does
    Flags a column inside arithmetic that is compared with a constant in a row-filtering
    predicate: `quantity + 1 = 5`, `price * 1.2 > 100`, `created_at + interval '1 day' > now()`.

    ## Why is this bad?
    An index on `created_at` is ordered by `created_at`, not by `created_at + interval '1 day'`.
    With the column inside the expression the planner cannot turn the predicate into an index
    range, so it reads every row and computes the expression for each. Moving the constant
    term to the other side asks the same question with the column bare.

    Arithmetic on the constant side (`created_at > now() - interval '1 day'`), arithmetic
    between two columns, join conditions and the select list are not reported.

    ## Example
    ```sql
    SELECT id FROM orders WHERE quantity + 1 = 5;
    ```

    ## Use instead
    ```sql
    SELECT id FROM orders WHERE quantity = 4;
    SELECT id FROM orders WHERE created_at > now() - interval '1 hour';
    ```

    ## Fix safety
    Only `+` and `-` are fixed; `*` and `/` are reported with the rewrite as a suggestion,
    because the sign of the factor and integer division change the answer.

    The fix is safe when the terms are numbers (`quantity + 1 = 5` becomes `quantity = 4`,
    computed exactly) and when they are intervals of a fixed length (hours, minutes,
    seconds). It is unsafe, and applied only with `--unsafe-fixes`, when:

    - the column is floating point (per the schema): `x + 0.1 = 0.3` and `x = 0.2` round
      differently;
    - an interval is in days or weeks and the schema does not show the column as a `date`
      or `timestamp` without time zone: on `timestamptz` a day is 23 or 25 hours across a
      daylight-saving change, so the two forms disagree within that hour;
    - an interval is in months or years: `+ 1 month` clamps to the end of shorter months
      and cannot be undone by `- 1 month`;
    - the column or the compared value is a time of day, which wraps at midnight;
    - a term or the compared value is a bind parameter: the database infers the parameter's
      type from the expression it stands in, and that expression changes.

    A comparison with a string literal (`created_at + interval '1 day' > '2024-01-01'`) gets
    no fix, since `'2024-01-01' - interval '1 day'` has no type the database can infer.
    """

    code = "SP103"
    name = "arithmetic-on-column"
    category = "sargability"
    node_types = (*RANGE_COMPARISONS, exp.Between, exp.In)
    wraps_operands = True
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        for side, others in compared_operands(node):
            form = _linear(side)
            if form is None or not all(is_constant(o) for o in others):
                continue
            clause = ctx.predicate_clause(node)
            if clause is None or not filters_rows(node, clause):
                return None
            column = form.column
            if ctx.scope_of(column) is not ctx.scope_of(node) or from_derived_table(ctx, column):
                continue
            if not or_keeps_index(ctx, node, clause, column):
                continue
            resolved = ctx.resolve_column(column)
            fix = None if form.multiplicative else _fix(node, side, others, form, resolved, ctx)
            arithmetic = shown(ctx, side)
            message = (
                f"arithmetic {arithmetic} hides column {resolved.label} in a {clause.key.upper()} predicate, so "
                f"no index on {column.name} can serve it and the expression is computed for every row."
            )
            if fix is not None:
                help_text = f"move the constant to the other side: {fix.replacement}"
            elif form.multiplicative:
                help_text = "solve for the bare column on the constant side, minding the sign of the factor and integer division"
                suggestion = _solved(ctx, node, side, others, form)
                if suggestion:
                    help_text += f": {suggestion}"
            else:
                help_text = f"move the constant terms to the other side so that {column.name} stands alone"
            return [ctx.finding(self, node, message, help_text, fix, data={"table": resolved.table_name, "column": column.name})]
        return None


class _Linear:
    """``sign * column + sum(terms)``, as read from an arithmetic operand."""

    def __init__(self, column, sign, terms, factors):
        self.column = column
        self.sign = sign
        self.terms = terms  # [(sign, node)]
        self.factors = factors  # [(Mul or Div, node)]: multiplication and division by constants

    @property
    def multiplicative(self) -> bool:
        return bool(self.factors)


def _linear(side) -> _Linear | None:
    """Read ``side`` as one column with constant terms added or subtracted; None if it is not that."""
    node, sign, terms, factors = unparen(side), 1, [], []
    if not isinstance(node, (*_ADDITIVE, *_MULTIPLICATIVE, exp.Neg)):
        return None
    while True:
        node = unparen(node)
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                return None
            return _Linear(node, sign, terms, factors)
        if isinstance(node, exp.Neg):
            sign, node = -sign, node.this
            continue
        if not isinstance(node, (*_ADDITIVE, *_MULTIPLICATIVE)):
            return None
        left, right = node.this, node.expression
        left_constant, right_constant = is_constant(left), is_constant(right)
        if left_constant == right_constant:
            return None  # two columns (or none): not one column shifted by a constant
        if isinstance(node, _MULTIPLICATIVE):
            if left_constant and not isinstance(node, exp.Mul):
                return None  # 10 / x: the column divides; leave it alone
            factors.append((type(node), left if left_constant else right))
            node = right if left_constant else left
            continue
        if right_constant:
            terms.append((sign if isinstance(node, exp.Add) else -sign, right))
            node = left
        else:
            terms.append((sign, left))
            if isinstance(node, exp.Sub):
                sign = -sign
            node = right


def _solved(ctx, node, side, others, form) -> str | None:
    """``price > 100 / 1.2`` for ``price * 1.2 > 100``: a suggestion, for one positive factor only."""
    if form.terms or form.sign < 0 or len(form.factors) != 1 or len(others) != 1 or not isinstance(node, RANGE_COMPARISONS):
        return None
    kind, factor = form.factors[0]
    value = _number(factor)
    if kind not in (exp.Mul, exp.Div) or value is None or value <= 0:
        return None
    inverse = "/" if kind is exp.Mul else "*"
    other = shown(ctx, others[0])
    if not isinstance(unparen(others[0]), _TIGHT):
        other = f"({other})"
    column = ctx.text(form.column)
    bound = f"{other} {inverse} {shown(ctx, factor)}"
    return f"{column} {_OPERATORS[type(node)]} {bound}" if side is node.this else f"{bound} {_OPERATORS[type(node)]} {column}"


def _fix(node, side, others, form, resolved, ctx) -> Fix | None:
    """Move every constant term of ``side`` to the compared values; None when there is no sound rewrite."""
    numeric = all(_number(t) is not None for _, t in form.terms)
    safety = _safety(form, others, resolved, numeric)
    span = predicate_span(ctx, node)
    if safety is None or span is None or not _side_is_whole(ctx, node, side, span):
        return None
    column_text = ctx.text(form.column)
    if numeric and all(_number(o) is not None for o in others):
        values = [_computed(o, form) for o in others]
        if isinstance(node, exp.Between) and form.sign < 0:
            values.reverse()  # -x BETWEEN 1 AND 3 is x BETWEEN -3 AND -1
        if isinstance(node, RANGE_COMPARISONS) and form.sign < 0:
            # -x + c < k is x > c - k: the operator turns around, whichever side the column is on.
            left, right = (column_text, values[0]) if side is node.this else (values[0], column_text)
            replacement = f"{left} {_OPERATORS[flip(type(node))]} {right}"
        else:
            edits = [(ctx.span(side), column_text)] + [(ctx.span(o), v) for o, v in zip(others, values)]
            replacement = _edited(ctx, span, edits)
    else:
        replacement = _moved_text(ctx, node, side, form, span)
        if replacement is None:
            return None
    return Fix(safety, [Edit(span[0], span[1], replacement)], replacement, "move the constant terms to the other side")


def _side_is_whole(ctx, node, side, span) -> bool:
    """The operand's span reaches the predicate's operator, so editing it leaves nothing behind."""
    rng = ctx.spans.token_range(side)
    if rng is None:
        return False
    tokens = ctx.spans.tokens
    lo, hi = rng
    if side is node.this:
        return tokens[lo].start == span[0] and hi + 1 < len(tokens) and tokens[hi + 1].token_type in _PREDICATE_OPERATORS
    return tokens[hi].end + 1 == span[1] and lo > 0 and tokens[lo - 1].token_type in _PREDICATE_OPERATORS


def _edited(ctx, span, edits) -> str:
    text = ctx.source.text[span[0] : span[1]]
    for (start, end), content in sorted(edits, reverse=True):
        text = text[: start - span[0]] + content + text[end - span[0] :]
    return text


def _moved_text(ctx, node, side, form, span) -> str | None:
    """``ts + interval '1 hour' > now()`` as ``ts > now() - interval '1 hour'``, from the source text.

    Only the plain shape (column and one term, column on the left of the comparison) is
    rewritten: every piece is then cut from the original text at token boundaries.
    """
    if form.sign < 0 or len(form.terms) != 1 or side is not node.this or not isinstance(node, RANGE_COMPARISONS):
        return None
    if not isinstance(side, _ADDITIVE) or form.column not in (side.this, side.expression):
        return None
    tokens = ctx.spans.tokens
    text = ctx.source.text
    side_start, side_end = ctx.span(side)
    column_range = ctx.spans.token_range(form.column)
    if column_range is None:
        return None
    column_lo, column_hi = column_range
    if side.this is form.column:
        if column_hi + 2 >= len(tokens) or tokens[column_hi + 1].token_type not in (TokenType.PLUS, TokenType.DASH):
            return None
        term_text = text[tokens[column_hi + 2].start : side_end]
    else:
        if column_lo < 1 or tokens[column_lo - 1].token_type != TokenType.PLUS:
            return None
        term_text = text[side_start : tokens[column_lo - 1].start].rstrip()
    operator = tokens[ctx.spans.token_range(side)[1] + 1]
    other_text = text[operator.end + 1 : span[1]].strip()
    other = node.expression
    if isinstance(unparen(other), exp.Binary) and not isinstance(unparen(other), (exp.Add, exp.Sub, exp.Mul, exp.Div)):
        other_text = f"({other_text})"
    term = form.terms[0][1]
    if not isinstance(term, _TIGHT) and not isinstance(term, (exp.Mul, exp.Div)):
        term_text = f"({term_text})"
    sign = " - " if form.terms[0][0] > 0 else " + "
    return f"{ctx.text(form.column)} {operator.text} {other_text}{sign}{term_text}"


def _safety(form, others, resolved, numeric) -> Applicability | None:
    if any(isinstance(unparen(o), exp.Literal) and unparen(o).is_string for o in others):
        return None
    if not numeric and form.sign < 0:
        return None  # now() - ts < interval ...: only numbers are negated exactly
    family = None
    if resolved.definition is not None and resolved.definition.type:
        from sqlperf.schema.normalize import type_family  # only with a schema: no import without one

        family = type_family(resolved.definition.type)
    column_type = resolved.definition.type if family else ""
    safe = True
    if any(_has_parameter(n) for n in [*others, *(t for _, t in form.terms)]):
        safe = False
    if numeric:
        if family == "float":
            safe = False
    else:
        if _time_of_day(column_type, others):
            safe = False  # time of day wraps at midnight: t + 1 hour > 23:30 is not t > 22:30
        for _, term in form.terms:
            units = _interval_units(term)
            if units is None:
                return None
            if units <= _FIXED_UNITS:
                continue
            if units <= _FIXED_UNITS | _DAY_UNITS and _wall_clock_type(column_type):
                continue
            safe = False
    return Applicability.SAFE if safe else Applicability.UNSAFE


def _time_of_day(column_type: str, others) -> bool:
    if column_type.lower().startswith("time") and not column_type.lower().startswith("timestamp"):
        return True
    kinds = (exp.CurrentTime, exp.Localtime)
    for other in others:
        for node in other.walk():
            if isinstance(node, kinds) or (isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.TIME, exp.DataType.Type.TIMETZ)):
                return True
    return False


def _wall_clock_type(type_name: str) -> bool:
    """Types where a day is always 24 hours: date, timestamp without time zone, MySQL DATETIME."""
    name = type_name.lower()
    return name in ("date", "datetime") or (name.startswith("timestamp") and "with time zone" not in name and not name.startswith("timestamptz"))


def _computed(other, form) -> str:
    total = _number(other) - sum(sign * _number(term) for sign, term in form.terms)
    return _format(-total if form.sign < 0 else total)


def _number(node) -> Decimal | None:
    node = unparen(node)
    negative = False
    if isinstance(node, exp.Neg):
        negative, node = True, unparen(node.this)
    if not isinstance(node, exp.Literal) or node.is_string:
        return None
    try:
        value = Decimal(node.this)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return -value if negative else value


def _format(value: Decimal) -> str:
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def _has_parameter(node) -> bool:
    return any(isinstance(n, (exp.Placeholder, exp.Parameter)) for n in node.walk())


def _interval_units(term) -> set[str] | None:
    """The units an interval constant is written in (``{'day'}``), or None if it is not an interval."""
    term = unparen(term)
    if isinstance(term, exp.Cast) and term.to.this == exp.DataType.Type.INTERVAL:
        body = term.this
        unit = None
    elif isinstance(term, exp.Interval):
        body, unit = term.this, term.args.get("unit")
    else:
        return None
    if unit is not None:
        name = unit.name.lower()
        match = _UNIT.match(name)
        return {match.group(1)} if match else None
    if not isinstance(body, exp.Literal) or not body.is_string:
        return None
    parts = _INTERVAL_PART.findall(body.this)
    if not parts or _INTERVAL_PART.sub("", body.this).strip():
        return None
    units = set()
    for part in parts:
        match = _UNIT.match(part.lower())
        if not match:
            return None
        units.add(match.group(1))
    return units
