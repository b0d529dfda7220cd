"""Index suggestions as ready-to-run DDL, and the test of whether an index already serves a query.

The rules (SP201-SP205), the verifier's what-if indexes and the report's index advisor all
call :func:`suggest_index`, so the same query gets the same suggestion whichever door it
came through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from sqlperf.schema.model import Index, Table, fold
from sqlperf.schema.normalize import normalize_expression

_MAX_IDENTIFIER = 63
_DEFAULT_SCHEMA = "public"  # on PostgreSQL's default search_path: leave it out of the DDL


@dataclass
class IndexAdvice:
    table: Table
    columns: list[str]
    descending: list[bool] = field(default_factory=list)
    expressions: list[bool] = field(default_factory=list)
    name: str = ""
    where: str | None = None

    @property
    def ddl(self) -> str:
        """``CREATE INDEX CONCURRENTLY name ON table (cols);``: concurrently, so it does not block writes."""
        entries = []
        for position, column in enumerate(self.columns):
            text = f"({column})" if self._is_expression(position) else quote_identifier(column)
            if position < len(self.descending) and self.descending[position]:
                text += " DESC"
            entries.append(text)
        where = f" WHERE {self.where}" if self.where else ""
        return f"CREATE INDEX CONCURRENTLY {quote_identifier(self.name)} ON {table_reference(self.table)} ({', '.join(entries)}){where};"

    def _is_expression(self, position: int) -> bool:
        return position < len(self.expressions) and self.expressions[position]

    def to_dict(self) -> dict:
        return {"table": self.table.qualified_name, "columns": list(self.columns), "name": self.name, "ddl": self.ddl}


def quote_identifier(name: str) -> str:
    if name.isidentifier() and name == name.lower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'


def table_reference(table: Table) -> str:
    if table.schema and fold(table.schema) != _DEFAULT_SCHEMA:
        return f"{quote_identifier(table.schema)}.{quote_identifier(table.name)}"
    return quote_identifier(table.name)


def index_name(table: Table, columns: Sequence[str], expressions: Sequence[bool] = ()) -> str:
    """``orders_status_created_at_idx``, truncated to PostgreSQL's 63 characters, unique on the table."""
    labels = []
    for position, column in enumerate(columns):
        is_expression = position < len(expressions) and expressions[position]
        labels.append(_expression_label(column) if is_expression else fold(column))
    stem = "_".join([fold(table.name), *labels])[: _MAX_IDENTIFIER - 4]
    taken = {fold(ix.name) for ix in table.all_indexes()}
    name, counter = f"{stem}_idx", 1
    while name in taken:
        suffix = f"_idx{counter}"
        name, counter = stem[: _MAX_IDENTIFIER - len(suffix)] + suffix, counter + 1
    return name


def _expression_label(sql: str) -> str:
    head = sql.split("(", 1)[0].strip().lower()
    return head if head.isidentifier() else "expr"


def index_usable(index: Index, conjuncts: Iterable[str] = ()) -> bool:
    """A partial index counts only when the query repeats every conjunct of its predicate."""
    if not index.where:
        return True
    wanted = {normalize_expression(part) for part in _split_and(index.where)}
    return wanted <= set(conjuncts)


def looks_up(table, column: str) -> bool:
    """A btree index that is not partial leads with ``column``: a condition on that column
    alone is an index lookup (and several such lookups can be merged, a BitmapOr)."""
    return any(index.method == "btree" and index_usable(index) for index in table.indexes_leading_with(column))


def _split_and(predicate: str) -> list[str]:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(predicate, read="postgres")
    except Exception:
        return [predicate]
    return [part.sql(dialect="postgres") for part in tree.flatten()] if isinstance(tree, exp.And) else [predicate]


def entry_matches(index: Index, position: int, column: str) -> bool:
    if position >= len(index.columns):
        return False
    if index.is_expression(position):
        return normalize_expression(index.columns[position]) == normalize_expression(column)
    return fold(index.columns[position]) == fold(column)


def covering_index(
    table: Table,
    equality: Sequence[str],
    rest: Sequence[str],
    conjuncts: Iterable[str] = (),
    sort: Sequence[tuple[int, bool]] = (),
) -> Index | None:
    """An existing usable index whose leading entries are ``equality`` (any order) then ``rest`` (in order).

    ``sort`` lists (position in ``rest``, descending) for the ORDER BY keys: the index must
    hold them all in the query's direction or all reversed (a btree scans both ways).
    """
    wanted_equal = {fold(c) for c in equality}
    for index in table.all_indexes():
        if index.method != "btree" or not index_usable(index, conjuncts):
            continue
        if len(index.columns) < len(equality) + len(rest):
            continue
        leading = {fold(c) for c in index.columns[: len(equality)]}
        if leading != wanted_equal:
            continue
        if not all(entry_matches(index, len(equality) + i, c) for i, c in enumerate(rest)):
            continue
        flips = [_descending(index, len(equality) + i) != desc for i, desc in sort]
        if all(flips) or not any(flips):
            return index
    return None


def _descending(index: Index, position: int) -> bool:
    return position < len(index.descending) and index.descending[position]


def suggest_index(
    table: Table,
    *,
    equality: Sequence[str] = (),
    range: Sequence[str] = (),
    order: Sequence[tuple[str, bool]] = (),
    conjuncts: Iterable[str] = (),
    expressions: Sequence[str] = (),
) -> IndexAdvice | None:
    """The index for a query: equality columns, then the first range column, then ORDER BY columns.

    ORDER BY columns are added only when no range column precedes them (or the range column is
    the first ORDER BY column): after a range condition the index order cannot serve the sort,
    so they would only make the index bigger. Returns None when an existing index already has
    these leading columns.
    """
    columns: list[str] = []
    descending: list[bool] = []
    is_expression: list[bool] = []

    def add(column: str, desc: bool = False, expression: bool = False) -> None:
        if any(fold(column) == fold(c) for c in columns):
            return
        columns.append(column)
        descending.append(desc)
        is_expression.append(expression)

    for expression in expressions:
        add(normalize_expression(expression), expression=True)
    for column in equality:
        add(column)
    first_range = next(iter(range), None)
    if first_range is not None:
        add(first_range)
    if order and (first_range is None or fold(order[0][0]) == fold(first_range)):
        for column, desc in order:
            add(column, desc)
    if not columns:
        return None
    equality_part = [c for c, e in zip(columns, is_expression) if not e][: len(set(map(fold, equality)))]
    rest = columns[len(equality_part) :] if not expressions else columns
    sort = [(i, descending[len(columns) - len(rest) + i]) for i, c in enumerate(rest) if any(fold(c) == fold(o) for o, _ in order)]
    if covering_index(table, equality_part if not expressions else [], rest, conjuncts, sort) is not None:
        return None
    return IndexAdvice(
        table=table,
        columns=columns,
        descending=descending,
        expressions=is_expression,
        name=index_name(table, columns, is_expression),
    )
