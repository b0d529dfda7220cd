"""The command line: options in, one library call, a renderer out. Nothing else lives here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sqlperf import quick
from sqlperf._version import __version__
from sqlperf.output import FORMATS
from sqlperf.quick import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS


class UsageError(click.ClickException):
    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"sqlperf: error: {self.message}", err=True)


class _LazyGroup(click.Group):
    """Commands from heavier modules are imported only when they are run or listed in --help."""

    lazy: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name: str):
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attr = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="sqlperf", message="%(prog)s %(version)s")
def cli() -> None:
    """Find SQL that will be slow before it ships, prove it with the planner, say how to fix it."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--dialect", help="SQL dialect (postgres, mysql, sqlite, ...). Default: postgres or the configuration.")
@click.option("--schema", "schema", multiple=True, help="DDL file, directory or glob describing the schema (repeatable).")
@click.option("--schema-dsn", help="Read the schema from a live PostgreSQL catalog (read-only).")
@click.option("--schema-metadata", help="Read the schema from SQLAlchemy models: package.module:metadata_or_Base.")
@click.option("--select", multiple=True, help="Rule codes, prefixes or names to enable (comma-separated); ALL for every rule.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Rule codes, prefixes or names to disable.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to a file.")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also apply fixes that may change meaning.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff instead of writing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Configuration file (default: nearest sqlperf.toml or pyproject.toml).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Processes to use (default: the number of cores).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), help="Where to keep the result cache.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on for a terminal).")
@click.option("--verbose", "-v", is_flag=True, help="Explain what was skipped and why.")
@click.option("--verify", is_flag=True, help="Prove each finding with EXPLAIN (against --dsn, or a scratch database).")
@click.option("--dsn", help="PostgreSQL DSN for --verify (default: SQLPERF_DSN or DATABASE_URL).")
@click.option("--scratch", is_flag=True, help="With --verify: a scratch PostgreSQL built from the DDL with synthetic rows.")
@click.option("--analyze", is_flag=True, help="With --verify: EXPLAIN ANALYZE (never a data-changing statement against a DSN).")
@click.option("--allow-index-build", is_flag=True, help="With --verify and no HypoPG: build what-if indexes in the rolled-back transaction.")
def check(paths, dialect, schema, schema_dsn, schema_metadata, select, extend_select, ignore, fmt, output, fix, unsafe_fixes, diff,
          exit_zero, config_file, jobs, no_cache, cache_dir, color, verbose, verify=False, dsn=None, scratch=False, analyze=False,
          allow_index_build=False) -> None:
    """Lint SQL files and directories (default: the current directory)."""
    from sqlperf.config import ConfigError, validate
    from sqlperf.registry import load_registry

    try:
        settings = quick.build_settings(
            paths, config_file=config_file, dialect=dialect, select=select, extend_select=extend_select, ignore=ignore,
            schema=schema, schema_dsn=schema_dsn, schema_metadata=schema_metadata, no_cache=no_cache, cache_dir=cache_dir,
        )
        if verify and not scratch:
            # With a DSN and no other schema source, the schema comes from that database's catalog.
            from sqlperf.verify.pg import resolve_dsn

            dsn = resolve_dsn(dsn)
            if dsn and not (settings.schema or settings.schema_dsn or settings.schema_metadata):
                from sqlperf.verify.command import catalog_reachable

                if catalog_reachable(dsn):  # else the verification reports the fault, with the findings
                    settings.schema_dsn = dsn
        targets = list(paths) or ["."]
        run_key = fast = loaded_schema = None
        plain = quick.plain_output(fmt, output, color)
        if not (fix or diff or verify):
            run_key, fast = quick.cached_answer(targets, settings, fmt=fmt, verbose=verbose, plain=plain)
        if fast is None:
            validate(load_registry(), settings)
            from sqlperf.engine import get_dialect

            get_dialect(settings.dialect)
            loaded_schema = _load_schema(settings)
    except ConfigError as error:
        raise UsageError(str(error)) from None

    if fast is not None:
        stream = open(output, "w", encoding="utf-8") if output else sys.stdout
        try:
            code = quick.write_answer(fast, fmt, stream, color=color if output is None else False, verbose=verbose,
                                      plain=plain, exit_zero=exit_zero)
        finally:
            if output:
                stream.close()
        sys.exit(code)

    from sqlperf.gcpolicy import freeze_imports
    from sqlperf.runner import check as run_check

    freeze_imports()
    progress = None
    if fmt == "text" and not diff and sys.stderr.isatty():
        from sqlperf.progress import ProgressBar

        progress = ProgressBar()
    try:
        result = run_check(
            targets, settings, schema=loaded_schema, fix=fix, unsafe_fixes=unsafe_fixes, diff=diff,
            jobs=jobs or settings.jobs, progress=progress, run_key=run_key,
        )
    except ConfigError as error:
        raise UsageError(str(error)) from None
    finally:
        if progress is not None:
            progress.close()

    if verify:
        from sqlperf.verify.command import run_verification

        problem = run_verification(result, settings, loaded_schema, dsn=None if scratch else dsn, scratch=scratch,
                                   analyze=analyze, allow_index_build=allow_index_build, show_progress=fmt == "text")
        if problem:
            raise UsageError(problem)

    stream = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        if diff:
            for text in result.diffs:
                stream.write(text)
        from sqlperf.output import render

        if run_key is not None and result.cache_keys is not None and not result.all_errors and plain:
            # Kept so that the next run of this unchanged tree replays it (sqlperf.fastpath).
            from sqlperf import fastpath
            from sqlperf.cache import cache_root

            fastpath.render_and_store(fmt, result, stream, verbose=verbose, root=cache_root(settings),
                                      output=fastpath.output_key(run_key, fmt, verbose, result.cache_keys))
        elif not diff or fmt != "text":
            render(fmt, result, stream, color=color if output is None else False, verbose=verbose)
        elif result.all_errors:
            for message in result.all_errors:
                click.echo(f"error: {message}", err=True)
    finally:
        if output:
            stream.close()
    if fmt != "text":
        for message in result.all_errors:
            click.echo(f"sqlperf: error: {message}", err=True)
    sys.exit(_exit_code(result, diff, exit_zero))


def _exit_code(result, diff: bool, exit_zero: bool) -> int:
    if result.all_errors:
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    if diff:
        return EXIT_FINDINGS if result.diffs else EXIT_CLEAN
    return EXIT_FINDINGS if result.findings else EXIT_CLEAN


def _load_schema(settings):
    if not (settings.schema or settings.schema_dsn or settings.schema_metadata):
        return None
    from sqlperf.config import ConfigError

    try:
        from sqlperf.schema import SchemaError, load_schema
    except ImportError:
        raise ConfigError("schema loading is not available in this installation") from None
    try:
        return load_schema(
            settings.schema, dsn=settings.schema_dsn, metadata=settings.schema_metadata, base=settings.root, dialect=settings.dialect
        )
    except SchemaError as error:
        raise ConfigError(str(error)) from None


@cli.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Document every rule.")
def rule(code, show_all) -> None:
    """Print a rule's documentation (What it does / Why is this bad? / Example / Use instead)."""
    from sqlperf.docs import render_rule
    from sqlperf.registry import load_registry

    registry = load_registry()
    if show_all:
        click.echo("\n".join(render_rule(r) for r in registry.sorted()))
        return
    if not code:
        for r in registry.sorted():
            click.echo(f"{r.code}  {r.name:<34} {r.category}")
        return
    found = registry.lookup(code)
    if found is None:
        raise UsageError(f"unknown rule '{code}' (see `sqlperf rule` for the list)")
    click.echo(render_rule(found))


# `sqlperf --version` and `sqlperf check` must not pay for importing the verifier.
cli.lazy["explain"] = ("sqlperf.verify.command", "explain")


@cli.command()
@click.argument("dsn", required=False)
@click.option("--format", "fmt", type=click.Choice(("text", "json", "markdown", "html")), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=str), help="Write the report to a file.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Queries to show and analyse, by total time.")
@click.option("--demo", is_flag=True, help="Run against a demo database with known problems (embedded PostgreSQL).")
@click.option("--build-indexes", is_flag=True,
              help="Without HypoPG, verify advice by building each candidate inside a rolled-back transaction (locks writes on the table while it builds).")
@click.option("--seq-scan-min-rows", type=click.IntRange(min=0), default=10_000, show_default=True,
              help="Tables smaller than this are never called sequential-scan heavy.")
@click.option("--seq-scan-min-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Share of a table's scans that must be sequential to call it sequential-scan heavy.")
@click.option("--min-cost-reduction", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help="A suggested index must cut a query's plan cost by at least this share.")
@click.option("--max-advice", type=click.IntRange(min=0), default=10, show_default=True, help="Index suggestions at most.")
@click.option("--stats-min-age", type=click.FloatRange(min=0), default=168.0, show_default=True,
              help="Hours of statistics below which unused-index findings are marked tentative.")
@click.option("--statement-timeout", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="statement_timeout in ms for each statement the report runs.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on for a terminal).")
@click.option("--demo-scale", type=click.FloatRange(0.01, 10), default=1.0, hidden=True)
def report(dsn, fmt, output, top, demo, build_indexes, seq_scan_min_rows, seq_scan_min_share, min_cost_reduction,
           max_advice, stats_min_age, statement_timeout, color, demo_scale) -> None:
    """Review a live PostgreSQL: top queries, verified index advice, catalog health (read-only).

    DSN may also come from SQLPERF_DSN or DATABASE_URL.
    """
    from sqlperf.dbreport.command import ReportError, run_report
    from sqlperf.dbreport.model import Thresholds

    thresholds = Thresholds(top=top, seq_scan_min_rows=seq_scan_min_rows, seq_scan_min_share=seq_scan_min_share,
                            min_cost_reduction=min_cost_reduction, max_advice=max_advice,
                            stats_min_age_hours=stats_min_age, statement_timeout_ms=statement_timeout)
    try:
        code = run_report(dsn, fmt=fmt, output=output, demo=demo, build_indexes=build_indexes, thresholds=thresholds, color=color,
                          demo_scale=demo_scale)
    except ReportError as error:
        raise UsageError(str(error)) from None
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: never a traceback for the user, exit 2 on internal errors."""
    try:
        cli.main(args=argv, prog_name="sqlperf", standalone_mode=False)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as error:
        if isinstance(error, UsageError):
            error.show()
        else:
            click.echo(f"sqlperf: error: {error.format_message()}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("sqlperf: aborted", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("sqlperf: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_CLEAN)
    except Exception as error:  # noqa: BLE001 - the last line of defence against a traceback
        if os.environ.get("SQLPERF_DEBUG"):
            raise
        click.echo(
            f"sqlperf: internal error: {type(error).__name__}: {error} (set SQLPERF_DEBUG=1 for a traceback, and please report it)",
            err=True,
        )
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
