from sqlglot import exp

from sqlperf.analysis import (
    bare_column,
    chain_operands,
    filters_rows,
    from_derived_table,
    indexable_column,
    shown,
)
from sqlperf.rule import Applicability, Fix, Rule


class OrAcrossColumns(Rule):
    """## What it does
    Flags an `OR` whose branches filter different columns of the same table, such as
    `status = 'open' OR assignee_id = 42`, when it is the table's only filter.

    ## Why is this bad?
    An index serves one column's condition. With `OR` across columns no single index can
    answer the predicate: the planner either scans the whole table or, when every column has
    an index of its own, reads each index and merges the results (a BitmapOr in PostgreSQL,
    an index merge in MySQL), which composite indexes cannot help with. Splitting the query
    into `UNION ALL` branches gives each branch an ordinary index lookup.

    An `OR` on one column (`status = 'a' OR status = 'b'`, really an `IN`), an `OR` across
    tables, and an `OR` next to a filter or join key on another column of the same table
    (an index on that column can drive the query, the `OR` then only filters) are not reported.

    ## Example
    ```sql
    SELECT id FROM tickets WHERE status = 'open' OR assignee_id = 42;
    ```

    ## Use instead
    ```sql
    SELECT id FROM tickets WHERE status = 'open'
    UNION ALL
    SELECT id FROM tickets WHERE assignee_id = 42 AND (status = 'open') IS NOT TRUE;
    ```
    `IS NOT TRUE` keeps rows the first branch already returned out of the second, NULLs
    included. Without a schema sqlperf cannot see whether each column has an index: `--verify`
    shows whether the planner merges index lookups (a BitmapOr) or scans.
    """

    code = "SP108"
    name = "or-across-columns"
    category = "sargability"
    node_types = (exp.Or,)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        if isinstance(_outer(node), exp.Or):
            return None  # the outermost OR of a chain speaks for it
        branches = chain_operands(node, exp.Or, unwrap=True)
        columns = []
        for branch in branches:
            column = indexable_column(branch)
            if column is None:
                return None
            columns.append(column)
        if len({c.name.lower() for c in columns}) < 2:
            return None
        clause = ctx.predicate_clause(node)
        if clause is None or not filters_rows(node, clause):
            return None
        if any(ctx.scope_of(c) is not ctx.scope_of(node) for c in columns):
            return None
        table = _one_table(ctx, columns)
        if table is None or any(from_derived_table(ctx, c) for c in columns):
            return None
        if _driven_by_other_filter(ctx, node, table, {c.name.lower() for c in columns}):
            return None
        if _each_column_indexed(ctx, columns):
            return None
        names = list(dict.fromkeys(c.name for c in columns))
        label = table[1]
        message = (
            f"OR across columns {', '.join(f'{label}.{n}' for n in names)}: no single index serves it, so the "
            "planner scans the table unless it can merge a separate index on each column."
        )
        branches_sql = _union_branches(ctx, branches, columns)
        fix = Fix(Applicability.DISPLAY, replacement=" UNION ALL ".join(f"... WHERE {b}" for b in branches_sql),
                  message="one UNION ALL branch per column")
        help_text = (
            "split the query into UNION ALL branches, one per column, each excluding rows an earlier branch "
            "returned: " + " UNION ALL ".join(f"SELECT ... WHERE {b}" for b in branches_sql)
        )
        return [ctx.finding(self, node, message, help_text, fix, data={"table": label, "columns": names})]


def _outer(node):
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return parent


def _one_table(ctx, columns) -> tuple[str, str] | None:
    """(source key, readable name) of the one table every column belongs to; None when they differ.

    Columns are told apart by the alias they are read through, so a self-join's two sides
    are two tables.
    """
    keys, label = set(), None
    for column in columns:
        resolved = ctx.resolve_column(column)
        if column.table:
            keys.add("alias:" + column.table.lower())
        elif resolved.table_name:
            keys.add("table:" + resolved.table_name.lower())
        else:
            return None  # unqualified among several tables: cannot tell whose column it is
        label = label or resolved.table_name or column.table
    if len(keys) != 1:
        return None
    return next(iter(keys)), label


def _each_column_indexed(ctx, columns) -> bool:
    """The schema shows a usable btree index leading with each column: the lookups can be merged."""
    if ctx.schema is None:
        return False
    table = ctx.resolve_column(columns[0]).table
    if table is None:
        return False
    from sqlperf.schema.advice import looks_up

    return all(looks_up(table, column.name) for column in columns)


def _driven_by_other_filter(ctx, node, table, or_columns) -> bool:
    """A filter or join key on another column of the same table, ANDed with the OR, lets an index drive."""
    child, parent = node, node.parent
    while isinstance(parent, (exp.Paren, exp.And)):
        if isinstance(parent, exp.And):
            sibling = parent.expression if child is parent.this else parent.this
            for conjunct in chain_operands(sibling, exp.And, unwrap=True):
                for column in _driving_columns(conjunct):
                    if column.name.lower() not in or_columns and _one_table(ctx, [column]) == table:
                        return True
        child, parent = parent, parent.parent
    return False


def _driving_columns(conjunct) -> list[exp.Column]:
    """Columns an index could drive the query by: ``col = 5``, ``col > now()``, ``col IN (1, 2)``,
    or a join key ``o.customer_id = c.id``."""
    if isinstance(conjunct, exp.EQ):
        left, right = bare_column(conjunct.this), bare_column(conjunct.expression)
        if left is not None and right is not None:
            return [left, right] if left.table != right.table else []
    column = indexable_column(conjunct)
    return [column] if column is not None else []


def _union_branches(ctx, branches, columns) -> list[str]:
    """One condition per column, each excluding what earlier branches returned."""
    groups: dict[str, list[str]] = {}
    for branch, column in zip(branches, columns):
        groups.setdefault(column.name.lower(), []).append(shown(ctx, branch))
    conditions = [" OR ".join(parts) for parts in groups.values()]
    out = []
    for i, condition in enumerate(conditions):
        earlier = conditions[:i]
        text = f"({condition})" if len(groups[list(groups)[i]]) > 1 and earlier else condition
        for previous in earlier:
            text += f" AND ({previous}) IS NOT TRUE"
        out.append(text)
    return out
