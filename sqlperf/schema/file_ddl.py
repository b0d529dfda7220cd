"""The schema a linted file builds by itself, for the DDL rules (SP203, SP206).

The engine hands rules one statement at a time, but whether a foreign key is indexed or an
index is redundant depends on the statements after it in the same file. So the first DDL
statement of a file replays the whole file's DDL once; the result is cached per source file
and dies with it. Query-only files never pay for this.
"""

from __future__ import annotations

import weakref

from sqlperf.schema.model import Schema

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def file_schema(ctx) -> Schema:
    """The tables, indexes and keys as they stand at the end of the file ``ctx`` is linting."""
    source = ctx.source
    found = _CACHE.get(source)
    if found is None or found[0] != len(source.text):
        from sqlperf.schema.ddl import apply_sql

        schema = apply_sql(Schema(), source.text, dialect=ctx.dialect, origin=source.display_path, stub_missing=True)
        found = _CACHE[source] = (len(source.text), schema)
    return found[1]
