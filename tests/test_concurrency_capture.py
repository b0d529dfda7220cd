"""The capture layer under concurrency: 8 threads and 100 asyncio tasks, each in its own capture,
all running statements at the same time; every scope holds exactly its own statements, in order.

Each worker tags its statements (``SELECT <worker> AS worker, <step> AS step``) and waits on a
barrier after its first one, so all the scopes are open and interleaving while the rest run.
"""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy import create_engine, text  # noqa: E402

import sqlperf  # noqa: E402
from sqlperf.capture import capture  # noqa: E402

THREADS = 8
TASKS = 100
STEPS = 25
TAG = re.compile(r"SELECT (\d+) AS worker, (\d+) AS step")


def tags(result) -> list[tuple[int, int]]:
    found = []
    for statement in result.statements:
        match = TAG.search(statement.text)
        assert match, f"a statement that no worker ran reached this scope: {statement.text!r}"
        found.append((int(match[1]), int(match[2])))
    return found


def test_eight_threads_keep_their_scopes_apart(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'threads.db'}", pool_size=THREADS, max_overflow=0)
    barrier = threading.Barrier(THREADS, timeout=60)
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            with capture(engine, static=False) as result:
                with engine.connect() as conn:
                    conn.execute(text(f"SELECT {worker} AS worker, 0 AS step"))
                    barrier.wait()  # every thread is inside its capture before the rest run
                    for step in range(1, STEPS):
                        conn.execute(text(f"SELECT {worker} AS worker, {step} AS step"))
            results[worker] = result
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    # The main thread has a capture open too: without threads=True it sees none of theirs.
    with capture(engine, static=False) as outer:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        with engine.connect() as conn:
            conn.execute(text(f"SELECT {THREADS} AS worker, 0 AS step"))
    engine.dispose()

    assert not errors, errors
    assert sorted(results) == list(range(THREADS))
    for worker, result in results.items():
        assert tags(result) == [(worker, step) for step in range(STEPS)], f"thread {worker}'s scope"
    assert tags(outer) == [(THREADS, 0)]


def test_hundred_asyncio_tasks_keep_their_scopes_apart(tmp_path):
    pytest.importorskip("aiosqlite")
    from sqlalchemy.ext.asyncio import create_async_engine

    async def main():
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'tasks.db'}", pool_size=TASKS, max_overflow=0)
        barrier = asyncio.Barrier(TASKS)

        async def work(worker: int):
            with sqlperf.capture(engine, static=False) as result:
                async with engine.connect() as conn:
                    await conn.execute(text(f"SELECT {worker} AS worker, 0 AS step"))
                    await barrier.wait()  # every task is inside its capture before the rest run
                    for step in range(1, STEPS):
                        await conn.execute(text(f"SELECT {worker} AS worker, {step} AS step"))
                        await asyncio.sleep(0)  # hand over to another task between statements
            return worker, result

        try:
            with sqlperf.capture(engine, static=False) as outer:
                done = await asyncio.wait_for(asyncio.gather(*(work(n) for n in range(TASKS))), 120)
                async with engine.connect() as conn:
                    await conn.execute(text(f"SELECT {TASKS} AS worker, 0 AS step"))
        finally:
            await engine.dispose()
        return done, outer

    done, outer = asyncio.run(main())
    assert sorted(worker for worker, _ in done) == list(range(TASKS))
    for worker, result in done:
        assert tags(result) == [(worker, step) for step in range(STEPS)], f"task {worker}'s scope"
    # A task copies its parent's context: the outer capture does see what its child tasks ran,
    # each statement once, and its own last one.
    seen = tags(outer)
    assert len(seen) == len(set(seen)) == TASKS * STEPS + 1
    assert seen[-1] == (TASKS, 0)


def test_threads_and_tasks_at_once(tmp_path):
    """Both at the same time: threads running their own event loops with tasks in them."""
    pytest.importorskip("aiosqlite")
    from sqlalchemy.ext.asyncio import create_async_engine

    per_thread = 12
    out: dict[int, list] = {}
    errors: list[BaseException] = []

    def thread_main(t: int) -> None:
        async def main():
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / f'mix{t}.db'}", pool_size=per_thread, max_overflow=0)

            async def work(worker: int):
                with sqlperf.capture(engine, static=False) as result:
                    async with engine.connect() as conn:
                        for step in range(STEPS):
                            await conn.execute(text(f"SELECT {worker} AS worker, {step} AS step"))
                            await asyncio.sleep(0)
                return worker, result

            try:
                return await asyncio.gather(*(work(t * 1000 + n) for n in range(per_thread)))
            finally:
                await engine.dispose()

        try:
            out[t] = asyncio.run(main())
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=thread_main, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(out) == THREADS
    for t, pairs in out.items():
        for worker, result in pairs:
            assert tags(result) == [(worker, step) for step in range(STEPS)], f"thread {t}, task {worker}"
