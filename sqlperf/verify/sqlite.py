"""SQLite backend: ``EXPLAIN QUERY PLAN`` on a database file (read-only) or on an in-memory
database built from the DDL with synthetic rows.

SQLite has no costs: a finding is confirmed when the plan says ``SCAN t`` and, with the
what-if index built in the (rolled-back) transaction, ``SEARCH t USING INDEX``.
"""

from __future__ import annotations

import re
import sqlite3

from sqlperf.verify.backend import WhatIfUnavailable, rename_index
from sqlperf.verify.params import to_numbered_params
from sqlperf.verify.pg import DatabaseError
from sqlperf.verify.plan import Plan

_PARAM = re.compile(r"\$(\d+)")


class SqliteBackend:
    name = "sqlite"
    scratch = True

    def __init__(self, conn: sqlite3.Connection, *, target: str = "SQLite (in memory)", writable: bool = True) -> None:
        self.conn = conn
        self.target = target
        self.writable = writable
        self._counter = 0

    @classmethod
    def open_file(cls, path: str, *, allow_index_build: bool = False) -> SqliteBackend:
        """Read-only, unless an index may be built (inside a savepoint that is rolled back)."""
        from pathlib import Path

        if not Path(path).is_file():
            raise DatabaseError(f"cannot open SQLite database {path}: no such file", "unreachable")
        mode = "rw" if allow_index_build else "ro"
        try:
            conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None)
            conn.execute("PRAGMA query_only = ON" if not allow_index_build else "SELECT 1")
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open SQLite database {path}: {error}", "unreachable") from None
        return cls(conn, target=path, writable=allow_index_build)

    @classmethod
    def from_ddl(cls, ddl_text: str, rows: int = 1000) -> SqliteBackend:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.executescript(re.sub(r"\bconcurrently\b", "", ddl_text, flags=re.I))
        except sqlite3.Error as error:
            raise DatabaseError(f"the DDL does not load into SQLite: {error}", "config") from None
        _fill(conn, rows)
        conn.execute("ANALYZE")
        return cls(conn)

    can_analyze = False

    def explain(self, sql: str, *, analyze: bool = False) -> Plan:
        numbered, count = to_numbered_params(sql)
        # SQLite's plan does not depend on bound values, so NULLs stand in for them.
        text = _PARAM.sub(lambda m: f"?{m.group(1)}", numbered)
        try:
            rows = self.conn.execute(f"EXPLAIN QUERY PLAN {text}", (None,) * count).fetchall()
        except sqlite3.Error as error:
            raise DatabaseError(str(error), "plan") from None
        return Plan.from_sqlite(rows, sql=sql)

    def explain_with_index(self, sql: str, ddl: str | list[str]) -> tuple[Plan, str]:
        if not self.writable:
            raise WhatIfUnavailable("no what-if index on a SQLite file without --allow-index-build")
        self._counter += 1
        name = f"sqlperf_whatif_{self._counter}"
        self.conn.execute("SAVEPOINT sqlperf_whatif")
        try:
            for i, one in enumerate([ddl] if isinstance(ddl, str) else ddl, start=1):
                self.conn.execute(rename_index(one, f"{name}_{i}"))
            plan = self.explain(sql)
        except sqlite3.Error as error:
            raise DatabaseError(f"what-if index failed: {error}", "plan") from None
        finally:
            self.conn.execute("ROLLBACK TO sqlperf_whatif")
            self.conn.execute("RELEASE sqlperf_whatif")
        return plan, name

    def table_rows(self, table: str) -> float | None:
        try:
            return float(self.conn.execute(f'SELECT count(*) FROM "{table.strip(chr(34))}"').fetchone()[0])
        except sqlite3.Error:
            return None

    def close(self) -> None:
        self.conn.close()


def _fill(conn: sqlite3.Connection, rows: int) -> None:
    """Rows by declared type affinity; keys get the row number so they stay unique."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        columns = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        exprs = []
        for _, name, type_, _notnull, _default, _pk in columns:
            t = (type_ or "").lower()
            if "int" in t:
                exprs.append("g" if _pk else "abs(random()) % (g + 1)")
            elif any(k in t for k in ("real", "floa", "doub", "num", "dec")):
                exprs.append("abs(random() % 100000) / 100.0")
            elif "date" in t or "time" in t:
                exprs.append("date('2020-01-01', '+' || (g % 3650) || ' days')")
            else:
                exprs.append(f"'{name}_' || g")
        cols = ", ".join(f'"{c[1]}"' for c in columns)
        conn.execute(
            f'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {int(rows)}) '
            f'INSERT OR IGNORE INTO "{table}" ({cols}) SELECT {", ".join(exprs)} FROM s'
        )
