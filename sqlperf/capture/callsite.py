"""Call sites: the line of the application that made SQLAlchemy send a statement.

The recorder runs for every statement, so this walks frames with ``sys._getframe`` and
classifies each code file once (cached by file name), instead of building stack traces.
A frame is *core* (SQLAlchemy, sqlperf, the standard library, greenlet: never a call
site), *library* (any other installed package: a call site only when nothing better is
found) or *user* code.

Besides the call site, a statement keeps its first few frames as *activations*: small
integers that stay the same for as long as one function call is running. Two statements
whose call-site frames belong to the same running loop share an activation, which is
how a loop over rows (N+1) is told apart from two requests that merely run the same
view. Identity is only trustworthy while the frame object is alive, so the frames are
held, and released as soon as nothing but this table references them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from itertools import count
from pathlib import Path

USER, CORE, LIBRARY, SQLALCHEMY = 0, 1, 2, 3

# Packages whose frames are never a call site. ``extra_core_modules`` adds to them.
CORE_MODULES = frozenset({"sqlalchemy", "sqlperf", "greenlet", "_pytest", "pluggy", "pytest"})
_STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
_LIBRARY_DIRS = ("site-packages", "dist-packages")

_kinds: dict[str, int] = {}
_extra_core: set[str] = set()


@dataclass(frozen=True, slots=True)
class CallSite:
    """Where a statement came from: the first frame in the application's own code."""

    path: str  # as the code object names it (absolute for imported modules)
    line: int
    function: str

    def display(self, root: str | Path | None = None) -> str:
        return f"{display_path(self.path, root)}:{self.line} in {self.function}"


_COMPREHENSION = re.compile(r"(?:\.<locals>)?\.<(?:listcomp|dictcomp|setcomp|genexpr)>$")


def function_name(code) -> str:
    """The qualified name of the function a person wrote: a comprehension's frame (its own
    function before Python 3.12) is named after the function that contains it."""
    return _COMPREHENSION.sub("", code.co_qualname) or code.co_qualname


_shown: dict[tuple[str, str, str], str] = {}


def display_path(path: str, root: str | Path | None = None) -> str:
    """``path`` relative to ``root`` (default: the working directory) when inside it."""
    if not path or path.startswith("<"):
        return path
    cwd = os.getcwd()
    base = cwd if root is None else os.fspath(root)
    # Cached: every finding shows its call site, and resolving a path asks the file system.
    key = (path, base, cwd)
    shown = _shown.get(key)
    if shown is None:
        try:
            shown = Path(path).resolve().relative_to(Path(base).resolve()).as_posix()
        except (ValueError, OSError):
            shown = path
        if len(_shown) > 10_000:
            _shown.clear()
        _shown[key] = shown
    return shown


def add_core_modules(names) -> None:
    """Treat these top-level packages as part of the database layer (never a call site)."""
    new = {n.partition(".")[0] for n in names} - _extra_core
    if new:
        _extra_core.update(new)
        _kinds.clear()
        # The recorder trusts the last call-site frame it saw without classifying it again.
        recorder = sys.modules.get("sqlperf.capture.recorder")
        if recorder is not None:
            recorder.forget_last_call_site()


def _classify(frame) -> int:
    filename = frame.f_code.co_filename
    module = frame.f_globals.get("__name__") or ""
    top = module.partition(".")[0]
    if top == "sqlalchemy":
        return SQLALCHEMY
    if top in CORE_MODULES or top in _extra_core or top in _STDLIB or filename.startswith("<frozen"):
        return CORE
    if any(part in filename for part in _LIBRARY_DIRS):
        return LIBRARY
    if filename.startswith("<") and _installed(top):
        return LIBRARY  # code an installed package compiled from a string (alembic's context proxies)
    return USER


def _installed(top: str) -> bool:
    """Whether the top-level package ``top`` was imported from an installed package's folder."""
    origin = getattr(sys.modules.get(top), "__file__", None) or ""
    return any(part in origin for part in _LIBRARY_DIRS)


def _kind(frame) -> int:
    filename = frame.f_code.co_filename
    kind = _kinds.get(filename)
    if kind is None:
        kind = _classify(frame)
        # Code compiled from strings shares the name "<string>": classify it every time.
        if not filename.startswith("<") or filename.startswith("<frozen"):
            _kinds[filename] = kind
    return kind


# (id(code), instruction offset) -> (code, CallSite); the code object is kept so its id
# stays unique. Keyed by the offset, not the line: the recorder keeps a frame's f_lasti (an
# attribute read), and the line table is scanned once per distinct offset here.
_sites: dict[tuple, tuple[object, CallSite]] = {}


def site_at(frame, offset: int) -> CallSite:
    """The call site of ``frame`` stopped at instruction ``offset`` (the frame may have
    moved on or finished since: only its code and globals are read)."""
    code = frame.f_code
    key = (id(code), offset)
    cached = _sites.get(key)
    if cached is not None and cached[0] is code:
        return cached[1]
    if len(_sites) > 50_000:
        _sites.clear()
    line = line_of(code, offset)
    template = frame.f_globals.get("__jinja_template__")
    if template is not None and template.filename:
        # Jinja compiles a template to Python: report the template's own line, not the module's.
        site = CallSite(template.filename, template.get_corresponding_lineno(line), f"template {template.name}")
    else:
        site = CallSite(code.co_filename, line, function_name(code))
    _sites[key] = (code, site)
    return site


def _site(frame) -> CallSite:
    return site_at(frame, frame.f_lasti)


_lines: dict[tuple, tuple[object, int]] = {}


def line_of(code, offset: int) -> int:
    """The source line of the instruction at byte ``offset`` of ``code``."""
    key = (id(code), offset)
    known = _lines.get(key)
    # The code object is kept with the line: an id alone may be reused by another code.
    if known is not None and known[0] is code:
        return known[1]
    line = code.co_firstlineno
    for start, end, number in code.co_lines():
        if start <= offset < end:
            line = number if number is not None else line
            break
    if len(_lines) > 50_000:
        _lines.clear()
    _lines[key] = (code, line)
    return line


def _parent_greenlet_frame():
    """Where the enclosing greenlet stopped: SQLAlchemy's async layer runs sync code in a
    child greenlet whose frame chain ends inside SQLAlchemy; the caller's ``await`` is in
    the parent's frames."""
    greenlet = sys.modules.get("greenlet")
    if greenlet is None:
        return None
    parent = greenlet.getcurrent().parent
    return parent.gr_frame if parent is not None else None


# -- activations ----------------------------------------------------------------------------
_held: dict[int, tuple[object, int]] = {}  # id(frame) -> (frame, activation number)
_numbers = count(1)
_PRUNE_EVERY = 256


def activation(frame) -> int:
    """A number that identifies this running call of a function while it runs."""
    held = _held.get(id(frame))
    if held is not None:
        return held[1]
    number = next(_numbers)
    _held[id(frame)] = (frame, number)
    if len(_held) % _PRUNE_EVERY == 0:
        release_finished_frames()
    return number


def release_finished_frames() -> None:
    """Forget frames that finished running and that only this table still references.

    ``getrefcount`` counts the table's tuple and its own argument: 2 means nobody else
    holds the frame. A finished frame keeps its caller alive, so repeat until stable.
    """
    getrefcount = sys.getrefcount
    while True:
        dead = [key for key, (frame, _) in list(_held.items()) if getrefcount(frame) <= 3]
        if not dead:
            return
        for key in dead:
            _held.pop(key, None)


# Per frame: (code object, instruction offset, activation); line_of() turns the offset into a line.
Frames = tuple[tuple[object, int, int], ...]


# Statement text -> (how many frames above the recorder's listener the frame just below the
# call site is, that frame's code, the SQLAlchemy entry point). The same statement nearly
# always arrives along the same path, so the recorder checks that one frame pair instead
# of visiting every frame in between (see recorder._before_cursor_execute).
_depths: dict[str, tuple[int, object, str]] = {}


def locate(frame, steps: int, key: str | None = None):
    """Walk up from ``frame`` (``steps`` frames above the listener) to the call site.

    Returns the call-site frame (None when there is none), the SQLAlchemy API the
    application called (``Session.get``, ``Query.first``) and that API's frame. A
    statement's path is remembered under ``key`` for the recorder's shortcut.
    """
    kinds = _kinds
    entry = ""
    entry_frame = None
    fallback = None
    crossed = False
    below = None
    while True:
        while frame is not None:
            # Inlined: this loop runs for every frame between the driver and the application.
            kind = kinds.get(frame.f_code.co_filename)
            if kind is None:
                kind = _kind(frame)
            if kind == USER:
                break
            if kind == SQLALCHEMY:
                entry = frame.f_code.co_qualname
                entry_frame = frame
            elif kind == LIBRARY and fallback is None:
                fallback = frame
            below = frame
            frame = frame.f_back
            steps += 1
        if frame is not None or crossed:
            break
        crossed = True
        frame = _parent_greenlet_frame()
        if frame is None:
            break
    if frame is None:
        return fallback, entry, entry_frame
    if key is not None and not crossed and below is not None:
        if len(_depths) > 20_000:
            _depths.clear()
        _depths[key] = (steps - 1, below.f_code, entry)
    return frame, entry, entry_frame


def snapshot(frame, depth: int) -> tuple:
    """``frame`` and ``depth - 1`` callers as (frame, instruction offset) pairs, flattened.

    The offsets must be read now (the frames move on); everything else about them is
    read later by :func:`resolve`. Holding the frame objects keeps their identity unique
    until then, which is what makes them usable as activations.
    """
    raw = []
    for _ in range(depth):
        if frame is None:
            break
        raw.append(frame)
        raw.append(frame.f_lasti)
        frame = frame.f_back
    return tuple(raw)


def resolve(raw: tuple) -> tuple[CallSite | None, Frames]:
    """The call site and the frames of a :func:`snapshot`."""
    if not raw:
        return None, ()
    held = _held
    frames = []
    for index in range(0, len(raw), 2):
        frame = raw[index]
        known = held.get(id(frame))
        frames.append((frame.f_code, raw[index + 1], known[1] if known is not None and known[0] is frame else activation(frame)))
    return site_at(raw[0], raw[1]), tuple(frames)


def resolve_parts(frame, offset: int, callers: tuple) -> tuple[CallSite, Frames]:
    """The call site and the frames of ``frame`` stopped at ``offset``, and its callers as
    :func:`snapshot` gives them (what the recorder keeps per statement)."""
    held = _held
    known = held.get(id(frame))
    frames = [(frame.f_code, offset, known[1] if known is not None and known[0] is frame else activation(frame))]
    for index in range(0, len(callers), 2):
        caller = callers[index]
        known = held.get(id(caller))
        frames.append((caller.f_code, callers[index + 1], known[1] if known is not None and known[0] is caller else activation(caller)))
    return site_at(frame, offset), tuple(frames)


def walk(skip: int, depth: int, key: str | None = None) -> tuple[CallSite | None, Frames, str, object]:
    """The call site of the statement being executed, its first ``depth`` frames, and the
    SQLAlchemy API the application called (``Session.get``, ``Query.first``) with its frame.

    Each frame is ``(code object, instruction offset, activation)``; the first one is the
    call site. (The recorder does the same in two halves: it snapshots the frames while the
    statement runs and resolves them when the capture ends.)
    """
    try:
        frame = sys._getframe(skip)
    except ValueError:
        return None, (), "", None
    frame, entry, entry_frame = locate(frame, skip, None)
    if frame is None:
        return None, (), entry, entry_frame
    site, frames = resolve(snapshot(frame, depth))
    return site, frames, entry, entry_frame


def entry_frame_of(entry: str, skip: int = 1):
    """The outermost running frame of SQLAlchemy's function ``entry`` (a slow walk, for the
    rare statements that need it when the shortcut did not keep that frame)."""
    try:
        frame = sys._getframe(skip)
    except ValueError:
        return None
    found = None
    while frame is not None:
        if frame.f_code.co_qualname == entry:
            found = frame
        elif found is not None and _kind(frame) == USER:
            break
        frame = frame.f_back
    return found
