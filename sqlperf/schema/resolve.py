"""Which table and column a reference means, where sqlglot's scopes stop short.

sqlglot builds no scope for UPDATE and DELETE, and a scope maps a CTE or derived-table
column to that query, not to the base column it selects. These helpers go the rest of the
way for the schema rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp


@dataclass
class WriteScope:
    """The tables an UPDATE or DELETE reads, keyed like a sqlglot scope (sqlglot builds none for them)."""

    expression: exp.Expression
    sources: dict[str, exp.Table]


def write_scope(statement: exp.Expression) -> WriteScope | None:
    if not isinstance(statement, (exp.Update, exp.Delete)):
        return None
    tables = [statement.this]
    extra = statement.args.get("from_") if isinstance(statement, exp.Update) else None
    if extra is not None:
        tables.append(extra.this)
    tables += [join.this for join in statement.args.get("joins") or []]
    tables += list(statement.args.get("using") or [])
    sources: dict[str, exp.Table] = {}
    for table in tables:
        if not isinstance(table, exp.Table) or not table.name:
            return None  # a subquery among the sources: leave the statement alone
        sources[table.alias_or_name] = table
    return WriteScope(statement, sources)


def resolve_definition(ctx, column: exp.Column):
    """``ctx.resolve_column``, extended to the target table of an UPDATE or DELETE.

    Returns (label, Column definition) or None.
    """
    resolved = ctx.resolve_column(column)
    if resolved.definition is not None:
        return resolved.label, resolved.definition
    through = _through_derived(ctx, column, ctx.scope_of(column), depth=0)
    if through is not None:
        return through
    scope = write_scope(ctx.tree)
    if scope is None or ctx.schema is None:
        return None
    if column.table:
        source = scope.sources.get(column.table)
        candidates = [source] if source is not None else []
    else:
        candidates = list(scope.sources.values())
    owners = []
    for source in candidates:
        table = ctx.schema.table(source.name, source.db or None)
        if table is not None and table.column(column.name) is not None:
            owners.append((table, table.column(column.name)))
    if len(owners) != 1:
        return None
    table, definition = owners[0]
    return f"{table.name}.{column.name}", definition


def _through_derived(ctx, column: exp.Column, scope, depth: int):
    """Follow a column of a CTE or derived table to the base column it selects unchanged.

    ``WITH x AS (SELECT code AS c FROM t) ... WHERE x.c = 1`` compares ``t.code``: the type is
    that column's, whatever the name it travels under.
    """
    if scope is None or depth > 8 or ctx.schema is None:
        return None
    if column.table:
        source = scope.sources.get(column.table)
    else:
        derived = [src for src in scope.sources.values() if not isinstance(src, exp.Table)]
        source = derived[0] if len(derived) == 1 and len(scope.sources) == 1 else None
    inner = getattr(source, "expression", None)
    if not isinstance(inner, exp.Select):
        return None
    picked = [e for e in inner.expressions if e.alias_or_name == column.name]
    if len(picked) != 1:
        return None
    target = picked[0].this if isinstance(picked[0], exp.Alias) else picked[0]
    if not isinstance(target, exp.Column):
        return None
    inner_scope = source
    if target.table:
        base = inner_scope.sources.get(target.table)
    else:
        tables = list(inner_scope.sources.values())
        base = tables[0] if len(tables) == 1 else None
    if isinstance(base, exp.Table):
        table = ctx.schema.table(base.name, base.db or None)
        definition = table.column(target.name) if table is not None else None
        return (f"{table.name}.{target.name}", definition) if definition is not None else None
    return _through_derived(ctx, target, inner_scope, depth + 1)
