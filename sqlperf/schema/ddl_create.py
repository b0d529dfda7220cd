"""CREATE TABLE and CREATE INDEX applied to a schema, with PostgreSQL's default names."""

from __future__ import annotations

from sqlglot import exp

from sqlperf.schema.model import Column, ForeignKey, Index, Schema, Table
from sqlperf.schema.normalize import SERIAL_TYPES, normalize_node, type_from_datatype

_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1

# -- CREATE TABLE -------------------------------------------------------------------------------


def table_ref(node: exp.Table) -> tuple[str, str | None]:
    return node.name, (node.db or None)


def create_table(schema: Schema, tree: exp.Create, origin: str) -> bool:
    target = tree.this
    if not isinstance(target, exp.Schema):
        schema.notes.append(f"{origin}: skipped CREATE TABLE without a column list (AS / PARTITION OF)")
        return False
    name, db = table_ref(target.this)
    if not name:
        return False
    if schema.table(name, db) is not None and tree.args.get("exists"):
        return False  # IF NOT EXISTS on a table we already have
    table = Table(name=name, schema=db)
    schema.add_table(table)
    for element in target.expressions:
        if isinstance(element, exp.ColumnDef):
            add_column(schema, table, element)
        elif isinstance(element, exp.LikeProperty):
            other = schema.table(element.this.name, element.this.db or None)
            for column in other.columns.values() if other else []:
                table.add_column(Column(column.name, column.type, column.nullable, column.default))
        else:
            add_table_constraint(schema, table, element, origin)
    return True


def add_column(schema: Schema, table: Table, definition: exp.ColumnDef) -> None:
    name = definition.name
    datatype = definition.args.get("kind")
    column = Column(name=name, type=type_from_datatype(datatype) if isinstance(datatype, exp.DataType) else "")
    if isinstance(datatype, exp.DataType) and datatype.this in SERIAL_TYPES:
        column.nullable = False
        column.default = "nextval(...)"
    table.add_column(column)
    for constraint in definition.args.get("constraints") or []:
        kind = constraint.args.get("kind")
        constraint_name = constraint.name or None
        if isinstance(kind, (exp.NotNullColumnConstraint, exp.GeneratedAsIdentityColumnConstraint)):
            if not (isinstance(kind, exp.NotNullColumnConstraint) and kind.args.get("allow_null")):
                column.nullable = False
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            column.nullable = False
            _set_primary_key(table, [name], constraint_name)
        elif isinstance(kind, exp.UniqueColumnConstraint):
            _add_unique(table, [name], constraint_name)
        elif isinstance(kind, exp.DefaultColumnConstraint):
            column.default = kind.this.sql(dialect="postgres") if kind.this else None
        elif isinstance(kind, exp.Reference):
            _add_foreign_key(schema, table, [name], kind, constraint_name)


def add_table_constraint(schema: Schema, table: Table, element: exp.Expression, origin: str, name: str | None = None) -> bool:
    if isinstance(element, exp.Constraint):
        return all(add_table_constraint(schema, table, inner, origin, element.name) for inner in element.expressions)
    if isinstance(element, exp.PrimaryKey):
        columns = [_entry_name(e) for e in element.expressions]
        for column in columns:
            if table.column(column):
                table.column(column).nullable = False
        _set_primary_key(table, columns, name)
        return True
    if isinstance(element, exp.UniqueColumnConstraint):
        inner = element.this
        columns = [_entry_name(e) for e in inner.expressions] if isinstance(inner, exp.Schema) else []
        if columns:
            _add_unique(table, columns, name or (inner.this.name if isinstance(inner.this, exp.Identifier) else None))
        return bool(columns)
    if isinstance(element, exp.IndexColumnConstraint):
        # MySQL's inline KEY / INDEX (name) (columns).
        columns = [_entry_name(e) for e in element.expressions]
        if columns:
            index_name = element.name or default_name(table.name, columns, "idx")
            table.indexes.append(Index(index_name, table.name, columns, descending=[False] * len(columns), expressions=[False] * len(columns)))
        return bool(columns)
    if isinstance(element, exp.ForeignKey):
        columns = [_entry_name(e) for e in element.expressions]
        _add_foreign_key(schema, table, columns, element.args.get("reference"), name)
        return True
    if isinstance(element, (exp.CheckColumnConstraint, exp.ColumnConstraint)):
        return True  # CHECK / EXCLUDE: no effect on what rules read
    schema.notes.append(f"{origin}: skipped a table element of {table.name}: {element.sql()[:60]}")
    return False


def _entry_name(node: exp.Expression) -> str:
    return node.name if isinstance(node, (exp.Identifier, exp.Column)) else node.sql()


def default_name(table: str, columns: list[str], suffix: str) -> str:
    """PostgreSQL's naming for an unnamed index or constraint, e.g. ``orders_user_id_fkey``."""
    parts = [table, *(c for c in columns if c)]
    return "_".join(parts)[: _MAX_IDENTIFIER - len(suffix) - 1] + "_" + suffix


def _set_primary_key(table: Table, columns: list[str], name: str | None) -> None:
    table.primary_key = list(columns)
    table.indexes = [ix for ix in table.indexes if not ix.primary]
    table.indexes.append(
        Index(name or f"{table.name}_pkey", table.name, list(columns), unique=True, primary=True, constraint=True)
    )


def _add_unique(table: Table, columns: list[str], name: str | None) -> None:
    table.unique.append(list(columns))
    table.indexes.append(
        Index(name or default_name(table.name, columns, "key"), table.name, list(columns), unique=True, constraint=True)
    )


def _add_foreign_key(schema: Schema, table: Table, columns: list[str], reference, name: str | None) -> None:
    if reference is None:
        return
    target = reference.this
    if isinstance(target, exp.Schema):
        ref_table = target.this
        ref_columns = [_entry_name(e) for e in target.expressions]
    else:
        ref_table, ref_columns = target, []
    if not isinstance(ref_table, exp.Table):
        return  # not a table sqlglot could read (e.g. "REFERENCES(x)" parses as a subquery)
    if not ref_columns:
        # REFERENCES t with no column list means t's primary key.
        referenced = schema.table(ref_table.name, ref_table.db or None)
        ref_columns = list(referenced.primary_key) if referenced else []
    table.foreign_keys.append(
        ForeignKey(list(columns), ref_table.name, ref_columns, name or default_name(table.name, columns, "fkey"))
    )


# -- CREATE INDEX -------------------------------------------------------------------------------


def index_from_create(tree: exp.Create) -> Index | None:
    """The :class:`Index` a CREATE INDEX statement declares (its name defaulted like PostgreSQL's)."""
    node = tree.this
    if not isinstance(node, exp.Index):
        return None
    table_node = node.args.get("table")
    params = node.args.get("params")
    if table_node is None or params is None:
        return None
    columns: list[str] = []
    descending: list[bool] = []
    expressions: list[bool] = []
    for entry in params.args.get("columns") or []:
        ordered = entry if isinstance(entry, exp.Ordered) else None
        target = ordered.this if ordered else entry
        if isinstance(target, exp.Opclass):  # text_pattern_ops and friends do not change the key
            target = target.this
        while isinstance(target, exp.Paren):
            target = target.this
        if isinstance(target, (exp.Column, exp.Identifier)):
            columns.append(target.name)
            expressions.append(False)
        else:
            columns.append(normalize_node(target))
            expressions.append(True)
        descending.append(bool(ordered and ordered.args.get("desc")))
    using = params.args.get("using")
    where = params.args.get("where")
    name_parts = [c if not is_expr else _expression_label(c) for c, is_expr in zip(columns, expressions)]
    return Index(
        name=node.name or default_name(table_node.name, name_parts, "idx"),
        table=table_node.name,
        columns=columns,
        unique=bool(tree.args.get("unique")),
        method=(using.name if isinstance(using, exp.Expression) else str(using or "btree")).lower(),
        where=normalize_node(where.this) if isinstance(where, exp.Where) else None,
        descending=descending,
        expressions=expressions,
    )


def _expression_label(sql: str) -> str:
    # PostgreSQL names an expression key after its function ("orders_lower_idx") or "expr".
    head = sql.split("(", 1)[0].strip().lower()
    return head if head.isidentifier() else "expr"


def create_index(schema: Schema, tree: exp.Create, origin: str) -> bool:
    index = index_from_create(tree)
    if index is None:
        schema.notes.append(f"{origin}: skipped a CREATE INDEX it could not read")
        return False
    table_node = tree.this.args["table"]
    table = schema.table(table_node.name, table_node.db or None)
    if table is None:
        schema.notes.append(f"{origin}: index {index.name} is on unknown table {table_node.name}")
        return False
    existing = next((ix for ix in table.indexes if ix.name.lower() == index.name.lower()), None)
    if existing is not None and tree.args.get("exists"):
        return False
    if existing is not None:
        table.indexes.remove(existing)  # replayed over a schema that already holds it: no duplicate
    table.indexes.append(index)
    return True
