"""Schema awareness: one model, three loaders (DDL files, live PostgreSQL catalog, SQLAlchemy).

Importing this package stays light: psycopg and SQLAlchemy are imported only by the
loader that needs them, when it is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from sqlperf.schema.errors import SchemaError
from sqlperf.schema.model import Column, ForeignKey, Index, Schema, Table

__all__ = ["Column", "ForeignKey", "Index", "Schema", "SchemaError", "Table", "load_schema"]


def load_schema(
    ddl: Iterable[str | Path] = (),
    *,
    dsn: str | None = None,
    metadata: str | object | None = None,
    base: Path | None = None,
    dialect: str = "postgres",
) -> Schema:
    """Build one schema from every source given; later sources add to (and override) earlier ones.

    ``ddl`` holds files, directories or globs relative to ``base``, replayed in sorted order;
    ``dsn`` reads a live PostgreSQL catalog (read-only); ``metadata`` is ``"pkg.module:attr"``
    naming a SQLAlchemy ``MetaData`` or declarative base, or the object itself.
    Raises :class:`SchemaError` for anything fatal.
    """
    schema = Schema()
    ddl = list(ddl or ())
    if ddl:
        from sqlperf.schema.ddl import load_ddl

        load_ddl(ddl, base=base, dialect=dialect, schema=schema)
    if metadata is not None:
        from sqlperf.schema.orm import load_metadata

        _merge(schema, load_metadata(metadata, base=base))
    if dsn:
        from sqlperf.schema.catalog import load_catalog

        _merge(schema, load_catalog(dsn))
    return schema


def _merge(into: Schema, other: Schema) -> None:
    for table in other.unique_tables():
        into.drop_table(table.qualified_name)
        into.add_table(table)
    into.notes.extend(other.notes)
