"""The report's renderers: text (rich tables), json and markdown here; html in :mod:`.html`.

Every renderer reads the same :class:`Report` and shows every section, including the ones
that could not run, with the notice that says what to enable.
"""

from __future__ import annotations

import json

from sqlperf.dbreport.model import HEALTH_KINDS, Report

FORMATS = ("text", "json", "markdown", "html")


def render(report: Report, fmt: str, stream, *, color: bool | None = None) -> None:
    if fmt == "json":
        json.dump(report.to_json(), stream, indent=2, default=str)
        stream.write("\n")
    elif fmt == "markdown":
        stream.write(markdown(report))
    elif fmt == "html":
        from sqlperf.dbreport.html import html

        stream.write(html(report))
    else:
        text(report, stream, color=color)


# -- shared wording ----------------------------------------------------------------------------

def ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 60_000:
        return f"{value / 60_000:,.1f} min"
    if value >= 1000:
        return f"{value / 1000:,.2f} s"
    return f"{value:,.2f} ms"


def size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return str(value)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def one_line(sql: str, width: int = 0) -> str:
    text = " ".join(sql.split())
    return text if not width or len(text) <= width else text[: width - 1] + "…"


def cost_change(before: float | None, after: float | None) -> str:
    if before is None:
        return "-"
    if after is None:
        return f"{before:,.0f} → ?"
    return f"{before:,.0f} → {after:,.0f}"


def writes(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}/h"


def header_lines(report: Report) -> list[str]:
    age = "unknown" if report.stats_age_hours is None else f"{report.stats_age_hours:,.1f} h"
    return [
        f"Database: {report.database} (PostgreSQL {report.server_version}), collected {report.collected_at}",
        f"Statistics age: {age}; {report.statements_seen:,} statements in pg_stat_statements, "
        f"{ms(report.total_exec_ms)} of execution time in total",
    ]


def query_findings(stat) -> list[str]:
    return [f"{f['code']} {f['name']}: {f['message']}" for f in stat.findings + stat.plan_warnings]


SECTION_TITLES = {"queries": "Top queries by total time", "advice": "Index advice", "health": "Catalog health"}


# -- text --------------------------------------------------------------------------------------

def text(report: Report, stream, *, color: bool | None = None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, force_terminal=color, no_color=color is False, width=max(100, _width(stream)),
                      highlight=False, soft_wrap=False)
    console.print("[bold]sqlperf report[/bold]")
    for line in header_lines(report):
        console.print(line, markup=False)
    for notice in report.notices:
        console.print(f"[yellow]! {notice.section}:[/yellow] {_escape(notice.message)}")
        if notice.remedy:
            console.print(f"  [dim]to enable:[/dim] {_escape(notice.remedy)}")

    console.rule(SECTION_TITLES["queries"])
    if report.queries:
        table = Table(box=box.SIMPLE_HEAD, show_lines=False)
        for name, justify in (("#", "right"), ("share", "right"), ("total", "right"), ("calls", "right"),
                              ("mean", "right"), ("rows/call", "right"), ("cache hit", "right"), ("query", "left"),
                              ("findings", "left")):
            table.add_column(name, justify=justify, overflow="fold")
        for n, stat in enumerate(report.queries, 1):
            codes = ", ".join(sorted({f["code"] for f in stat.findings + stat.plan_warnings})) or "-"
            table.add_row(str(n), pct(stat.share), ms(stat.total_ms), f"{stat.calls:,}", ms(stat.mean_ms),
                          f"{stat.rows_per_call:,.1f}", pct(stat.hit_ratio), _escape(one_line(stat.query, 70)), codes)
        console.print(table)
        for n, stat in enumerate(report.queries, 1):
            lines = query_findings(stat)
            if stat.plan_error:
                lines.append(f"not planned: {stat.plan_error}")
            if lines:
                console.print(f"[bold]#{n}[/bold] {_escape(one_line(stat.query, 90))}")
                for line in lines:
                    console.print(f"   {_escape(line)}")
    else:
        console.print(_missing(report, "queries"))

    console.rule(SECTION_TITLES["advice"])
    if report.advice:
        for n, advice in enumerate(report.advice, 1):
            label = "[green]verified[/green]" if advice.status == "verified" else "[yellow]unverified[/yellow]"
            console.print(f"[bold]{n}.[/bold] {label} ({_escape(advice.reason)}); saves about {ms(advice.saving_ms)} "
                          f"of {ms(sum(g.total_ms for g in advice.gains))} query time; writes on {advice.table}: "
                          f"{writes(advice.writes_per_hour)}")
            console.print(f"   {_escape(advice.ddl)}", style="bold cyan")
            for gain in advice.gains:
                console.print(f"   cost {cost_change(gain.cost_before, gain.cost_after)}  weight {ms(gain.total_ms)}  "
                              f"{_escape(one_line(gain.query, 70))}")
    else:
        console.print(_missing(report, "advice") if report.sections.get("advice") != "ok" else "no index would help the top queries")

    console.rule(SECTION_TITLES["health"])
    if report.sections.get("health") != "ok":
        console.print(_missing(report, "health"))
    for kind, title in HEALTH_KINDS:
        items = report.health_of(kind)
        console.print(f"[bold]{title}[/bold]: {len(items) or 'none'}")
        for item in items:
            where = f"{item.index} on {item.table}" if item.index else item.table
            extra = f" [{size(item.size_bytes)}]" if item.size_bytes is not None else ""
            console.print(f"   {_escape(where)}{extra}: {_escape(item.message)}")
            if item.fix:
                console.print(f"   {_escape(item.fix)}", style="cyan")


def _width(stream) -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns if getattr(stream, "isatty", lambda: False)() else 140


def _escape(value: str) -> str:
    from rich.markup import escape

    return escape(value)


def _missing(report: Report, section: str) -> str:
    notes = [n.message for n in report.notices if n.section == section]
    return "not available" + (f": {notes[0]}" if notes else "")


# -- markdown ----------------------------------------------------------------------------------

def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    out = ["# sqlperf report", ""]
    out += [f"- {_md(line)}" for line in header_lines(report)]
    if report.notices:
        out += ["", "## What to enable", ""]
        for notice in report.notices:
            out.append(f"- **{notice.section}**: {_md(notice.message)}" + (f"  \n  To enable: `{_md(notice.remedy)}`" if notice.remedy else ""))
    out += ["", f"## {SECTION_TITLES['queries']}", ""]
    if report.queries:
        out += ["| # | share | total | calls | mean | rows/call | cache hit | query | findings |",
                "|--:|--:|--:|--:|--:|--:|--:|---|---|"]
        for n, stat in enumerate(report.queries, 1):
            found = "<br>".join(_md(line) for line in query_findings(stat)) or "-"
            out.append(f"| {n} | {pct(stat.share)} | {ms(stat.total_ms)} | {stat.calls:,} | {ms(stat.mean_ms)} | "
                       f"{stat.rows_per_call:,.1f} | {pct(stat.hit_ratio)} | `{_md(one_line(stat.query, 120))}` | {found} |")
    else:
        out.append(_md(_missing(report, "queries")))
    out += ["", f"## {SECTION_TITLES['advice']}", ""]
    if report.advice:
        for n, advice in enumerate(report.advice, 1):
            out += [f"### {n}. {advice.status}: {advice.table} ({', '.join(advice.columns)})", "",
                    f"{_md(advice.reason)}. Saves about {ms(advice.saving_ms)}; writes on the table: {writes(advice.writes_per_hour)}.",
                    "", "```sql", advice.ddl, "```", "", "| cost before → after | weight (calls × mean) | query |", "|---|--:|---|"]
            out += [f"| {cost_change(g.cost_before, g.cost_after)} | {ms(g.total_ms)} | `{_md(one_line(g.query, 120))}` |"
                    for g in advice.gains]
            out.append("")
    else:
        out.append(_md(_missing(report, "advice") if report.sections.get("advice") != "ok" else "No index would help the top queries."))
    out += ["", f"## {SECTION_TITLES['health']}", ""]
    for kind, title in HEALTH_KINDS:
        items = report.health_of(kind)
        out += [f"### {title} ({len(items)})", ""]
        if items:
            out += ["| table | index | size | finding | fix |", "|---|---|--:|---|---|"]
            out += [f"| {_md(i.table)} | {_md(i.index or '-')} | {size(i.size_bytes)} | {_md(i.message)} | "
                    f"{('`' + _md(i.fix) + '`') if i.fix else '-'} |" for i in items]
            out.append("")
    return "\n".join(out) + "\n"
