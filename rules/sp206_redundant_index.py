from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule

if TYPE_CHECKING:
    from sqlperf.schema.model import Index, Schema


class RedundantIndex(Rule):
    """## What it does
    Flags a `CREATE INDEX`, in the DDL being checked, whose columns are a leading prefix of
    another index on the same table (or repeat an earlier index, a primary key or a unique
    constraint exactly).

    ## Why is this bad?
    A B-tree on `(user_id, created_at)` already serves every lookup by `user_id` alone. The
    extra index on `(user_id)` buys nothing for reads, yet every insert and update writes it,
    it takes disk and cache, and vacuum must process it.

    Unique indexes are never reported (they enforce a constraint), nor are indexes that
    differ in method, partial predicate or the direction of their columns.

    ## Example
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, created_at timestamptz);
    CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at);
    CREATE INDEX orders_user_id_idx ON orders (user_id);
    ```

    ## Use instead
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, created_at timestamptz);
    CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at);
    ```
    """

    code = "SP206"
    name = "redundant-index"
    category = "index"
    node_types = (exp.Create,)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        from sqlperf.schema.advice import quote_identifier
        from sqlperf.schema.ddl import index_from_create
        from sqlperf.schema.file_ddl import file_schema
        from sqlperf.schema.model import fold

        if node is not ctx.tree or (node.args.get("kind") or "").upper() != "INDEX":
            return None
        index = index_from_create(node)
        if index is None or index.unique:
            return None
        final = file_schema(ctx)
        table = final.table(index.table, node.this.args["table"].db or None)
        if table is None or table.index(index.name) is None or _dropped_later(index, ctx.schema):
            return None
        others = [ix for ix in table.all_indexes() if fold(ix.name) != fold(index.name)]
        if ctx.schema is not None and (known := ctx.schema.table(index.table)) is not None:
            names = {fold(ix.name) for ix in others} | {fold(index.name)}
            others += [ix for ix in known.all_indexes() if fold(ix.name) not in names]
        position = {fold(ix.name): i for i, ix in enumerate(table.all_indexes())}
        mine = position.get(fold(index.name), -1)
        for other in others:
            if not _prefix_of(index, other):
                continue
            exact = len(other.columns) == len(index.columns)
            # Two identical indexes: the later one is redundant, or the one shadowing a constraint.
            if exact and not other.constraint and position.get(fold(other.name), len(position)) > mine:
                continue
            drop = f"DROP INDEX CONCURRENTLY {quote_identifier(index.name)};"
            what = "repeats" if exact else "is a leading prefix of"
            message = (
                f"index {index.name} ({', '.join(index.columns)}) {what} index {other.name} "
                f"({', '.join(other.columns)}) on {table.name}: it serves no query the other cannot, "
                "and every write pays for it."
            )
            return [
                ctx.finding(
                    self,
                    None,
                    message,
                    help=f"drop it: {drop}",
                    fix=Fix(Applicability.DISPLAY, replacement=drop, message="drop the redundant index"),
                    data={"table": table.qualified_name, "index": index.name, "covered_by": other.name, "ddl": drop},
                )
            ]
        return None


def _dropped_later(index: Index, schema: Schema | None) -> bool:
    known = schema.table(index.table) if schema is not None else None
    return known is not None and known.index(index.name) is None


def _entry(index: Index, position: int) -> str:
    from sqlperf.schema.model import fold
    from sqlperf.schema.normalize import normalize_expression

    column = index.columns[position]
    return normalize_expression(column) if index.is_expression(position) else fold(column)


def _desc(index: Index, position: int) -> bool:
    return position < len(index.descending) and index.descending[position]


def _prefix_of(index: Index, other: Index) -> bool:
    from sqlperf.schema.normalize import normalize_expression

    if index.method != other.method or len(index.columns) > len(other.columns) or not index.columns:
        return False
    if index.method != "btree" and len(index.columns) != len(other.columns):
        return False  # only a btree serves lookups on a prefix of its columns
    if (index.where and normalize_expression(index.where)) != (other.where and normalize_expression(other.where)):
        return False
    for position in range(len(index.columns)):
        if _entry(index, position) != _entry(other, position):
            return False
    flips = [_desc(index, p) != _desc(other, p) for p in range(len(index.columns))]
    return all(flips) or not any(flips)
