"""The plugin across pytest-xdist workers (one subprocess run) and on the embedded PostgreSQL."""

from __future__ import annotations

import json

import pytest
from capture_support import FIXTURES, line_of

pytest_plugins = ["pytester"]
pytest.importorskip("sqlalchemy")
pytestmark = pytest.mark.sqlperf(allow=["ALL"], reason="the inner runs are N+1s on purpose")

SQLITE_CONFTEST = f"""
import sys
sys.path.insert(0, {str(FIXTURES)!r})
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from demo_app import data

@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    data.create_schema(engine)
    with Session(engine) as s:
        data.make_blog(s, posts=3)
        yield s
"""


def test_xdist_workers_are_merged_in_one_summary_and_report(pytester):
    pytester.makeconftest(SQLITE_CONFTEST)
    pytester.makepyfile(test_a="""
from demo_app import views

def test_one(session):
    views.list_posts(session)

def test_two(session):
    views.list_posts(session)

def test_three(session):
    views.post_authors(session)

def test_four(session):
    views.list_posts_fixed(session)
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-n", "2", "--sqlperf-static=off",
                                           "--sqlperf-report", "report.json")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "*= sqlperf =*",
        "SP501 n-plus-one: Post.comments lazy-loaded 3 times*",
        "  in: test_a.py::test_one, test_a.py::test_two",
        "SP501 n-plus-one: Post.author lazy-loaded 3 times*",
        "sqlperf: 2 new problem(s) in 3 test(s), * statements captured*",
    ])
    report = json.loads((pytester.path / "report.json").read_text())
    tests = {f["capture"]["relationship"]: sorted(f["capture"]["tests"]) for f in report["findings"]}
    assert tests == {"Post.author": ["test_a.py::test_three"], "Post.comments": ["test_a.py::test_one", "test_a.py::test_two"]}


@pytest.mark.postgres
def test_postgresql_n_plus_one_and_unindexed_filter(pytester, pg_dsn):
    url = pg_dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    pytester.makeconftest(f"""
import sys
sys.path.insert(0, {str(FIXTURES)!r})
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from demo_app import data

@pytest.fixture(scope="session")
def engine():
    engine = create_engine({url!r})
    data.create_schema(engine)
    with Session(engine) as s:
        data.make_blog(s, posts=4)
    yield engine
    engine.dispose()

@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s
        s.rollback()
""")
    pytester.makepyfile(test_pg="""
from demo_app import views

def test_list(session):
    views.list_posts(session)

def test_fixed(session):
    views.list_posts_fixed(session)

def test_unindexed_filter(session):
    views.authors_by_email(session, "a1@example.org")
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--sqlperf=fail",
                                         "--sqlperf-static=fail")
    result.assert_outcomes(failed=2, passed=1)
    line = line_of('"comments": len(post.comments)} for post in posts]')
    result.stdout.fnmatch_lines([
        f"*SP501 n-plus-one: Post.comments lazy-loaded 4 times from *views.py:{line} in list_posts*",
        "*SP201 unindexed-filter-column: authors is filtered on email*(from *views.py:* in authors_by_email)*",
    ])
