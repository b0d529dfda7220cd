"""The recorder's shortcuts give what the full frame walk gives.

The listener reuses the callers of the last call-site frame it saw while that frame still
runs, and remembers per statement text how deep the call site is; these tests run the cases
where a shortcut could go wrong (a generator resumed from different lines, a call site that
moves to a helper, frames read while the capture is still open) against ``callsite.walk``.
"""

from __future__ import annotations

import sys

import pytest

import sqlperf
from sqlperf.capture import callsite

pytest.importorskip("sqlalchemy")
pytestmark = pytest.mark.sqlperf(allow=["ALL"], reason="these tests repeat statements on purpose")


@pytest.fixture(scope="module")
def engine():
    from sqlalchemy import create_engine, text

    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
        conn.execute(text("INSERT INTO t (id, v) VALUES (1, 10), (2, 20), (3, 30)"))
    return engine


def lines(statement) -> list[int]:
    return [callsite.line_of(code, offset) for code, offset, _ in statement.frames]


def query(conn, key):
    from sqlalchemy import text

    return conn.execute(text("SELECT v FROM t WHERE id = :id"), {"id": key}).scalar()


def test_a_generator_resumed_from_two_lines_keeps_each_resumers_line(engine):
    from sqlalchemy import text

    def rows(conn):  # the call site itself: one frame object, resumed from different lines
        for key in (1, 2, 3):
            yield conn.execute(text("SELECT v FROM t WHERE id = :id"), {"id": key}).scalar()

    def drive(conn):
        walked = []
        gen = rows(conn)
        next(gen)  # resumed from here
        walked.append(callsite.line_of(sys._getframe().f_code, sys._getframe().f_lasti))
        next(gen)  # and from here
        walked.append(callsite.line_of(sys._getframe().f_code, sys._getframe().f_lasti))
        next(gen)
        return walked

    with engine.connect() as conn, sqlperf.capture(static=False) as result:
        drive(conn)
    first, second, third = result.statements
    assert first.call_site.function.endswith("rows")
    assert first.call_site == second.call_site == third.call_site
    # One level up is drive(), stopped at the next() that resumed the generator each time.
    assert len({lines(s)[1] for s in (first, second, third)}) == 3


def test_a_call_site_that_moves_into_a_helper_is_found_again(engine):
    from sqlalchemy import text

    def helper(conn):
        return conn.execute(text("SELECT v FROM t WHERE id = 1")).scalar()

    def caller(conn):
        conn.execute(text("SELECT v FROM t WHERE id = 1")).scalar()  # direct
        helper(conn)  # same text, one application frame deeper
        conn.execute(text("SELECT v FROM t WHERE id = 1")).scalar()  # direct again

    with engine.connect() as conn, sqlperf.capture(static=False) as result:
        caller(conn)
    functions = [s.call_site.function.rpartition(".")[2] for s in result.statements]
    assert functions == ["caller", "helper", "caller"]
    assert result.statements[0].call_site.line != result.statements[2].call_site.line


def test_frames_match_the_full_walk_in_a_loop_and_across_lines(engine):
    from sqlalchemy import event, text
    from sqlalchemy.engine import Engine

    walked = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        site, frames, _entry, _frame = callsite.walk(2, 4)
        walked.append((site, [(code, offset) for code, offset, _ in frames]))

    def run(conn):
        for key in (1, 2, 3):
            query(conn, key)
        query(conn, 1)
        for key in (1, 2):  # run() itself is the call site: its callers are reused
            conn.execute(text("SELECT v FROM t WHERE id = :id"), {"id": key}).scalar()
        conn.execute(text("SELECT v FROM t WHERE id = 3")).scalar()

    event.listen(Engine, "before_cursor_execute", spy)
    try:
        with engine.connect() as conn, sqlperf.capture(static=False) as result:
            run(conn)
    finally:
        event.remove(Engine, "before_cursor_execute", spy)
    assert len(result.statements) == len(walked) == 7
    for statement, (site, frames) in zip(result.statements, walked):
        assert statement.call_site == site
        assert [(code, offset) for code, offset, _ in statement.frames] == frames
    # The first loop's statements share run()'s activation one level up; the others run in run().
    assert len({s.frames[1][2] for s in result.statements[:4]}) == 1
    assert len({s.frames[0][2] for s in result.statements[4:]}) == 1


def test_statements_read_inside_the_capture_are_complete(engine):
    with engine.connect() as conn, sqlperf.capture(static=False) as result:
        query(conn, 1)
        inside = result.statements[0]
        assert inside.call_site.function.endswith("query")
        assert inside.duration > 0
        query(conn, 2)
        assert len(result.statements) == 2
    assert result.statements[0] is inside
    assert inside.frames and inside.frames[0][0].co_name == "query"


def test_nested_captures_share_each_statement(engine):
    with engine.connect() as conn, sqlperf.capture(static=False) as outer:
        query(conn, 1)
        with sqlperf.capture(static=False) as inner:
            query(conn, 2)
    assert len(outer.statements) == 2 and len(inner.statements) == 1
    assert inner.statements[0] is outer.statements[1]
    assert inner.statements[0].call_site == outer.statements[1].call_site
