"""The PostgreSQL connection layer shared by ``--verify``, ``sqlperf explain`` and ``sqlperf report``.

Every statement runs in its own transaction that is always rolled back. Sessions carry
``application_name = sqlperf``, a ``statement_timeout`` and a ``lock_timeout``; against a
user's DSN they are also ``default_transaction_read_only``. Anything that leaves this module
as an error is a :class:`DatabaseError` whose message is one line and never holds a password.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from sqlperf.verify.dsn import DSN_ENV_VARS, redact_dsn, resolve_dsn, scrub  # noqa: F401 (re-exported)
from sqlperf.verify.params import to_numbered_params
from sqlperf.verify.plan import Plan

if TYPE_CHECKING:
    import psycopg

# The generic-plan path before PostgreSQL 16 needs a named prepared statement; the name
# is ours alone so it never collides with psycopg's own automatic ones (_pg3_N).
_PREPARED_NAME = "sqlperf_generic_plan"


class DatabaseError(Exception):
    """One clear, single-line, password-free message about a database problem.

    ``kind`` is one of "unreachable", "auth", "timeout", "plan", "config", "unsupported";
    a CLI maps every kind to exit code 2.
    """

    exit_code = 2

    def __init__(self, message: str, kind: str = "plan") -> None:
        super().__init__(" ".join(message.split()))
        self.kind = kind


class StatementTimeout(DatabaseError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "timeout")


# -- connecting ----------------------------------------------------------------------------

@dataclass
class SessionSettings:
    """Per-session settings; the defaults are the documented ``--verify`` options."""

    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 1000
    connect_timeout_s: int = 5
    read_only: bool = True
    application_name: str = "sqlperf"
    pool_size: int = 2


def _describe_connect_error(error: Exception, dsn: str) -> DatabaseError:
    raw = str(error).strip().splitlines()
    first = next((line for line in raw if line.strip()), error.__class__.__name__)
    lower = str(error).lower()
    where = redact_dsn(dsn)
    if "password authentication failed" in lower or "no password supplied" in lower or "authentication failed" in lower:
        return DatabaseError(f"cannot connect to {where}: authentication failed (wrong user or password)", "auth")
    if "does not exist" in lower and "database" in lower:
        return DatabaseError(f"cannot connect to {where}: {scrub(first, dsn)}", "unreachable")
    if "timeout expired" in lower or "timed out" in lower:
        return DatabaseError(f"cannot connect to {where}: connection timed out", "timeout")
    if "invalid dsn" in lower or "invalid connection option" in lower or "missing" in lower and "=" in lower:
        return DatabaseError(f"invalid DSN {where}: {scrub(first, dsn)}", "config")
    return DatabaseError(f"cannot connect to {where}: {scrub(first, dsn)}", "unreachable")


def _session_sql(settings: SessionSettings) -> str:
    parts = [
        f"SET statement_timeout = {int(settings.statement_timeout_ms)}",
        f"SET lock_timeout = {int(settings.lock_timeout_ms)}",
        "SET idle_in_transaction_session_timeout = 60000",
    ]
    if settings.read_only:
        parts.append("SET default_transaction_read_only = on")
    return "; ".join(parts)


def _import_psycopg():
    try:
        import psycopg
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise DatabaseError("verification needs psycopg: pip install 'sqlperf[postgres]'", "config") from error
    return psycopg


def connect(dsn: str, settings: SessionSettings | None = None) -> psycopg.Connection:
    """One configured connection (not from the pool); raises :class:`DatabaseError`."""
    psycopg = _import_psycopg()
    settings = settings or SessionSettings()
    try:
        conn = psycopg.connect(
            dsn,
            application_name=settings.application_name,
            connect_timeout=settings.connect_timeout_s,
        )
    except Exception as error:
        raise _describe_connect_error(error, dsn) from None
    try:
        _configure(conn, settings)
    except Exception as error:
        conn.close()
        raise DatabaseError(f"cannot configure a session on {redact_dsn(dsn)}: {scrub(str(error), dsn)}", "config") from None
    return conn


def _configure(conn, settings: SessionSettings) -> None:
    conn.execute(_session_sql(settings))
    conn.commit()


class Database:
    """A small pool of configured sessions on one PostgreSQL database.

    Open it with :meth:`open` (checks the DSN at once, so a bad one fails with a clear
    message before any work starts) and close it with :meth:`close` or ``with``.
    """

    def __init__(self, dsn: str, settings: SessionSettings | None = None) -> None:
        self.dsn = dsn
        self.settings = settings or SessionSettings()
        self._pool = None
        self.server_version = 0
        self.has_hypopg = False
        self._local = threading.local()
        # Set once the server is gone: every later transaction fails at once with this
        # message instead of waiting connect_timeout_s for a pool that cannot connect.
        self.lost: DatabaseError | None = None

    @property
    def display_dsn(self) -> str:
        return redact_dsn(self.dsn)

    def open(self) -> Database:
        probe = connect(self.dsn, self.settings)
        try:
            self.server_version = probe.info.server_version
            row = probe.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'").fetchone()
            self.has_hypopg = row is not None
            probe.rollback()
        finally:
            probe.close()
        from psycopg_pool import ConnectionPool

        # The pool logs each failed reconnection; with no logging configured Python would print
        # those multi-line records on stderr. Our DatabaseError already says it in one line.
        pool_log = logging.getLogger("psycopg.pool")
        if not any(isinstance(h, logging.NullHandler) for h in pool_log.handlers):
            pool_log.addHandler(logging.NullHandler())
        settings = self.settings
        self._pool = ConnectionPool(
            self.dsn,
            min_size=1,
            max_size=max(1, settings.pool_size),
            kwargs={"application_name": settings.application_name, "connect_timeout": settings.connect_timeout_s},
            configure=lambda conn: _configure(conn, settings),
            open=True,
            name="sqlperf",
        )
        return self

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> Database:
        return self.open() if self._pool is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Keep one pooled connection for this thread until the block ends.

        A verify run plans statement after statement; checking a connection out of the pool
        for each one costs more than the EXPLAIN itself.
        """
        if self._pool is None:
            self.open()
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        conn = self._pool.getconn(timeout=self.settings.connect_timeout_s)
        self._local.conn = conn
        try:
            yield
        finally:
            self._local.conn = None
            self._pool.putconn(conn)

    @contextmanager
    def transaction(self, *, read_write: bool = False) -> Iterator[psycopg.Connection]:
        """A connection inside a transaction that is rolled back whatever happens.

        ``read_write`` lifts the session's read-only default for this one transaction; only
        the what-if index build asks for it, and it too is rolled back.
        """
        if self.lost is not None:
            raise DatabaseError(str(self.lost), "unreachable")
        if self._pool is None:
            self.open()
        pinned = getattr(self._local, "conn", None)
        if pinned is not None and not pinned.closed:
            try:
                try:
                    if read_write:
                        pinned.execute("BEGIN READ WRITE")
                    yield pinned
                finally:
                    pinned.rollback()
            except Exception as error:
                raise self._translate(error, pinned) from None
            return
        from psycopg_pool import PoolTimeout

        try:
            conn_cm = self._pool.connection(timeout=self.settings.connect_timeout_s)
            conn = conn_cm.__enter__()
        except PoolTimeout:
            self.lost = DatabaseError(f"no connection to {self.display_dsn} became available", "unreachable")
            raise DatabaseError(str(self.lost), "unreachable") from None
        try:
            try:
                if read_write:
                    conn.execute("BEGIN READ WRITE")
                yield conn
            finally:
                conn.rollback()
        except Exception as error:
            conn_cm.__exit__(type(error), error, error.__traceback__)
            raise self._translate(error, conn) from None
        else:
            conn_cm.__exit__(None, None, None)

    def _translate(self, error: Exception, conn=None) -> Exception:
        translated = self._translated(error)
        if conn is not None and getattr(translated, "kind", "") == "unreachable" and (conn.closed or getattr(conn, "broken", False)):
            self.lost = translated
        return translated

    def _translated(self, error: Exception) -> Exception:
        if isinstance(error, DatabaseError):
            return error
        psycopg = _import_psycopg()
        if isinstance(error, psycopg.errors.QueryCanceled):
            seconds = self.settings.statement_timeout_ms / 1000
            return StatementTimeout(f"statement cancelled after the {seconds:g} s statement_timeout")
        if isinstance(error, psycopg.errors.LockNotAvailable):
            return StatementTimeout(f"lock not granted within the {self.settings.lock_timeout_ms} ms lock_timeout")
        if isinstance(error, psycopg.OperationalError):
            return DatabaseError(f"lost the connection to {self.display_dsn}: {scrub(str(error), self.dsn)}", "unreachable")
        if isinstance(error, psycopg.Error):
            first = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
            return DatabaseError(scrub(first, self.dsn), "plan")
        return error

    # -- planning ----------------------------------------------------------------------------
    def explain(
        self,
        sql: str,
        *,
        generic: bool | None = None,
        analyze: bool = False,
        hypothetical: tuple[str, ...] | list[str] = (),
        build_indexes: tuple[str, ...] | list[str] = (),
        analyze_tables: tuple[str, ...] | list[str] = (),
        settings: dict[str, str] | None = None,
    ) -> Plan:
        """The planner's plan for ``sql`` (``EXPLAIN (FORMAT JSON)``), in a rolled-back transaction.

        ``generic``: plan a parameterised statement as a generic plan (None: when it has
        placeholders). ``hypothetical``: CREATE INDEX statements made visible through HypoPG
        for this plan only. ``build_indexes``: CREATE INDEX statements really built inside the
        transaction (which is rolled back), for databases without HypoPG.
        """
        text, count = to_numbered_params(sql)
        if generic is None:
            generic = count > 0
        if generic and analyze:
            raise DatabaseError("EXPLAIN ANALYZE needs values for the statement's parameters", "unsupported")
        if hypothetical and not self.has_hypopg:
            raise DatabaseError("HypoPG is not installed in this database", "unsupported")
        options = ["FORMAT JSON"]
        if analyze:
            options += ["ANALYZE", "BUFFERS"]
        use_prepare = generic and self.server_version < 160000
        if generic and not use_prepare:
            options.append("GENERIC_PLAN")
        with self.transaction(read_write=bool(build_indexes)) as conn:
            for name, value in (settings or {}).items():
                conn.execute("SELECT set_config(%s, %s, true)", (name, str(value)))
            for ddl in build_indexes:
                conn.execute(_strip_concurrently(ddl))
            for table in analyze_tables:
                conn.execute(f"ANALYZE {table}")
            hypo_ids: list[int] = []
            try:
                for ddl in hypothetical:
                    row = conn.execute("SELECT indexrelid FROM hypopg_create_index(%s)", (_strip_concurrently(ddl),)).fetchone()
                    hypo_ids.append(row[0])
                if use_prepare:
                    raw = self._explain_prepared(conn, text, count, options)
                else:
                    raw = conn.execute(f"EXPLAIN ({', '.join(options)}) {text}", prepare=False).fetchone()[0]
            finally:
                # HypoPG's indexes live in the session, not the transaction: drop them by hand.
                if hypothetical:
                    conn.rollback()
                    conn.execute("SELECT hypopg_reset()")
        return Plan.from_json(raw, sql=sql, hypothetical=tuple(hypothetical) + tuple(build_indexes))

    def _explain_prepared(self, conn, text: str, count: int, options: list[str]) -> Any:
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE {_PREPARED_NAME} AS {text}", prepare=False)
        try:
            # The values are never planned with: the forced generic plan keeps $n symbolic.
            args = ", ".join(["NULL"] * count)
            call = f"EXECUTE {_PREPARED_NAME}({args})" if count else f"EXECUTE {_PREPARED_NAME}"
            return conn.execute(f"EXPLAIN ({', '.join(options)}) {call}", prepare=False).fetchone()[0]
        finally:
            # Prepared statements outlive a rollback; deallocate even after an error.
            conn.rollback()
            conn.execute(f"DEALLOCATE {_PREPARED_NAME}")

    def hypothetical_index(self, ddl: str) -> int:
        """Create a HypoPG index in a session and return its oid (then reset it).

        Mostly a capability check: :meth:`explain` with ``hypothetical=`` is how plans see them.
        """
        if not self.has_hypopg:
            raise DatabaseError("HypoPG is not installed in this database", "unsupported")
        with self.transaction() as conn:
            try:
                row = conn.execute("SELECT indexrelid FROM hypopg_create_index(%s)", (_strip_concurrently(ddl),)).fetchone()
                return int(row[0])
            finally:
                conn.rollback()
                conn.execute("SELECT hypopg_reset()")

    def table_size(self, table: str) -> int | None:
        """Bytes on disk of ``table`` (None when it does not exist): the index-build guard."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT pg_total_relation_size(c.oid) FROM pg_class c WHERE c.oid = to_regclass(%s)", (table,)
            ).fetchone()
        return int(row[0]) if row else None

    def query(self, sql: str, params: tuple | dict | None = None) -> list[tuple]:
        """Rows of a read-only query, in a rolled-back transaction (for the report's collectors)."""
        with self.transaction() as conn:
            return conn.execute(sql, params).fetchall()


_CONCURRENTLY = re.compile(r"\bconcurrently\b\s*", re.I)


def _strip_concurrently(ddl: str) -> str:
    """CONCURRENTLY cannot run inside a transaction block; a what-if index never needs it."""
    return _CONCURRENTLY.sub("", ddl.strip().rstrip(";"), count=1)


def open_database(dsn: str | None = None, settings: SessionSettings | None = None) -> Database:
    """Open a :class:`Database` from ``dsn`` or the environment; raises a config error without one."""
    resolved = resolve_dsn(dsn)
    if not resolved:
        raise DatabaseError("no DSN given: pass --dsn or set SQLPERF_DSN or DATABASE_URL", "config")
    return Database(resolved, settings).open()
