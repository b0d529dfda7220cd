"""The scratch database: an embedded PostgreSQL with the project's DDL and synthetic rows.

Built once and cached on disk, keyed by the DDL's text, the row settings and the generator
version, so a second run only starts the server. The server is stopped at exit; the cached
data directory stays (``SQLPERF_CACHE_DIR``, else ``$XDG_CACHE_HOME/sqlperf``, else
``~/.cache/sqlperf``). A lock file keeps two processes from building the same cluster.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from sqlperf.verify.pg import DatabaseError
from sqlperf.verify.synth import SYNTH_VERSION, plan_fill, read_tables

DEFAULT_ROWS = 20_000
FILL_SESSIONS = 2
DATABASE = "sqlperf_scratch"
READY = "ready.json"


@dataclass
class ScratchOptions:
    rows: int = DEFAULT_ROWS
    table_rows: dict[str, int] = field(default_factory=dict)  # per table (bare or schema-qualified name)
    cache: bool = True
    cache_dir: Path | None = None


def cache_root(options: ScratchOptions | None = None) -> Path:
    if options is not None and options.cache_dir is not None:
        return Path(options.cache_dir)
    if os.environ.get("SQLPERF_CACHE_DIR"):
        return Path(os.environ["SQLPERF_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "sqlperf"


def expand_ddl(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files from paths, directories (their ``*.sql``) and globs, sorted and de-duplicated."""
    found: list[Path] = []
    for item in paths:
        text = str(item)
        if any(ch in text for ch in "*?["):
            found += [Path(p) for p in sorted(glob.glob(text, recursive=True))]
        elif Path(text).is_dir():
            found += sorted(Path(text).rglob("*.sql"))
        else:
            found.append(Path(text))
    seen, out = set(), []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def ddl_from_schema(schema) -> str:
    """CREATE statements for a :class:`Schema` that came from no DDL file (ORM metadata, catalog)."""
    parts = []
    for table in schema.unique_tables():
        cols = [f'"{c.name}" {c.type or "text"}{"" if c.nullable else " NOT NULL"}' for c in table.columns.values()]
        if table.primary_key:
            cols.append("PRIMARY KEY (" + ", ".join(f'"{c}"' for c in table.primary_key) + ")")
        for unique in table.unique:
            cols.append("UNIQUE (" + ", ".join(f'"{c}"' for c in unique) + ")")
        parts.append(f"CREATE TABLE {table.qualified_name} ({', '.join(cols)});")
        for ix in table.indexes:
            if ix.primary or ix.constraint:
                continue
            columns = ", ".join(c if ix.is_expression(i) else f'"{c}"' for i, c in enumerate(ix.columns))
            where = f" WHERE {ix.where}" if ix.where else ""
            unique = "UNIQUE " if ix.unique else ""
            parts.append(f'CREATE {unique}INDEX "{ix.name}" ON {table.qualified_name} USING {ix.method} ({columns}){where};')
    for table in schema.unique_tables():
        for fk in table.foreign_keys:
            parts.append(
                f"ALTER TABLE {table.qualified_name} ADD FOREIGN KEY ({', '.join(fk.columns)}) "
                f"REFERENCES {fk.ref_table} ({', '.join(fk.ref_columns)});"
            )
    return "\n".join(parts)


class ScratchDatabase:
    """Start (building first when not cached) with :meth:`start`; :attr:`dsn` is then usable."""

    def __init__(
        self,
        ddl_text: str,
        options: ScratchOptions | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.ddl_text = ddl_text
        self.options = options or ScratchOptions()
        self.progress = progress or (lambda message: None)
        self.server = None
        self.dsn: str | None = None
        self.notes: list[str] = []
        self.from_cache = False
        self._lock = None

    @classmethod
    def from_sources(cls, *, ddl_paths=(), schema=None, options=None, progress=None) -> ScratchDatabase:
        files = expand_ddl(ddl_paths)
        if files:
            texts = []
            for path in files:
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError) as error:
                    raise DatabaseError(f"cannot read DDL file {path}: {error}", "config") from None
            return cls("\n;\n".join(texts), options, progress)
        if schema:
            return cls(ddl_from_schema(schema), options, progress)
        raise DatabaseError("the scratch database needs the project's DDL: pass --schema FILE or configure schema", "config")

    @property
    def key(self) -> str:
        settings = {
            "ddl": self.ddl_text,
            "rows": self.options.rows,
            "table_rows": sorted(self.options.table_rows.items()),
            "synth": SYNTH_VERSION,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]

    @property
    def directory(self) -> Path:
        return cache_root(self.options) / "scratch" / self.key

    def start(self) -> ScratchDatabase:
        from sqlperf.embedded import EmbeddedPostgres, EmbeddedPostgresUnavailable

        directory = self.directory if self.options.cache else None
        try:
            if directory is None:
                self.server = EmbeddedPostgres().start()
                _make_disposable(self.server.dsn())
                self._build()
                return self
            directory.mkdir(parents=True, exist_ok=True)
            self._acquire_lock(directory)
            ready = directory / READY
            if not ready.exists() and (directory / "data").exists():
                shutil.rmtree(directory / "data", ignore_errors=True)  # a build that died half-way
            self.from_cache = ready.exists()
            if self.from_cache:
                self.progress("starting the cached scratch database")
                try:
                    self.server = EmbeddedPostgres(directory / "data", keep_data=True).start()
                    self.dsn = self.server.dsn(DATABASE)
                    self.notes = json.loads(ready.read_text()).get("notes", [])
                    return self
                except (EmbeddedPostgresUnavailable, ValueError, OSError):
                    # A cached cluster that no longer starts (it runs without fsync): rebuild it.
                    self.stop()
                    ready.unlink(missing_ok=True)
                    shutil.rmtree(directory / "data", ignore_errors=True)
                    self.from_cache = False
            self.progress("starting a new scratch database")
            self._copy_template(directory / "data")
            self.server = EmbeddedPostgres(directory / "data", keep_data=True).start()
            self._build()
            ready.write_text(json.dumps({"notes": self.notes}))
        except EmbeddedPostgresUnavailable as error:
            self.stop()
            raise DatabaseError(str(error), "unsupported") from None
        except BaseException:
            self.stop()
            raise
        finally:
            self._release_lock()
        return self

    def _copy_template(self, target: Path) -> None:
        """A new cluster from a pristine, already initialised one: initdb runs once per cache."""
        from sqlperf.embedded import EmbeddedPostgres

        template = cache_root(self.options) / "scratch" / "template"
        if not (template / READY).exists():
            self.progress("initialising the scratch server (once per cache)")
            shutil.rmtree(template / "data", ignore_errors=True)
            server = EmbeddedPostgres(template / "data", keep_data=True).start()
            try:
                _make_disposable(server.dsn())
            finally:
                server.stop()
            (template / READY).write_text("{}")
        shutil.copytree(template / "data", target, ignore=shutil.ignore_patterns("postmaster.pid", ".handle_pids.json", "log"))
        owner = (template / "data").stat()
        if hasattr(os, "chown") and os.geteuid() == 0:
            for folder, _dirs, files in os.walk(target):
                for name in [folder, *(os.path.join(folder, f) for f in files)]:
                    os.chown(name, owner.st_uid, owner.st_gid)

    def _acquire_lock(self, directory: Path) -> None:
        import fcntl

        self._lock = open(directory / "build.lock", "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def _release_lock(self) -> None:
        if self._lock is not None:
            import fcntl

            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _build(self) -> None:
        import psycopg

        self.dsn = self.server.create_database(DATABASE)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            self.progress("loading the DDL")
            self._load_ddl(conn)
            _drop_check_constraints(conn)
            tables = read_tables(conn)
            rows_for = {t.qualified: self._rows_for(t.schema, t.name) for t in tables}
            fills = plan_fill(tables, rows_for)
        self.notes += [fill.note for fill in fills if fill.sql is None]
        # Tables fill independently (foreign-key triggers are off), so two sessions share the work.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=FILL_SESSIONS) as pool:
            outcomes = list(pool.map(self._fill_one, [fill for fill in fills if fill.sql is not None]))
        self.notes += [note for note in outcomes if note]

    def _fill_one(self, fill) -> str:
        import psycopg

        self.progress(f"filling {fill.table.name} ({fill.rows:,} rows)")
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            # Keys and foreign keys are respected by construction; skipping the FK triggers
            # makes the fill order irrelevant (cycles included) and the load faster.
            conn.execute("SET session_replication_role = replica")
            try:
                conn.execute(fill.sql)
            except psycopg.Error as error:
                return f"could not fill {fill.table.name}: {str(error).splitlines()[0]}"
            conn.execute("SET session_replication_role = origin")
            conn.execute(f"VACUUM ANALYZE {fill.table.qualified}")
        return ""

    def _rows_for(self, schema: str, name: str) -> int:
        per_table = {k.lower(): v for k, v in self.options.table_rows.items()}
        for key in (f"{schema}.{name}".lower(), name.lower()):
            if key in per_table:
                return int(per_table[key])
        return int(self.options.rows)

    def _load_ddl(self, conn) -> None:
        import psycopg

        # CONCURRENTLY cannot run in the implicit transaction of a multi-statement string,
        # and on a database nobody else uses it buys nothing.
        text = re.sub(r"\bconcurrently\b", "", self.ddl_text, flags=re.I)
        try:
            conn.execute(text)
            return
        except psycopg.Error:
            pass
        # One statement at a time, so one the scratch server rejects does not sink the rest.
        for statement in _split_statements(text):
            try:
                conn.execute(statement)
            except psycopg.Error as error:
                self.notes.append(f"DDL statement skipped: {str(error).splitlines()[0]}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def _make_disposable(dsn: str) -> None:
    """Durability settings no throwaway cluster needs; they halve the build time."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for setting in ("fsync = off", "full_page_writes = off", "synchronous_commit = off", "maintenance_work_mem = '256MB'"):
            conn.execute(f"ALTER SYSTEM SET {setting}")
        conn.execute("SELECT pg_reload_conf()")


def _drop_check_constraints(conn) -> None:
    """Synthetic values cannot know every CHECK; the planner ignores them outside partitions."""
    rows = conn.execute(
        "SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, c.relname, con.conname) "
        "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE con.contype = 'c' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT c.relispartition"
    ).fetchall()
    for (statement,) in rows:
        conn.execute(statement)


def _split_statements(text: str) -> list[str]:
    """Statements of a DDL file, split on top-level semicolons by sqlglot's tokenizer."""
    from sqlglot.tokens import Tokenizer, TokenType

    try:
        tokens = Tokenizer().tokenize(text)
    except Exception:
        return [part for part in text.split(";") if part.strip()]
    out, start = [], 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            piece = text[start : token.start]
            if piece.strip():
                out.append(piece)
            start = token.end + 1
    if text[start:].strip():
        out.append(text[start:])
    return out
