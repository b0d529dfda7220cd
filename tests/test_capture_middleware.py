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


def test_n_plus_one_in_a_template_names_the_template_line_and_the_relationship(engine):
    import sqlperf
    from capture_support import FIXTURES, line_of
    from demo_app import web

    client = web.create_flask_app(engine).test_client()
    with sqlperf.capture(static=False) as result:
        assert client.get("/authors").status_code == 200
    # Two N+1s on that line: the expired posts (post.title) and their authors (post.author).
    [finding] = [f for f in result.findings if f.code == "SP501" and f.data["relationship"] == "Post.author"]
    assert any("expired Post objects refreshed 3 times" in f.message for f in result.findings)
    template = FIXTURES / "demo_app" / "templates" / "authors.html"
    assert finding.path.endswith("demo_app/templates/authors.html")
    assert finding.line == line_of("post.author.name", template)
    assert "Post.author lazy-loaded 3 times" in finding.message and "template authors.html" in finding.message
    assert "joinedload(Post.author)" in finding.help
