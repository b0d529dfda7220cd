"""Placeholders of every driver style rewritten to PostgreSQL's ``$n``, so a generic plan can be made.

The scan skips string literals, quoted identifiers, dollar-quoted bodies and comments, so
a ``?`` or ``:x`` inside text is left alone. ``::type`` casts are not parameters, nor is
``arr[1:n]``. A ``?`` is a parameter only where a value can stand (after an operator, a
comma, an opening parenthesis or a keyword); after an identifier it is the jsonb operator.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_NUMBERED = re.compile(r"\$(\d+)")
_PYFORMAT = re.compile(r"%(?:\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\))?s")

# After these words a value (and so a placeholder) may follow.
_VALUE_KEYWORDS = frozenset(
    "select where and or not is in like ilike between then else when case limit offset values set return "
    "by on having returning fetch first next array any all some distinct from using".split()
)


def to_numbered_params(sql: str) -> tuple[str, int]:
    """``sql`` with its placeholders rewritten to ``$1..$n``, and ``n``.

    The same ``:name`` or ``%(name)s`` gets the same number each time it appears.

    >>> to_numbered_params("SELECT * FROM t WHERE a = :a AND b = :b OR a = :a")
    ('SELECT * FROM t WHERE a = $1 AND b = $2 OR a = $1', 2)
    >>> to_numbered_params("SELECT '?', x::int FROM t WHERE y = ? AND j ? 'k'")
    ("SELECT '?', x::int FROM t WHERE y = $1 AND j ? 'k'", 1)
    """
    if not any(ch in sql for ch in "?:%$"):
        return sql, 0
    out: list[str] = []
    names: dict[str, int] = {}
    highest = 0
    positional = 0
    prev_sig = ""  # the previous significant token, lower-cased ("" at the start)
    bracket_depth = 0
    i, n = 0, len(sql)

    def number_for(name: str | None) -> int:
        nonlocal positional
        if name is None:
            positional += 1
            return positional + highest
        if name not in names:
            names[name] = len(names) + 1 + highest
        return names[name]

    # $n already present: keep them as they are and number nothing else.
    if _has_numbered(sql):
        return sql, max(int(m) for m in _numbered_outside_literals(sql))

    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        if ch == "/" and nxt == "*":
            end = _block_comment_end(sql, i)
            out.append(sql[i:end])
            i = end
            continue
        if ch == "'" or (ch in "eE" and nxt == "'" and not _word_before(sql, i)):
            end = _quoted_end(sql, i + (1 if ch != "'" else 0), "'", backslash=ch in "eE")
            out.append(sql[i:end])
            i = end
            prev_sig = "'"
            continue
        if ch == '"':
            end = _quoted_end(sql, i, '"', backslash=False)
            out.append(sql[i:end])
            i = end
            prev_sig = "ident"
            continue
        if ch == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            if tag:
                close = sql.find(tag.group(0), tag.end())
                end = n if close < 0 else close + len(tag.group(0))
                out.append(sql[i:end])
                i = end
                prev_sig = "'"
                continue
        if ch == "%":
            m = _PYFORMAT.match(sql, i)
            if m:
                out.append(f"${number_for(m['name'])}")
                i = m.end()
                prev_sig = "param"
                continue
            if nxt == "%":  # a literal percent in pyformat style
                out.append("%")
                i += 2
                continue
        if ch == ":" and nxt == ":":
            out.append("::")
            i += 2
            prev_sig = "::"
            continue
        if ch == ":" and bracket_depth == 0 and prev_sig != "::":
            m = _WORD.match(sql, i + 1)
            if m:
                out.append(f"${number_for(m.group(0))}")
                i = m.end()
                prev_sig = "param"
                continue
        if ch == "?" and (not nxt or nxt not in "|&-#") and _value_position(prev_sig):
            out.append(f"${number_for(None)}")
            i += 1
            prev_sig = "param"
            continue
        if ch.isspace():
            out.append(ch)
            i += 1
            continue
        word = _WORD.match(sql, i) if (ch.isalpha() or ch == "_") else None
        if word:
            out.append(word.group(0))
            prev_sig = word.group(0).lower()
            i = word.end()
            continue
        if ch == "[":
            bracket_depth += 1
        elif ch == "]":
            bracket_depth = max(0, bracket_depth - 1)
        out.append(ch)
        prev_sig = ch if not ch.isdigit() else "number"
        i += 1
    return "".join(out), positional + len(names)


def _value_position(prev: str) -> bool:
    if prev in ("", "ident", "'", "number", "param", ")", "]"):
        return prev == ""
    if prev[0].isalpha() or prev[0] == "_":
        return prev in _VALUE_KEYWORDS
    return True  # an operator, comma or opening parenthesis


def _word_before(sql: str, i: int) -> bool:
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")


def _quoted_end(sql: str, start: int, quote: str, *, backslash: bool) -> int:
    i = start + 1
    n = len(sql)
    while i < n:
        c = sql[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _block_comment_end(sql: str, start: int) -> int:
    depth, i, n = 0, start, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _numbered_outside_literals(sql: str) -> list[str]:
    return [m.group(1) for m in _NUMBERED.finditer(_blank_literals(sql))]


def _has_numbered(sql: str) -> bool:
    return bool(_numbered_outside_literals(sql))


def _blank_literals(sql: str) -> str:
    """``sql`` with string literals, quoted identifiers, dollar bodies and comments blanked out."""
    out = []
    i, n = 0, len(sql)
    while i < n:
        ch, nxt = sql[i], sql[i + 1] if i + 1 < n else ""
        end = None
        if ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif ch == "/" and nxt == "*":
            end = _block_comment_end(sql, i)
        elif ch in "'\"":
            end = _quoted_end(sql, i, ch, backslash=False)
        elif ch == "$":
            tag = _DOLLAR_TAG.match(sql, i)
            if tag:
                close = sql.find(tag.group(0), tag.end())
                end = n if close < 0 else close + len(tag.group(0))
        if end is not None:
            out.append(" " * (end - i))
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def has_params(sql: str) -> bool:
    return to_numbered_params(sql)[1] > 0
