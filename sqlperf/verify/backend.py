"""What confirmation asks of a database: a plan, a plan with a what-if index, a table's size.

:class:`PostgresBackend` serves both a user's DSN and the scratch database; the SQLite
backend lives in :mod:`sqlperf.verify.sqlite`. Plans are cached per (statement, indexes),
because several findings of one statement share its "before" plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlperf.verify.pg import Database, DatabaseError
from sqlperf.verify.plan import Plan


class WhatIfUnavailable(DatabaseError):
    """No way to try an index here: no HypoPG, and building one is not allowed or too big."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "unsupported")


_INDEX_NAME = re.compile(
    r"^\s*create\s+(?P<unique>unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?(?P<name>(?!on\b)\S+\s+)?on\s+(?:only\s+)?(?P<table>\S+)",
    re.I,
)


def index_table(ddl: str) -> str | None:
    """The table a CREATE INDEX statement is on."""
    m = _INDEX_NAME.match(ddl)
    return m["table"].strip('"') if m else None


def rename_index(ddl: str, name: str) -> str:
    """``ddl`` with its index named ``name``, so a plan's use of it can be recognised."""
    m = _INDEX_NAME.match(ddl)
    if not m:
        return ddl
    head = "CREATE UNIQUE INDEX" if m["unique"] else "CREATE INDEX"
    return f"{head} {name} ON {ddl[m.end('table') - len(m['table']):].strip().rstrip(';')}"


@dataclass
class BackendOptions:
    analyze: bool = False
    allow_index_build: bool = False
    # Against a DSN, an index is built in the rolled-back transaction only below this size.
    max_index_build_bytes: int = 256 * 1024 * 1024


class PostgresBackend:
    """A :class:`Database` as a verification target; ``scratch`` marks the throwaway one."""

    name = "postgresql"

    def __init__(self, db: Database, *, scratch: bool = False, options: BackendOptions | None = None) -> None:
        self.db = db
        self.scratch = scratch
        self.options = options or BackendOptions()
        self._plans: dict[tuple, Plan | DatabaseError] = {}
        self._rows: dict[str, float | None] = {}
        self._whatif_counter = 0
        self._whatif_plans: dict[tuple, tuple[Plan, str]] = {}
        self._distinct: dict[str, float | None] = {}

    @property
    def target(self) -> str:
        return "the scratch database" if self.scratch else self.db.display_dsn

    def session(self):
        """One connection held for a whole verify run (see :meth:`Database.pinned`)."""
        return self.db.pinned()

    @property
    def can_analyze(self) -> bool:
        return self.options.analyze

    def explain(self, sql: str, *, analyze: bool = False) -> Plan:
        key = (sql, analyze)
        cached = self._plans.get(key)
        if cached is None:
            try:
                cached = self.db.explain(sql, analyze=analyze)
            except DatabaseError as error:
                cached = error
            self._plans[key] = cached
        if isinstance(cached, DatabaseError):
            raise cached
        return cached

    def whatif_method(self, ddl: str) -> str:
        """"hypopg", "build", or raises :class:`WhatIfUnavailable` saying why neither applies."""
        uses_hypopg_method = not re.search(r"\busing\s+(gin|gist|spgist)\b", ddl, re.I)
        if self.db.has_hypopg and uses_hypopg_method:
            return "hypopg"
        if self.scratch:
            return "build"
        if not self.options.allow_index_build:
            raise WhatIfUnavailable(
                "no what-if index: HypoPG is not installed in the database (or cannot model this index) "
                "and --allow-index-build was not given"
            )
        table = index_table(ddl)
        size = self.db.table_size(table) if table else None
        if size is None:
            raise WhatIfUnavailable(f"no what-if index: table {table} not found")
        if size > self.options.max_index_build_bytes:
            raise WhatIfUnavailable(
                f"no what-if index: {table} is {size / 1e6:,.0f} MB, above the {self.options.max_index_build_bytes / 1e6:,.0f} MB build guard"
            )
        return "build"

    def explain_with_index(self, sql: str, ddl: str | list[str]) -> tuple[Plan, str]:
        """The plan of ``sql`` with what-if index(es) ``ddl``, and the name the plan knows them by.

        HypoPG names its indexes ``<oid>btree_table_col``; built indexes get our own names,
        ``<name>_<n>``, so :func:`uses_whatif_index` can recognise them.
        """
        ddls = [ddl] if isinstance(ddl, str) else list(ddl)
        key = (sql, tuple(ddls))
        cached = self._whatif_plans.get(key)
        if cached is None:
            cached = self._explain_with_index(sql, ddls)
            self._whatif_plans[key] = cached
        return cached

    def _explain_with_index(self, sql: str, ddls: list[str]) -> tuple[Plan, str]:
        methods = {self.whatif_method(d) for d in ddls}
        self._whatif_counter += 1
        if methods == {"hypopg"}:
            return self.db.explain(sql, hypothetical=ddls), "<hypopg>"
        name = f"sqlperf_whatif_{self._whatif_counter}"
        builds = [rename_index(d, f"{name}_{i}") for i, d in enumerate(ddls, start=1)]
        if any(re.search(r"gin_trgm_ops|gist_trgm_ops", d, re.I) for d in ddls):
            builds.insert(0, "CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # On the scratch database the built index is analysed too, so an expression index has
        # real statistics (ANALYZE updates pg_class in place: never on a user's database).
        # A plain column already has statistics; only an expression needs the ANALYZE.
        tables = sorted({t for d in ddls if _indexes_expression(d) and (t := index_table(d))}) if self.scratch else []
        return self.db.explain(sql, build_indexes=builds, analyze_tables=tables), name

    def table_rows(self, table: str) -> float | None:
        """The planner's row estimate for ``table`` (pg_class.reltuples), cached."""
        key = table.lower()
        if key not in self._rows:
            rows = self.db.query(
                "SELECT c.reltuples::float8, c.relpages FROM pg_class c WHERE c.oid = to_regclass(%s)", (table,)
            )
            if not rows:
                self._rows[key] = None
            else:
                reltuples, relpages = rows[0]
                # -1 (never analysed) or 0 with pages: fall back to a pages-based guess
                self._rows[key] = float(reltuples) if reltuples and reltuples > 0 else (float(relpages) * 50 if relpages else 0.0)
        return self._rows[key]

    def column_distinct(self, table: str, column: str) -> float | None:
        """Distinct values of ``table.column`` from pg_stats (negative n_distinct is a share of rows)."""
        key = f"{table}.{column}".lower()
        if key not in self._distinct:
            rows = self.db.query(
                "SELECT s.n_distinct FROM pg_stats s WHERE s.tablename = %s AND s.attname = %s "
                "ORDER BY s.schemaname = ANY (current_schemas(false)) DESC LIMIT 1",
                (table.split(".")[-1], column),
            )
            value = float(rows[0][0]) if rows and rows[0][0] is not None else None
            if value is not None and value < 0:
                value = -value * (self.table_rows(table) or 0.0)
            self._distinct[key] = value
        return self._distinct[key]

    def close(self) -> None:
        self.db.close()


def _indexes_expression(ddl: str) -> bool:
    """Whether a CREATE INDEX indexes an expression (``lower(email)``), not only columns."""
    m = _INDEX_NAME.match(ddl)
    if not m:
        return True
    rest = ddl[m.end():]
    open_at = rest.find("(")
    return open_at >= 0 and "(" in rest[open_at + 1 :].split(")")[0]


def uses_whatif_index(plan: Plan, name: str) -> bool:
    for node in plan.nodes():
        index = node.index_name or ""
        if name == "<hypopg>" and index.startswith("<"):
            return True
        if index == name or index.startswith(name + "_"):
            return True
    return False
