"""Schema from DDL files: migration folders replayed in order.

Each statement is applied to one :class:`Schema`: CREATE TABLE / INDEX, ALTER TABLE
ADD/DROP COLUMN/CONSTRAINT, ALTER COLUMN, RENAME, DROP INDEX / TABLE. A statement the
loader cannot parse or does not model goes to ``schema.notes`` and the rest still loads.
"""

from __future__ import annotations

import contextlib
import glob
import logging
from pathlib import Path
from typing import Iterable, Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from sqlperf.schema.errors import SchemaError
from sqlperf.schema.model import Column, ForeignKey, Index, Schema, Table, fold
from sqlperf.schema.normalize import SERIAL_TYPES, normalize_node, type_from_datatype

# Statements that carry no table, column or index information: skipped without a note.
_IRRELEVANT_CREATE = {"VIEW", "FUNCTION", "PROCEDURE", "TYPE", "SEQUENCE", "SCHEMA", "EXTENSION", "TRIGGER", "DATABASE"}
_IRRELEVANT_COMMANDS = ("CREATE", "COMMENT", "GRANT", "REVOKE", "SET", "SELECT", "DO", "BEGIN", "COMMIT")
_MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1


def expand_paths(patterns: Iterable[str | Path], base: Path | None = None) -> list[Path]:
    """Files named by ``patterns`` (files, directories of ``*.sql``, or globs), in sorted order.

    Sorted by full path so a migration folder (``001_init.sql``, ``002_...``) replays in order.
    """
    base = Path(base) if base is not None else Path.cwd()
    found: dict[Path, None] = {}
    for pattern in patterns:
        pattern = str(pattern)
        full = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True) if Path(p).is_file())
            if not matches:
                raise SchemaError(f"schema pattern matched no files: {pattern}")
        elif full.is_dir():
            matches = sorted(p for p in full.rglob("*.sql") if p.is_file())
            if not matches:
                raise SchemaError(f"schema directory holds no .sql files: {pattern}")
        elif full.is_file():
            matches = [full]
        else:
            raise SchemaError(f"schema file not found: {pattern}")
        for match in matches:
            found.setdefault(match, None)
    return list(found)


def load_ddl(
    paths: Iterable[str | Path] = (),
    *,
    base: Path | None = None,
    dialect: str = "postgres",
    schema: Schema | None = None,
) -> Schema:
    """Replay the DDL in ``paths`` (see :func:`expand_paths`) into a schema."""
    schema = schema if schema is not None else Schema()
    for path in expand_paths(paths, base):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SchemaError(f"schema file is not UTF-8 text: {path}") from None
        except OSError as error:
            raise SchemaError(f"cannot read schema file {path}: {error.strerror}") from None
        apply_sql(schema, text, dialect=dialect, origin=str(path))
    return schema


def apply_sql(schema: Schema, sql: str, *, dialect: str = "postgres", origin: str = "<string>") -> Schema:
    """Apply every statement of ``sql`` to ``schema`` in order."""
    for number, tree in _parse_statements(schema, sql, dialect, origin):
        if tree is not None:
            apply_statement(schema, tree, origin=f"{origin} statement {number}")
    return schema


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs a warning for every statement it keeps as a Command; we note those ourselves.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _parse_statements(schema: Schema, sql: str, dialect: str, origin: str):
    try:
        engine = Dialect.get_or_raise(dialect)
    except ValueError:
        raise SchemaError(f"unknown SQL dialect: {dialect}") from None
    with _quiet_sqlglot():
        try:
            tokens = engine.tokenize(sql)
        except Exception as error:
            schema.notes.append(f"{origin}: skipped, cannot tokenize: {str(error).splitlines()[0]}")
            return
        try:
            # Fast path: the whole file in one parser call.
            trees = engine.parser().parse(tokens, sql)
            yield from enumerate((t for t in trees if t is not None), start=1)
            return
        except Exception:
            pass
        # One bad statement must not lose the others: parse statement by statement.
        chunks: list[list] = [[]]
        for token in tokens:
            if token.token_type == TokenType.SEMICOLON:
                chunks.append([])
            else:
                chunks[-1].append(token)
        number = 0
        for chunk in chunks:
            if not chunk:
                continue
            number += 1
            try:
                trees = engine.parser().parse(chunk, sql)
            except Exception as error:
                line = chunk[0].line
                message = str(error).splitlines()[0][:120]
                schema.notes.append(f"{origin} line {line}: skipped a statement that does not parse ({message})")
                continue
            for tree in trees:
                if tree is not None:
                    yield number, tree


def apply_statement(schema: Schema, tree: exp.Expression, *, origin: str = "<string>") -> bool:
    """Apply one parsed statement; returns False (and notes why) when it changes nothing we model."""
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            return _create_table(schema, tree, origin)
        if kind == "INDEX":
            return _create_index(schema, tree, origin)
        if kind not in _IRRELEVANT_CREATE:
            schema.notes.append(f"{origin}: skipped CREATE {kind}")
        return False
    if isinstance(tree, exp.Alter):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            return _alter_table(schema, tree, origin)
        if kind == "INDEX":
            return _alter_index(schema, tree, origin)
        return False
    if isinstance(tree, exp.Drop):
        kind = (tree.args.get("kind") or "").upper()
        for target in tree.args.get("tables") or []:
            if kind == "TABLE":
                schema.drop_table(target.name) if target.name else None
            elif kind == "INDEX":
                found = schema.find_index(target.name, target.db or None)
                if found:
                    found[0].indexes.remove(found[1])
        return kind in ("TABLE", "INDEX")
    if isinstance(tree, exp.Command):
        head = (tree.this or "").upper()
        text = f"{tree.this} {tree.expression.sql() if isinstance(tree.expression, exp.Expression) else tree.expression or ''}"
        if head == "ALTER" or (head == "DROP") or (head == "CREATE" and " TABLE " in f" {text.upper()} "):
            schema.notes.append(f"{origin}: skipped unsupported statement: {' '.join(text.split())[:80]}")
        elif head not in _IRRELEVANT_COMMANDS:
            schema.notes.append(f"{origin}: skipped {head} statement")
        return False
    return False


# -- CREATE TABLE -------------------------------------------------------------------------------


def _table_ref(node: exp.Table) -> tuple[str, str | None]:
    return node.name, (node.db or None)


def _create_table(schema: Schema, tree: exp.Create, origin: str) -> bool:
    target = tree.this
    if not isinstance(target, exp.Schema):
        schema.notes.append(f"{origin}: skipped CREATE TABLE without a column list (AS / PARTITION OF)")
        return False
    name, db = _table_ref(target.this)
    if not name:
        return False
    if schema.table(name, db) is not None and tree.args.get("exists"):
        return False  # IF NOT EXISTS on a table we already have
    table = Table(name=name, schema=db)
    schema.add_table(table)
    for element in target.expressions:
        if isinstance(element, exp.ColumnDef):
            _add_column(schema, table, element)
        elif isinstance(element, exp.LikeProperty):
            other = schema.table(element.this.name, element.this.db or None)
            for column in other.columns.values() if other else []:
                table.add_column(Column(column.name, column.type, column.nullable, column.default))
        else:
            _add_table_constraint(schema, table, element, origin)
    return True


def _add_column(schema: Schema, table: Table, definition: exp.ColumnDef) -> None:
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


def _add_table_constraint(schema: Schema, table: Table, element: exp.Expression, origin: str, name: str | None = None) -> bool:
    if isinstance(element, exp.Constraint):
        return all(_add_table_constraint(schema, table, inner, origin, element.name) for inner in element.expressions)
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
            _add_unique(table, columns, name)
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


def _create_index(schema: Schema, tree: exp.Create, origin: str) -> bool:
    index = index_from_create(tree)
    if index is None:
        schema.notes.append(f"{origin}: skipped a CREATE INDEX it could not read")
        return False
    table_node = tree.this.args["table"]
    table = schema.table(table_node.name, table_node.db or None)
    if table is None:
        schema.notes.append(f"{origin}: index {index.name} is on unknown table {table_node.name}")
        return False
    if tree.args.get("exists") and table.index(index.name):
        return False
    table.indexes.append(index)
    return True


# -- ALTER ---------------------------------------------------------------------------------------


def _alter_table(schema: Schema, tree: exp.Alter, origin: str) -> bool:
    name, db = _table_ref(tree.this)
    table = schema.table(name, db)
    if table is None:
        if not tree.args.get("exists"):
            schema.notes.append(f"{origin}: ALTER TABLE on unknown table {name}")
        return False
    changed = False
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            if not (action.args.get("exists") and table.column(action.name)):
                _add_column(schema, table, action)
            changed = True
        elif isinstance(action, exp.AddConstraint):
            changed |= all(_add_table_constraint(schema, table, e, origin) for e in action.expressions)
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


def _drop_column(table: Table, name: str) -> None:
    folded = fold(name)
    table.columns.pop(folded, None)
    # PostgreSQL drops every index and constraint that uses the column along with it.
    table.indexes = [
        ix for ix in table.indexes if not any(fold(c) == folded for c, e in zip(ix.columns, ix.expressions or [False] * len(ix.columns)) if not e)
    ]
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
        index.columns = [new if not index.is_expression(i) and fold(c) == fold(old) else c for i, c in enumerate(index.columns)]
    for fk in table.foreign_keys:
        fk.columns = swap(fk.columns)
    for other in schema.unique_tables():
        for fk in other.foreign_keys:
            if fold(fk.ref_table) == fold(table.name):
                fk.ref_columns = swap(fk.ref_columns)


def _alter_index(schema: Schema, tree: exp.Alter, origin: str) -> bool:
    found = schema.find_index(tree.this.name, tree.this.db or None)
    renames = [a for a in tree.args.get("actions") or [] if isinstance(a, exp.AlterRename)]
    if found is None or not renames:
        return False
    found[1].name = renames[0].this.name
    return True
