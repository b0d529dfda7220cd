"""The recorder: SQLAlchemy event listeners that append each statement to the active scopes.

Listeners are installed once per process on the ``Engine`` class, so they see every
engine, sync and async (an ``AsyncEngine`` drives a sync ``Engine``), and cost one
context-variable read per statement while nothing is being captured.

The active scopes live in a context variable: each thread and each asyncio task sees
only the captures it opened (or inherited when it was created). A capture opened with
``threads=True`` (the pytest plugin's per-test capture) also collects statements from
threads that have no capture of their own, such as a test client's server thread.
"""

from __future__ import annotations

import sys
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from sqlperf.capture import callsite
from sqlperf.capture.callsite import USER, CallSite, Frames
from sqlperf.capture.fingerprint import Shape, shape_of
from sqlperf.capture.loads import LAZY, OrmLoad, describe_load, through_relationship

# How many frames from the call site upward identify a loop (see callsite.walk).
DEFAULT_DEPTH = 4


_UNRESOLVED = object()


class CapturedStatement:
    """One execution of one statement, as the database received it.

    The listener keeps raw facts only (the frames it ran under, the ORM's load options);
    the call site, the frames and the ORM load are worked out on first use, and for every
    statement when its capture ends (see :func:`deactivate`), which also lets go of the frames.
    """

    __slots__ = (
        "text", "parameters", "executemany", "shape", "entry", "dialect", "compiled",
        "duration", "allowed", "started", "_raw", "_site", "_frames", "_load",
    )

    def __init__(self, text, parameters, executemany, shape, entry, dialect, compiled, raw, load) -> None:
        self.text: str = text
        self.parameters: Any = parameters
        self.executemany: bool = executemany
        self.shape: Shape = shape
        self.entry: str = entry  # the SQLAlchemy API the application called, e.g. "Session.get"
        self.dialect: str = dialect  # SQLAlchemy's dialect name: "sqlite", "postgresql", ...
        self.compiled: Any = compiled  # SQLAlchemy's Compiled object: leads to the tables and their MetaData
        self.duration: float = 0.0  # seconds, driver time only
        self.allowed: str | None = None  # the reason given to allow(), when inside one
        self.started: float = 0.0
        self._raw = raw  # callsite.snapshot(), until resolved
        self._site = _UNRESOLVED
        self._frames = _UNRESOLVED
        self._load = load  # an OrmLoad, None, or (load options, statement, expired) until resolved

    def _resolve_frames(self) -> None:
        raw = self._raw
        self._raw = ()
        if self._site is _UNRESOLVED:
            self._site, self._frames = callsite.resolve(raw) if raw else (None, ())

    @property
    def call_site(self) -> CallSite | None:
        if self._site is _UNRESOLVED:
            self._resolve_frames()
        return self._site

    @property
    def frames(self) -> Frames:
        if self._frames is _UNRESOLVED:
            self._resolve_frames()
        return self._frames

    @property
    def load(self) -> OrmLoad | None:
        load = self._load
        if type(load) is tuple:
            try:
                load = describe_load(*load)
            except Exception:  # an attribution we cannot make is no attribution
                load = None
            self._load = load
        return load

    def resolve(self) -> None:
        """Work out everything that was left for later, and release the frames."""
        if self._site is _UNRESOLVED:
            self._resolve_frames()
        self.load

    @property
    def relationship(self) -> str | None:
        """``Post.comments`` when this statement was a relationship lazy load."""
        load = self.load
        return load.label if load is not None and load.kind == LAZY else None

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

    def __repr__(self) -> str:
        return f"CapturedStatement({self.text!r}, call_site={self.call_site!r}, load={self.load!r})"


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
    return token, (scopes if threads else None), scope


def deactivate(handle) -> None:
    token, thread_entry, scope = handle
    _scopes.reset(token)
    if thread_entry is not None:
        with _lock:
            for index in range(len(_thread_scopes) - 1, -1, -1):
                if _thread_scopes[index] is thread_entry:
                    del _thread_scopes[index]
                    break
    finish(scope)


def finish(scope: Scope) -> None:
    """Resolve what the listeners left for later, so no frame outlives its capture.

    The statements of one loop share their raw frames exactly (same frame objects, same
    offsets), so each distinct snapshot is resolved once.
    """
    resolved: dict[tuple, tuple] = {}
    resolve = callsite.resolve
    for statement in list(scope.statements):
        if statement._site is _UNRESOLVED:
            raw = statement._raw
            if raw:
                found = resolved.get(raw)
                if found is None:
                    found = resolved[raw] = resolve(raw)
                statement._site, statement._frames = found
            else:
                statement._site, statement._frames = None, ()
            statement._raw = ()
        if type(statement._load) is tuple:
            statement.load
    resolved.clear()
    callsite.release_finished_frames()


def install() -> None:
    """Attach the listeners to SQLAlchemy's Engine class (once per class object).

    No ``do_orm_execute`` listener: what it would tell (a relationship lazy load, a deferred
    column, an expired object) travels with each execution in its ORM load options, where
    the cursor listener reads it for the one statement it concerns.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    with _lock:
        # Keyed by the class object: a test runner may re-import SQLAlchemy in a new run.
        if any(cls is Engine for cls in _installed_on):
            return
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
        event.listen(Engine, "after_cursor_execute", _after_cursor_execute)
        _installed_on.append(Engine)


def uninstall() -> None:
    """Detach the listeners (benchmarks compare against SQLAlchemy without them)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    with _lock:
        if not any(cls is Engine for cls in _installed_on):
            return
        event.remove(Engine, "before_cursor_execute", _before_cursor_execute)
        event.remove(Engine, "after_cursor_execute", _after_cursor_execute)
        _installed_on[:] = [cls for cls in _installed_on if cls is not Engine]


def _active_scopes() -> tuple[Scope, ...]:
    scopes = _scopes.get()
    if not scopes and _thread_scopes:
        scopes = _thread_scopes[-1]
    return scopes


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    scopes = _scopes.get()
    if not scopes:
        if not _thread_scopes:
            return
        scopes = _thread_scopes[-1]
    if scopes[-1].paused and all(scope.paused for scope in scopes):
        return  # e.g. between tests: nobody would keep the statement
    try:
        shape = shape_of(statement)
        if shape.ignored:
            return
        # The shortcut of callsite.locate: the frame below the call site, at the depth this
        # statement's call site had last time (inlined: it runs for every statement).
        frame = None
        known = _depths.get(statement)
        if known is not None:
            try:
                inner = _getframe(known[0])
            except ValueError:
                inner = None
            if inner is not None and inner.f_code is known[1]:
                frame = inner.f_back
                # Same code below and application code here: the path has the same length, so
                # no application frame lies in between.
                if frame is not None and _kinds.get(frame.f_code.co_filename) == USER:
                    entry = known[2]
                else:
                    frame = None
        if frame is None:
            frame, entry, _ = callsite.locate(_getframe(1), 1, statement)
        raw = ()
        if frame is not None:
            depth = scopes[-1].depth
            if depth == 4:
                # callsite.snapshot, unrolled for the default depth.
                f1 = frame.f_back
                if f1 is not None:
                    f2 = f1.f_back
                    if f2 is not None:
                        f3 = f2.f_back
                        if f3 is not None:
                            raw = (frame, frame.f_lasti, f1, f1.f_lasti, f2, f2.f_lasti, f3, f3.f_lasti)
                        else:
                            raw = (frame, frame.f_lasti, f1, f1.f_lasti, f2, f2.f_lasti)
                    else:
                        raw = (frame, frame.f_lasti, f1, f1.f_lasti)
                else:
                    raw = (frame, frame.f_lasti)
            else:
                raw = callsite.snapshot(frame, depth)
        # What do_orm_execute would say (a lazy load, a deferred column, an expired object)
        # is in the load options SQLAlchemy passes down to this execution; only whether the
        # refreshed object had expired attributes must be read now (the load clears them).
        load = context.execution_options.get("_sa_orm_load_options")
        if load is not None:
            refresh = load._refresh_state
            if load._lazy_loaded_from is None and refresh is None:
                load = None
            else:
                load = (load, context.invoked_statement, refresh is not None and bool(refresh.expired_attributes))
                if load[2] and entry == "InstrumentedAttribute.__get__":
                    # An expired object reached through a many-to-one attribute: the attribute
                    # is only in the running frames, so this rare case is worked out now.
                    load = describe_load(*load)
                    if load is not None:
                        load = through_relationship(load, callsite.entry_frame_of(entry))
        record = CapturedStatement(
            statement, parameters, executemany, shape, entry, conn.dialect.name, context.compiled, raw, load
        )
        if len(scopes) == 1:
            scope = scopes[0]
            if scope.paused or (scope.engine is not None and scope.engine is not conn.engine):
                return
            if scope.allow_reason is not None:
                record.allowed = scope.allow_reason
            scope.statements.append(record)
        else:
            engine = conn.engine
            recorded = False
            for scope in scopes:
                if scope.paused or (scope.engine is not None and scope.engine is not engine):
                    continue
                if scope.allow_reason is not None:
                    record.allowed = scope.allow_reason
                scope.statements.append(record)
                recorded = True
            if not recorded:
                return
        context._sqlperf_record = record
        record.started = perf_counter()
    except Exception:  # a statement sqlperf cannot describe must still reach the database
        pass


_getframe = sys._getframe
_depths = callsite._depths
_kinds = callsite._kinds


def _after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    record = getattr(context, "_sqlperf_record", None)
    if record is not None:
        record.duration += perf_counter() - record.started
