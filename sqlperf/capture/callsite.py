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


def display_path(path: str, root: str | Path | None = None) -> str:
    """``path`` relative to ``root`` (default: the working directory) when inside it."""
    if not path or path.startswith("<"):
        return path
    base = Path(root) if root is not None else Path.cwd()
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def add_core_modules(names) -> None:
    """Treat these top-level packages as part of the database layer (never a call site)."""
    new = {n.partition(".")[0] for n in names} - _extra_core
    if new:
        _extra_core.update(new)
        _kinds.clear()


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
    return USER


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
# stays unique. Keyed by the offset, not the line: a frame's f_lasti is an attribute read,
# while f_lineno scans the code's line table on every access.
_sites: dict[tuple, tuple[object, CallSite]] = {}


def _site(frame) -> CallSite:
    code = frame.f_code
    key = (id(code), frame.f_lasti)
    cached = _sites.get(key)
    if cached is not None and cached[0] is code:
        return cached[1]
    if len(_sites) > 50_000:
        _sites.clear()
    template = frame.f_globals.get("__jinja_template__")
    if template is not None and template.filename:
        # Jinja compiles a template to Python: report the template's own line, not the module's.
        site = CallSite(template.filename, template.get_corresponding_lineno(frame.f_lineno), f"template {template.name}")
    else:
        site = CallSite(code.co_filename, frame.f_lineno, function_name(code))
    _sites[key] = (code, site)
    return site


_lines: dict[tuple, int] = {}


def line_of(code, offset: int) -> int:
    """The source line of the instruction at byte ``offset`` of ``code``."""
    key = (id(code), offset)
    line = _lines.get(key)
    if line is None:
        line = code.co_firstlineno
        for start, end, number in code.co_lines():
            if start <= offset < end:
                line = number if number is not None else line
                break
        if len(_lines) > 50_000:
            _lines.clear()
        _lines[key] = line
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


# Statement text -> (depth of its call site from walk(), code of the frame just below the
# call site, the SQLAlchemy entry point). The same statement nearly always arrives along
# the same path, so the next walk checks that one frame pair instead of visiting every
# frame in between (see _shortcut).
_depths: dict[str, tuple[int, object, str]] = {}


def _shortcut(key: str):
    known = _depths.get(key)
    if known is None:
        return None
    depth, below, entry = known
    try:
        inner = sys._getframe(depth)  # +1 for this helper's own frame, -1 for the frame below
    except ValueError:
        return None
    if inner.f_code is not below:
        return None
    frame = inner.f_back
    # The frame below is the same SQLAlchemy (or library) code as last time and this one is
    # the application's: the path is the same length, so no application frame lies between.
    if frame is None or _kinds.get(frame.f_code.co_filename) != USER:
        return None
    # The frame below is SQLAlchemy's entry point itself unless a library sits in between.
    return frame, entry, (inner if inner.f_code.co_qualname == entry else None)


def walk(skip: int, depth: int, key: str | None = None) -> tuple[CallSite | None, Frames, str, object]:
    """The call site of the statement being executed, its first ``depth`` frames, and the
    SQLAlchemy API the application called (``Session.get``, ``Query.first``) with its frame.

    Each frame is ``(code object, instruction offset, activation)``; the first one is the
    call site.
    ``key`` (the statement text) lets a repeated statement skip the walk (see _shortcut).
    """
    found = _shortcut(key) if key is not None else None
    if found is not None:
        frame, entry, entry_frame = found
        return _site(frame), _frames(frame, depth), entry, entry_frame
    try:
        frame = sys._getframe(skip)
    except ValueError:
        return None, (), "", None
    kinds = _kinds
    entry = ""
    entry_frame = None
    fallback = None
    crossed = False
    steps = skip
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
        frame = fallback
        if frame is None:
            return None, (), entry, entry_frame
    elif key is not None and not crossed and below is not None:
        if len(_depths) > 20_000:
            _depths.clear()
        _depths[key] = (steps, below.f_code, entry)
    return _site(frame), _frames(frame, depth), entry, entry_frame


def _frames(frame, depth: int) -> Frames:
    frames = []
    held = _held
    current = frame
    for _ in range(depth):
        if current is None:
            break
        known = held.get(id(current))
        frames.append((current.f_code, current.f_lasti, known[1] if known is not None else activation(current)))
        current = current.f_back
    return tuple(frames)


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
