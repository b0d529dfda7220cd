"""Verification with EXPLAIN: the library doors behind ``check --verify`` and ``sqlperf explain``.

Nothing here is imported by a plain ``sqlperf check``; psycopg and the embedded server are
imported only when a verification really runs.
"""

from __future__ import annotations

import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterator

from sqlperf.rule import Finding

__all__ = ["ExplainResult", "explain_statement", "mark_skipped", "open_backend", "verify_findings"]

_WRITES = re.compile(r"^\s*(with\b.*?\b)?(insert|update|delete|merge)\b", re.I | re.S)


def _split_options(options: dict | None) -> tuple[dict, dict, dict]:
    """(confirmation options, per-plan-check options, backend/scratch options)."""
    options = dict(options or {})
    checks = {code: options.pop(code) for code in ("SP601", "SP602", "SP603") if code in options}
    backend = {k: options.pop(k) for k in list(options) if k in _BACKEND_KEYS}
    return options, checks, backend


_BACKEND_KEYS = {
    "statement_timeout_ms",
    "lock_timeout_ms",
    "connect_timeout_s",
    "rows",
    "table_rows",
    "cache",
    "cache_dir",
    "max_index_build_bytes",
}


@contextmanager
def open_backend(
    *,
    dsn: str | None = None,
    scratch: bool = False,
    schema=None,
    ddl_paths=(),
    analyze: bool = False,
    allow_index_build: bool = False,
    options: dict | None = None,
    progress: Callable[[str], None] | None = None,
    dialect: str = "postgres",
) -> Iterator[object]:
    """A verification backend: the DSN's database, or a scratch one built from the DDL.

    Raises :class:`~sqlperf.verify.pg.DatabaseError` (one line, exit code 2) when neither works.
    """
    from sqlperf.verify.pg import resolve_dsn

    _, _, settings = _split_options(options)
    target = None if scratch else resolve_dsn(dsn)
    backend = None
    scratch_db = None
    try:
        if target and target.startswith("sqlite:"):
            from sqlperf.verify.sqlite import SqliteBackend

            path = target[10:] if target.startswith("sqlite:///") else target[7:]
            backend = SqliteBackend.open_file(path, allow_index_build=allow_index_build)
        elif target:
            backend = _postgres_backend(target, scratch=False, analyze=analyze, allow_index_build=allow_index_build, settings=settings)
        elif dialect == "sqlite":
            from sqlperf.verify.scratch import ScratchDatabase
            from sqlperf.verify.sqlite import SqliteBackend

            source = ScratchDatabase.from_sources(ddl_paths=ddl_paths, schema=schema)
            backend = SqliteBackend.from_ddl(source.ddl_text, rows=int(settings.get("rows", 1000)))
        else:
            from sqlperf.verify.scratch import ScratchDatabase, ScratchOptions

            scratch_options = ScratchOptions(
                **{k: settings[k] for k in ("rows", "table_rows", "cache", "cache_dir") if k in settings}
            )
            scratch_db = ScratchDatabase.from_sources(ddl_paths=ddl_paths, schema=schema, options=scratch_options, progress=progress)
            scratch_db.start()
            backend = _postgres_backend(scratch_db.dsn, scratch=True, analyze=analyze, allow_index_build=True, settings=settings)
            backend.notes = list(scratch_db.notes)
        yield backend
    finally:
        if backend is not None:
            backend.close()
        if scratch_db is not None:
            scratch_db.stop()


def _postgres_backend(dsn: str, *, scratch: bool, analyze: bool, allow_index_build: bool, settings: dict):
    from sqlperf.verify.backend import BackendOptions, PostgresBackend
    from sqlperf.verify.pg import Database, SessionSettings

    session = SessionSettings(
        read_only=not scratch,
        **{k: int(settings[k]) for k in ("statement_timeout_ms", "lock_timeout_ms", "connect_timeout_s") if k in settings},
    )
    backend_options = BackendOptions(analyze=analyze, allow_index_build=allow_index_build)
    if "max_index_build_bytes" in settings:
        backend_options.max_index_build_bytes = int(settings["max_index_build_bytes"])
    return PostgresBackend(Database(dsn, session).open(), scratch=scratch, options=backend_options)


def verify_findings(
    findings: list[Finding],
    *,
    dsn: str | None = None,
    scratch: bool = False,
    schema=None,
    ddl_paths=(),
    analyze: bool = False,
    allow_index_build: bool = False,
    options: dict | None = None,
    progress: Callable[[str], None] | None = None,
    dialect: str = "postgres",
    backend=None,
) -> list[Finding]:
    """Set ``finding.verification`` on every finding; return new plan findings (SP601-SP603).

    ``options``: ``min_cost_reduction``, ``statement_timeout_ms``, ``lock_timeout_ms``,
    ``rows`` / ``table_rows`` / ``cache`` (scratch), ``max_index_build_bytes`` and one dict per
    plan check (``{"SP601": {"min_table_rows": ...}}``).
    """
    if not findings:
        return []
    if backend is not None:
        return _verify_with(backend, findings, analyze=analyze, options=options, progress=progress)
    with open_backend(
        dsn=dsn,
        scratch=scratch,
        schema=schema,
        ddl_paths=ddl_paths,
        analyze=analyze,
        allow_index_build=allow_index_build,
        options=options,
        progress=progress,
        dialect=dialect,
    ) as opened:
        return _verify_with(opened, findings, analyze=analyze, options=options, progress=progress)


def _verify_with(backend, findings: list[Finding], *, analyze: bool, options: dict | None, progress) -> list[Finding]:
    session = getattr(backend, "session", None)
    with session() if session is not None else nullcontext():
        return _verify_all(backend, findings, analyze=analyze, options=options, progress=progress)


def _verify_all(backend, findings: list[Finding], *, analyze: bool, options: dict | None, progress) -> list[Finding]:
    from sqlperf.verify.checks import plan_findings
    from sqlperf.verify.confirm import FATAL_KINDS, confirm_finding
    from sqlperf.verify.pg import DatabaseError

    confirm_options, check_options, _ = _split_options(options)
    progress = progress or (lambda message: None)
    statements: dict[tuple[str, int], Finding] = {}
    total = len(findings)
    for number, finding in enumerate(findings, start=1):
        if finding.code.startswith("SP6"):
            continue
        progress(f"verifying {number}/{total}: {finding.code} {finding.path}:{finding.line}")
        try:
            finding.verification = confirm_finding(backend, finding, confirm_options)
        except DatabaseError as error:
            if error.kind not in FATAL_KINDS:
                raise
            # The database is gone: say so on every finding left, and end the run (exit 2).
            mark_skipped(findings, str(error))
            raise
        if finding.statement_sql.strip():
            statements.setdefault((finding.path, finding.statement_index), finding)
    new: list[Finding] = []
    for anchor in statements.values():
        sql = anchor.statement_sql.strip().rstrip(";").strip()
        wants_analyze = analyze and getattr(backend, "can_analyze", False)
        # EXPLAIN ANALYZE runs the statement: never a data-changing one outside the scratch database.
        if wants_analyze and _WRITES.match(sql) and not getattr(backend, "scratch", False):
            wants_analyze = False
        try:
            plan = backend.explain(sql, analyze=wants_analyze)
        except DatabaseError as error:
            if error.kind in FATAL_KINDS:
                raise
            if wants_analyze:
                # Said, not swallowed: e.g. a SELECT calling nextval() meets the read-only session.
                _note_on_statement(findings, anchor, f"EXPLAIN ANALYZE was refused ({error}); the plan checks used a plain EXPLAIN")
            try:
                plan = backend.explain(sql) if wants_analyze else None
            except DatabaseError as again:
                if again.kind in FATAL_KINDS:
                    raise
                plan = None
        if plan is None:
            continue
        new += plan_findings(plan, table_rows=backend.table_rows, anchor=anchor, options=check_options)
    return new


def _note_on_statement(findings: list[Finding], anchor: Finding, note: str) -> None:
    for finding in findings:
        if (finding.path, finding.statement_index) == (anchor.path, anchor.statement_index) and finding.verification is not None:
            reason = finding.verification.reason
            finding.verification.reason = f"{reason}; {note}" if reason else note


def mark_skipped(findings: list[Finding], reason: str) -> None:
    """Every finding not verified yet gets ``skipped`` with ``reason`` (a connection fault, say)."""
    from sqlperf.verify.confirm import skipped

    for finding in findings:
        if finding.verification is None and not finding.code.startswith("SP6"):
            finding.verification = skipped(reason)


@dataclass
class ExplainResult:
    sql: str
    target: str
    plan: object = None  # sqlperf.verify.plan.Plan
    findings: list[Finding] = field(default_factory=list)
    plan_findings: list[Finding] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        from sqlperf.verify.format import describe

        lines = [f"-- plan on {self.target}"]
        if self.error:
            lines.append(f"error: {self.error}")
        if self.plan is not None:
            lines.append(self.plan.text())
            if self.plan.total_cost and self.plan.backend == "postgresql":
                lines.append(f"-- total cost {self.plan.total_cost:,.2f}")
        for finding in self.findings + self.plan_findings:
            lines.append(f"{finding.code} {finding.name}: {finding.message}")
            if finding.verification is not None:
                lines.append(f"    {describe(finding.verification)}")
            if finding.fix is not None and finding.fix.replacement:
                lines.append(f"    fix: {finding.fix.replacement}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "sql": self.sql,
            "target": self.target,
            "plan": self.plan.to_json() if self.plan is not None else None,
            "error": self.error or None,
        }


def explain_statement(
    sql: str,
    *,
    dsn: str | None = None,
    scratch: bool = False,
    schema=None,
    ddl_paths=(),
    analyze: bool = False,
    allow_index_build: bool = False,
    options: dict | None = None,
    progress: Callable[[str], None] | None = None,
    dialect: str = "postgres",
    lint: Callable[[str], list[Finding]] | None = None,
) -> ExplainResult:
    """One statement: its plan, its static findings verified (what-if indexes included), plan findings.

    ``lint`` defaults to :func:`sqlperf.engine.lint_sql` with ``schema``.
    """
    from sqlperf.verify.pg import DatabaseError

    statement = sql.strip().rstrip(";").strip()
    if lint is None:
        from sqlperf.engine import lint_sql

        findings = lint_sql(statement, dialect=dialect, schema=schema)
    else:
        findings = lint(statement)
    with open_backend(
        dsn=dsn,
        scratch=scratch,
        schema=schema,
        ddl_paths=ddl_paths,
        analyze=analyze,
        allow_index_build=allow_index_build,
        options=options,
        progress=progress,
        dialect=dialect,
    ) as backend:
        result = ExplainResult(statement, backend.target, notes=list(getattr(backend, "notes", [])))
        wants_analyze = analyze and getattr(backend, "can_analyze", False)
        if wants_analyze and _WRITES.match(statement) and not getattr(backend, "scratch", False):
            wants_analyze = False
            result.notes.append("EXPLAIN ANALYZE is never run on a data-changing statement against a DSN")
        try:
            result.plan = backend.explain(statement, analyze=wants_analyze)
        except DatabaseError as error:
            result.error = str(error)
            return result
        result.findings = [f for f in findings if f.code != "SP000"]
        for finding in result.findings:
            finding.statement_sql = finding.statement_sql or statement
        from sqlperf.verify.checks import plan_findings

        _verify_with(backend, result.findings, analyze=False, options=options, progress=progress)
        confirm_options, check_options, _ = _split_options(options)
        result.plan_findings = plan_findings(
            result.plan, table_rows=backend.table_rows, statement_sql=statement, options=check_options
        )
    return result
