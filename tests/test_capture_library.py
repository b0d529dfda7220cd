"""``sqlperf.capture()`` as a library: what is recorded, what is not, and who sees it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from capture_support import line_of, sqlite_engine

import sqlperf

pytest.importorskip("sqlalchemy")
pytestmark = pytest.mark.sqlperf(allow=["ALL"], reason="these tests run N+1s on purpose")


@pytest.fixture(scope="module")
def engine():
    return sqlite_engine(posts=3)


@pytest.fixture
def session(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        yield session
        session.rollback()


def test_sqlperf_capture_is_the_package_and_the_function():
    import sqlperf.capture as package
    from sqlperf.capture import capture

    assert sqlperf.capture is package and callable(sqlperf.capture)
    assert sqlperf.capture_queries is capture
    assert isinstance(sqlperf.capture(), capture)


def test_statements_carry_text_parameters_duration_call_site_and_relationship(session):
    from demo_app import views

    with sqlperf.capture() as result:
        views.list_posts(session)
    first, lazy = result.statements[0], result.statements[1]
    assert first.text.startswith("SELECT posts.id") and first.relationship is None
    assert lazy.relationship == "Post.comments" and lazy.parameters == (1,)
    assert lazy.duration > 0
    assert lazy.call_site.function == "list_posts"
    assert lazy.call_site.line == line_of('"comments": len(post.comments)} for post in posts]')
    assert first.dialect == "sqlite"


def test_savepoint_begin_commit_and_introspection_are_not_counted(engine):
    from sqlalchemy import inspect, select
    from sqlalchemy.orm import Session

    from demo_app.models import Post

    with sqlperf.capture() as result:
        with Session(engine) as session:
            with session.begin():
                with session.begin_nested():
                    session.execute(select(Post.id)).all()
        inspect(engine).get_table_names()
        inspect(engine).get_columns("posts")
    assert [s.text.split()[0] for s in result.statements] == ["SELECT"]


def test_orm_update_and_core_statements_are_recorded_without_errors(session):
    from sqlalchemy import text, update

    from demo_app.models import Post

    with sqlperf.capture() as result:
        session.execute(update(Post).where(Post.id == 1).values(title="x"))
        session.execute(text("SELECT count(*) FROM posts WHERE title = 'x'")).scalar()
    assert [s.kind for s in result.statements] == ["update", "select"]


def test_engine_filter(session, engine):
    from sqlalchemy import create_engine, text

    other = create_engine("sqlite://")
    with sqlperf.capture(engine) as result:
        with other.connect() as connection:
            connection.execute(text("SELECT 1 FROM (SELECT 1)")).all()
        session.execute(text("SELECT id FROM posts")).all()
    assert [s.text for s in result.statements] == ["SELECT id FROM posts"]


def test_threads_never_mix(engine):
    from sqlalchemy import text

    barrier = threading.Barrier(2)
    results = {}

    def work(name, table):
        with sqlperf.capture() as result:
            barrier.wait()
            with engine.connect() as connection:
                for _ in range(3):
                    connection.execute(text(f"SELECT id FROM {table}")).all()
        results[name] = {s.text for s in result.statements}

    threads = [threading.Thread(target=work, args=(n, t)) for n, t in (("a", "posts"), ("b", "comments"))]
    with sqlperf.capture() as outer:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == {"a": {"SELECT id FROM posts"}, "b": {"SELECT id FROM comments"}}
    assert outer.statements == []  # the threads had their own captures and no threads=True here


def test_threads_option_takes_statements_of_threads_without_their_own(engine):
    from sqlalchemy import text

    def work():
        with engine.connect() as connection:
            connection.execute(text("SELECT id FROM tags")).all()

    with sqlperf.capture(threads=True) as result:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert [s.text for s in result.statements] == ["SELECT id FROM tags"]


def test_nested_captures_both_see_the_statements(session):
    from sqlalchemy import text

    with sqlperf.capture() as outer:
        with sqlperf.capture() as inner:
            session.execute(text("SELECT id FROM posts")).all()
        session.execute(text("SELECT id FROM tags")).all()
    assert len(inner.statements) == 1 and len(outer.statements) == 2


def test_decorator_and_raise_on_findings(session):
    from demo_app import views

    @sqlperf.capture(raise_on_findings=True, static=False)
    def page():
        return views.list_posts(session)

    with pytest.raises(sqlperf.capture.CaptureError, match="Post.comments lazy-loaded 3 times"):
        page()

    @sqlperf.capture(raise_on_findings=True, static=False)
    def fixed_page():
        return views.list_posts_fixed(session)

    assert len(fixed_page()) == 3
    with pytest.raises(TypeError, match="with parentheses"):
        sqlperf.capture(lambda: None)


def test_budget_is_reported_at_the_capture(session):
    from demo_app import views

    with sqlperf.capture(max_queries=1, static=False) as result:
        views.list_posts_fixed(session)
    [finding] = [f for f in result.findings if f.code == "SP504"]
    assert "2 statements ran where the budget is 1" in finding.message
    assert finding.path.endswith("test_capture_library.py")


def test_static_findings_are_located_at_the_call_site_with_the_models_schema(session):
    from demo_app import views

    with sqlperf.capture() as result:
        views.authors_by_email(session, "a1@example.org")
        views.posts_by_title(session, "post 1")
    by_code = {f.code: f for f in result.findings}
    assert by_code["SP201"].line == line_of("select(Author.id).where(Author.email == email)")
    assert "authors is filtered on email" in by_code["SP201"].message
    assert by_code["SP101"].line == line_of("func.lower(Post.title) == title.lower()")
    assert by_code["SP101"].data["sql"].startswith("SELECT posts.id")
    assert by_code["SP101"].fix is None or not by_code["SP101"].fix.edits
    with sqlperf.capture(static=False) as quiet:
        views.posts_by_title(session, "post 1")
    assert quiet.findings == []


def test_first_is_a_single_row_fetch_not_a_page_without_order(session):
    """``query(Tag).first()`` sends ``LIMIT ? OFFSET ?``: bound to 1 and 0 it asks for any one row
    (SP307 silent, with or without a filter); the same text bound to a page size, or past the
    first row, is a page."""
    from sqlalchemy import select

    from demo_app.models import Tag

    def static(result):
        return [(f.code, f.line) for f in result.findings if f.code != "SP502"]

    with sqlperf.capture(select=["SP307"]) as first_only:
        session.query(Tag).first()
        session.query(Tag).filter(Tag.name != "x").first()
    assert static(first_only) == []
    with sqlperf.capture(select=["SP307"]) as pages:
        session.query(Tag).first()
        session.query(Tag).limit(5).all()  # the page: the same SQL text as .first()'s
        session.scalars(select(Tag).limit(5)).all()  # the same page in 2.0 style: another text
    assert static(pages) == [
        ("SP307", line_of("session.query(Tag).limit(5).all()", Path(__file__))),
        ("SP307", line_of("session.scalars(select(Tag).limit(5)).all()", Path(__file__))),
    ]
    with sqlperf.capture(select=["SP307"]) as skipped:
        session.query(Tag).offset(3).first()  # the fourth row: which one depends on the plan
    assert static(skipped) == [("SP307", line_of("session.query(Tag).offset(3).first()", Path(__file__)))]
    # One text, two findings: the page's SP307 goes to the page, the SP101 stays at the first run.
    from sqlalchemy import func

    from demo_app.models import Post

    with sqlperf.capture(select=["SP307", "SP101"]) as both:
        titled = session.query(Post).filter(func.lower(Post.title) == "post 1")
        titled.first()
        titled.limit(5).all()
    assert sorted(static(both)) == [
        ("SP101", line_of("        titled.first()", Path(__file__))),
        ("SP307", line_of("titled.limit(5).all()", Path(__file__))),
    ]


def test_code_an_installed_package_compiled_from_a_string_is_not_the_call_site(session, tmp_path, monkeypatch):
    # Found on MLflow: alembic's ``context.run_migrations()`` is a proxy that alembic compiles
    # with exec(); its frame is "<string>", which the call site named ("<string>:8 in
    # run_migrations") instead of the application's own line that called it.
    package = tmp_path / "site-packages" / "stringproxy_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        'exec(compile("def call(function, *args):\\n    return function(*args)\\n", "<string>", "exec"), globals())\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    monkeypatch.delitem(__import__("sys").modules, "stringproxy_pkg", raising=False)
    import stringproxy_pkg
    from demo_app.models import Post

    assert stringproxy_pkg.call.__code__.co_filename == "<string>"
    with sqlperf.capture() as result:
        stringproxy_pkg.call(session.get, Post, 1)  # the call site
    site = result.statements[0].call_site
    here = Path(__file__)
    assert (site.path, site.line) == (str(here), line_of("stringproxy_pkg.call(session.get, Post, 1)  # the call site", here))
