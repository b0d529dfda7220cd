"""The report's one library door: :func:`build_report` runs every collector it can.

Read-only as DESIGN.md requires: every statement runs through :mod:`sqlperf.verify.pg` in a
read-only transaction that is rolled back, with statement and lock timeouts. The one
exception is ``whatif="build"`` (the demo, or an explicit ``--build-indexes``), which builds
candidate indexes inside a transaction that is rolled back. A section that cannot run
(missing extension, missing privilege) becomes a notice saying what to enable; the other
sections still run.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlperf.dbreport.model import Report, Thresholds
from sqlperf.dbreport.progress import Progress

_STATS_AGE = """
SELECT now(), d.stats_reset, extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time())) / 3600.0,
       d.stats_reset IS NULL
FROM pg_stat_database d WHERE d.datname = current_database()
"""

_TABLE_WRITES = """
SELECT schemaname, relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables
"""


def build_report(
    dsn: str | None,
    thresholds: Thresholds | None = None,
    *,
    whatif: str = "auto",
    progress: Progress | None = None,
    plan_options: dict | None = None,
) -> Report:
    """Collect every section for the database at ``dsn`` (or ``SQLPERF_DSN`` / ``DATABASE_URL``).

    ``whatif``: "auto" (HypoPG when installed, else unverified advice), "hypopg", "build"
    (really build candidates in rolled-back transactions: the demo, or an explicit flag), "none".
    Raises :class:`~sqlperf.verify.pg.DatabaseError` only when the database cannot be reached.
    """
    from sqlperf.verify.pg import SessionSettings, open_database

    thresholds = thresholds or Thresholds()
    progress = progress or Progress(enabled=False)
    settings = SessionSettings(statement_timeout_ms=thresholds.statement_timeout_ms)
    db = open_database(dsn, settings)
    try:
        return _collect(db, thresholds, whatif, progress, plan_options)
    finally:
        db.close()


def _describe(db) -> str:
    from sqlperf.schema.catalog import describe_dsn

    return describe_dsn(db.dsn)


def _collect(db, thresholds: Thresholds, whatif: str, progress: Progress, plan_options) -> Report:
    from sqlperf.verify.pg import DatabaseError

    report = Report(database=_describe(db), thresholds=thresholds)
    major, minor = divmod(db.server_version, 10000)
    report.server_version = f"{major}.{minor}"
    now, reset, age, unknown = db.query(_STATS_AGE)[0]
    report.collected_at = now.astimezone(timezone.utc).isoformat(timespec="seconds") if now else datetime.now(timezone.utc).isoformat()
    report.stats_reset = reset.isoformat(timespec="seconds") if reset else None
    report.stats_age_hours = float(age) if age is not None and not unknown else None
    if unknown:
        report.notice("health", "the statistics have never been reset, so their age is unknown; unused-index advice is tentative")

    with progress:
        schema = _timed(report, "catalog", lambda: _catalog(db, report, progress))
        writes = _table_writes(db, report)
        _timed(report, "queries", lambda: _queries(db, report, schema, thresholds, progress, plan_options))
        _timed(report, "advice", lambda: _advice(db, report, schema, thresholds, whatif, writes, progress))
        progress.start("health", 1)
        try:
            from sqlperf.dbreport.health import collect_health

            _timed(report, "health", lambda: collect_health(db, report, thresholds))
            report.sections["health"] = "ok"
        except DatabaseError as error:
            report.sections["health"] = "unavailable"
            report.notice("health", f"could not read the catalog statistics: {error}",
                          "GRANT pg_read_all_stats TO <this role>; or run the report as the database owner")
        progress.finish("health")
    return report


def _timed(report: Report, name: str, work):
    started = time.perf_counter()
    try:
        return work()
    finally:
        report.timings[name] = round(time.perf_counter() - started, 3)


def _catalog(db, report: Report, progress: Progress):
    from sqlperf.schema.errors import SchemaError

    progress.start("catalog", 1)
    try:
        from sqlperf.schema.catalog import load_catalog

        return load_catalog(db.dsn, timeout_ms=max(report.thresholds.statement_timeout_ms, 30000))
    except SchemaError as error:
        report.notice("queries", f"the catalog could not be read, so schema rules and index advice are off: {error}")
        return None
    finally:
        progress.finish("catalog")


def _table_writes(db, report: Report) -> dict[str, float | None]:
    from sqlperf.verify.pg import DatabaseError

    try:
        rows = db.query(_TABLE_WRITES)
    except DatabaseError:
        return {}
    hours = report.stats_age_hours
    out: dict[str, float | None] = {}
    for schema, table, writes in rows:
        rate = float(writes or 0) / hours if hours and hours > 0 else None
        out[f"{schema}.{table}"] = rate
        if schema == "public":
            out.setdefault(table, rate)
    return out


def _queries(db, report: Report, schema, thresholds: Thresholds, progress: Progress, plan_options) -> None:
    from sqlperf.dbreport.statements import collect_statements, lint_query, pgss_status, plan_query
    from sqlperf.verify.pg import DatabaseError

    try:
        readable, remedy = pgss_status(db)
        if not readable:
            report.sections["queries"] = "unavailable"
            report.notice("queries", "no query statistics: pg_stat_statements is not available in this database", remedy or "")
            return
        report.queries = collect_statements(db, report, top=thresholds.top)
    except DatabaseError as error:
        report.sections["queries"] = "unavailable"
        report.notice("queries", f"cannot read pg_stat_statements: {error}",
                      "GRANT pg_read_all_stats TO <this role>; (or run the report as a role that has it)")
        return
    report.sections["queries"] = "partial" if any(n.section == "queries" for n in report.notices) else "ok"
    progress.start("queries", len(report.queries))
    for stat in report.queries:
        lint_query(stat, schema)
        plan_query(db, stat, schema, plan_options=plan_options)
        progress.advance("queries")


def _advice(db, report: Report, schema, thresholds: Thresholds, whatif: str, writes, progress: Progress) -> None:
    from sqlperf.dbreport.advisor import HYPOPG_HOWTO, advise

    if not report.queries:
        report.sections["advice"] = "unavailable"
        if report.sections.get("queries") == "unavailable":
            report.notice("advice", "index advice needs the query statistics of pg_stat_statements (see above)")
        return
    if schema is None:
        report.sections["advice"] = "unavailable"
        return
    method = whatif
    if whatif == "auto":
        method = "hypopg" if db.has_hypopg else "none"
    if method == "hypopg" and not db.has_hypopg:
        report.notice("advice", "HypoPG is not installed in this database", HYPOPG_HOWTO)
        method = "none"
    if method == "none":
        report.notice("advice", "index advice is unverified: HypoPG is not installed in this database", HYPOPG_HOWTO)
    report.advice = advise(db, report.queries, schema, thresholds, method=method, writes_per_hour=writes, progress=progress)
    report.sections["advice"] = "ok" if method != "none" else "partial"
