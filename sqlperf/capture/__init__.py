"""Runtime capture of the SQL that SQLAlchemy sends, and the runtime rules SP501-SP504.

``sqlperf.capture`` is this package and, at the same time, the function that opens a
capture: the package module is callable, so both of these work and mean the same::

    with sqlperf.capture() as result: ...
    from sqlperf.capture import capture

Importing this package is cheap: SQLAlchemy is imported only when a capture starts.
"""

from __future__ import annotations

import sys
import types

__all__ = ["capture", "CaptureError", "CaptureResult", "SqlperfASGIMiddleware", "SqlperfWSGIMiddleware"]


def __getattr__(name: str):
    if name in ("capture", "CaptureError", "CaptureResult", "CaptureOptions"):
        from sqlperf.capture import api

        return getattr(api, name)
    if name in ("SqlperfWSGIMiddleware", "SqlperfASGIMiddleware"):
        from sqlperf.capture import middleware

        return getattr(middleware, name)
    raise AttributeError(f"module 'sqlperf.capture' has no attribute {name!r}")


class _CallablePackage(types.ModuleType):
    """Lets ``sqlperf.capture(...)`` call :func:`sqlperf.capture.api.capture` although
    ``sqlperf.capture`` is a package (Python binds a subpackage to its parent's attribute
    on import, so a plain function of that name in ``sqlperf`` could never stay put)."""

    def __call__(self, *args, **kwargs):
        from sqlperf.capture.api import capture

        return capture(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
