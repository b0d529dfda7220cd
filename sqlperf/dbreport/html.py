"""The HTML report: one self-contained file (inline CSS, JS and SVG; nothing fetched).

Tables sort on a click on their header (numbers by their raw value, kept in ``data-v``);
the chart is a horizontal bar per top query showing its share of the total time.
"""

from __future__ import annotations

from html import escape

from sqlperf.dbreport.model import HEALTH_KINDS, Report
from sqlperf.dbreport.render import (
    SECTION_TITLES, cost_change, header_lines, ms, one_line, pct, query_findings, size, writes,
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #dde3ee;padding-bottom:.2rem;margin-top:2rem}
code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{background:#f4f6fa;padding:.6rem;white-space:pre-wrap;word-break:break-word;margin:0}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border-bottom:1px solid #e6e9f0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6fa;cursor:pointer;user-select:none;white-space:nowrap}th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.notice{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem .8rem;margin:.4rem 0}
.ok{color:#1a7f37;font-weight:600}.warn{color:#b35900;font-weight:600}.code{color:#8250df;font-weight:600}.muted{color:#6a7385}
.bar{fill:#4c7bd9}.bar.other{fill:#b8c4da}svg text{font:12px system-ui,sans-serif;fill:#1d2330}
"""

_JS = r"""
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      var asc = !th.classList.contains('asc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(asc ? 'asc' : 'desc');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col], y = b.cells[col];
        var vx = x.dataset.v !== undefined ? parseFloat(x.dataset.v) : x.textContent;
        var vy = y.dataset.v !== undefined ? parseFloat(y.dataset.v) : y.textContent;
        var c = (typeof vx === 'number') ? vx - vy : String(vx).localeCompare(String(vy));
        return asc ? c : -c;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
// "#sort=<table id>:<column>[:desc]" opens the report already sorted (a link to a view).
var wanted = /^#sort=([\w-]+):(\d+)(:desc)?$/.exec(location.hash);
if (wanted) {
  var th = document.querySelectorAll('#' + wanted[1] + ' th')[+wanted[2]];
  if (th) { th.click(); if (wanted[3]) th.click(); }
}
document.body.setAttribute('data-ready', document.querySelectorAll('table.sortable').length);
"""


def _td(value: str, number: float | None = None) -> str:
    if number is None:
        return f"<td>{value}</td>"
    return f'<td class="n" data-v="{number:.6g}">{value}</td>'


def _table(headers: list[str], rows: list[str], ident: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f'<table class="sortable" id="{ident}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def chart(report: Report, width: int = 900, bar: int = 22) -> str:
    """An inline SVG: one bar per top query (its share of the total), plus the rest."""
    items = [(f"#{n}", stat.share, one_line(stat.query, 70)) for n, stat in enumerate(report.queries, 1)]
    rest = max(0.0, 1.0 - sum(s for _, s, _ in items)) if report.total_exec_ms else 0.0
    if rest > 0.0005:
        items.append(("other", rest, "every other statement"))
    if not items:
        return ""
    label_w, bar_w = 60, width - 60 - 70
    height = bar * len(items) + 10
    parts = [f'<svg id="share-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="share of total execution time by query">']
    for i, (label, share, title) in enumerate(items):
        y = 5 + i * bar
        length = max(1.0, bar_w * share)
        css = "bar other" if label == "other" else "bar"
        parts.append(f'<text x="0" y="{y + bar * 0.68:.1f}">{escape(label)}</text>')
        parts.append(f'<rect class="{css}" x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{bar - 6}">'
                     f'<title>{escape(title)}: {share:.1%}</title></rect>')
        parts.append(f'<text x="{label_w + length + 6:.1f}" y="{y + bar * 0.68:.1f}">{share:.1%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _missing(report: Report, section: str) -> str:
    notes = [n for n in report.notices if n.section == section]
    if not notes:
        return '<p class="muted">not available</p>'
    return "".join(f'<p class="muted">not available: {escape(n.message)}</p>' for n in notes[:1])


def _queries(report: Report) -> str:
    if not report.queries:
        return _missing(report, "queries")
    rows = []
    for n, s in enumerate(report.queries, 1):
        found = "<br>".join(f'<span class="code">{escape(line.split(" ", 1)[0])}</span> {escape(line.split(" ", 1)[1])}'
                            for line in query_findings(s))
        if s.plan_error:
            found += f'<br><span class="muted">not planned: {escape(s.plan_error)}</span>'
        rows.append("<tr>" + _td(str(n), n) + _td(pct(s.share), s.share) + _td(ms(s.total_ms), s.total_ms)
                    + _td(f"{s.calls:,}", s.calls) + _td(ms(s.mean_ms), s.mean_ms)
                    + _td(f"{s.rows_per_call:,.1f}", s.rows_per_call)
                    + _td(pct(s.hit_ratio), s.hit_ratio if s.hit_ratio is not None else -1)
                    + _td(f"<code>{escape(one_line(s.query))}</code>") + _td(found or "-") + "</tr>")
    headers = ["#", "share", "total", "calls", "mean", "rows/call", "cache hit", "query", "findings"]
    return chart(report) + _table(headers, rows, "queries")


def _advice(report: Report) -> str:
    if not report.advice:
        if report.sections.get("advice") == "ok":
            return "<p>No index would help the top queries.</p>"
        return _missing(report, "advice")
    out = []
    rows = []
    for n, a in enumerate(report.advice, 1):
        status = f'<span class="{"ok" if a.status == "verified" else "warn"}">{a.status}</span>'
        helped = "<br>".join(f"{cost_change(g.cost_before, g.cost_after)} · {ms(g.total_ms)} · <code>{escape(one_line(g.query, 90))}</code>"
                             for g in a.gains)
        rows.append("<tr>" + _td(str(n), n) + _td(status) + _td(f"<pre>{escape(a.ddl)}</pre>")
                    + _td(ms(a.saving_ms), a.saving_ms) + _td(helped)
                    + _td(writes(a.writes_per_hour), a.writes_per_hour if a.writes_per_hour is not None else -1) + "</tr>")
    out.append(_table(["#", "status", "index", "saves about", "cost before → after · weight · query", "table writes"], rows, "advice"))
    reasons = sorted({a.reason for a in report.advice})
    out += [f'<p class="muted">{escape(r)}</p>' for r in reasons]
    return "".join(out)


def _health(report: Report) -> str:
    out = [] if report.sections.get("health") == "ok" else [_missing(report, "health")]
    for kind, title in HEALTH_KINDS:
        items = report.health_of(kind)
        out.append(f"<h3>{escape(title)} ({len(items)})</h3>")
        if not items:
            continue
        rows = ["<tr>" + _td(escape(i.table)) + _td(escape(i.index or "-")) + _td(size(i.size_bytes), i.size_bytes or 0)
                + _td(escape(i.message)) + _td(f"<code>{escape(i.fix)}</code>" if i.fix else "-") + "</tr>" for i in items]
        out.append(_table(["table", "index", "size", "finding", "fix"], rows, f"health-{kind}"))
    return "".join(out)


def html(report: Report) -> str:
    notices = "".join(
        f'<div class="notice"><b>{escape(n.section)}</b>: {escape(n.message)}'
        + (f"<br>To enable: <code>{escape(n.remedy)}</code>" if n.remedy else "") + "</div>"
        for n in report.notices
    )
    header = "".join(f"<div class=\"muted\">{escape(line)}</div>" for line in header_lines(report))
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>sqlperf report: {escape(report.database)}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>sqlperf report</h1>{header}{notices}"
        f"<h2 id=\"top-queries\">{SECTION_TITLES['queries']}</h2>{_queries(report)}"
        f"<h2 id=\"index-advice\">{SECTION_TITLES['advice']}</h2>{_advice(report)}"
        f"<h2 id=\"catalog-health\">{SECTION_TITLES['health']}</h2>{_health(report)}"
        f"<script>{_JS}</script></body></html>\n"
    )
