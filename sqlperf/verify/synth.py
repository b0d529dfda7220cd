"""Type-aware synthetic rows for the scratch database, generated inside PostgreSQL.

The DDL is loaded first; this module then reads the scratch database's own catalog (exact
types, keys, NOT NULL, identity and generated columns) and fills each table with one
``INSERT ... SELECT ... FROM generate_series`` so 100,000 rows take well under a second.

Every value is a function of the row number ``g``: a key column is ``g`` in its type (so it
is unique), a foreign key is the parent's key of a pseudo-random parent row (so it points at
a row that exists), and other columns are spread with a per-column hash so they are not
correlated and the planner sees realistic, selective statistics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Bump when the generated data changes, so cached scratch clusters are rebuilt.
SYNTH_VERSION = 3


@dataclass
class ColumnInfo:
    name: str
    type: str  # format_type(), e.g. "character varying(40)", "numeric(12,2)"
    not_null: bool
    has_default: bool
    identity: str  # "", "a" (always) or "d" (by default)
    generated: bool
    enum_labels: list[str] = field(default_factory=list)
    base_type: str = ""  # for domains: the underlying type


@dataclass
class TableInfo:
    schema: str
    name: str
    columns: list[ColumnInfo]
    key_sets: list[list[str]]  # primary key and unique constraints/indexes
    foreign_keys: list[tuple[list[str], str, list[str]]]  # (columns, "schema"."table", parent columns)

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.name}"'


_CATALOG_TABLES = """
SELECT c.oid, n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY n.nspname, c.relname
"""

_CATALOG_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef,
       a.attidentity::text, a.attgenerated::text <> '',
       CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY enumsortorder) END,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '' END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_CATALOG_KEYS = """
SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)
FROM pg_index i WHERE i.indrelid = %s AND i.indisunique AND i.indexprs IS NULL
ORDER BY i.indisprimary DESC
"""

_CATALOG_FKS = """
SELECT ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
       format('%%I.%%I', pn.nspname, pc.relname),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
FROM pg_constraint con JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE con.conrelid = %s AND con.contype = 'f'
"""


def read_tables(conn) -> list[TableInfo]:
    tables = []
    for oid, schema, name in conn.execute(_CATALOG_TABLES).fetchall():
        columns = [
            ColumnInfo(n, t, bool(nn), bool(hd), ident or "", bool(gen), list(labels or []), base or "")
            for n, t, nn, hd, ident, gen, labels, base in conn.execute(_CATALOG_COLUMNS, (oid,)).fetchall()
        ]
        keys = [list(row[0]) for row in conn.execute(_CATALOG_KEYS, (oid,)).fetchall()]
        fks = [(list(c), parent, list(p)) for c, parent, p in conn.execute(_CATALOG_FKS, (oid,)).fetchall()]
        tables.append(TableInfo(schema, name, columns, keys, fks))
    return tables


def _hash(salt: int, row: str = "g") -> str:
    """A non-negative pseudo-random bigint from the row number, different for each salt."""
    return f"(hashint8(({row})::bigint * 7919 + {salt})::bigint & 2147483647)"


def _limit(type_: str) -> int | None:
    m = re.search(r"\((\d+)\)", type_)
    return int(m.group(1)) if m and re.match(r"(character|char|bit)", type_) else None


def value_expr(col: ColumnInfo, *, row: str, unique: bool, salt: int, cardinality: int) -> str | None:
    """SQL for one value of ``col`` in row ``row`` (an SQL expression); None when unsupported.

    ``unique`` values are an injective function of the row number; the others spread over
    ``cardinality`` distinct values.
    """
    t = (col.base_type or col.type).lower()
    k = f"({row})" if unique else f"({_hash(salt, row)} % {max(cardinality, 1)})"
    cast = f"::{col.type}" if col.base_type else ""
    if col.enum_labels:
        labels = ", ".join("'" + label.replace("'", "''") + "'" for label in col.enum_labels)
        return f"(ARRAY[{labels}])[1 + {_hash(salt, row)} % {len(col.enum_labels)}]::{col.type}"
    if t.endswith("[]"):
        return f"'{{}}'::{col.type}"
    if t in ("smallint",):
        return f"(({k}) % 32000)::smallint{cast}"
    if t in ("integer", "bigint", "oid"):
        return f"({k})::{t}{cast}"
    if t.startswith("numeric") or t.startswith("decimal"):
        m = re.search(r"\((\d+)(?:,(\d+))?\)", t)
        if m:
            precision, scale = int(m.group(1)), int(m.group(2) or 0)
            room = 10 ** max(precision - scale, 1) - 1
            return f"(({k}) % {room} + ({_hash(salt + 1, row)} % 100) / 100.0)::{col.type}" if scale else f"(({k}) % {room})::{col.type}"
        return f"(({k}) + ({_hash(salt + 1, row)} % 100) / 100.0)::numeric{cast}"
    if t in ("real", "double precision"):
        return f"(({k}) + ({_hash(salt + 1, row)} % 100) / 100.0)::{t}{cast}"
    if t == "boolean":
        return f"(({k}) % 2 = 0){cast}"
    if t == "date":
        return f"(date '2020-01-01' + (({k}) % 3650)::int){cast}"
    if t.startswith("timestamp"):
        base = "timestamptz '2020-01-01 00:00:00+00'" if "with time zone" in t else "timestamp '2020-01-01 00:00:00'"
        span = "" if unique else " % 157680000"
        return f"({base} + (({k}){span}) * interval '1 second')::{col.type}"
    if t.startswith("time"):
        return f"(time '00:00' + (({k}) % 86400) * interval '1 second')::{col.type}"
    if t == "interval":
        return f"((({k}) % 100000) * interval '1 minute'){cast}"
    if t == "uuid":
        return f"md5(({k})::text || '{salt}')::uuid{cast}"
    if t in ("json", "jsonb"):
        return f"jsonb_build_object('id', {k}, 'kind', 'k' || ({_hash(salt + 1, row)} % 20))::{t}{cast}"
    if t == "bytea":
        return f"decode(md5(({k})::text), 'hex'){cast}"
    if t in ("inet", "cidr"):
        return f"('10.0.0.0'::inet + (({k}) % 16777216))::{t}{cast}"
    if t.startswith(("character", "text", "char", "varchar", "citext", "name")):
        limit = _limit(t)
        prefix = _text_prefix(col.name)
        body = f"{prefix[0]} || ({k})::text || {prefix[1]}"
        if limit is not None:
            # Short fixed-width columns: digits alone keep values unique where a prefix would not fit.
            body = f"right(({k})::text, {limit})" if limit < 12 else f"left({body}, {limit})"
        return f"({body})::{col.type}"
    return None


def _text_prefix(name: str) -> tuple[str, str]:
    """Values that look like the column: emails for *email*, codes for *code*, words otherwise."""
    low = name.lower()
    if "email" in low:
        return "'user'", "'@example.com'"
    if low.endswith(("url", "uri", "link")):
        return "'https://example.com/p/'", "''"
    safe = re.sub(r"[^a-z0-9]+", "_", low)[:12] or "v"
    return f"'{safe}_'", "''"


@dataclass
class FillPlan:
    table: TableInfo
    rows: int
    sql: str | None
    note: str = ""


def plan_fill(tables: list[TableInfo], rows_for: dict[str, int]) -> list[FillPlan]:
    """One INSERT per table (None with a note when a NOT NULL column has no generator)."""
    by_name = {t.qualified: t for t in tables}
    plans = []
    for table in tables:
        n = rows_for[table.qualified]
        key_columns = {c for keys in table.key_sets for c in keys}
        fk_of = {}
        # A foreign key inside a key (junction tables, 1:1 tables) must enumerate parent rows
        # rather than pick them at random, or the key would repeat.
        stride = 1
        for cols, parent, parent_cols in table.foreign_keys:
            in_key = any(set(cols) <= set(keys) for keys in table.key_sets)
            parent_rows = rows_for.get(_quote_qualified(parent), 0)
            pick = f"(1 + ((g - 1) / {stride}) % {max(parent_rows, 1)})" if in_key else None
            if in_key:
                stride *= max(parent_rows, 1)
            for c, pc in zip(cols, parent_cols):
                fk_of[c] = (parent, pc, tuple(cols), pick)
        names, exprs, note = [], [], ""
        for salt, col in enumerate(table.columns, start=1):
            if col.generated:
                continue
            expr = None
            if col.name in fk_of:
                parent_name, parent_col, group, pick = fk_of[col.name]
                expr = _fk_expr(by_name, rows_for, parent_name, parent_col, group, col, pick)
            if expr is None:
                if col.has_default and not col.identity and col.name not in key_columns:
                    continue  # the column's own default (serial counters, now(), ...) is realistic enough
                expr = value_expr(col, row="g", unique=col.name in key_columns, salt=salt * 101, cardinality=n)
            if expr is None:
                if col.not_null and not col.has_default:
                    note = f"no generator for {table.name}.{col.name} ({col.type}); table left empty"
                    break
                continue
            names.append(f'"{col.name}"')
            exprs.append(expr)
        if note:
            plans.append(FillPlan(table, 0, None, note))
            continue
        overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity == "a" for c in table.columns) else ""
        sql = (
            f"INSERT INTO {table.qualified} ({', '.join(names)}){overriding} "
            f"SELECT {', '.join(exprs)} FROM generate_series(1, {int(n)}) AS s(g)"
        )
        plans.append(FillPlan(table, n, sql))
    return plans


def _fk_expr(by_name, rows_for, parent_name: str, parent_col: str, group: tuple, col: ColumnInfo, pick: str | None) -> str | None:
    parent = by_name.get(_quote_qualified(parent_name))
    if parent is None:
        return None
    parent_rows = rows_for.get(parent.qualified, 0)
    if parent_rows <= 0:
        return None if not col.not_null else "NULL"
    pcol = next((c for c in parent.columns if c.name == parent_col), None)
    if pcol is None:
        return None
    # Every column of a composite foreign key must pick the same parent row: salt by the group.
    group_salt = sum(ord(ch) for ch in "".join(group))
    parent_row = pick or f"(1 + {_hash(group_salt)} % {parent_rows})"
    expr = value_expr(pcol, row=parent_row, unique=True, salt=0, cardinality=parent_rows)
    return f"({expr})::{col.type}" if expr else None


def _quote_qualified(name: str) -> str:
    schema, _, table = name.partition(".")
    return f'"{schema.strip(chr(34))}"."{table.strip(chr(34))}"'
