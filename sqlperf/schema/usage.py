"""How one query uses its tables: which columns it filters, joins on and sorts by.

Computed once per SELECT and shared by the index rules (SP201, SP202, SP204, SP205): each
of them asks a different question of the same facts. Only conjuncts of WHERE and JOIN ON
count; a predicate under OR, NOT or a function is left to the sargability rules.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property

from sqlglot import exp

from sqlperf.analysis import chain_operands
from sqlperf.schema.model import Table, fold
from sqlperf.schema.normalize import normalize_node
from sqlperf.schema.resolve import write_scope

_RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE)
_CONSTANT_LEAVES = (exp.Literal, exp.Placeholder, exp.Parameter, exp.Null, exp.Boolean, exp.DataType, exp.Var)
_CONSTANT_FUNCTIONS = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime)


@dataclass
class Filter:
    alias: str
    column: str
    node: exp.Column
    kind: str  # "eq" (=, single-value IN), "in" (IN list or subquery), "range" (<, >, BETWEEN, LIKE 'x%')


@dataclass
class JoinKey:
    left_alias: str
    left: exp.Column
    right_alias: str
    right: exp.Column


class LazyConjuncts:
    """A set of normalised predicates, rendered on first use: only partial indexes ever need it."""

    def __init__(self, predicates: list[exp.Expression]) -> None:
        self._predicates = predicates
        self._rendered: frozenset[str] | None = None

    def _get(self) -> frozenset[str]:
        if self._rendered is None:
            self._rendered = frozenset(normalize_node(p) for p in self._predicates)
        return self._rendered

    def __iter__(self):
        return iter(self._get())

    def __contains__(self, item: object) -> bool:
        return item in self._get()

    def __len__(self) -> int:
        return len(self._get())


@dataclass
class QueryUsage:
    select: exp.Expression  # a SELECT, or an UPDATE / DELETE
    tables: dict[str, Table] = field(default_factory=dict)  # alias -> schema table, base tables only
    filters: list[Filter] = field(default_factory=list)
    expression_filters: dict[str, list[str]] = field(default_factory=dict)  # alias -> normalised expressions
    joins: list[JoinKey] = field(default_factory=list)
    predicates: list[exp.Expression] = field(default_factory=list)  # the conjuncts of WHERE and JOIN ON
    order: list[tuple[str, exp.Column, bool]] = field(default_factory=list)  # (alias, column, desc)
    order_complete: bool = False  # every ORDER BY item is a plain column of a base table
    has_limit: bool = False
    # alias -> columns the enclosing query joins this derived table's body on with `=`: once the
    # planner pulls the subquery up, a nested loop looks them up like equality filters.
    joined_outside: dict[str, set[str]] = field(default_factory=dict)

    @cached_property
    def conjuncts(self) -> LazyConjuncts:
        """The predicates normalised, to match partial indexes: rendered only when one is asked about."""
        return LazyConjuncts(self.predicates)

    def filters_on(self, alias: str, kinds: tuple[str, ...] = ("eq", "in", "range")) -> list[Filter]:
        return [f for f in self.filters if f.alias == alias and f.kind in kinds]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def query_usage(ctx, select: exp.Expression) -> QueryUsage | None:
    """The usage of a SELECT, UPDATE or DELETE (None without a schema or scope), cached per statement."""
    if ctx.schema is None:
        return None
    per_ctx = _CACHE.get(ctx)
    if per_ctx is None:
        per_ctx = _CACHE[ctx] = {}
    key = id(select)
    if key not in per_ctx:
        per_ctx[key] = _analyse(ctx, select)
    return per_ctx[key]


def _analyse(ctx, select: exp.Expression) -> QueryUsage | None:
    scope = write_scope(select) if isinstance(select, (exp.Update, exp.Delete)) else ctx.scope_of(select)
    if scope is None or scope.expression is not select:
        return None
    usage = QueryUsage(select)
    for alias, source in scope.sources.items():
        if isinstance(source, exp.Table):
            table = ctx.schema.table(source.name, source.db or None)
            if table is not None:
                usage.tables[alias] = table
    if not usage.tables:
        return usage
    predicates: list[exp.Expression] = []
    where = select.args.get("where")
    if where is not None:
        predicates.extend(chain_operands(where.this, exp.And, unwrap=True))
    for join in select.args.get("joins") or []:
        on = join.args.get("on")
        if on is not None:
            predicates.extend(chain_operands(on, exp.And, unwrap=True))
    for predicate in predicates:
        usage.predicates.append(predicate)
        _classify(usage, scope, predicate)
    _read_order(usage, scope, select)
    _read_outer_join_keys(usage, scope, select)
    usage.has_limit = isinstance(select, exp.Select) and bool(select.args.get("limit") or select.args.get("fetch"))
    return usage


def _bare(node: exp.Expression | None) -> exp.Expression | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def is_constant(node: exp.Expression | None) -> bool:
    """No column and no subquery inside: a literal, a parameter, or a function of those (``now()``)."""
    node = _bare(node)
    if node is None:
        return False
    if isinstance(node, (*_CONSTANT_LEAVES, *_CONSTANT_FUNCTIONS)):
        return True
    if isinstance(node, (exp.Column, exp.Query, exp.Subquery, exp.Star)):
        return False
    return all(not isinstance(n, (exp.Column, exp.Query, exp.Star)) for n in node.walk())


def resolve_alias(usage: QueryUsage, scope, column: exp.Column) -> str | None:
    """The alias of the base table ``column`` belongs to in this query, or None."""
    if column.table:
        return column.table if column.table in usage.tables else None
    # Unqualified: the one schema table in scope that has the column, and only when every source
    # is a known table (a derived table or CTE could hold a column of the same name).
    if any(alias not in usage.tables for alias in scope.sources):
        return None
    owners = [alias for alias, table in usage.tables.items() if table.column(column.name)]
    return owners[0] if len(owners) == 1 else None


def _classify(usage: QueryUsage, scope, predicate: exp.Expression) -> None:
    if isinstance(predicate, (exp.EQ, *_RANGE)):
        left, right = _bare(predicate.left), _bare(predicate.right)
        if isinstance(left, exp.Column) and isinstance(right, exp.Column):
            a, b = resolve_alias(usage, scope, left), resolve_alias(usage, scope, right)
            if a and b and a != b:
                usage.joins.append(JoinKey(a, left, b, right)) if isinstance(predicate, exp.EQ) else None
            # A correlated reference to the outer query is a constant for each execution of this one.
            kind = "eq" if isinstance(predicate, exp.EQ) else "range"
            if a and not b and _outer(scope, right):
                _add_filter(usage, scope, left, kind)
            elif b and not a and _outer(scope, left):
                _add_filter(usage, scope, right, kind)
            return
        column, other = (left, right) if isinstance(left, exp.Column) else (right, left)
        kind = "eq" if isinstance(predicate, exp.EQ) else "range"
        if isinstance(column, exp.Column) and is_constant(other):
            _add_filter(usage, scope, column, kind)
        elif is_constant(other) and column is not None and column.find(exp.Column) is not None:
            _add_expression_filter(usage, scope, column)
        elif is_constant(column) and other is not None and other.find(exp.Column) is not None:
            _add_expression_filter(usage, scope, other)
    elif isinstance(predicate, exp.In):
        column = _bare(predicate.this)
        values = predicate.expressions
        if isinstance(column, exp.Column):
            if values and all(is_constant(v) for v in values):
                _add_filter(usage, scope, column, "eq" if len(values) == 1 else "in")
            elif predicate.args.get("query") is not None:
                _add_filter(usage, scope, column, "in")
    elif isinstance(predicate, exp.Between):
        column = _bare(predicate.this)
        if isinstance(column, exp.Column) and is_constant(predicate.args.get("low")) and is_constant(predicate.args.get("high")):
            _add_filter(usage, scope, column, "range")
    elif isinstance(predicate, exp.Like):
        column, pattern = _bare(predicate.this), _bare(predicate.expression)
        # Only a literal prefix pattern can use a btree index; a leading wildcard is SP104's.
        if isinstance(column, exp.Column) and isinstance(pattern, exp.Literal) and pattern.is_string:
            if pattern.this and pattern.this[0] not in "%_":
                _add_filter(usage, scope, column, "range")


def _outer(scope, column: exp.Column) -> bool:
    """A qualified column whose table is not a source of this query: it belongs to an outer one."""
    return bool(column.table) and column.table not in scope.sources


def _add_filter(usage: QueryUsage, scope, column: exp.Column, kind: str) -> None:
    alias = resolve_alias(usage, scope, column)
    if alias is not None and usage.tables[alias].column(column.name) is not None:
        usage.filters.append(Filter(alias, column.name, column, kind))


def _add_expression_filter(usage: QueryUsage, scope, expression: exp.Expression) -> None:
    columns = list(expression.find_all(exp.Column))
    aliases = {resolve_alias(usage, scope, c) for c in columns}
    if len(aliases) == 1 and None not in aliases:
        usage.expression_filters.setdefault(aliases.pop(), []).append(normalize_node(expression))


def _read_outer_join_keys(usage: QueryUsage, scope, select: exp.Expression) -> None:
    """``JOIN (SELECT model_id, ... FROM params WHERE ...) AS p ON m.model_id = p.model_id``:
    the body's ``params.model_id`` is fixed, per outer row, by the join. Only for a body the
    planner can merge into the outer query: no grouping, DISTINCT, LIMIT or window function."""
    derived = select.parent
    if not isinstance(select, exp.Select) or not isinstance(derived, exp.Subquery) or not derived.alias:
        return
    if not isinstance(derived.parent, (exp.From, exp.Join)):
        return
    if any(select.args.get(key) for key in ("group", "having", "distinct", "limit", "offset", "fetch")):
        return
    if any(projection.find(exp.Window, exp.AggFunc) for projection in select.expressions):
        return
    outer = derived.parent
    while outer is not None and not isinstance(outer, exp.Select):
        outer = outer.parent
    if outer is None:
        return
    conditions = [join.args.get("on") for join in outer.args.get("joins") or []]
    where = outer.args.get("where")
    conditions.append(where.this if where is not None else None)
    joined = set()
    for condition in conditions:
        for predicate in chain_operands(condition, exp.And, unwrap=True) if condition is not None else ():
            if not isinstance(predicate, exp.EQ):
                continue
            left, right = _bare(predicate.left), _bare(predicate.right)
            if isinstance(left, exp.Column) and isinstance(right, exp.Column):
                for mine, other in ((left, right), (right, left)):
                    if mine.table == derived.alias and other.table != derived.alias:
                        joined.add(mine.name)
    for projection in select.expressions:
        if projection.alias_or_name in joined:
            column = _bare(projection.unalias())
            alias = resolve_alias(usage, scope, column) if isinstance(column, exp.Column) else None
            if alias is not None:
                usage.joined_outside.setdefault(alias, set()).add(fold(column.name))


def _read_order(usage: QueryUsage, scope, select: exp.Expression) -> None:
    order = select.args.get("order")
    if order is None or not isinstance(select, exp.Select):
        return
    complete = True
    for item in order.expressions:
        target = _bare(item.this) if isinstance(item, exp.Ordered) else None
        alias = resolve_alias(usage, scope, target) if isinstance(target, exp.Column) else None
        if alias is None or usage.tables[alias].column(target.name) is None:
            complete = False
            continue
        usage.order.append((alias, target, bool(item.args.get("desc"))))
    usage.order_complete = complete and bool(usage.order)


def leads_usable_index(table: Table, usage: QueryUsage, alias: str) -> bool:
    """Whether some filter of ``alias`` (column or expression), or a key the enclosing query joins
    its derived table on, leads an index the query can use."""
    from sqlperf.schema.advice import index_usable
    from sqlperf.schema.normalize import normalize_expression

    columns = {fold(f.column) for f in usage.filters_on(alias)} | usage.joined_outside.get(alias, set())
    expressions = set(usage.expression_filters.get(alias, ()))
    for index in table.all_indexes():
        if not index.columns or not index_usable(index, usage.conjuncts):
            continue
        if index.is_expression(0):
            if normalize_expression(index.columns[0]) in expressions:
                return True
        elif fold(index.columns[0]) in columns:
            return True
    return False


def later_in_composite(table: Table, usage: QueryUsage, alias: str) -> list[tuple[Filter, object, int]]:
    """(filter, index, position) where a filtered column sits after the first column of a usable index."""
    from sqlperf.schema.advice import index_usable

    found = []
    for item in usage.filters_on(alias):
        for index, position in table.indexes_containing(item.column):
            if position > 0 and index.method == "btree" and index_usable(index, usage.conjuncts):
                found.append((item, index, position))
    return found


def small_table(table: Table, min_rows: float) -> bool:
    """A known row estimate below ``min_rows``: a scan costs less than an index would save."""
    return table.row_estimate is not None and table.row_estimate < min_rows


def sort_columns_for(usage: QueryUsage, alias: str) -> list[tuple[str, bool]]:
    """ORDER BY columns to put in an index on ``alias``: only when every sort key is its own column."""
    if not usage.order_complete or any(a != alias for a, _, _ in usage.order):
        return []
    return [(column.name, desc) for _, column, desc in usage.order]
