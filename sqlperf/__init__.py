"""sqlperf: find SQL that will be slow before it ships.

The library doors are imported lazily so that ``import sqlperf`` stays cheap.
"""

from sqlperf._version import __version__

__all__ = ["__version__", "capture", "capture_queries", "check", "lint_sql"]


def __getattr__(name: str):
    if name == "check":
        from sqlperf.runner import check

        return check
    if name in ("capture", "capture_queries"):
        # sqlperf.capture is a package whose module object is callable: sqlperf.capture(...)
        # opens a capture, and sqlperf.capture.recorder etc. still import as submodules.
        import sqlperf.capture as capture_package

        return capture_package if name == "capture" else capture_package.capture
    if name == "lint_sql":
        from sqlperf.engine import lint_sql

        return lint_sql
    raise AttributeError(f"module 'sqlperf' has no attribute {name!r}")
