"""ALTER TABLE / ALTER INDEX applied to a schema: columns, constraints, renames."""

from __future__ import annotations

import re

from sqlglot import exp

from sqlperf.schema.ddl_create import add_column, add_table_constraint, table_ref
from sqlperf.schema.model import Index, Schema, Table, fold
from sqlperf.schema.normalize import type_from_datatype


def alter_table(schema: Schema, tree: exp.Alter, origin: str) -> bool:
    name, db = table_ref(tree.this)
    table = schema.table(name, db)
    if table is None:
        if not tree.args.get("exists"):
            schema.notes.append(f"{origin}: ALTER TABLE on unknown table {name}")
        return False
    changed = False
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            if not (action.args.get("exists") and table.column(action.name)):
                add_column(schema, table, action)
            changed = True
        elif isinstance(action, exp.AddConstraint):
            changed |= all(add_table_constraint(schema, table, e, origin) for e in action.expressions)
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
            for column in action.args.get("tables") or []:
                _drop_column(table, column.name)
            changed = True
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "CONSTRAINT":
            for constraint in action.args.get("tables") or []:
                _drop_constraint(table, constraint.name)
            changed = True
        elif isinstance(action, exp.AlterRename):
            _rename_table(schema, table, action.this.name)
            changed = True
        elif isinstance(action, exp.RenameColumn):
            _rename_column(schema, table, action.this.name, action.args["to"].name)
            changed = True
        elif isinstance(action, exp.AlterColumn):
            changed |= _alter_column(table, action)
        else:
            schema.notes.append(f"{origin}: skipped ALTER TABLE {name} action {type(action).__name__}")
    return changed


def _alter_column(table: Table, action: exp.AlterColumn) -> bool:
    column = table.column(action.name)
    if column is None:
        return False
    dtype = action.args.get("dtype")
    if isinstance(dtype, exp.DataType):
        column.type = type_from_datatype(dtype)
    if action.args.get("allow_null") is not None:
        column.nullable = bool(action.args["allow_null"])
    if "default" in action.args and action.args.get("default") is not None:
        column.default = action.args["default"].sql(dialect="postgres")
    return True


def _mentions(sql: str | None, column: str) -> bool:
    return bool(sql) and re.search(rf"(?<![\w.]){re.escape(column)}(?!\w)", sql, re.IGNORECASE) is not None


def _drop_column(table: Table, name: str) -> None:
    folded = fold(name)
    table.columns.pop(folded, None)

    def uses(index: Index) -> bool:
        return _mentions(index.where, name) or any(
            _mentions(entry, name) if index.is_expression(i) else fold(entry) == folded for i, entry in enumerate(index.columns)
        )

    # PostgreSQL drops every index and constraint that uses the column along with it.
    table.indexes = [ix for ix in table.indexes if not uses(ix)]
    if any(fold(c) == folded for c in table.primary_key):
        table.primary_key = []
    table.unique = [u for u in table.unique if not any(fold(c) == folded for c in u)]
    table.foreign_keys = [fk for fk in table.foreign_keys if not any(fold(c) == folded for c in fk.columns)]


def _drop_constraint(table: Table, name: str) -> None:
    folded = fold(name)
    table.foreign_keys = [fk for fk in table.foreign_keys if fold(fk.name or "") != folded]
    for index in [ix for ix in table.indexes if ix.constraint and fold(ix.name) == folded]:
        table.indexes.remove(index)
        if index.primary:
            table.primary_key = []
        else:
            cols = [fold(c) for c in index.columns]
            table.unique = [u for u in table.unique if [fold(c) for c in u] != cols]


def _rename_table(schema: Schema, table: Table, new_name: str) -> None:
    old = table.name
    schema.drop_table(old)
    table.name = new_name
    for index in table.indexes:
        index.table = new_name
    schema.add_table(table)
    for other in schema.unique_tables():
        for fk in other.foreign_keys:
            if fold(fk.ref_table) == fold(old):
                fk.ref_table = new_name


def _rename_column(schema: Schema, table: Table, old: str, new: str) -> None:
    if table.column(old) is None:
        return
    # Rebuild the mapping so the renamed column keeps its place in declaration order.
    renamed = {}
    for key, column in table.columns.items():
        if key == fold(old):
            column.name = new
            key = fold(new)
        renamed[key] = column
    table.columns = renamed

    def swap(names: list[str]) -> list[str]:
        return [new if fold(n) == fold(old) else n for n in names]

    table.primary_key = swap(table.primary_key)
    table.unique = [swap(u) for u in table.unique]
    for index in table.indexes:
        index.columns = [
            _rename_in(c, old, new) if index.is_expression(i) else (new if fold(c) == fold(old) else c)
            for i, c in enumerate(index.columns)
        ]
        index.where = _rename_in(index.where, old, new) if index.where else None
    for fk in table.foreign_keys:
        fk.columns = swap(fk.columns)
    for other in schema.unique_tables():
        for fk in other.foreign_keys:
            if fold(fk.ref_table) == fold(table.name):
                fk.ref_columns = swap(fk.ref_columns)


def _rename_in(sql: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, sql, flags=re.IGNORECASE)


def alter_index(schema: Schema, tree: exp.Alter, origin: str) -> bool:
    found = schema.find_index(tree.this.name, tree.this.db or None)
    renames = [a for a in tree.args.get("actions") or [] if isinstance(a, exp.AlterRename)]
    if found is None or not renames:
        return False
    found[1].name = renames[0].this.name
    return True
