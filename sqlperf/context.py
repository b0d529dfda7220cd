"""What a rule is handed for one statement: the tree, spans, the schema and shared analysis.

Anything expensive (scopes, column resolution) is computed lazily, at most once per
statement, and shared by every rule that asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlperf.rule import Edit, Finding, Fix, Rule
from sqlperf.spans import SpanIndex

if TYPE_CHECKING:
    from sqlperf.schema.model import Column, Schema, Table
    from sqlperf.source import SourceFile, Statement

# A predicate in these clauses decides which rows are read, so the planner's use of an
# index depends on it. A predicate anywhere else (select list, GROUP BY, SET) does not.
_QUERY_BOUNDARIES = (exp.Select, exp.Union, exp.Subquery, exp.Update, exp.Delete, exp.Insert, exp.Create)


@dataclass
class ResolvedColumn:
    column: exp.Column
    table_name: str | None  # the base table the column belongs to, when known
    table: Table | None  # from the schema, when one is loaded
    definition: Column | None  # the column's schema definition, when known
    # True when the column comes from a CTE or derived table: no index can serve it there.
    derived: bool = False

    @property
    def label(self) -> str:
        """``orders.created_at`` when the table is known, else the bare column name."""
        return f"{self.table_name}.{self.column.name}" if self.table_name else self.column.name


def located_finding(source: SourceFile, start: int, end: int, **fields) -> Finding:
    """A finding at ``source.text[start:end]``, with its 1-based line and column positions."""
    line, column = source.position(start)
    end_line, end_column = source.position(end)
    return Finding(
        path=source.display_path,
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        start=start,
        end=end,
        **fields,
    )


class RuleContext:
    def __init__(
        self,
        source: SourceFile,
        statement: Statement,
        tree: exp.Expression,
        spans: SpanIndex,
        dialect: str,
        schema: Schema | None,
    ) -> None:
        self.source = source
        self.statement = statement
        self.tree = tree
        self.spans = spans
        self.dialect = dialect
        self.schema = schema if schema else None

    # -- positions ---------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.source.display_path

    def span(self, node: exp.Expression) -> tuple[int, int]:
        """Character offsets ``[start, end)`` of ``node`` in the file's text."""
        return self.spans.span(node)

    def text(self, node: exp.Expression) -> str:
        start, end = self.span(node)
        return self.source.text[start:end]

    def edit(self, node: exp.Expression, content: str) -> Edit:
        start, end = self.span(node)
        return Edit(start, end, content)

    def finding(
        self,
        rule: Rule,
        node: exp.Expression | None,
        message: str,
        help: str = "",
        fix: Fix | None = None,
        data: dict | None = None,
        at: tuple[int, int] | None = None,
    ) -> Finding:
        """A finding on ``node`` (None: the whole statement), or on the offsets ``at`` when given."""
        if at is not None:
            start, end = at
        elif node is None:
            start, end = self.statement.start, self.statement.end
        else:
            start, end = self.span(node)
        return located_finding(
            self.source,
            start,
            end,
            code=rule.code,
            name=rule.name,
            message=message,
            help=help,
            severity=rule.severity,
            fix=fix,
            statement_index=self.statement.index,
            statement_sql=self.statement.text,
            data=data or {},
        )

    # -- structure ---------------------------------------------------------------------------
    @staticmethod
    def predicate_clause(node: exp.Expression) -> exp.Expression | None:
        """The WHERE, HAVING or JOIN (ON) clause that ``node`` sits in, within its own query.

        Returns None for the select list, GROUP BY, ORDER BY, UPDATE ... SET and anything
        that is not a row-filtering predicate of the query the node belongs to.
        """
        child: exp.Expression = node
        parent = node.parent
        while parent is not None:
            if isinstance(parent, (exp.Where, exp.Having)):
                # ``count(*) FILTER (WHERE ...)`` picks rows for an aggregate, not rows to read.
                return None if isinstance(parent.parent, exp.Filter) else parent
            if isinstance(parent, exp.Join):
                return parent if child.arg_key == "on" else None
            if isinstance(parent, _QUERY_BOUNDARIES):
                return None
            child, parent = parent, parent.parent
        return None

    @staticmethod
    def enclosing_query(node: exp.Expression) -> exp.Expression | None:
        parent = node.parent
        while parent is not None and not isinstance(parent, (exp.Select, exp.Update, exp.Delete)):
            parent = parent.parent
        return parent

    @cached_property
    def scopes(self) -> list:
        """sqlglot scopes of the statement (empty when it has none, e.g. DDL)."""
        from sqlglot.optimizer.scope import traverse_scope

        try:
            return traverse_scope(self.tree)
        except Exception:  # scope building is best-effort: a rule falls back to syntax
            return []

    @cached_property
    def _scope_by_expression(self) -> dict[int, object]:
        return {id(scope.expression): scope for scope in self.scopes}

    def scope_of(self, node: exp.Expression):
        """The innermost scope whose query contains ``node``, or None."""
        # Every node passed on the way up is remembered with the answer, so a long AND/OR
        # chain with many findings costs one climb, not one per finding.
        by_expr = self._scope_by_expression
        passed: list[int] = []
        current: exp.Expression | None = node
        scope = None
        while current is not None:
            key = id(current)
            if key in by_expr:
                scope = by_expr[key]
                break
            passed.append(key)
            current = current.parent
        for key in passed:
            by_expr[key] = scope
        return scope

    def resolve_column(self, column: exp.Column) -> ResolvedColumn:
        """The base table a column reference belongs to, and its schema definition if known.

        Uses the scope of the column's query: an alias resolves to its table; a column of a
        CTE or derived table resolves to no base table (it is not indexable as such).
        """
        table_name: str | None = None
        derived = False
        scope = self.scope_of(column)
        if scope is not None:
            source_name = column.table
            sources = scope.sources
            if not source_name:
                # Unqualified: the only base table in scope, or the one whose schema has the column.
                tables = [(alias, src) for alias, src in sources.items() if isinstance(src, exp.Table)]
                derived = bool(sources) and not tables
                if len(tables) == 1 and len(sources) == 1:
                    table_name = tables[0][1].name
                elif self.schema is not None:
                    owners = [
                        src.name for _, src in tables if (t := self.schema.table(src.name, src.db or None)) and t.column(column.name)
                    ]
                    if len(owners) == 1:
                        table_name = owners[0]
            else:
                src = sources.get(source_name)
                if isinstance(src, exp.Table):
                    table_name = src.name
                derived = src is not None and not isinstance(src, exp.Table)
        table = definition = None
        if table_name and self.schema is not None:
            table = self.schema.table(table_name)
            definition = table.column(column.name) if table else None
        return ResolvedColumn(column, table_name, table, definition, derived)
