"""Schema from a live PostgreSQL catalog, read-only, with row estimates from ``pg_class.reltuples``.

Four catalog queries in one read-only transaction, whatever the number of tables: the
report runs this against production databases, so it must be cheap and never write.
"""

from __future__ import annotations

from sqlperf.schema.errors import SchemaError
from sqlperf.schema.model import Column, ForeignKey, Index, Schema, Table
from sqlperf.schema.normalize import normalize_expression, normalize_type

_RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.reltuples
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')  -- tables, partitioned tables, materialized views (they have indexes too)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY(%(schemas)s::text[]))
ORDER BY n.nspname, c.relname
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_INDEXES = """
SELECT i.indrelid, ic.relname, i.indisunique, i.indisprimary, am.amname,
       pg_get_expr(i.indpred, i.indrelid),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k),
       (i.indkey::int2[])[0:i.indnkeyatts - 1],
       (i.indoption::int2[])[0:i.indnkeyatts - 1],
       EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u'))
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY(%(oids)s)
ORDER BY i.indrelid, ic.relname
"""

_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY u(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.num ORDER BY u.ord),
       rn.nspname, rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY u(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = u.num ORDER BY u.ord)
FROM pg_constraint con
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f') AND con.conrelid = ANY(%(oids)s)
ORDER BY con.conrelid, con.conname
"""

_DESC = 1  # bit 0 of pg_index.indoption


def describe_dsn(dsn: str) -> str:
    """``host:port/dbname`` for messages: never the password, never the raw DSN."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:
        return "the given DSN"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def connect_read_only(dsn: str, *, timeout: int = 10):
    """A psycopg connection whose transactions are read-only, or :class:`SchemaError` in one line."""
    try:
        import psycopg
    except ImportError:
        raise SchemaError("reading a live schema needs psycopg: pip install 'sqlperf[postgres]'") from None
    try:
        conn = psycopg.connect(dsn, connect_timeout=timeout)
    except psycopg.ProgrammingError:
        raise SchemaError("invalid PostgreSQL DSN (check its syntax)") from None
    except psycopg.Error as error:
        reason = _first_line(str(error), dsn)
        raise SchemaError(f"cannot connect to PostgreSQL at {describe_dsn(dsn)}: {reason}") from None
    conn.read_only = True
    return conn


def _first_line(message: str, dsn: str) -> str:
    line = next((part.strip() for part in message.splitlines() if part.strip()), "connection failed")
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(dsn).get("password")
    except Exception:
        password = None
    return line.replace(password, "***") if password else line


def load_catalog(dsn: str, *, schemas: list[str] | None = None, timeout_ms: int = 30000, lock_timeout_ms: int = 3000) -> Schema:
    """Tables, columns, indexes, keys and row estimates of the database at ``dsn``.

    ``pg_get_expr`` and ``pg_get_indexdef`` lock the table they describe: behind a migration's
    ACCESS EXCLUSIVE lock they would wait; ``lock_timeout_ms`` bounds that wait.
    """
    import psycopg

    conn = connect_read_only(dsn)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            cur.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
            cur.execute(_RELATIONS, {"schemas": schemas})
            relations = cur.fetchall()
            oids = [row[0] for row in relations]
            cur.execute(_COLUMNS, {"oids": oids})
            columns = cur.fetchall()
            cur.execute(_INDEXES, {"oids": oids})
            indexes = cur.fetchall()
            cur.execute(_CONSTRAINTS, {"oids": oids})
            constraints = cur.fetchall()
    except psycopg.errors.LockNotAvailable:
        raise SchemaError(
            f"cannot read the catalog of {describe_dsn(dsn)}: a table is locked by another session "
            f"(waited {lock_timeout_ms / 1000:g} s); try again when it is released"
        ) from None
    except psycopg.Error as error:
        raise SchemaError(f"cannot read the catalog of {describe_dsn(dsn)}: {_first_line(str(error), dsn)}") from None
    finally:
        conn.close()
    return build_schema(relations, columns, indexes, constraints)


def build_schema(relations, columns, indexes, constraints) -> Schema:
    """Assemble catalog rows (as returned by the queries above) into a :class:`Schema`."""
    schema = Schema()
    by_oid: dict[int, Table] = {}
    for oid, namespace, name, reltuples in relations:
        # reltuples is -1 for a table never vacuumed or analysed: unknown, not empty.
        estimate = float(reltuples) if reltuples is not None and reltuples >= 0 else None
        table = Table(name=name, schema=namespace, row_estimate=estimate)
        by_oid[oid] = table
        schema.add_table(table)
    # A bare name means the table on the search path: let public's own claim it whatever sorts after it.
    for table in by_oid.values():
        if table.schema == "public":
            schema.tables[table.name.lower()] = table
    for oid, name, type_text, not_null, default in columns:
        by_oid[oid].add_column(Column(name, normalize_type(type_text), not not_null, default))
    for oid, name, unique, primary, method, predicate, defs, keys, options, is_constraint in indexes:
        expressions = [key == 0 for key in keys]
        entries = [normalize_expression(d) if is_expr else _unquote(d) for d, is_expr in zip(defs, expressions)]
        by_oid[oid].indexes.append(
            Index(
                name=name,
                table=by_oid[oid].name,
                columns=entries,
                unique=unique,
                primary=primary,
                method=method,
                where=normalize_expression(predicate) if predicate else None,
                descending=[bool(opt & _DESC) for opt in options],
                expressions=expressions,
                constraint=is_constraint,
            )
        )
    for oid, name, kind, cols, ref_schema, ref_table, ref_cols in constraints:
        table = by_oid[oid]
        if kind == "p":
            table.primary_key = list(cols)
        elif kind == "u":
            table.unique.append(list(cols))
        else:
            table.foreign_keys.append(ForeignKey(list(cols), ref_table, list(ref_cols), name))
    return schema


def _unquote(identifier: str) -> str:
    if len(identifier) >= 2 and identifier[0] == identifier[-1] == '"':
        return identifier[1:-1].replace('""', '"')
    return identifier
