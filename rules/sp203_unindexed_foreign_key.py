from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from sqlperf.rule import Applicability, Fix, Rule

if TYPE_CHECKING:
    from sqlperf.schema.model import Schema, Table


class UnindexedForeignKey(Rule):
    """## What it does
    Flags a foreign key, declared in the DDL being checked, whose columns lead no index on
    the referencing table. A primary key, unique constraint or index whose leading columns
    are the key's columns (in any order) counts, whether it is created in the same file or is
    in the schema given with `--schema`.

    ## Why is this bad?
    PostgreSQL indexes the referenced side of a foreign key (it must be unique) but never the
    referencing side. Every join from parent to children then scans the child table, and
    every `DELETE` or key update on the parent scans it too, holding locks while it does.

    ## Example
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY);
    CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));
    ```

    ## Use instead
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY);
    CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));
    CREATE INDEX order_items_order_id_idx ON order_items (order_id);
    ```
    """

    code = "SP203"
    name = "unindexed-foreign-key"
    category = "index"
    node_types = (exp.Create, exp.Alter)
    fix_applicability = Applicability.DISPLAY

    def visit(self, node, ctx):
        from sqlperf.schema.advice import index_name, quote_identifier, table_reference
        from sqlperf.schema.file_ddl import file_schema

        if node is not ctx.tree:
            return None
        declared = _declared_foreign_keys(node)
        if declared is None:
            return None
        table, keys = declared
        final = file_schema(ctx)
        findings = []
        for fk in keys:
            if not _still_declared(fk, table, final, ctx.schema):
                continue
            if _covered(fk.columns, table, final) or _covered(fk.columns, table, ctx.schema):
                continue
            target = _schema_table(table, final) or table
            name = index_name(target, fk.columns)
            columns = ", ".join(quote_identifier(c) for c in fk.columns)
            ddl = f"CREATE INDEX CONCURRENTLY {quote_identifier(name)} ON {table_reference(target)} ({columns});"
            message = (
                f"foreign key {table.name} ({', '.join(fk.columns)}) -> {fk.ref_table} has no index leading with "
                f"its columns: joins from {fk.ref_table} and deletes on it scan {table.name}."
            )
            findings.append(
                ctx.finding(
                    self,
                    _key_node(node, fk.columns) or node,
                    message,
                    help=f"index the referencing columns: {ddl}",
                    fix=Fix(Applicability.DISPLAY, replacement=ddl, message="create the index"),
                    data={"table": table.qualified_name, "columns": list(fk.columns), "ddl": ddl},
                )
            )
        return findings


def _declared_foreign_keys(tree) -> tuple[Table, list] | None:
    """The table and foreign keys this one CREATE TABLE / ALTER TABLE statement declares."""
    from sqlperf.schema.ddl import apply_statement
    from sqlperf.schema.model import Schema, Table

    scratch = Schema()
    if isinstance(tree, exp.Alter):
        if (tree.args.get("kind") or "").upper() != "TABLE" or not isinstance(tree.this, exp.Table):
            return None
        scratch.add_table(Table(tree.this.name, tree.this.db or None))
    elif (tree.args.get("kind") or "").upper() != "TABLE":
        return None
    apply_statement(scratch, tree)
    tables = scratch.unique_tables()
    if len(tables) != 1 or not tables[0].foreign_keys:
        return None
    return tables[0], tables[0].foreign_keys


def _schema_table(table: Table, schema: Schema | None) -> Table | None:
    return schema.table(table.name, table.schema) if schema is not None else None


def _still_declared(fk, table: Table, final: Schema, schema: Schema | None) -> bool:
    """A key dropped later (in this file, or in the loaded schema's later migrations) is not judged."""
    for where in (final, schema):
        known = _schema_table(table, where)
        if known is not None and not any(_same(k.columns, fk.columns) for k in known.foreign_keys):
            return False
    return True


def _covered(columns: list[str], table: Table, schema: Schema | None) -> bool:
    from sqlperf.schema.model import fold

    known = _schema_table(table, schema)
    if known is None:
        return False
    wanted = {fold(c) for c in columns}
    for index in known.all_indexes():
        if index.where or len(index.columns) < len(columns):
            continue
        lead = index.columns[: len(columns)]
        if all(not index.is_expression(i) for i in range(len(lead))) and {fold(c) for c in lead} == wanted:
            return True
    return False


def _same(a: list[str], b: list[str]) -> bool:
    from sqlperf.schema.model import fold

    return [fold(c) for c in a] == [fold(c) for c in b]


def _key_node(tree, columns: list[str]):
    """The column definition or FOREIGN KEY clause that declares the key, for the finding's position."""
    from sqlperf.schema.model import fold

    wanted = [fold(c) for c in columns]
    for fk in tree.find_all(exp.ForeignKey):
        if [fold(e.name) for e in fk.expressions] == wanted:
            return fk.parent if isinstance(fk.parent, exp.Constraint) else fk
    if len(wanted) == 1:
        for definition in tree.find_all(exp.ColumnDef):
            if fold(definition.name) == wanted[0] and definition.find(exp.Reference):
                return definition
    return None
