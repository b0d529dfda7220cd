"""sqlperf: find SQL that will be slow before it ships.

The library doors are imported lazily so that ``import sqlperf`` stays cheap.
"""

from sqlperf._version import __version__

__all__ = ["__version__", "check", "lint_sql"]


def __getattr__(name: str):
    if name == "check":
        from sqlperf.runner import check

        return check
    if name == "lint_sql":
        from sqlperf.engine import lint_sql

        return lint_sql
    raise AttributeError(f"module 'sqlperf' has no attribute {name!r}")
