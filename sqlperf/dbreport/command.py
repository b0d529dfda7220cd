"""What ``sqlperf report`` does between parsing its options and exiting: collect, render, write."""

from __future__ import annotations

import sys

from sqlperf.dbreport.model import Thresholds


class ReportError(Exception):
    """One clear line for the user; exit code 2."""


def run_report(
    dsn: str | None,
    *,
    fmt: str = "text",
    output: str | None = None,
    demo: bool = False,
    build_indexes: bool = False,
    thresholds: Thresholds | None = None,
    color: bool | None = None,
    demo_scale: float = 1.0,
) -> int:
    """Collect and render the report; returns the exit code (0, or 2 on an error already printed)."""
    from sqlperf.dbreport.progress import Progress
    from sqlperf.dbreport.render import render
    from sqlperf.verify.pg import DatabaseError, resolve_dsn

    thresholds = thresholds or Thresholds()
    progress = Progress()
    try:
        if demo:
            from sqlperf.dbreport.demo import run_demo
            from sqlperf.embedded import EmbeddedPostgresUnavailable

            say = (lambda m: print(f"sqlperf: {m}", file=sys.stderr)) if sys.stderr.isatty() or output else (lambda m: None)
            try:
                report = run_demo(thresholds, scale=demo_scale, progress=progress, say=say)
            except EmbeddedPostgresUnavailable as error:
                raise ReportError(str(error)) from None
        else:
            if not resolve_dsn(dsn):
                raise ReportError("no database given: pass a DSN, set SQLPERF_DSN or DATABASE_URL, or try --demo")
            from sqlperf.dbreport.collect import build_report

            report = build_report(dsn, thresholds, whatif="build" if build_indexes else "auto", progress=progress)
    except DatabaseError as error:
        raise ReportError(str(error)) from None
    if output:
        try:
            with open(output, "w", encoding="utf-8") as stream:
                render(report, fmt, stream, color=False)
        except OSError as error:
            raise ReportError(f"cannot write {output}: {error.strerror}") from None
        print(f"sqlperf: wrote the {fmt} report to {output}", file=sys.stderr)
    else:
        render(report, fmt, sys.stdout, color=color)
    return 0
