"""Statement shapes: the same query with different values gets the same fingerprint.

SQLAlchemy hands every execution the compiled string, which is already free of values,
so the common case is a cache hit on a string whose hash Python has already computed.
Literal SQL (``text()`` with inline values, raw driver SQL) goes through a small regex
tokenizer: literals and every placeholder style become ``?``, IN-lists and VALUES rows
collapse, comments and whitespace go, and double-quoted identifiers stay identifiers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

SELECT, INSERT, UPDATE, DELETE, OTHER = "select", "insert", "update", "delete", "other"
WRITES = frozenset({INSERT, UPDATE, DELETE})

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<string>[Ee]'(?:[^'\\]|\\.|'')*'?|[NnBbXx]?'(?:[^']|'')*'?)
    |(?P<dollar>\$\$.*?\$\$|\$(?P<tag>[A-Za-z_]\w*)\$.*?\$(?P=tag)\$)
    |(?P<qident>"(?:[^"]|"")*"?|`[^`]*`?)
    |(?P<cast>::)
    |(?P<param>\?|%\(\w+\)s|%s|:\w+|\$\d+)
    |(?P<number>(?<![\w$])(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
    |(?P<word>[^\W\d][\w$]*)
    |(?P<op><>|!=|<=|>=|\|\||->>|->|.)
    """,
    re.S | re.X,
)
# A parenthesised list of nothing but placeholders: an IN-list or one VALUES row.
_PLACEHOLDER_LIST = re.compile(r"\( \?(?: , \?)* \)")
_REPEATED_ROWS = re.compile(r"\(\?\+\)(?: , \(\?\+\))+")

# Statements that are transaction control, session settings or DDL: never a query a person
# wrote in a loop, and never counted.
_IGNORED_LEADS = frozenset(
    """begin start commit end rollback savepoint release set reset show pragma create drop alter
    truncate analyze vacuum comment grant revoke discard listen unlisten notify deallocate
    checkpoint lock""".split()
)
# Reading these is schema introspection (SQLAlchemy reflection, has_table, dialect setup).
_CATALOG_WORDS = frozenset(
    """pg_catalog information_schema sqlite_master sqlite_schema sqlite_temp_master
    sqlite_temp_schema pg_class pg_namespace pg_attribute pg_index pg_type pg_constraint""".split()
)
_IGNORED_FUNCTIONS = frozenset({"version", "current_schema", "current_database", "current_setting"})
# Migration tools' own bookkeeping (Alembic, sqlalchemy-migrate): one row per step, by design.
_MIGRATION_TABLES = frozenset({"alembic_version", "migrate_version"})


@dataclass(frozen=True, slots=True)
class Shape:
    """What the recorder needs to know about one statement text."""

    fingerprint: str
    kind: str  # select / insert / update / delete / other
    ignored: bool  # transaction control, DDL, introspection or migration bookkeeping: never recorded

    @property
    def digest(self) -> str:
        """A short stable name for the fingerprint (baseline files key on it)."""
        return hashlib.blake2b(self.fingerprint.encode(), digest_size=6).hexdigest()


def normalize(sql: str) -> tuple[list[str], list[int]]:
    """The statement's tokens with values replaced by ``?``, and each token's paren depth."""
    tokens: list[str] = []
    depths: list[int] = []
    depth = 0
    for match in _TOKEN.finditer(sql):
        group = match.lastgroup
        if group in ("ws", "comment"):
            continue
        if group in ("string", "dollar", "param", "number"):
            token = "?"
        elif group == "qident":
            token = match.group()
        elif group == "word":
            token = match.group().lower()
        else:
            token = match.group()
        if token == ")":
            depth = max(0, depth - 1)
        tokens.append(token)
        depths.append(depth)
        if token == "(":
            depth += 1
    return tokens, depths


def _kind(tokens: list[str], depths: list[int]) -> str:
    """The statement's verb: for ``WITH ... AS (...) verb``, the first verb outside parentheses."""
    if not tokens:
        return OTHER
    lead = tokens[0]
    if lead in (SELECT, INSERT, UPDATE, DELETE):
        return lead
    if lead in ("with", "("):
        for token, depth in zip(tokens[1:], depths[1:]):
            if depth == 0 and token in (SELECT, INSERT, UPDATE, DELETE):
                return token
        return SELECT if lead == "(" else OTHER
    if lead in ("replace", "merge", "upsert"):
        return INSERT
    return OTHER


def _ignored(tokens: list[str]) -> bool:
    if not tokens:
        return True
    if tokens[0] in _IGNORED_LEADS:
        return True
    words = set(tokens)
    if words & _CATALOG_WORDS or words & _MIGRATION_TABLES:
        return True
    # ``SELECT version()`` and friends: dialect start-up probes, a function call and nothing else.
    return (
        tokens[0] == "select"
        and len(tokens) <= 6
        and any(t in _IGNORED_FUNCTIONS and n == "(" for t, n in zip(tokens, tokens[1:]))
        and "from" not in words
    )


@lru_cache(maxsize=4096)
def shape_of(sql: str) -> Shape:
    """The statement's :class:`Shape` (cached by text: the recorder calls this per execution)."""
    tokens, depths = normalize(sql)
    text = " ".join(tokens)
    text = _PLACEHOLDER_LIST.sub("(?+)", text)
    text = _REPEATED_ROWS.sub("(?+)", text)
    return Shape(text, _kind(tokens, depths), _ignored(tokens))


def fingerprint(sql: str) -> str:
    """The statement with its values abstracted away.

    >>> fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x' -- why")
    'select * from t where id in (?+) and name = ?'
    """
    return shape_of(sql).fingerprint
