"""Section 1: the top queries from pg_stat_statements, each linted and planned.

Only statements of the connected database count. Utility statements (BEGIN, SET, EXPLAIN,
DDL ...) and queries that read only the system catalogs (monitoring tools, sqlperf itself)
are left out of the ranking but stay in the total the shares are computed from.
"""

from __future__ import annotations

import re

from sqlperf.dbreport.model import QueryStat, Report

_UTILITY = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(begin|commit|rollback|end|start|set|reset|show|explain|prepare|execute|deallocate|discard|"
    r"vacuum|analyze|checkpoint|create|alter|drop|grant|revoke|comment|truncate|lock|listen|unlisten|notify|"
    r"savepoint|release|declare|fetch|close|move|copy|refresh|reindex|cluster|load|do|call)\b",
    re.I | re.S,
)
_CATALOG = re.compile(r"\b(pg_catalog\.|information_schema\.|pg_stat_|pg_class\b|pg_namespace\b|pg_index\b|pg_attribute\b|"
                      r"pg_constraint\b|pg_database\b|pg_extension\b|pg_settings\b|pg_roles\b|pg_am\b|hypopg|current_setting\(|pg_postmaster_start_time)", re.I)
INSUFFICIENT = "<insufficient privilege>"

PGSS_INSTALL = (
    "add pg_stat_statements to shared_preload_libraries in postgresql.conf (needs a restart), "
    "then run CREATE EXTENSION pg_stat_statements; in this database"
)


def pgss_status(db) -> tuple[bool, str | None]:
    """(readable, remedy): whether pg_stat_statements can be read here, and what to enable if not."""
    from sqlperf.verify.pg import DatabaseError

    installed = db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if not installed:
        if _preloaded(db):
            return False, "pg_stat_statements is loaded but not created in this database: run CREATE EXTENSION pg_stat_statements;"
        return False, f"pg_stat_statements is not enabled: {PGSS_INSTALL}"
    try:
        db.query("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except DatabaseError as error:
        if "shared_preload_libraries" in str(error):
            return False, ("the pg_stat_statements extension exists but the library is not loaded: add it to "
                           "shared_preload_libraries in postgresql.conf and restart PostgreSQL")
        raise
    return True, None


def _preloaded(db) -> bool | None:
    """Whether shared_preload_libraries names pg_stat_statements; None when this role may not read it
    (it needs pg_read_all_settings)."""
    from sqlperf.verify.pg import DatabaseError

    try:
        return "pg_stat_statements" in (db.query("SHOW shared_preload_libraries")[0][0] or "")
    except DatabaseError:
        return None


def collect_statements(db, report: Report, *, top: int) -> list[QueryStat]:
    """The ``top`` statements by total execution time, with the report's totals filled in."""
    total_col = "total_exec_time" if db.server_version >= 130000 else "total_time"
    toplevel = "AND s.toplevel" if db.server_version >= 140000 else ""
    rows = db.query(
        f"""
        SELECT s.queryid, min(s.query), sum(s.calls)::bigint, sum(s.{total_col}), sum(s.rows)::bigint,
               sum(s.shared_blks_hit)::bigint, sum(s.shared_blks_read)::bigint
        FROM pg_stat_statements s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) {toplevel}
        GROUP BY s.queryid
        """
    )
    report.statements_seen = len(rows)
    report.total_exec_ms = float(sum(r[3] or 0.0 for r in rows))
    hidden = 0
    # One text can have several queryids (a parameter bound as int2 once and int8 later
    # plans as a different tree): the person reading the report sees one query, so merge them.
    by_text: dict[str, list] = {}
    for queryid, query, calls, total, nrows, hit, read in rows:
        if query is None or query == INSUFFICIENT:
            hidden += 1
            continue
        if _UTILITY.match(query) or _CATALOG.search(query) or not calls:
            continue
        text = query.strip()
        entry = by_text.get(text)
        if entry is None:
            by_text[text] = [float(total or 0.0), queryid, text, int(calls), int(nrows or 0), int(hit or 0), int(read or 0)]
        else:
            for position, value in ((0, total), (3, calls), (4, nrows), (5, hit), (6, read)):
                entry[position] += type(entry[position])(value or 0)
    ranked = [tuple(entry) for entry in by_text.values()]
    if hidden:
        report.notice(
            "queries",
            f"{hidden} statements of other roles are hidden from this role (pg_stat_statements shows "
            f"'{INSUFFICIENT}')",
            "GRANT pg_read_all_stats TO <this role>; (PostgreSQL 10+), then run the report again",
        )
    ranked.sort(key=lambda r: r[0], reverse=True)
    total_all = report.total_exec_ms or 1.0
    out = []
    for total, queryid, query, calls, nrows, hit, read in ranked[:top]:
        blocks = hit + read
        out.append(
            QueryStat(
                queryid=int(queryid) if queryid is not None else 0,
                query=query.strip(),
                calls=calls,
                total_ms=total,
                mean_ms=total / calls,
                rows=nrows,
                hit_ratio=(hit / blocks) if blocks else None,
                share=total / total_all,
            )
        )
    return out


def lint_query(stat: QueryStat, schema) -> None:
    """Static findings for one normalised query, against the live catalog."""
    from sqlperf.engine import lint_sql

    try:
        findings = lint_sql(stat.query, dialect="postgres", schema=schema or None, path=f"queryid:{stat.queryid}")
    except Exception as error:  # noqa: BLE001 - one odd statement must not stop the report
        stat.findings.append({"code": "SP000", "name": "internal", "message": f"could not lint: {error}", "help": ""})
        return
    for finding in findings:
        if finding.code == "SP000" and stat.query.endswith("..."):
            continue  # a text truncated by track_activity_query_size, not the user's syntax error
        stat.findings.append(
            {"code": finding.code, "name": finding.name, "message": finding.message, "help": finding.help,
             "fix": finding.fix.replacement if finding.fix and finding.fix.replacement else None}
        )


def plan_query(db, stat: QueryStat, schema, *, plan_options: dict | None = None) -> None:
    """A generic plan for the normalised query, and the plan checks' warnings on it."""
    from sqlperf.verify.checks import plan_findings
    from sqlperf.verify.pg import DatabaseError

    try:
        plan = db.explain(stat.query)
    except DatabaseError as error:
        stat.plan_error = str(error)
        return
    stat.plan_cost = plan.total_cost
    stat.plan_text = plan.text()
    stat.seq_scans = sorted({node.relation for node in plan.nodes() if node.is_seq_scan and node.relation})

    def table_rows(name: str) -> float | None:
        parts = [p.strip('"') for p in name.split('"."')] if '"."' in name else [name.strip('"')]
        table = schema.table(parts[-1], parts[0] if len(parts) > 1 else None) if schema else None
        return table.row_estimate if table is not None else None

    for finding in plan_findings(plan, table_rows=table_rows, options=plan_options):
        stat.plan_warnings.append({"code": finding.code, "name": finding.name, "message": finding.message, "help": finding.help})
