"""Schema from DDL files: migration folders replayed in order.

Each statement is applied to one :class:`Schema`: CREATE TABLE / INDEX, ALTER TABLE
ADD/DROP COLUMN/CONSTRAINT, ALTER COLUMN, RENAME, DROP INDEX / TABLE. A statement the
loader cannot parse or does not model goes to ``schema.notes`` and the rest still loads.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import logging
from pathlib import Path
from typing import Iterable, Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from sqlperf.schema.errors import SchemaError
from sqlperf.schema.ddl_alter import alter_index, alter_table
from sqlperf.schema.ddl_create import create_index, create_table, default_name, index_from_create
from sqlperf.schema.model import Schema, Table

# Statements that carry no table, column or index information: skipped without a note.
_IRRELEVANT_CREATE = {"VIEW", "FUNCTION", "PROCEDURE", "TYPE", "SEQUENCE", "SCHEMA", "EXTENSION", "TRIGGER", "DATABASE"}
_IRRELEVANT_COMMANDS = ("CREATE", "COMMENT", "GRANT", "REVOKE", "SET", "SELECT", "DO", "BEGIN", "COMMIT")


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


def apply_sql(
    schema: Schema, sql: str, *, dialect: str = "postgres", origin: str = "<string>", stub_missing: bool = False
) -> Schema:
    """Apply every statement of ``sql`` to ``schema`` in order.

    ``stub_missing`` creates an empty table for an ALTER TABLE or CREATE INDEX on a table the
    schema lacks, so one migration file read alone still shows what it does.
    """
    with _paused_gc():
        for number, tree in _parse_statements(schema, sql, dialect, origin):
            if tree is not None:
                if stub_missing:
                    _stub_table(schema, tree)
                apply_statement(schema, tree, origin=f"{origin} statement {number}")
    return schema


@contextlib.contextmanager
def _paused_gc() -> Iterator[None]:
    # Parsing allocates many small objects and sets off collections of a heap that only grows
    # during a load: pausing the cyclic collector for one file more than halves the load time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stub_table(schema: Schema, tree: exp.Expression) -> None:
    target = None
    if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Index):
        target = tree.this.args.get("table")
    elif isinstance(tree, exp.Alter) and (tree.args.get("kind") or "").upper() == "TABLE":
        target = tree.this
    if isinstance(target, exp.Table) and target.name and schema.table(target.name, target.db or None) is None:
        schema.add_table(Table(name=target.name, schema=target.db or None))


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
            return create_table(schema, tree, origin)
        if kind == "INDEX":
            return create_index(schema, tree, origin)
        if kind not in _IRRELEVANT_CREATE:
            schema.notes.append(f"{origin}: skipped CREATE {kind}")
        return False
    if isinstance(tree, exp.Alter):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            return alter_table(schema, tree, origin)
        if kind == "INDEX":
            return alter_index(schema, tree, origin)
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


__all__ = ["apply_sql", "apply_statement", "default_name", "expand_paths", "index_from_create", "load_ddl"]
