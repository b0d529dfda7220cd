"""Which files a check reads: the paths given, directories searched for the include globs.

Apart from the runner so that a warm run (sqlperf.fastpath) finds its files without importing
what linting needs.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

TYPE_CHECKING = False  # without importing typing: see sqlperf.config
if TYPE_CHECKING:
    from sqlperf.config import Settings


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def discover(paths: list[str | Path], settings: Settings) -> tuple[list[tuple[Path, str]], list[str]]:
    """Files to lint, in a stable order, and one error line per path that does not exist.

    A file named on the command line is always linted; directories are searched for the
    ``include`` globs, skipping ``exclude`` names.
    """
    found: dict[str, Path] = {}
    errors: list[str] = []
    cwd_prefix = str(Path.cwd().resolve()).rstrip(os.sep) + os.sep
    included, excluded = _matcher(settings.include), _matcher(settings.exclude)
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.setdefault(display_path(path), path)
        elif path.is_dir():
            # Plain strings until a file is kept: a Path per directory entry costs a warm run
            # more than reading its cache.
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not excluded(d))
                real_root = None
                for name in files:
                    if included(name) and not excluded(name):
                        joined = os.path.join(root, name)
                        if os.path.islink(joined):
                            shown = display_path(Path(joined))
                        else:
                            # Resolving each file walks every folder above it again; resolve
                            # the folder once (the same answer unless the file is a link).
                            real_root = real_root or os.path.realpath(root)
                            real = os.path.join(real_root, name)
                            shown = real[len(cwd_prefix):] if real.startswith(cwd_prefix) else Path(joined).as_posix()
                            if os.sep != "/":
                                shown = shown.replace(os.sep, "/")
                        found.setdefault(shown, Path(joined))
        else:
            errors.append(f"{raw}: no such file or directory")
    return [(found[k], k) for k in sorted(found)], errors


def _matcher(patterns: list[str]):
    """One compiled test for a list of glob patterns (fnmatch's rules), instead of a call per pattern."""
    if not patterns:
        return lambda name: False
    match = re.compile("|".join(fnmatch.translate(os.path.normcase(p)) for p in patterns)).match
    return lambda name: match(os.path.normcase(name)) is not None
