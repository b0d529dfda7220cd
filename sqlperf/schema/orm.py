"""Schema from SQLAlchemy ``MetaData`` (or a declarative base), including indexes, unique constraints and keys.

The tables are compiled to PostgreSQL DDL by SQLAlchemy itself and replayed through the DDL
loader: SQLAlchemy already knows how every type, constraint and index expression is written,
and one reader of DDL means the models and the migrations give the same schema.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from sqlperf.schema.errors import SchemaError
from sqlperf.schema.model import Schema


def resolve_metadata(target: str | object, base: Path | None = None):
    """The ``MetaData`` named by ``"package.module:attr"`` (or held by a declarative base / the object)."""
    obj = _import_target(target, base) if isinstance(target, str) else target
    metadata = getattr(obj, "metadata", obj)
    try:
        from sqlalchemy import MetaData
    except ImportError:
        raise SchemaError("reading SQLAlchemy models needs SQLAlchemy: pip install 'sqlperf[sqlalchemy]'") from None
    if not isinstance(metadata, MetaData):
        raise SchemaError(f"{target!s} is neither a SQLAlchemy MetaData nor a declarative base")
    return metadata


def _import_target(target: str, base: Path | None):
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise SchemaError(f"schema metadata must look like 'package.module:attribute', got {target!r}")
    root = str(Path(base) if base is not None else Path.cwd())
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module may raise anything on import
        raise SchemaError(f"cannot import {module_name}: {type(error).__name__}: {error}") from None
    finally:
        if added:
            sys.path.remove(root)
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SchemaError(f"{module_name} has no attribute {attr!r}") from None
    return obj


def metadata_ddl(metadata) -> tuple[list[str], list[str]]:
    """PostgreSQL DDL for every table and index in ``metadata``, and notes on what did not compile."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = postgresql.dialect()
    statements: list[str] = []
    notes: list[str] = []
    try:
        tables = metadata.sorted_tables
    except Exception:  # a ForeignKey naming a table the metadata lacks: compile what we can, in any order
        tables = list(metadata.tables.values())
    for table in tables:
        try:
            statements.append(str(CreateTable(table).compile(dialect=dialect)))
        except Exception as error:  # e.g. a ForeignKey to a table the metadata does not hold
            notes.append(f"model table {table.name}: skipped, does not compile ({type(error).__name__}: {error})")
            continue
        for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
            try:
                statements.append(str(CreateIndex(index).compile(dialect=dialect)))
            except Exception as error:
                notes.append(f"model index {index.name} on {table.name}: skipped ({type(error).__name__})")
    return statements, notes


def load_metadata(target: str | object, *, base: Path | None = None) -> Schema:
    """Schema of the SQLAlchemy models named by ``target`` (see :func:`resolve_metadata`)."""
    import warnings

    from sqlperf.schema.ddl import apply_sql

    metadata = resolve_metadata(target, base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sorted_tables warns about FK cycles; the order does not matter here
        statements, notes = metadata_ddl(metadata)
    schema = Schema()
    schema.notes.extend(notes)
    apply_sql(schema, ";\n".join(statements), dialect="postgres", origin="models")
    return schema
