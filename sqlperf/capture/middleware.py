"""WSGI and ASGI middleware for development servers: each request is one capture.

The findings of a request are logged (logger ``sqlperf``) and, unless ``header=False``,
summed up in response headers, so the browser's network panel shows them:

    X-SQLPerf-Statements: 12
    X-SQLPerf-Findings: SP501 app/views.py:42 Post.comments x10; SP502 app/views.py:57

    app.wsgi_app = SqlperfWSGIMiddleware(app.wsgi_app)      # Flask
    app.add_middleware(SqlperfASGIMiddleware)               # FastAPI / Starlette

The headers are computed when the response starts: statements a streaming body sends
later are logged, not counted in the headers. Requests never mix: each one records only
the statements of its own thread or task.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlperf.capture.api import CaptureResult, capture

STATEMENTS_HEADER = "X-SQLPerf-Statements"
FINDINGS_HEADER = "X-SQLPerf-Findings"
_MAX_HEADER = 1024


def summary_headers(result: CaptureResult) -> list[tuple[str, str]]:
    parts = []
    for finding in result.findings:
        item = f"{finding.code} {finding.path}:{finding.line}"
        if finding.data.get("relationship"):
            item += f" {finding.data['relationship']}"
        if finding.code in ("SP501", "SP502", "SP503") and finding.data.get("count"):
            item += f" x{finding.data['count']}"
        parts.append(item)
    text = "; ".join(parts)
    text = text.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")
    if len(text) > _MAX_HEADER:
        text = text[: _MAX_HEADER - 3] + "..."
    headers = [(STATEMENTS_HEADER, str(result.count))]
    if text:
        headers.append((FINDINGS_HEADER, text))
    return headers


class _Settings:
    def __init__(self, header: bool, log: bool, logger: logging.Logger | None, options: dict[str, Any]) -> None:
        self.header = header
        self.log = log
        self.logger = logger or logging.getLogger("sqlperf")
        options.setdefault("threads", False)  # a dev server serves requests in parallel threads
        self.options = options

    def report(self, method: str, path: str, result: CaptureResult) -> None:
        if not self.log:
            return
        for finding in result.findings:
            self.logger.warning(
                "%s %s: %s %s: %s%s", method, path, finding.code, finding.name, finding.message,
                f" Fix: {finding.help}" if finding.help else "",
            )


class SqlperfWSGIMiddleware:
    """Wrap a WSGI application; ``capture_options`` go to :func:`sqlperf.capture`."""

    def __init__(self, app, *, header: bool = True, log: bool = True, logger: logging.Logger | None = None, **capture_options) -> None:
        self.app = app
        self.settings = _Settings(header, log, logger, capture_options)

    def __call__(self, environ, start_response):
        settings = self.settings
        recording = capture(**settings.options)
        result = recording.__enter__()

        def start_with_headers(status, headers, exc_info=None):
            if settings.header:
                headers = list(headers) + summary_headers(result)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start_with_headers)
        finally:
            recording.__exit__(None, None, None)
        settings.report(environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", "?"), result)
        return body


class SqlperfASGIMiddleware:
    """Wrap an ASGI application (HTTP requests only; lifespan and websockets pass through)."""

    def __init__(self, app, *, header: bool = True, log: bool = True, logger: logging.Logger | None = None, **capture_options) -> None:
        self.app = app
        self.settings = _Settings(header, log, logger, capture_options)

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings
        recording = capture(**settings.options)
        result = recording.__enter__()

        async def send_with_headers(message):
            if settings.header and message.get("type") == "http.response.start":
                extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in summary_headers(result)]
                message = dict(message, headers=list(message.get("headers") or []) + extra)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            recording.__exit__(None, None, None)
        settings.report(scope.get("method", "?"), scope.get("path", "?"), result)
