"""The report's formats (text, json, markdown, html) and the ``sqlperf report`` command, on a real database.

The HTML is opened in headless Chromium (Debian's ``chromium``) when it is installed: the
page must load, run its script, draw the chart and sort a table on request.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sqlperf.dbreport import Thresholds, build_report
from sqlperf.dbreport.demo import load_demo, run_workload
from sqlperf.dbreport.render import render

pytestmark = pytest.mark.postgres

SCALE = 0.05


@pytest.fixture(scope="module")
def small_shop(pg_server):
    dsn = pg_server.create_database("report_output")
    load_demo(dsn, SCALE)
    run_workload(dsn, SCALE)
    return dsn


@pytest.fixture(scope="module")
def report(small_shop):
    return build_report(small_shop, Thresholds(seq_scan_min_rows=100), whatif="build")


def _sqlperf(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sqlperf.cli", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "SQLPERF_DSN": "", "DATABASE_URL": "", **(env or {})},
    )


def test_json_from_the_command_line(small_shop, tmp_path):
    out = tmp_path / "report.json"
    result = _sqlperf("report", small_shop, "--format", "json", "--output", str(out), "--top", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert set(data) >= {"version", "database", "queries", "advice", "health", "notices", "sections", "thresholds"}
    assert len(data["queries"]) == 3 and data["thresholds"]["top"] == 3
    first = data["queries"][0]
    assert set(first) >= {"queryid", "query", "calls", "total_ms", "mean_ms", "rows_per_call", "hit_ratio", "share",
                          "findings", "plan_warnings"}
    assert "unused-index" in {h["kind"] for h in data["health"]}
    assert "report_output" in data["database"] and "postgres:" not in data["database"]


def test_dsn_from_the_environment_and_text_to_stdout(small_shop):
    result = _sqlperf("report", "--top", "2", "--no-color", env={"DATABASE_URL": small_shop})
    assert result.returncode == 0, result.stderr
    assert "Top queries by total time" in result.stdout and "Catalog health" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour and no progress bar off a terminal
    assert result.stderr == ""


def test_text_names_every_section_and_the_advice_ddl(report):
    stream = io.StringIO()
    render(report, "text", stream, color=False)
    text = stream.getvalue()
    for title in ("Top queries by total time", "Index advice", "Catalog health", "Unused indexes",
                  "Duplicate indexes", "Prefix-redundant indexes", "Foreign keys without an index", "Invalid indexes"):
        assert title in text
    assert report.advice and report.advice[0].ddl in text.replace("\n", "")
    assert "customers_name_idx" in text


def test_markdown_tables(report):
    stream = io.StringIO()
    render(report, "markdown", stream)
    md = stream.getvalue()
    assert md.startswith("# sqlperf report")
    assert "| # | share | total | calls | mean | rows/call | cache hit | query | findings |" in md
    assert "```sql\nCREATE INDEX CONCURRENTLY" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "share" not in line]
    assert all(line.count(" | ") >= 2 for line in rows)
    # a pipe inside SQL must not break a table row
    assert all(line.replace("\\|", "").count("|") in (4, 6, 10) for line in rows), rows


def test_html_is_self_contained(report, tmp_path):
    stream = io.StringIO()
    render(report, "html", stream)
    page = stream.getvalue()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and 'class="sortable"' in page
    for external in ("src=\"http", "href=\"http", "<link ", "@import", "src=\"//"):
        assert external not in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _dump_dom(browser: str, url: str, profile: Path) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--dump-dom", url]
    result = subprocess.run([browser, *flags], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_renders_and_sorts_in_headless_chromium(report, tmp_path):
    path = tmp_path / "report.html"
    with path.open("w", encoding="utf-8") as stream:
        render(report, "html", stream)
    dom = _dump_dom(_chromium(), f"{path.as_uri()}#sort=queries:3", tmp_path / "profile")
    assert 'data-ready="' in dom  # the script ran to its end
    assert dom.count("<rect") >= len(report.queries)
    # sorted by calls, ascending, by the page's own script
    import re

    body = dom.split('id="queries"', 1)[1].split("</table>", 1)[0]
    calls = [float(v) for v in re.findall(r'<tr><td class="n" data-v="[^"]*">\d+</td>(?:<td[^>]*>[^<]*</td>){2}<td class="n" data-v="([^"]+)"', body)]
    assert len(calls) == len(report.queries)
    assert calls == sorted(calls) and calls != [q.calls for q in report.queries]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal():
    from sqlperf.dbreport.progress import Progress

    quiet = io.StringIO()
    with Progress(stream=quiet) as progress:
        progress.start("queries", 3)
        progress.advance("queries")
    assert quiet.getvalue() == ""
    terminal = _Terminal()
    with Progress(stream=terminal) as progress:
        progress.start("queries", 3)
        progress.advance("queries", 3)
    assert "Linting and planning top queries" in terminal.getvalue()
