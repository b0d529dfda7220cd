"""One spelling for types and index expressions, whichever loader saw them.

DDL says ``INT``, the catalog says ``integer`` and SQLAlchemy says ``INTEGER``; an index
written as ``lower(email)`` comes back from ``pg_get_indexdef`` as ``lower((email)::text)``.
Rules compare these, so every loader passes them through here first.
"""

from __future__ import annotations

from functools import lru_cache

from sqlglot import exp

_T = exp.DataType.Type

# Canonical PostgreSQL spellings; anything not listed keeps sqlglot's PostgreSQL rendering.
_CANONICAL = {
    _T.INT: "integer",
    _T.SERIAL: "integer",
    _T.BIGINT: "bigint",
    _T.BIGSERIAL: "bigint",
    _T.SMALLINT: "smallint",
    _T.SMALLSERIAL: "smallint",
    _T.TINYINT: "smallint",
    _T.FLOAT: "real",
    _T.DOUBLE: "double precision",
    _T.TEXT: "text",
    _T.BOOLEAN: "boolean",
    _T.TIMESTAMP: "timestamp",
    _T.DATETIME: "timestamp",
    _T.TIMESTAMPTZ: "timestamptz",
    _T.DATE: "date",
    _T.TIME: "time",
    _T.UUID: "uuid",
    _T.JSON: "json",
    _T.JSONB: "jsonb",
    _T.VARBINARY: "bytea",
    _T.INTERVAL: "interval",
}
_WITH_PARAMS = {_T.VARCHAR: "varchar", _T.CHAR: "char", _T.DECIMAL: "numeric", _T.NCHAR: "char", _T.NVARCHAR: "varchar"}

# Type families decide whether a comparison forces a conversion of the column (SP106).
INTEGER_TYPES = frozenset({"integer", "bigint", "smallint"})
EXACT_NUMERIC_PREFIX = "numeric"
FLOAT_TYPES = frozenset({"real", "double precision"})
TEXT_PREFIXES = ("varchar", "char", "text", "citext")
SERIAL_TYPES = frozenset({_T.SERIAL, _T.BIGSERIAL, _T.SMALLSERIAL})


def type_from_datatype(datatype: exp.DataType) -> str:
    """The canonical lower-case name of a parsed type, e.g. ``varchar(255)``, ``numeric(10,2)``."""
    kind = datatype.this
    if kind in _CANONICAL:
        return _CANONICAL[kind]
    if kind in _WITH_PARAMS:
        params = ",".join(_param_text(p) for p in datatype.expressions)
        return f"{_WITH_PARAMS[kind]}({params})" if params else _WITH_PARAMS[kind]
    if kind == _T.ARRAY and datatype.expressions:
        inner = datatype.expressions[0]
        return (type_from_datatype(inner) if isinstance(inner, exp.DataType) else inner.sql().lower()) + "[]"
    return datatype.sql(dialect="postgres").lower()


def _param_text(param: exp.Expression) -> str:
    # Rendering through the generator costs ~0.2 ms a call; a literal's text is right there.
    inner = param.this if isinstance(param, exp.DataTypeParam) else param
    return inner.name if isinstance(inner, exp.Literal) else param.sql()


@lru_cache(maxsize=1024)
def normalize_type(text: str) -> str:
    """Canonical name of a type written as text (catalog ``format_type`` output, SQLAlchemy DDL)."""
    text = text.strip()
    if not text:
        return ""
    try:
        return type_from_datatype(exp.DataType.build(text, dialect="postgres", udt=True))
    except Exception:  # an exotic type sqlglot cannot build: keep the text, still comparable
        return text.lower()


def type_family(type_name: str) -> str:
    """``integer``, ``numeric``, ``float``, ``text``, ``boolean``, ``temporal`` or ``other``."""
    if type_name in INTEGER_TYPES:
        return "integer"
    if type_name.startswith(EXACT_NUMERIC_PREFIX):
        return "numeric"
    if type_name in FLOAT_TYPES:
        return "float"
    if type_name.startswith(TEXT_PREFIXES):
        return "text"
    if type_name == "boolean":
        return "boolean"
    if type_name.startswith(("timestamp", "date", "time", "interval")):
        return "temporal"
    return "other"


def _redundant_paren(node: exp.Expression) -> bool:
    # Parentheses around an operand of an operator carry precedence ((a + b) * c); elsewhere
    # (around a column, a call, the whole expression, a function argument) they are noise.
    if not isinstance(node, exp.Paren):
        return False
    inner, parent = node.this, node.parent
    return isinstance(inner, (exp.Column, exp.Literal, exp.Func, exp.Paren)) or parent is None or isinstance(parent, (exp.Func, exp.Paren))


def _is_noise(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _redundant_paren(node)
    if isinstance(node, exp.Cast):
        return node.to.this in (_T.TEXT, _T.VARCHAR)
    if isinstance(node, exp.Column):
        return bool(node.table)
    if isinstance(node, exp.Identifier):
        return not node.quoted and node.this != node.this.lower()
    return False


def _strip_noise(node: exp.Expression) -> exp.Expression:
    """Remove what PostgreSQL adds when it prints an index back: parentheses, text casts, qualifiers.

    Unquoted identifiers fold to lower case, as PostgreSQL folds them.
    """
    if _redundant_paren(node):
        return node.this
    if isinstance(node, exp.Cast) and node.to.this in (_T.TEXT, _T.VARCHAR):
        return node.this
    if isinstance(node, exp.Column) and node.table and isinstance(node.this, exp.Identifier):
        return exp.column(node.this.copy())
    if isinstance(node, exp.Identifier) and not node.quoted and node.this != node.this.lower():
        return exp.to_identifier(node.this.lower())
    return node


@lru_cache(maxsize=4096)
def normalize_expression(sql: str, dialect: str = "postgres") -> str:
    """A comparable rendering of an index expression or predicate: ``LOWER((Email)::text)`` -> ``LOWER(email)``."""
    import sqlglot

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except Exception:
        return " ".join(sql.lower().split())
    return normalize_node(tree)


def normalize_node(node: exp.Expression) -> str:
    """Same as :func:`normalize_expression`, for an already parsed expression (the tree is not changed)."""
    # Most predicates and index keys hold no noise: render them as they are, without a copy.
    if any(_is_noise(n) for n in node.walk()):
        node = node.copy()
        # transform() does not descend into a node it just replaced, so repeat until clean.
        for _ in range(8):
            node = node.transform(_strip_noise, copy=False)
            if not any(_is_noise(n) for n in node.walk()):
                break
    return node.sql(dialect="postgres", normalize_functions="upper")
