"""The command-line side of verification: ``sqlperf explain`` and the ``check --verify`` step.

Importing this module imports click only; psycopg, the embedded server and the verifier
are imported when a command really verifies something.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _progress(enabled: bool):
    if not enabled:
        return None
    return lambda message: click.echo(f"sqlperf: {message}", err=True)


def verify_options(settings) -> dict:
    """``[tool.sqlperf.verify]`` plus the plan checks' rule options, as verify_findings wants them."""
    options = dict(getattr(settings, "verify", {}) or {})
    rules = getattr(settings, "rules", {}) or {}
    for code, name in (("SP601", "seq-scan-on-large-table"), ("SP602", "plan-row-misestimate"), ("SP603", "sort-or-hash-spill")):
        merged = {**(rules.get(name) or {}), **(rules.get(code) or {})}
        if merged:
            options[code] = merged
    return options


def run_verification(result, settings, schema, *, dsn, scratch, analyze, allow_index_build, show_progress) -> str | None:
    """Verify ``result.findings`` in place and add plan findings to their files.

    A database fault (unreachable, wrong password, the server gone mid-run) leaves every
    finding not verified yet ``skipped`` with the reason, and goes into ``result.errors``
    (one line, exit code 2), so the findings are still shown. Returns that message or None.
    """
    from sqlperf.verify import mark_skipped, verify_findings
    from sqlperf.verify.pg import DatabaseError

    findings = result.findings
    if not findings:
        return None
    try:
        new = verify_findings(
            findings,
            dsn=dsn,
            scratch=scratch,
            schema=schema,
            ddl_paths=[str(_resolve(p, settings)) for p in getattr(settings, "schema", [])],
            analyze=analyze,
            allow_index_build=allow_index_build,
            options=verify_options(settings),
            progress=_progress(show_progress),
            dialect=getattr(settings, "dialect", "postgres"),
        )
    except DatabaseError as error:
        mark_skipped(findings, str(error))
        errors = getattr(result, "errors", None)
        if isinstance(errors, list):
            errors.append(str(error))
            return None
        return str(error)
    by_path = {file.path: file for file in result.files}
    for finding in new:
        target = by_path.get(finding.path)
        if target is not None:
            target.findings.append(finding)
            target.findings.sort(key=lambda f: f.sort_key())
    return None


def catalog_reachable(dsn: str) -> bool:
    """Whether ``dsn`` answers, so its catalog can serve as the schema.

    When it does not, linting goes on without that schema and the verification reports the
    fault once, with the findings, instead of the run stopping before any finding is shown.
    """
    from sqlperf.verify.pg import DatabaseError, SessionSettings, connect

    try:
        connect(dsn, SessionSettings(connect_timeout_s=5)).close()
    except DatabaseError:
        return False
    return True


def _resolve(path: str, settings) -> Path:
    root = getattr(settings, "root", None)
    candidate = Path(path)
    if not candidate.is_absolute() and root is not None and not any(ch in path for ch in "*?["):
        return Path(root) / candidate
    return candidate


@click.command()
@click.argument("sql_or_file")
@click.option("--dsn", help="PostgreSQL DSN to EXPLAIN against (default: SQLPERF_DSN or DATABASE_URL).")
@click.option("--scratch", is_flag=True, help="EXPLAIN on a scratch PostgreSQL built from the DDL with synthetic rows.")
@click.option("--schema", "schema", multiple=True, help="DDL file, directory or glob (for --scratch and the static rules).")
@click.option("--dialect", help="SQL dialect of the statement. Default: postgres or the configuration.")
@click.option("--analyze", is_flag=True, help="EXPLAIN ANALYZE (never for a data-changing statement against a DSN).")
@click.option("--allow-index-build", is_flag=True, help="Without HypoPG, build what-if indexes inside the rolled-back transaction.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Configuration file.")
def explain(sql_or_file, dsn, scratch, schema, dialect, analyze, allow_index_build, fmt, config_file) -> None:
    """Plan one statement (SQL text or a file): plan, findings, what-if indexes, cost before and after."""
    import json

    from sqlperf.config import ConfigError, load_settings
    from sqlperf.verify.pg import DatabaseError, resolve_dsn

    try:
        settings = load_settings(config_file, Path.cwd())
    except ConfigError as error:
        _fail(str(error))
    if dialect:
        settings.dialect = dialect
    settings.schema += list(schema)
    candidate = Path(sql_or_file)
    try:
        text = candidate.read_text(encoding="utf-8") if candidate.is_file() else sql_or_file
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {sql_or_file}: {error}")
    from sqlperf.verify.scratch import _split_statements

    statements = [s.strip() for s in _split_statements(text) if s.strip()]
    if not statements:
        _fail("no SQL statement given")
    target_dsn = None if scratch else resolve_dsn(dsn)
    loaded_schema = _load_schema(settings, target_dsn)
    from sqlperf.verify import explain_statement

    results = []
    for statement in statements:
        try:
            results.append(
                explain_statement(
                    statement,
                    dsn=target_dsn,
                    scratch=scratch or not target_dsn,
                    schema=loaded_schema,
                    ddl_paths=[str(_resolve(p, settings)) for p in settings.schema],
                    analyze=analyze,
                    allow_index_build=allow_index_build,
                    options=verify_options(settings),
                    progress=_progress(fmt == "text"),
                    dialect=settings.dialect,
                )
            )
        except DatabaseError as error:
            _fail(str(error))
    if fmt == "json":
        from sqlperf._version import __version__

        payload = {"version": __version__, "statements": []}
        for r in results:
            item = r.to_json()
            item["findings"] = [_finding_json(f) for f in r.findings + r.plan_findings]
            payload["statements"].append(item)
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo("\n\n".join(r.text() for r in results))
    if any(r.error for r in results):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(r.findings or r.plan_findings for r in results) else EXIT_CLEAN)


def _finding_json(finding) -> dict:
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "help": finding.help,
        "fix": None if finding.fix is None else {"applicability": finding.fix.applicability.value, "replacement": finding.fix.replacement},
        "verification": finding.verification.to_json() if finding.verification is not None else None,
    }


def _load_schema(settings, dsn: str | None):
    """The configured schema; with a DSN and no other source, that database's catalog."""
    if not (settings.schema or settings.schema_dsn or settings.schema_metadata) and not dsn:
        return None
    from sqlperf.schema import SchemaError, load_schema

    try:
        return load_schema(
            settings.schema,
            dsn=settings.schema_dsn or (dsn if not (settings.schema or settings.schema_metadata) else None),
            metadata=settings.schema_metadata,
            base=settings.root,
            dialect=settings.dialect,
        )
    except SchemaError as error:
        _fail(str(error))


def _fail(message: str):
    click.echo(f"sqlperf: error: {message}", err=True)
    sys.exit(EXIT_ERROR)
