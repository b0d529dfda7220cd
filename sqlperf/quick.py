"""What ``sqlperf check`` does before linting, without click: its options to Settings, and a warm run's answer.

The click command (sqlperf.cli) and the console entry (sqlperf.entry), which answers a fully
cached run before importing click, both call these: one mapping from the options to the
settings, one cached answer (see sqlperf.fastpath) and one exit code for it.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def codes(values) -> list[str] | None:
    """Rule selectors from repeatable, comma-separated options; None when none was given."""
    if not values:
        return None
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def build_settings(paths, *, config_file: Path | None = None, dialect: str | None = None, select=(), extend_select=(),
                   ignore=(), schema=(), schema_dsn: str | None = None, schema_metadata: str | None = None,
                   no_cache: bool = False, cache_dir: str | None = None):
    """The configuration found for the first path (or ``config_file``), with the options over it; raises ConfigError."""
    from sqlperf.config import load_settings

    start = Path(paths[0]) if paths else Path.cwd()
    settings = load_settings(config_file, start if start.exists() else Path.cwd())
    if dialect:
        settings.dialect = dialect
    settings.select = codes(select) if select else settings.select
    settings.extend_select += codes(extend_select) or []
    settings.ignore += codes(ignore) or []
    settings.schema += list(schema)
    settings.schema_dsn = schema_dsn or settings.schema_dsn
    settings.schema_metadata = schema_metadata or settings.schema_metadata
    if no_cache:
        settings.cache_dir = None
    elif cache_dir:
        settings.cache_dir = cache_dir
    return settings


def plain_output(fmt: str, output, color: bool | None) -> bool:
    """Whether the output has no colour: the text renderer's own decision, made early so that it can be replayed."""
    shown_color = False if output is not None else color if color is not None else sys.stdout.isatty()
    return fmt != "text" or not shown_color


def cached_answer(targets: list[str], settings, *, fmt: str, verbose: bool, plain: bool):
    """(run key, cached run) of a check that neither fixes nor verifies; either is None when unknown or missed.

    A warm run of an unchanged tree is answered from the cache before sqlglot and the rules are
    imported; a None run means "lint as usual", with the run key (when known) to store the run under.
    """
    if not settings.cache_dir:
        return None, None
    from sqlperf import fastpath

    key = fastpath.run_key(settings)
    if key is None:
        return None, None
    # SARIF describes the rules from their documentation: only its stored output is replayed.
    return key, fastpath.cached_run(targets, settings, key, fmt=fmt, verbose=verbose, plain=plain,
                                    replay_only=fmt == "sarif")


def write_answer(fast, fmt: str, stream, *, color: bool | None, verbose: bool, plain: bool, exit_zero: bool) -> int:
    """Write a cached run's output; its exit code (a cached run has no errors and no diffs)."""
    fast.render(fmt, stream, color=color, verbose=verbose, plain=plain)
    return EXIT_CLEAN if exit_zero or not fast.has_findings else EXIT_FINDINGS
