"""``sqlperf.capture()``: record what SQLAlchemy sends to the database, and judge it.

    with sqlperf.capture() as result:
        list_posts(session)
    for finding in result.findings:
        print(finding.path, finding.line, finding.message)

It is also a decorator (``@sqlperf.capture(max_queries=5, raise_on_findings=True)``).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlperf.capture import recorder
from sqlperf.capture.callsite import CallSite, function_name
from sqlperf.capture.detectors import Thresholds, detect
from sqlperf.capture.recorder import DEFAULT_DEPTH, CapturedStatement, Scope
from sqlperf.rule import Finding


class CaptureError(AssertionError):
    """Raised on leaving a capture made with ``raise_on_findings=True`` that found something."""

    def __init__(self, result: CaptureResult) -> None:
        self.result = result
        super().__init__(result.describe())


@dataclass
class CaptureOptions:
    n_plus_one_threshold: int = 2
    duplicate_threshold: int = 1
    row_by_row_threshold: int = 2
    max_queries: int | None = None
    static: bool = True  # run the static rules (SP1xx-SP4xx) on each distinct statement
    select: list[str] | None = None  # static rules to run (default: the default set)
    ignore: tuple[str, ...] = ()  # codes never reported
    schema: Any = None  # a sqlperf Schema, a SQLAlchemy MetaData / declarative base, or None (auto)
    root: str | Path | None = None  # paths are shown relative to this (default: cwd)
    depth: int = DEFAULT_DEPTH
    # Tells a test file by its file name: loops and repeated calls in tests are not the application's.
    test_code: Callable[[str], bool] | None = None

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.n_plus_one_threshold, self.duplicate_threshold, self.row_by_row_threshold, self.max_queries)


@dataclass
class CaptureResult:
    """What one capture saw: ``statements`` in order, and the ``findings`` they lead to."""

    options: CaptureOptions = field(default_factory=CaptureOptions)
    scope: Scope = field(default_factory=Scope)
    site: CallSite | None = None  # where the capture was opened: SP504's location
    _findings: list[Finding] | None = None
    _computed_for: int = -1

    @property
    def statements(self) -> list[CapturedStatement]:
        return self.scope.statements

    @property
    def count(self) -> int:
        """Statements that count (those inside ``allow()`` do not)."""
        return sum(1 for s in self.statements if s.allowed is None)

    @property
    def findings(self) -> list[Finding]:
        """Runtime and static findings; computed on first access after new statements."""
        if self._findings is None or self._computed_for != len(self.statements):
            self._findings = self._judge()
            self._computed_for = len(self.statements)
        return self._findings

    def _judge(self) -> list[Finding]:
        opts = self.options
        found = detect(self.statements, opts.thresholds, root=opts.root, budget_site=self.site, test_code=opts.test_code)
        if opts.static:
            from sqlperf.capture.static import static_findings

            found += static_findings(self.statements, schema=_as_schema(opts.schema), select=opts.select, root=opts.root)
        ignored = set(opts.ignore)
        found = [f for f in found if f.code not in ignored]
        found.sort(key=lambda f: (f.code, f.path, f.line))
        return found

    def describe(self, verbose: bool = False) -> str:
        """Every finding as text: the message, the fix and, when ``verbose``, the SQL."""
        from sqlperf.capture.reporting import describe_findings

        return describe_findings(self.findings, verbose=verbose)


def _as_schema(schema):
    """A sqlperf Schema from whatever was given (MetaData and declarative bases are loaded)."""
    if schema is None:
        return None
    from sqlperf.schema.model import Schema

    if isinstance(schema, Schema):
        return schema
    from sqlperf.capture.static import schema_for
    from sqlperf.schema.orm import resolve_metadata

    return schema_for([resolve_metadata(schema)])


class capture:  # noqa: N801 - used like a function: ``with sqlperf.capture():``
    """Record every statement SQLAlchemy sends while the block (or decorated function) runs.

    ``engine`` limits the capture to one Engine or AsyncEngine. ``threads=True`` also takes
    statements from threads that have no capture of their own (a test client's server
    thread). With ``raise_on_findings=True`` leaving the block raises :class:`CaptureError`
    when anything was found.
    """

    def __init__(
        self,
        engine: Any = None,
        *,
        schema: Any = None,
        n_plus_one_threshold: int = 2,
        duplicate_threshold: int = 1,
        row_by_row_threshold: int = 2,
        max_queries: int | None = None,
        static: bool = True,
        select: list[str] | None = None,
        ignore: tuple[str, ...] | list[str] = (),
        threads: bool = False,
        isolate: bool = False,
        raise_on_findings: bool = False,
        root: str | Path | None = None,
        depth: int = DEFAULT_DEPTH,
    ) -> None:
        if callable(engine) and not _is_engine(engine):
            raise TypeError("use @sqlperf.capture() with parentheses, or pass an Engine as the first argument")
        self.engine = getattr(engine, "sync_engine", engine)
        self.options = CaptureOptions(
            n_plus_one_threshold=n_plus_one_threshold,
            duplicate_threshold=duplicate_threshold,
            row_by_row_threshold=row_by_row_threshold,
            max_queries=max_queries,
            static=static,
            select=select,
            ignore=tuple(ignore),
            schema=schema,
            root=root,
            depth=depth,
        )
        self.threads = threads
        self.isolate = isolate
        self.raise_on_findings = raise_on_findings
        self.result: CaptureResult | None = None
        self._handles: list = []

    def __enter__(self) -> CaptureResult:
        scope = Scope(engine=self.engine, isolate=self.isolate, depth=self.options.depth)
        caller = sys._getframe(1)
        site = CallSite(caller.f_code.co_filename, caller.f_lineno, function_name(caller.f_code))
        self.result = CaptureResult(self.options, scope, site)
        self._handles.append((self.result, recorder.activate(scope, threads=self.threads)))
        return self.result

    def __exit__(self, exc_type, exc, tb) -> None:
        result, handle = self._handles.pop()
        recorder.deactivate(handle)
        if self.raise_on_findings and exc_type is None and result.findings:
            raise CaptureError(result)

    def __call__(self, function):
        """Use as a decorator: each call of ``function`` runs in a fresh capture."""
        if _is_coroutine_function(function):

            @functools.wraps(function)
            async def async_wrapper(*args, **kwargs):
                with self:
                    return await function(*args, **kwargs)

            return async_wrapper

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        return wrapper


def _is_engine(obj) -> bool:
    return hasattr(obj, "dialect") or hasattr(obj, "sync_engine")


def _is_coroutine_function(function) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)
