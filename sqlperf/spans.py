"""Exact source spans for sqlglot nodes, computed from the statement's own token stream.

sqlglot records positions only on some leaves (identifiers, most literals, a function's
name), not on operators, casts, ``IS NULL`` or closing parentheses. A node's span is the
range of tokens its positioned descendants cover, then grown by what the node itself owns
in the syntax: a function's name and parentheses, a ``::type`` suffix, a leading keyword
(NOT, EXISTS, INTERVAL, CASE), a trailing operand that carries no position (``IS NULL``,
``= CURRENT_DATE``), and finally enough tokens to balance parentheses.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from sqlglot import exp
from sqlglot.parser import Parser
from sqlglot.tokens import Token, TokenType

_T = TokenType
_TYPE_TOKENS = frozenset(Parser.TYPE_TOKENS) | {_T.VAR}
_LEADING_KEYWORDS: dict[type, frozenset] = {
    exp.Not: frozenset({_T.NOT}),
    exp.Exists: frozenset({_T.EXISTS}),
    exp.Interval: frozenset({_T.INTERVAL}),
    exp.Case: frozenset({_T.CASE, _T.WHEN}),
    exp.Select: frozenset({_T.SELECT, _T.DISTINCT}),
    exp.Neg: frozenset({_T.DASH}),
}
# Tokens that may stand between an operand with a position and one without (``x IS NOT NULL``).
_OPERATOR_TOKENS = frozenset(
    {
        _T.IS, _T.NOT, _T.EQ, _T.NEQ, _T.GT, _T.GTE, _T.LT, _T.LTE, _T.PLUS, _T.DASH, _T.STAR, _T.SLASH,
        _T.MOD, _T.DPIPE, _T.LIKE, _T.ILIKE, _T.NULLSAFE_EQ, _T.AND, _T.OR, _T.DISTINCT, _T.FROM,
    }
)
_ORDER_SUFFIX = frozenset({_T.DESC, _T.ASC, _T.FIRST, _T.VAR})
_WRAPPED = (exp.Paren, exp.Subquery, exp.Tuple, exp.Exists)
_FUNCTION_NAMES = frozenset(Parser.FUNCTIONS) | frozenset(Parser.FUNCTION_PARSERS)
_JSON_ARROWS = frozenset({_T.ARROW, _T.DARROW, _T.HASH_ARROW, _T.DHASH_ARROW})
_JSON_EXTRACTS = (exp.JSONExtract, exp.JSONExtractScalar, exp.JSONBExtract, exp.JSONBExtractScalar)
# Leaves sqlglot leaves without a position; the alignment pass finds their tokens.
_ALIGNED = (exp.Placeholder, exp.Parameter, exp.Null, exp.Boolean, exp.Literal, exp.Var, exp.Star, exp.Func)
_ALIGN_WINDOW = 8


class SpanIndex:
    """Spans of nodes in one statement; ``tokens`` are that statement's tokens (file offsets)."""

    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self._starts: list[int] | None = None  # built on the first span asked for
        self._cache: dict = {}
        self._aligned: dict[int, tuple[int, int]] | None = None
        self._depth_after: list[int] | None = None

    def span(self, node: exp.Expression) -> tuple[int, int]:
        """``[start, end)`` character offsets of ``node``; the whole statement when unknown."""
        key = id(node)
        cached = self._cache.get(key)
        if cached is None:
            rng = self.token_range(node)
            if rng is None:
                cached = (self.tokens[0].start, self.tokens[-1].end + 1) if self.tokens else (0, 0)
            else:
                cached = (self.tokens[rng[0]].start, self.tokens[rng[1]].end + 1)
            self._cache[key] = cached
        return cached

    def _index(self, offset: int) -> int:
        starts = self._starts
        if starts is None:
            starts = self._starts = [t.start for t in self.tokens]
        return max(bisect_right(starts, offset) - 1, 0)

    def _positioned(self, node: exp.Expression) -> tuple[int, int] | None:
        """Token range of the positioned leaves under ``node`` (no syntax added)."""
        lo = hi = None
        for child in node.walk():
            own = self._own(child)
            if own is not None:
                a, b = own
                lo = a if lo is None or a < lo else lo
                hi = b if hi is None or b > hi else hi
        return None if lo is None else (lo, hi)

    def _own(self, node: exp.Expression) -> tuple[int, int] | None:
        """The token range a node itself stands on: from sqlglot's meta, or from alignment."""
        meta = node._meta
        if meta and "start" in meta:
            return self._index(meta["start"]), self._index(meta["end"])
        # Only leaves can be aligned; asking for any other node must not pay for the pass.
        if not isinstance(node, _ALIGNED) or (isinstance(node, exp.Func) and node.args and any(node.iter_expressions())):
            return None
        if self._aligned is None:
            self._aligned = self._align(node.root())
        return self._aligned.get(id(node))

    def _align(self, root: exp.Expression) -> dict[int, tuple[int, int]]:
        """Positions for leaves sqlglot left without one (``:p``, ``$1``, NULL, TRUE, an interval's
        unit), found as the next matching token after the previous positioned node, in source
        order. A leaf whose token is not within a few tokens is left unknown rather than guessed."""
        found: dict[int, tuple[int, int]] = {}
        toks = self.tokens
        first = _first_offsets(root)
        cursor = 0
        stack = [root]
        while stack:
            node = stack.pop()
            meta = node._meta
            if meta and "start" in meta:
                cursor = max(cursor, self._index(meta["start"]) + (0 if isinstance(node, exp.Func) else 1))
            elif isinstance(node, _ALIGNED):
                for j in range(cursor, min(cursor + _ALIGN_WINDOW, len(toks))):
                    end = _match(node, toks, j)
                    if end is not None:
                        found[id(node)] = (j, end)
                        cursor = end + 1
                        break
            stack.extend(reversed(_in_source_order(node, first)))
        return found

    def token_range(self, node: exp.Expression) -> tuple[int, int] | None:
        """Inclusive token indices of ``node``: its children's ranges plus the syntax it owns."""
        key = ("range", id(node))
        if key in self._cache:
            return self._cache[key]
        try:
            rng = self._token_range(node)
        except RecursionError:
            rng = self._positioned(node)
        self._cache[key] = rng
        return rng

    def _token_range(self, node: exp.Expression) -> tuple[int, int] | None:
        lo = hi = None
        own = self._own(node)
        if own is not None:
            lo, hi = own
        for child in node.iter_expressions():
            rng = self.token_range(child)
            if rng is not None:
                lo = rng[0] if lo is None or rng[0] < lo else lo
                hi = rng[1] if hi is None or rng[1] > hi else hi
        if lo is None:
            return None
        toks = self.tokens
        last = len(toks) - 1

        is_cast = isinstance(node, (exp.Cast, exp.TryCast))
        if is_cast and hi < last and toks[hi + 1].token_type == _T.DCOLON:
            hi = self._include_type_suffix(lo, hi)
        elif isinstance(node, exp.Func) and not node._meta:
            lo = self._include_call_name(node, lo, hi)
        if isinstance(node, exp.Func) and hi < last and toks[hi + 1].token_type == _T.L_PAREN:
            hi = self._balance(lo, hi + 1)[1]  # ``now()``: only the name carries a position
        if isinstance(node, _JSON_EXTRACTS) and hi + 1 < last and toks[hi + 1].token_type in _JSON_ARROWS:
            hi += 2  # ``payload ->> 'key'``: the path carries no position
        if isinstance(node, exp.Ordered):
            while hi < last and toks[hi + 1].token_type in _ORDER_SUFFIX:
                hi += 1
        hi = self._include_bare_operand(node, hi)
        lo, hi = self._balance(lo, hi)
        if isinstance(node, _WRAPPED) and lo > 0 and hi < last:
            if toks[lo - 1].token_type == _T.L_PAREN and toks[hi + 1].token_type == _T.R_PAREN:
                lo, hi = lo - 1, hi + 1
        keywords = _LEADING_KEYWORDS.get(type(node))
        if keywords:
            while lo > 0 and toks[lo - 1].token_type in keywords:
                lo -= 1
        if isinstance(node, exp.Case):
            while hi < last and toks[hi].token_type != _T.END:
                hi += 1
        return lo, hi

    def _include_call_name(self, node: exp.Func, lo: int, hi: int) -> int:
        """``CAST(x AS t)``, ``EXTRACT(YEAR FROM x)``: the name and '(' carry no position."""
        toks = self.tokens
        i = lo - 1
        # Step back over argument tokens without a position (``YEAR FROM`` in EXTRACT).
        while i > 0 and toks[i].token_type not in (_T.L_PAREN, _T.R_PAREN, _T.COMMA) and i > lo - 3:
            i -= 1
        if i > 0 and toks[i].token_type == _T.L_PAREN:
            name = toks[i - 1]
            if name.token_type == _T.VAR or name.text.upper() in _call_names(type(node)):
                return i - 1
        return lo

    def _include_type_suffix(self, lo: int, hi: int) -> int:
        toks = self.tokens
        last = len(toks) - 1
        if hi < last and toks[hi + 1].token_type == _T.DCOLON:
            hi += 1
            while hi < last and toks[hi + 1].token_type in _TYPE_TOKENS:
                hi += 1
                if hi < last and toks[hi + 1].token_type == _T.L_PAREN:
                    hi = self._balance(lo, hi + 1)[1]
            while hi + 1 < last and toks[hi + 1].token_type == _T.L_BRACKET and toks[hi + 2].token_type == _T.R_BRACKET:
                hi += 2
        return hi

    def _include_bare_operand(self, node: exp.Expression, hi: int) -> int:
        """Grow over a trailing operand that has no position: ``IS NULL``, ``= CURRENT_DATE``."""
        if not isinstance(node, (exp.Binary, exp.Is, exp.Like, exp.ILike, exp.Between)):
            return hi
        right = node.args.get("expression") or node.args.get("high")
        if right is None or self.token_range(right) is not None:
            return hi
        toks = self.tokens
        last = len(toks) - 1
        i = hi
        while i < last and toks[i + 1].token_type in _OPERATOR_TOKENS:
            i += 1
        if i == hi or i >= last:
            return hi
        i += 1  # the operand itself
        if toks[i].token_type == _T.INTERVAL and i < last:
            i += 1
            if i < last and toks[i + 1].token_type == _T.VAR:
                i += 1
        elif i < last and toks[i + 1].token_type == _T.L_PAREN:
            i = self._balance(i, i + 1)[1]
        return i

    def _depths(self) -> list[int]:
        """Parenthesis depth after each token, so that balancing a range is two slices, not a loop."""
        depths = self._depth_after
        if depths is None:
            depth = 0
            depths = []
            for tok in self.tokens:
                kind = tok.token_type
                if kind == _T.L_PAREN:
                    depth += 1
                elif kind == _T.R_PAREN:
                    depth -= 1
                depths.append(depth)
            self._depth_after = depths
        return depths

    def _balance(self, lo: int, hi: int) -> tuple[int, int]:
        toks = self.tokens
        after = self._depths()
        base = after[lo - 1] if lo > 0 else 0
        depth = after[hi] - base  # net opened within [lo, hi]
        lowest = min(min(after[lo : hi + 1]) - base, 0)  # most closed at any point (<= 0)
        # Unmatched ')' inside: grow to the left until they are opened.
        need = -lowest
        while need > 0 and lo > 0:
            lo -= 1
            if toks[lo].token_type == _T.L_PAREN:
                need -= 1
            elif toks[lo].token_type == _T.R_PAREN:
                need += 1
        if lowest < 0 and lo > 0 and toks[lo].token_type == _T.L_PAREN:
            # The '(' we reached opens a call whose name carries no position: EXTRACT(, CAST(.
            name = toks[lo - 1]
            if name.token_type == _T.VAR or name.text.upper() in _FUNCTION_NAMES:
                lo -= 1
        open_ = depth - lowest
        last = len(toks) - 1
        while open_ > 0 and hi < last:
            hi += 1
            if toks[hi].token_type == _T.R_PAREN:
                open_ -= 1
            elif toks[hi].token_type == _T.L_PAREN:
                open_ += 1
        return lo, hi


@lru_cache(maxsize=None)
def _call_names(cls: type) -> frozenset[str]:
    """The names a function class is written with (``SUBSTRING``, ``SUBSTR``), upper-cased."""
    return frozenset({n.upper() for n in cls.sql_names()} | {cls.key.upper()})


def _first_offsets(root: exp.Expression) -> dict[int, int]:
    """For every node, the smallest positioned offset in its subtree (absent when none)."""
    first: dict[int, int] = {}
    order: list[tuple[exp.Expression, list[exp.Expression]]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        children = list(node.iter_expressions())
        order.append((node, children))
        stack.extend(children)
    for node, children in reversed(order):  # children before parents
        meta = node._meta
        best = meta["start"] if meta and "start" in meta else None
        for child in children:
            value = first.get(id(child))
            if value is not None and (best is None or value < best):
                best = value
        if best is not None:
            first[id(node)] = best
    return first


_CLOSING_CLAUSES = (exp.Limit, exp.Offset, exp.Fetch)


def _in_source_order(node: exp.Expression, first: dict[int, int]) -> list[exp.Expression]:
    """Children in the order they are written: sqlglot keeps a SELECT's LIMIT before its FROM.
    A child without any position stays right after the sibling that precedes it, except the
    clauses that close a query (``LIMIT ? OFFSET ?``), which come after all of them."""
    children = list(node.iter_expressions())
    if len(children) < 2:
        return children
    keyed = []
    last = -1
    for position, child in enumerate(children):
        key = first.get(id(child))
        if key is not None:
            last = key
        elif isinstance(child, _CLOSING_CLAUSES):
            keyed.append((float("inf"), position, child))
            continue
        keyed.append((last, position, child))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [child for _, _, child in keyed]


def _match(node: exp.Expression, toks: list[Token], j: int) -> int | None:
    """The last token index of ``node`` if its text starts at token ``j``, else None."""
    tok = toks[j]
    kind = tok.token_type
    nxt = toks[j + 1] if j + 1 < len(toks) else None
    if isinstance(node, exp.Placeholder):
        if kind == _T.PLACEHOLDER:
            return j
        if kind == _T.COLON and nxt is not None and nxt.token_type in (_T.VAR, _T.NUMBER, _T.NAME):
            return j + 1
        if kind == _T.MOD and nxt is not None:
            # psycopg's %s and %(name)s
            if nxt.token_type == _T.VAR and nxt.text == "s":
                return j + 1
            if (
                nxt.token_type == _T.L_PAREN
                and j + 4 < len(toks)
                and toks[j + 3].token_type == _T.R_PAREN
                and toks[j + 4].text == "s"
            ):
                return j + 4
        return None
    if isinstance(node, exp.Parameter):
        return j + 1 if kind == _T.PARAMETER and nxt is not None else None
    if isinstance(node, exp.Null):
        return j if kind == _T.NULL else None
    if isinstance(node, exp.Boolean):
        return j if kind in (_T.TRUE, _T.FALSE) else None
    if isinstance(node, exp.Literal):
        return j if kind in (_T.STRING, _T.NUMBER) and tok.text == node.this else None
    if isinstance(node, exp.Var):
        return j if tok.text.upper() == node.name.upper() else None
    if isinstance(node, exp.Star):
        return j if kind == _T.STAR else None
    if isinstance(node, exp.Func) and not any(node.iter_expressions()):
        # CURRENT_DATE, now(): a call without arguments.
        names = {n.upper() for n in type(node).sql_names()}
        return j if tok.text.upper() in names or tok.text.upper() == node.key.upper() else None
    return None
