"""WSGI and ASGI middleware: one capture per request, findings in headers and the log."""

from __future__ import annotations

import logging
import warnings

import pytest
from capture_support import sqlite_engine

pytest.importorskip("sqlalchemy")
pytestmark = pytest.mark.sqlperf(allow=["ALL"], reason="the demo views are N+1s on purpose")


@pytest.fixture(scope="module")
def engine():
    return sqlite_engine(posts=3)


def test_wsgi_middleware_headers_and_log(engine, caplog):
    from demo_app import web
    from sqlperf.capture import SqlperfWSGIMiddleware

    app = web.create_flask_app(engine)
    app.wsgi_app = SqlperfWSGIMiddleware(app.wsgi_app, static=False)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="sqlperf"):
        broken = client.get("/posts")
    assert broken.headers["X-SQLPerf-Statements"] == "4"
    assert "SP501" in broken.headers["X-SQLPerf-Findings"] and "Post.comments x3" in broken.headers["X-SQLPerf-Findings"]
    assert any("GET /posts: SP501 n-plus-one" in r.getMessage() for r in caplog.records)
    caplog.clear()
    fixed = client.get("/posts-fixed")
    assert fixed.headers["X-SQLPerf-Statements"] == "2"
    assert "X-SQLPerf-Findings" not in fixed.headers
    assert not caplog.records


def test_asgi_middleware_headers(engine):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from demo_app import web
    from sqlperf.capture import SqlperfASGIMiddleware

    app = web.create_fastapi_app(engine)
    app.add_middleware(SqlperfASGIMiddleware, static=False, log=False)
    client = TestClient(app)
    broken = client.get("/posts")
    assert broken.headers["x-sqlperf-statements"] == "4"
    assert "Post.comments x3" in broken.headers["x-sqlperf-findings"]
    fixed = client.get("/posts-fixed")
    assert fixed.headers["x-sqlperf-statements"] == "2" and "x-sqlperf-findings" not in fixed.headers
