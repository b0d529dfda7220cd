"""The recorder: SQLAlchemy event listeners that append each statement to the active scopes.

Listeners are installed once per process on the ``Engine`` and ``Session`` classes, so
they see every engine, sync and async (an ``AsyncEngine`` drives a sync ``Engine``), and
cost one context-variable read per statement while nothing is being captured.

The active scopes live in a context variable: each thread and each asyncio task sees
only the captures it opened (or inherited when it was created). A capture opened with
``threads=True`` (the pytest plugin's per-test capture) also collects statements from
threads that have no capture of their own, such as a test client's server thread.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from sqlperf.capture import callsite
from sqlperf.capture.callsite import CallSite, Frames
from sqlperf.capture.fingerprint import SELECT, Shape, shape_of
from sqlperf.capture.loads import EXPIRED, LAZY, OrmLoad, describe, through_relationship

# How many frames from the call site upward identify a loop (see callsite.walk).
DEFAULT_DEPTH = 4


@dataclass(slots=True, eq=False)
class CapturedStatement:
    """One execution of one statement, as the database received it."""

    text: str
    parameters: Any
    executemany: bool
    shape: Shape
    call_site: CallSite | None
    frames: Frames
    entry: str  # the SQLAlchemy API the application called, e.g. "Session.get"
    dialect: str  # SQLAlchemy's dialect name: "sqlite", "postgresql", ...
    load: OrmLoad | None = None
    duration: float = 0.0  # seconds, driver time only
    allowed: str | None = None  # the reason given to allow(), when inside one
    compiled: Any = None  # SQLAlchemy's Compiled object: leads to the tables and their MetaData
    started: float = 0.0

    @property
    def relationship(self) -> str | None:
        """``Post.comments`` when this statement was a relationship lazy load."""
        return self.load.label if self.load is not None and self.load.kind == LAZY else None

    @property
    def fingerprint(self) -> str:
        return self.shape.fingerprint

    @property
    def kind(self) -> str:
        return self.shape.kind

    @property
    def rows(self) -> int:
        """How many parameter sets this execution carried (executemany sends several)."""
        if self.executemany and isinstance(self.parameters, (list, tuple)):
            return len(self.parameters)
        return 1


@dataclass(eq=False)
class Scope:
    """Statements collected by one capture (a ``with capture()`` block, a test, a request)."""

    engine: Any = None  # only this Engine's statements, when given
    isolate: bool = False  # hide the statements from the captures around this one
    depth: int = DEFAULT_DEPTH
    statements: list[CapturedStatement] = field(default_factory=list)
    allow_reason: str | None = None
    paused: int = 0  # > 0 while statements must not be recorded here (e.g. test data being built)


_scopes: ContextVar[tuple[Scope, ...]] = ContextVar("sqlperf_capture_scopes", default=())
# The lazy/column load announced by do_orm_execute, waiting for its cursor execution.
_pending: ContextVar[tuple[Any, OrmLoad] | None] = ContextVar("sqlperf_pending_load", default=None)
# Scopes that threads without a capture of their own report to (a stack: captures nest).
_thread_scopes: list[tuple[Scope, ...]] = []
_lock = threading.Lock()
_installed_on: list[type] = []


def activate(scope: Scope, threads: bool = False):
    """Start recording into ``scope`` in this context; returns the token for :func:`deactivate`."""
    install()
    current = _scopes.get()
    scopes = (scope,) if scope.isolate else (*current, scope)
    token = _scopes.set(scopes)
    if threads:
        with _lock:
            _thread_scopes.append(scopes)
    return token, (scopes if threads else None)


def deactivate(handle) -> None:
    token, thread_entry = handle
    _scopes.reset(token)
    if thread_entry is not None:
        with _lock:
            for index in range(len(_thread_scopes) - 1, -1, -1):
                if _thread_scopes[index] is thread_entry:
                    del _thread_scopes[index]
                    break
    callsite.release_finished_frames()


def install() -> None:
    """Attach the listeners to SQLAlchemy's Engine and Session classes (once per class)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    with _lock:
        # Keyed by the class object: a test runner may re-import SQLAlchemy in a new run.
        if any(cls is Engine for cls in _installed_on):
            return
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
        event.listen(Engine, "after_cursor_execute", _after_cursor_execute)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        _installed_on.append(Engine)


def uninstall() -> None:
    """Detach the listeners (benchmarks compare against SQLAlchemy without them)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    with _lock:
        if not any(cls is Engine for cls in _installed_on):
            return
        event.remove(Engine, "before_cursor_execute", _before_cursor_execute)
        event.remove(Engine, "after_cursor_execute", _after_cursor_execute)
        event.remove(Session, "do_orm_execute", _do_orm_execute)
        _installed_on[:] = [cls for cls in _installed_on if cls is not Engine]


def _active_scopes() -> tuple[Scope, ...]:
    scopes = _scopes.get()
    if not scopes and _thread_scopes:
        scopes = _thread_scopes[-1]
    return scopes


def _do_orm_execute(state) -> None:
    scopes = _active_scopes()
    if not scopes or all(scope.paused for scope in scopes):
        return
    try:
        load = describe(state)
    except Exception:  # an attribution we cannot make must never break the application's query
        return
    if load is not None:
        _pending.set((state.execution_options.get("_sa_orm_load_options"), load))


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    scopes = _scopes.get()
    if not scopes:
        if not _thread_scopes:
            return
        scopes = _thread_scopes[-1]
    if scopes[-1].paused and all(scope.paused for scope in scopes):
        return  # e.g. between tests: nobody would keep the statement
    try:
        _record(scopes, conn, statement, parameters, context, executemany)
    except Exception:  # a statement sqlperf cannot describe must still reach the database
        pass


def _record(scopes, conn, statement, parameters, context, executemany) -> None:
    shape = shape_of(statement)
    if shape.ignored:
        return
    # Two frames up is SQLAlchemy's dispatcher calling _before_cursor_execute.
    site, frames, entry, entry_frame = callsite.walk(3, scopes[-1].depth, statement)
    load = None
    if shape.kind == SELECT:
        pending = _pending.get()
        # Pair the announced load with its own statement: an autoflush may run in between.
        if pending is not None and context.execution_options.get("_sa_orm_load_options") is pending[0]:
            load = pending[1]
            _pending.set(None)
            if load.kind == EXPIRED and entry == "InstrumentedAttribute.__get__":
                load = through_relationship(load, entry_frame or callsite.entry_frame_of(entry))
    record = CapturedStatement(
        statement,
        parameters,
        executemany,
        shape,
        site,
        frames,
        entry,
        conn.dialect.name,
        load,
        compiled=context.compiled,
    )
    engine = conn.engine
    recorded = False
    for scope in scopes:
        if scope.paused or (scope.engine is not None and scope.engine is not engine):
            continue
        if scope.allow_reason is not None:
            record.allowed = scope.allow_reason
        scope.statements.append(record)
        recorded = True
    if recorded:
        context._sqlperf_record = record
        record.started = perf_counter()


def _after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    record = getattr(context, "_sqlperf_record", None)
    if record is not None:
        record.duration += perf_counter() - record.started
