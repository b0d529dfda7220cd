"""The recorder: SQLAlchemy event listeners that append each statement to the active scopes.

Listeners are installed once per process on the ``Engine`` class, so they see every
engine, sync and async (an ``AsyncEngine`` drives a sync ``Engine``), and cost one
context-variable read per statement while nothing is being captured.

The active scopes live in a context variable: each thread and each asyncio task sees
only the captures it opened (or inherited when it was created). A capture opened with
``threads=True`` (the pytest plugin's per-test capture) also collects statements from
threads that have no capture of their own, such as a test client's server thread.

While a statement runs, the listener records raw facts only (the frames, what the ORM's
load options say); call sites and loads are worked out when the capture ends (:func:`finish`).
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
from sqlperf.capture.loads import LAZY, OrmLoad, describe_facts, load_facts, through_relationship

# How many frames from the call site upward identify a loop (see callsite.walk).
DEFAULT_DEPTH = 4


_UNRESOLVED = object()


class CapturedStatement:
    """One execution of one statement, as the database received it.

    The listener keeps raw facts only (the frames it ran under, the ORM's load options);
    the call site, the frames and the ORM load are worked out on first use, and for every
    statement when its capture ends (see :func:`deactivate`), which also lets go of the frames.

    The listener fills the slots itself (see ``_before_cursor_execute``): no ``__init__``
    call per statement.
    """

    __slots__ = (
        "text", "parameters", "executemany", "shape", "entry", "dialect", "compiled", "allowed",
        "duration", "started", "_frame", "_offset", "_callers", "_site", "_frames", "_load",
    )
    text: str
    parameters: Any  # as the driver received them
    executemany: bool
    shape: Shape
    entry: str  # the SQLAlchemy API the application called, e.g. "Session.get"
    dialect: str  # SQLAlchemy's dialect name: "sqlite", "postgresql", ...
    compiled: Any  # SQLAlchemy's Compiled object: leads to the tables and their MetaData
    allowed: str | None  # the reason given to allow(), when inside one
    duration: float  # seconds, driver time only
    started: float  # perf_counter() when the statement went to the driver
    # _frame, _offset, _callers: the call-site frame, its offset and its callers (callsite.snapshot
    # pairs) until resolved; _load: an OrmLoad, None, or loads.describe_facts's arguments.

    def _resolve_frames(self) -> None:
        frame = self._frame
        if self._site is _UNRESOLVED:
            if frame is not None:
                self._site, self._frames = callsite.resolve_parts(frame, self._offset, self._callers)
            else:
                self._site, self._frames = None, ()
        self._frame = self._callers = None

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
                load = describe_facts(*load)
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


@dataclass(eq=False, slots=True)
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

    The statements of one running function share their frames exactly (the same frame
    objects, and the callers' offsets as one tuple), so each distinct snapshot is resolved once.
    """
    forget_last_call_site()
    resolved: dict[tuple, tuple] = {}
    resolve = callsite.resolve_parts
    for statement in list(scope.statements):
        if statement._site is _UNRESOLVED:
            frame = statement._frame
            if frame is not None:
                key = (frame, statement._offset, statement._callers)
                found = resolved.get(key)
                if found is None:
                    found = resolved[key] = resolve(*key)
                statement._site, statement._frames = found
                statement._frame = statement._callers = None
            else:
                statement._site, statement._frames = None, ()
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
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute, retval=True)
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


# Statement text -> (ignored, shape, how many frames above the listener the frame just below
# the call site is, that frame's code, the SQLAlchemy entry point): one lookup per execution
# for what is the same every time the text comes back (see callsite.locate for the path).
_texts: dict[str, tuple] = {}


def _learn(statement: str) -> tuple:
    shape = shape_of(statement)
    path = callsite._depths.get(statement)
    known = (shape.ignored, shape, *(path or (0, None, "")))
    if len(_texts) > 20_000:
        _texts.clear()
    _texts[statement] = known
    return known


# The last call-site frame snapshotted, the depth, and its callers with their offsets.
# While a (non-generator) frame runs, its callers and where they stopped cannot change, so
# the statements of one running function share that part of the snapshot: only the call
# site's own offset is read again. Forgotten when a capture ends (it holds frames).
_last: tuple = (None, 0, ())
# A generator or coroutine frame is resumed from anywhere: its callers change.
_RESUMABLE = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR


def forget_last_call_site() -> None:
    global _last
    _last = (None, 0, ())


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
    # Registered with retval=True: SQLAlchemy then calls it directly instead of through a
    # wrapper that discards the return value, one Python call less per statement. Every path
    # must hand the statement and parameters back unchanged.
    global _last
    scopes = _scopes.get()
    if not scopes:
        if not _thread_scopes:
            return statement, parameters
        scopes = _thread_scopes[-1]
    scope = scopes[-1]
    if scope.paused and all(scope.paused for scope in scopes):
        return statement, parameters  # e.g. between tests: nobody would keep the statement
    try:
        known = _texts.get(statement)
        if known is None:
            known = _learn(statement)
        ignored, shape, steps, below, entry = known
        if ignored:
            return statement, parameters
        # The shortcut of callsite.locate: the frame below the call site, at the depth this
        # statement's call site had last time (inlined: it runs for every statement).
        frame = None
        if steps:
            try:
                inner = _getframe(steps)
            except ValueError:
                inner = None
            if inner is not None and inner.f_code is below:
                frame = inner.f_back
                # Same code below and application code here: the path has the same length, so
                # no application frame lies in between.
                if frame is not None and frame is not _last[0] and _kinds.get(frame.f_code.co_filename) != USER:
                    frame = None
        user = frame is not None
        if frame is None:
            frame, entry, _ = callsite.locate(_getframe(1), 1, statement)
            _learn(statement)
            user = frame is not None and callsite._kind(frame) == USER
        offset = 0
        callers = None
        if frame is not None:
            offset = frame.f_lasti
            depth = scope.depth
            last = _last
            if frame is last[0] and depth == last[1]:
                callers = last[2]
            else:
                # callsite.snapshot of the callers, unrolled for the default depth.
                if depth == 4:
                    callers = ()
                    f1 = frame.f_back
                    if f1 is not None:
                        f2 = f1.f_back
                        if f2 is not None:
                            f3 = f2.f_back
                            if f3 is not None:
                                callers = (f1, f1.f_lasti, f2, f2.f_lasti, f3, f3.f_lasti)
                            else:
                                callers = (f1, f1.f_lasti, f2, f2.f_lasti)
                        else:
                            callers = (f1, f1.f_lasti)
                else:
                    callers = callsite.snapshot(frame.f_back, depth - 1) if depth > 1 else ()
                if user and not frame.f_code.co_flags & _RESUMABLE:
                    _last = (frame, depth, callers)
        # What do_orm_execute would say (a lazy load, a deferred column, an expired object)
        # is in the load options SQLAlchemy passes down to this execution; only whether the
        # refreshed object had expired attributes must be read now (the load clears them).
        load = context.execution_options.get("_sa_orm_load_options")
        if load is not None:
            # Neither the options nor the statement are kept (loads.describe_facts says what is):
            # they hold the parent object's state, and the ORM makes a statement per lazy load.
            refresh = load._refresh_state
            lazy_from = load._lazy_loaded_from
            if refresh is None:  # a lazy load, or an ordinary query
                if lazy_from is None:
                    load = None
                else:
                    # loads.load_facts for a lazy load, inlined: N+1s are made of these.
                    path = getattr(getattr(context.invoked_statement, "_compile_options", None), "_current_path", None)
                    load = (True, path, getattr(lazy_from, "load_path", None), None, None, False)
            else:
                load = load_facts(load, context.invoked_statement, bool(refresh.expired_attributes))
                if load[5] and entry == "InstrumentedAttribute.__get__":
                    # An expired object reached through a many-to-one attribute: the attribute
                    # is only in the running frames, so this rare case is worked out now.
                    load = describe_facts(*load)
                    if load is not None:
                        load = through_relationship(load, callsite.entry_frame_of(entry))
        if len(scopes) == 1:
            if scope.engine is not None and scope.engine is not conn.engine:
                return statement, parameters
            keep = None
            allowed = scope.allow_reason
        else:
            engine = conn.engine
            keep = [s for s in scopes if not s.paused and (s.engine is None or s.engine is engine)]
            if not keep:
                return statement, parameters
            allowed = None
            for kept in keep:
                if kept.allow_reason is not None:
                    allowed = kept.allow_reason
        # CapturedStatement's slots, filled here: cheaper than a call to an __init__.
        record = _new(CapturedStatement)
        record.text = statement
        record.parameters = parameters
        record.executemany = executemany
        record.shape = shape
        record.entry = entry
        record.dialect = conn.dialect.name
        record.compiled = context.compiled
        record.allowed = allowed
        record.duration = 0.0
        record._frame = frame
        record._offset = offset
        record._callers = callers
        record._site = record._frames = _UNRESOLVED
        record._load = load
        if keep is None:
            scope.statements.append(record)
        else:
            for kept in keep:
                kept.statements.append(record)
        context._sqlperf_record = record
        record.started = perf_counter()
    except Exception:  # a statement sqlperf cannot describe must still reach the database
        pass
    return statement, parameters


_getframe = sys._getframe
_new = object.__new__
_kinds = callsite._kinds


def _after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    record = getattr(context, "_sqlperf_record", None)
    if record is not None:
        record.duration += perf_counter() - record.started
