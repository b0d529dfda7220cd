"""Every N+1 pattern of the demo app is found with its relationship, line and fix; every
fixed twin is silent. Real SQLAlchemy on SQLite, through ``sqlperf.capture()``."""

from __future__ import annotations

import asyncio

import pytest
from capture_support import line_of, sqlite_engine

import sqlperf

pytest.importorskip("sqlalchemy")
# These tests run N+1s on purpose: the suite's own sqlperf plugin must not report them.
pytestmark = pytest.mark.sqlperf(allow=["ALL"], reason="the scenarios are N+1s on purpose")


@pytest.fixture(scope="module")
def engine():
    return sqlite_engine(posts=3)


@pytest.fixture
def session(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        yield session
        session.rollback()


def run(session, view, *args):
    from demo_app import views

    with sqlperf.capture() as result:
        getattr(views, view)(session, *args)
    return result


def codes(result, prefix="SP5"):
    return sorted(f.code for f in result.findings if f.code.startswith(prefix))


POSITIVE = [
    # view, args, code, text the message must contain, text the fix must contain, line marker
    ("post_authors", (), "SP501", "Post.author lazy-loaded 3 times", "joinedload(Post.author)", "return [post.author.name"),
    ("list_posts", (), "SP501", "Post.comments lazy-loaded 3 times", "selectinload(Post.comments)", '"comments": len(post.comments)} for post in posts]\n'),
    ("posts_by_id", ([1, 2, 3],), "SP501", "session.get(Post, ...) ran 3 times", "Post.id.in_(", "session.get(Post, post_id)"),
    ("post_bodies", (), "SP501", "deferred column Post.body loaded 3 times", "undefer(Post.body)", "len(post.body)"),
    ("titles_after_commit", (), "SP501", "expired Post objects refreshed 3 times", "expire_on_commit=False", "return [post.title for post in posts]"),
    ("comment_counts", (), "SP501", "the same SELECT ran 3 times", "GROUP BY", "session.scalar(select(func.count())"),
    ("add_comments", (1, ["a", "b", "c"]), "SP503", "INSERT sent one row at a time, 3 times", "add_all", "session.flush()"),
    ("first_post_twice", (), "SP502", "ran 2 times", "reuse", "first = session.scalars"),
]


@pytest.mark.parametrize("view, args, code, message, fix, marker", POSITIVE, ids=[p[0] for p in POSITIVE])
def test_positive_scenario_is_reported_at_its_line(session, view, args, code, message, fix, marker):
    result = run(session, view, *args)
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, result.describe()
    finding = found[0]
    assert message in finding.message
    assert fix in finding.help
    marker = marker.rstrip("\n")
    assert finding.path.endswith("demo_app/views.py")
    assert finding.line == line_of(marker)
    assert f"in {view}" in finding.message
    assert codes(result) == [code]


NEGATIVE = [
    ("list_posts_fixed", ()),  # selectinload
    ("post_authors_fixed", ()),  # joinedload
    ("list_posts_subquery", ()),  # subqueryload
    ("post_bodies_fixed", ()),  # undefer
    ("add_comments_fixed", (1, ["a", "b", "c"])),  # add_all with one flush
    ("identity_map_hits", ()),  # many-to-one targets already in the session
    ("posts_by_id_fixed", ([1, 2, 3],)),
    ("titles_after_commit_fixed", ()),
    ("comment_counts_fixed", ()),
]


@pytest.mark.parametrize("view, args", NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_fixed_twin_is_silent(session, view, args):
    result = run(session, view, *args)
    assert codes(result) == [], result.describe()
    assert result.count >= 1


def test_identity_map_hits_send_no_sql(session):
    result = run(session, "identity_map_hits")
    assert result.count == 2  # the posts and the comments; every comment.post is a hit


def test_two_different_statements_from_one_loop_of_two_is_not_n_plus_one(session):
    from demo_app import views

    with sqlperf.capture() as result:
        for post_id in (1, 2):
            views.post_and_comments(session, post_id)
    assert result.count == 4
    assert codes(result) == []


def test_a_loop_of_three_over_a_helper_names_the_loop(session):
    from demo_app import views

    with sqlperf.capture() as result:
        for post_id in (1, 2, 3):
            views.post_and_comments(session, post_id)
    found = [f for f in result.findings if f.code == "SP501"]
    assert len(found) == 2  # the get and the count, each from its own line
    assert all("the loop is 1 call up" in f.message and "test_capture_scenarios.py" in f.message for f in found)


def test_objects_loaded_through_a_relationship_get_the_chained_option(session):
    # Found on indexd (uc-cdis/indexd pull request #160): the url metadata of each record's
    # urls is fixed at the records' query, joinedload(IndexRecord.urls).joinedload(...), not at
    # "the query that loads the IndexRecordUrl objects", which the application never wrote.
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from demo_app.models import Author, Post

    def tag_names(query):
        return [tag.name for author in session.scalars(query).all() for post in author.posts for tag in post.tags]

    with sqlperf.capture() as result:
        assert len(tag_names(select(Author))) == 3
    found = {f.data["relationship"]: f for f in result.findings if f.code == "SP501"}
    assert set(found) == {"Author.posts", "Post.tags"}
    assert found["Author.posts"].fix.replacement == "selectinload(Author.posts)"
    assert found["Post.tags"].fix.replacement == "selectinload(Author.posts).selectinload(Post.tags)"
    assert "to the query that loads the Author objects" in found["Post.tags"].help

    session.expunge_all()
    with sqlperf.capture() as fixed:
        assert len(tag_names(select(Author).options(selectinload(Author.posts).selectinload(Post.tags)))) == 3
    assert codes(fixed) == []


def test_the_same_view_from_two_lines_is_not_a_loop(session):
    from demo_app import views

    with sqlperf.capture() as result:
        views.post_and_comments(session, 1)
        views.post_and_comments(session, 2)
        views.post_and_comments(session, 3)
    assert codes(result) == []


def test_async_awaitable_attrs_in_a_loop():
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from demo_app import async_views, data
    from demo_app.models import Base

    async def scenario():
        engine = create_async_engine("sqlite+aiosqlite://")
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            await session.run_sync(lambda s: data.make_blog(s, posts=3))
        results = []
        for view in (async_views.list_posts, async_views.list_posts_fixed):
            async with AsyncSession(engine) as session:
                with sqlperf.capture() as result:
                    await view(session)
            results.append(result)
        await engine.dispose()
        return results

    broken, fixed = asyncio.run(scenario())
    found = [f for f in broken.findings if f.code == "SP501"]
    assert len(found) == 1 and "Post.comments lazy-loaded 3 times" in found[0].message
    assert found[0].line == line_of("await post.awaitable_attrs.comments", async_views_path())
    assert codes(fixed) == []


def async_views_path():
    from capture_support import FIXTURES

    return FIXTURES / "demo_app" / "async_views.py"
