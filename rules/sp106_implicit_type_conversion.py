from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


class ImplicitTypeConversion(Rule):
    """## What it does
    Flags a column compared with a constant of another type, where the database must convert
    the column rather than the constant: a text column compared with a number
    (`phone = 5551234`), or an integer column compared with a decimal (`id = 42.0`).
    Needs the schema, for the column's type.

    ## Why is this bad?
    To compare `bigint` with `numeric`, PostgreSQL converts every `bigint` to `numeric`, and an
    index on the `bigint` column no longer matches: the lookup becomes a scan. MySQL does the
    same for a string column compared with a number, and PostgreSQL refuses `varchar = integer`
    outright. A string constant compared with a number column is fine (the constant is
    converted), and is not reported.

    ## Example
    ```sql
    -- schema: CREATE TABLE orders (id bigint PRIMARY KEY, code varchar(20));
    SELECT id FROM orders WHERE code = 12345;
    ```

    ## Use instead
    Write the constant in the column's type:
    ```sql
    -- schema: CREATE TABLE orders (id bigint PRIMARY KEY, code varchar(20));
    SELECT id FROM orders WHERE code = '12345';
    ```

    ## Fix safety
    Rewriting a whole-number decimal (`42.0` -> `42`) is safe. Quoting a number compared with
    a text column is safe on PostgreSQL, where the original comparison is an error, and
    unsafe elsewhere: MySQL compares such values as numbers, so `'0123' = 123` is true there
    and false after the fix.
    """

    code = "SP106"
    name = "implicit-type-conversion"
    category = "sargability"
    node_types = (*_COMPARISONS, exp.In)
    needs_schema = True
    fix_applicability = Applicability.SAFE

    def visit(self, node, ctx):
        from sqlperf.schema.normalize import type_family
        from sqlperf.schema.resolve import resolve_definition

        if ctx.predicate_clause(node) is None:
            return None
        if isinstance(node, exp.In):
            column, constants = _bare(node.this), [_bare(v) for v in node.expressions]
        else:
            left, right = _bare(node.left), _bare(node.right)
            column, constants = (left, [right]) if isinstance(left, exp.Column) else (right, [left])
        if not isinstance(column, exp.Column) or not constants or not all(_number(c) is not None for c in constants):
            return None
        resolved = resolve_definition(ctx, column)
        if resolved is None or not resolved[1].type:
            return None
        label, definition = resolved
        family = type_family(definition.type)
        column_type = definition.type
        if family == "text":
            edits = [ctx.edit(c, "'" + _number(c) + "'") for c in constants]
            safe = ctx.dialect in ("postgres", "postgresql")
            message = (
                f"{label} is {column_type} but is compared with a number: the column is "
                "converted on every row, so its index cannot be used (PostgreSQL rejects it outright)."
            )
            replacement = "'" + _number(constants[0]) + "'"
        elif family == "integer":
            decimals = [c for c in constants if _is_decimal(c)]
            if not decimals:
                return None
            whole = [_whole(c) for c in constants]
            safe = all(w is not None for w in whole)
            edits = [ctx.edit(c, w) for c, w in zip(constants, whole) if _is_decimal(c)] if safe else []
            message = (
                f"{label} is {column_type} but is compared with the decimal {_number(decimals[0])}: "
                "the column is converted to numeric on every row, so its index cannot be used."
            )
            replacement = whole[constants.index(decimals[0])] or ""
        else:
            return None
        fix = None
        if edits:
            fix = Fix(Applicability.SAFE if safe else Applicability.UNSAFE, edits=edits, replacement=replacement,
                      message="write the constant in the column's type")
        help_text = f"write the constant as {column_type}" + (f": {replacement}" if replacement else "")
        return [ctx.finding(self, node, message, help_text, fix, data={"column": label, "type": column_type})]


def _bare(node):
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _number(node) -> str | None:
    """The text of a numeric literal (with its sign), or None."""
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "-" + node.this.this
    if isinstance(node, exp.Literal) and not node.is_string:
        return node.this
    return None


def _is_decimal(node) -> bool:
    text = _number(node) or ""
    return any(ch in text for ch in ".eE")


def _whole(node) -> str | None:
    text = _number(node)
    if text is None:
        return None
    if not _is_decimal(node):
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return str(int(value)) if value == value.to_integral_value() else None
