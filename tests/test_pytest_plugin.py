"""The pytest plugin, run for real with ``pytester`` on the demo app (SQLite)."""

from __future__ import annotations

import json

import pytest
from capture_support import FIXTURES, line_of

pytest_plugins = ["pytester"]
pytest.importorskip("sqlalchemy")
pytestmark = pytest.mark.sqlperf(allow=["ALL"], reason="the inner runs are N+1s on purpose")

CONFTEST = f"""
import sys
sys.path.insert(0, {str(FIXTURES)!r})
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from demo_app import data, views


@pytest.fixture
def engine():
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={{"check_same_thread": False}})
    data.create_schema(engine)
    with Session(engine) as s:
        data.make_blog(s, posts=3)
    return engine


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s


@pytest.fixture
def posts_listed(session):
    views.list_posts(session)  # an N+1 in a fixture: not the test body
    return session
"""

N_PLUS_ONE_LINE = None


def n_plus_one_line() -> int:
    return line_of('"comments": len(post.comments)} for post in posts]')


@pytest.fixture(scope="module")
def preloaded():
    """Import everything the inner runs use, once, before any of them: pytester restores
    sys.modules after each in-process run, and a half re-imported SQLAlchemy breaks."""
    import importlib
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning, module="fastapi.testclient")
    for name in ("sqlalchemy.orm", "sqlalchemy.ext.asyncio", "sqlalchemy.pool", "aiosqlite", "demo_app.models",
                 "demo_app.views", "demo_app.data", "demo_app.web", "demo_app.async_views", "flask",
                 "fastapi", "fastapi.testclient", "sqlperf.capture.testing", "sqlperf.capture.static",
                 "sqlperf.engine", "sqlperf.output.sarif_format", "sqlperf.output.json_format"):
        importlib.import_module(name)
    # Run the whole pipeline once (static rules, schema from the models, both dialects'
    # parsers) so that its imports and caches exist before the first inner run.
    from sqlalchemy.orm import Session

    import sqlperf
    from capture_support import sqlite_engine
    from demo_app import views

    with Session(sqlite_engine()) as session, sqlperf.capture() as result:
        views.list_posts(session)
        views.posts_by_title(session, "x")
    assert result.findings
    sqlperf.lint_sql("SELECT 1 FROM t WHERE lower(a) = %(x)s", dialect="postgres")


@pytest.fixture
def tester(pytester, preloaded):
    pytester.makeconftest(CONFTEST)
    return pytester


def run(tester, *args):
    # hypothesis' plugin imports all of hypothesis at the end of every run: not ours to time.
    return tester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


SCENARIOS = """
from demo_app import views


def test_many_to_one(session):
    views.post_authors(session)

def test_one_to_many(session):
    views.list_posts(session)

def test_get_in_a_loop(session):
    views.posts_by_id(session, [1, 2, 3])

def test_deferred(session):
    views.post_bodies(session)

def test_expired(session):
    views.titles_after_commit(session)

def test_count_per_row(session):
    views.comment_counts(session)

def test_flush_per_row(session):
    views.add_comments(session, 1, ["a", "b", "c"])

def test_same_query_twice(session):
    views.first_post_twice(session)

def test_selectinload(session):
    views.list_posts_fixed(session)

def test_joinedload(session):
    views.post_authors_fixed(session)

def test_subqueryload(session):
    views.list_posts_subquery(session)

def test_undefer(session):
    views.post_bodies_fixed(session)

def test_add_all(session):
    views.add_comments_fixed(session, 1, ["a", "b", "c"])

def test_identity_map(session):
    views.identity_map_hits(session)

def test_loop_of_two(session):
    for post_id in (1, 2):
        views.post_and_comments(session, post_id)

def test_fixture_queries_not_counted(posts_listed):
    pass
"""


def test_fail_mode_fails_exactly_the_positive_scenarios(tester):
    tester.makepyfile(test_scenarios=SCENARIOS)
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=off")
    failed = {r.nodeid.split("::")[1] for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed}
    assert failed == {
        "test_many_to_one", "test_one_to_many", "test_get_in_a_loop", "test_deferred", "test_expired",
        "test_count_per_row", "test_flush_per_row", "test_same_query_twice",
    }
    result.assert_outcomes(failed=8, passed=8)
    result.stdout.fnmatch_lines([
        "*SP501 n-plus-one: Post.author lazy-loaded 3 times from *demo_app/views.py:* in post_authors.*",
        "*fix: load Post.author up front: add .options(joinedload(Post.author))*",
    ])


def test_warn_mode_reports_at_the_end_and_passes(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)

def test_list_again(session):
    views.list_posts(session)

def test_fixed(session):
    views.list_posts_fixed(session)
""")
    result = run(tester)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "sqlperf: mode=warn, n+1 threshold=2, duplicates=1, row-by-row=2, max queries=none, static rules=warn, fixtures=not counted",
        "*= sqlperf =*",
        f"SP501 n-plus-one: Post.comments lazy-loaded 3 times from *views.py:{n_plus_one_line()} in list_posts.",
        "  fix: *selectinload(Post.comments)*",
        "  in: test_a.py::test_list, test_a.py::test_list_again",
        "sqlperf: 1 new problem(s) in 2 test(s), * statements captured; reported only*",
    ])


def test_nothing_found_means_no_summary(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_fixed(session):
    views.list_posts_fixed(session)
""")
    result = run(tester)
    result.assert_outcomes(passed=1)
    assert "= sqlperf =" not in result.stdout.str()


def test_off_mode_is_silent(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)
""")
    result = run(tester, "--sqlperf=off")
    result.assert_outcomes(passed=1)
    assert "SP501" not in result.stdout.str()


def test_one_failure_per_call_site_however_long_the_loop_and_v_lists_the_sql(tester):
    tester.makepyfile(test_a="""
from demo_app import data, views

def test_many(session):
    data.make_blog(session, posts=30)
    views.list_posts(session)
""")
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=off", "-v")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    section = text.split("= FAILURES =")[1].split("= sqlperf =")[0]
    assert section.count("SP501 n-plus-one") == 1
    assert "lazy-loaded 33 times" in section
    assert "SQL: SELECT comments.id, comments.post_id, comments.text FROM comments WHERE ? = comments.post_id" in section


def test_marker_budget_allow_and_threshold(tester):
    tester.makepyfile(test_a="""
import pytest
from demo_app import views

@pytest.mark.sqlperf(max_queries=2)
def test_budget(session):
    views.list_posts(session)

@pytest.mark.sqlperf(max_queries=2)
def test_within_budget(session):
    views.list_posts_fixed(session)

@pytest.mark.sqlperf(allow=["SP501"], reason="admin page, 3 rows at most")
def test_allowed(session):
    views.list_posts(session)

@pytest.mark.sqlperf(n_plus_one_threshold=5)
def test_threshold(session):
    views.list_posts(session)
""")
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=off")
    result.assert_outcomes(failed=1, passed=3)
    result.stdout.fnmatch_lines(["*SP504 query-budget-exceeded: 4 statements ran where the budget is 2; most frequent: 3x SELECT comments*"])
    assert "test_budget" in result.stdout.str() and "FAILED test_a.py::test_within_budget" not in result.stdout.str()


def test_marker_is_documented_and_checked(tester):
    result = run(tester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.sqlperf(max_queries=None, n_plus_one_threshold=None, allow=(), reason=None):*"])
    tester.makepyfile(test_a="""
import pytest

@pytest.mark.sqlperf(budget=3)
def test_typo(session):
    pass
""")
    result = run(tester)
    result.stdout.fnmatch_lines(["*@pytest.mark.sqlperf got unknown argument(s) budget; it takes allow, max_queries, n_plus_one_threshold, reason*"])
    assert "Traceback" not in result.stdout.str()


def test_fixture_assertions(tester):
    tester.makepyfile(test_a="""
import pytest
from demo_app import views

def test_counts(session, sqlperf):
    views.list_posts(session)
    assert len(sqlperf.statements) == 4
    assert sqlperf.statements[1].relationship == "Post.comments"
    with pytest.raises(AssertionError, match="expected at most 2 statements, got 4"):
        sqlperf.assert_max_queries(2)
    sqlperf.assert_max_queries(4)
    with pytest.raises(AssertionError, match="Post.comments lazy-loaded 3 times"):
        sqlperf.assert_no_n_plus_one()

def test_allow_block(session, sqlperf):
    with sqlperf.allow("export job, paged later"):
        views.list_posts(session)
    sqlperf.assert_no_n_plus_one()
    sqlperf.assert_max_queries(0)
    with pytest.raises(ValueError, match="needs a reason"):
        with sqlperf.allow(""):
            pass

def test_fixture_works_with_mode_off(session, sqlperf):
    views.list_posts_fixed(session)
    assert sqlperf.count == 2
""")
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=off")
    result.assert_outcomes(passed=2, failed=1)  # test_counts ran an N+1: fail mode fails it
    result = run(tester, "--sqlperf=off")
    result.assert_outcomes(passed=3)


def test_assert_constant_queries(tester):
    tester.makepyfile(test_a="""
from sqlalchemy import delete
from demo_app import data, views
from demo_app.models import Comment, Post, post_tags

def build(session):
    def make(size):
        session.execute(delete(Comment)); session.execute(delete(post_tags)); session.execute(delete(Post))
        data.make_blog(session, posts=size)
    return make

def test_grows(session, sqlperf):
    sqlperf.assert_constant_queries(build(session), lambda: views.list_posts(session), sizes=(2, 10))

def test_constant(session, sqlperf):
    sqlperf.assert_constant_queries(build(session), lambda: views.list_posts_fixed(session), sizes=(2, 10))
""")
    result = run(tester, "--sqlperf=off")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*the number of statements grows with the data: 2 rows -> 3 statements, 10 rows -> 11 statements",
        "*+8: SELECT comments.id, comments.post_id, comments.text FROM comments WHERE ? = comments.post_id* (Post.comments lazy load)",
        "*SP501 n-plus-one: Post.comments lazy-loaded 10 times*",
    ])


def test_fixtures_count_only_when_configured(tester):
    tester.makepyfile(test_a="""
def test_uses_fixture(posts_listed):
    pass
""")
    assert "SP501" not in run(tester, "--sqlperf=fail").stdout.str()
    result = run(tester, "--sqlperf=fail", "--sqlperf-include-fixtures")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SP501 n-plus-one: Post.comments lazy-loaded 3 times*"])


def test_call_sites_in_test_code_only_when_asked(tester):
    tester.makepyfile(test_a="""
from sqlalchemy import select
from demo_app.models import Post

def test_loop_in_the_test(session):
    for post in session.scalars(select(Post)).all():
        post.comments
""")
    run(tester, "--sqlperf=fail").assert_outcomes(passed=1)
    result = run(tester, "--sqlperf=fail", "--sqlperf-include-test-code")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Post.comments lazy-loaded 3 times from test_a.py:6 in test_loop_in_the_test*"])


def test_ini_options_and_bad_values(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)
""")
    tester.makeini("[pytest]\nsqlperf_mode = fail\nsqlperf_static = false\n")
    run(tester).assert_outcomes(failed=1)
    for key in ("sqlperf_mode", "sqlperf_static"):
        tester.makeini(f"[pytest]\n{key} = loud\n")
        result = run(tester)
        result.stderr.fnmatch_lines([f"*{key} must be one of off, warn, fail, got 'loud'*"])
        assert result.ret == pytest.ExitCode.USAGE_ERROR
    tester.makeini("[pytest]\nsqlperf_n_plus_one_threshold = many\n")
    result = run(tester)
    result.stderr.fnmatch_lines(["*sqlperf_n_plus_one_threshold must be a whole number, got 'many'*"])


def test_static_rules_on_captured_sql_point_at_the_call_site(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_search(session):
    views.posts_by_title(session, "Hello")
""")
    line = line_of("func.lower(Post.title) == title.lower()")
    finding = f"*SP101 function-on-column: lower() wraps column posts.title*(from *views.py:{line} in posts_by_title)"
    # Static advice is listed, but a test fails on it only when asked: a test's few rows
    # cannot show what an unindexed or wrapped filter costs on production's data.
    result = run(tester, "--sqlperf=fail")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        finding,
        "sqlperf: 1 new problem(s) in 1 test(s), * statements captured; static rules' findings only, listed "
        "(--sqlperf-static=fail fails the tests on them)",
    ])
    result = run(tester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        finding,
        "sqlperf: 1 new problem(s) in 1 test(s), * statements captured; reported only (--sqlperf=fail fails the "
        "tests on the runtime ones, with --sqlperf-static=fail on the static rules' too)",
    ])
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([finding])
    tester.makeini("[pytest]\nsqlperf_mode = fail\nsqlperf_static = fail\n")
    run(tester).assert_outcomes(failed=1)


def test_fail_mode_fails_on_the_run_and_lists_the_static_advice(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)

def test_search(session):
    views.posts_by_title(session, "Hello")
""")
    result = run(tester, "--sqlperf=fail")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*SP101 function-on-column*",
        "*SP501 n-plus-one: Post.comments*",
        "sqlperf: 2 new problem(s) in 2 test(s), * statements captured; the tests that ran the 1 runtime one(s) "
        "failed; the 1 from the static rules are listed only (--sqlperf-static=fail fails on them too)",
        "FAILED test_a.py::test_list*",
    ])


def test_report_json_and_sarif(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)
""")
    run(tester, "--sqlperf-report", "out/report.json", "--sqlperf-static=off").assert_outcomes(passed=1)
    report = json.loads((tester.path / "out" / "report.json").read_text())
    [finding] = report["findings"]
    assert finding["code"] == "SP501" and finding["path"].endswith("demo_app/views.py")
    assert finding["line"] == n_plus_one_line()
    assert finding["capture"]["tests"] == ["test_a.py::test_list"]
    assert finding["fix"]["replacement"] == "selectinload(Post.comments)"
    assert report["summary"]["findings"] == 1
    run(tester, "--sqlperf-report", "out/report.sarif", "--sqlperf-static=off").assert_outcomes(passed=1)
    sarif = json.loads((tester.path / "out" / "report.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "SP501"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == n_plus_one_line()
    assert sarif["runs"][0]["tool"]["driver"]["rules"][0]["name"] == "n-plus-one"


def test_baseline(tester):
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)
""")
    result = run(tester, "--sqlperf-baseline", "sqlperf-baseline.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "does not exist; create it with --sqlperf-update-baseline" in result.stderr.str()
    result = run(tester, "--sqlperf=fail", "--sqlperf-baseline", "sqlperf-baseline.json", "--sqlperf-update-baseline")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["sqlperf: baseline *sqlperf-baseline.json rewritten with 1 finding(s)"])
    entries = json.loads((tester.path / "sqlperf-baseline.json").read_text())["findings"]
    assert [(e["code"], e["function"]) for e in entries] == [("SP501", "list_posts")]
    # Known findings pass; a new one fails.
    tester.makepyfile(test_a="""
from demo_app import views

def test_list(session):
    views.list_posts(session)

def test_authors(session):
    views.post_authors(session)
""")
    result = run(tester, "--sqlperf=fail", "--sqlperf-baseline", "sqlperf-baseline.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["SP501 n-plus-one [[]baselined[]]: Post.comments*", "*FAILED test_a.py::test_authors*"])


def test_flask_and_fastapi_test_clients(tester):
    tester.makepyfile(test_a="""
import pytest
from demo_app import web

@pytest.fixture(params=["flask", "fastapi"])
def client(request, engine):
    if request.param == "flask":
        return web.create_flask_app(engine).test_client()
    from fastapi.testclient import TestClient
    return TestClient(web.create_fastapi_app(engine))

def test_posts(client):
    assert client.get("/posts").status_code == 200

def test_posts_fixed(client):
    assert client.get("/posts-fixed").status_code == 200

def test_the_same_page_twice_is_not_a_duplicate(client):
    for post_id in (1, 2, 3):
        assert client.get(f"/posts/{post_id}").status_code == 200
""")
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=off", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(failed=2, passed=4)
    failed = sorted(r.nodeid for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed)
    assert failed == ["test_a.py::test_posts[fastapi]", "test_a.py::test_posts[flask]"]
    assert result.stdout.str().count(f"views.py:{n_plus_one_line()} in list_posts") >= 2


def test_async_engine_in_a_test(tester):
    tester.makepyfile(test_a="""
import asyncio
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from demo_app import async_views, data
from demo_app.models import Base

def scenario(view):
    async def go():
        engine = create_async_engine("sqlite+aiosqlite://")
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            await session.run_sync(lambda s: data.make_blog(s, posts=3))
            session.expunge_all()
            await view(session)
        await engine.dispose()
    asyncio.run(go())

def test_awaitable_attrs(sqlperf):
    with sqlperf.allow("building the data"):
        pass
    scenario(async_views.list_posts)

def test_selectinload():
    scenario(async_views.list_posts_fixed)
""")
    result = run(tester, "--sqlperf=fail", "--sqlperf-static=off")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*Post.comments lazy-loaded 3 times from *async_views.py:* in list_posts*"])


def test_a_loop_in_the_test_is_the_tests_not_the_applications(tester):
    # Found trying the plugin on MLflow's own store tests: tests that call the application once
    # per item (to build their data, or once per case) made the application's single-row reads
    # and writes look like its N+1s, duplicates and row-by-row writes.
    tester.makepyfile(test_a="""
from demo_app import views

def test_each_post(session):
    for post_id in (1, 2, 3):
        views.post_and_comments(session, post_id)
        views.add_comments(session, post_id, ["x"])

def test_same_search_twice(session):
    views.posts_by_title(session, "x")
    views.posts_by_title(session, "x")

def test_the_applications_own_loop_is_still_found(session):
    for post_id in (1, 2, 3):
        views.post_and_comments(session, post_id)
    views.list_posts(session)
""")
    result = run(tester, "--sqlperf-static=off")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        f"SP501 n-plus-one: Post.comments lazy-loaded 3 times from *views.py:{n_plus_one_line()} in list_posts.",
        "  in: test_a.py::test_the_applications_own_loop_is_still_found",
        "sqlperf: 1 new problem(s) in 1 test(s), *",
    ])
    assert "post_and_comments" not in out and "add_comments" not in out and "posts_by_title" not in out

    # The test's loops count again when test code is reported too.
    result = run(tester, "--sqlperf-static=off", "--sqlperf-include-test-code")
    result.stdout.fnmatch_lines([
        "SP501 n-plus-one: session.get(Post, ...) ran 3 times from *views.py:* in post_and_comments (the loop is 1 call up, at test_a.py:*",
        "SP502 duplicate-query: * from *views.py:* in posts_by_title *",
        "SP503 row-by-row-write: INSERT sent one row at a time, 3 times, from *views.py:* in add_comments (the loop is 1 call up, at test_a.py:*",
    ], consecutive=False)


def test_a_test_that_imports_sqlalchemy_only_in_its_body_is_watched(pytester):
    # Found trying the plugin on MLflow: a test that sets the environment and then imports the
    # server (and with it SQLAlchemy) in its body was not watched at all when it ran first,
    # because SQLAlchemy was not imported yet when the test was set up. A fresh interpreter.
    pytester.makepyfile(test_late=f"""
def test_lists_posts():
    import sys
    sys.path.insert(0, {str(FIXTURES)!r})
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from demo_app import data, views

    engine = create_engine("sqlite://")
    data.create_schema(engine)
    with Session(engine) as session:
        data.make_blog(session, posts=3)
        views.list_posts(session)
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--sqlperf-static=off")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"SP501 n-plus-one: Post.comments lazy-loaded 3 times from *views.py:{n_plus_one_line()} in list_posts."])
