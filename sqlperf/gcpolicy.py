"""Garbage collection while linting.

A sqlglot tree points from every node to its parent, so each parsed statement becomes
cyclic garbage once its rules have run, and only the cycle collector can free it. Left
to its defaults the interpreter runs a young collection every 700 allocations: while a
statement is being parsed those collections find nothing to free, and each survivor is
scanned again by the older generations. On the TPC-DS corpus that is 60 to 80 ms of a
300 ms lint. Linting instead collects the young generation itself, between statements,
once enough has been allocated to be worth one scan: the same garbage is freed, each
object is scanned about once, and memory stays bounded by ``YOUNG_LIMIT`` objects of
garbage however long the file.
"""

from __future__ import annotations

import gc

# About 5 MB of sqlglot nodes: large enough that the scans are rare, small enough that a
# 10 MB file of many statements does not hold its garbage to the end.
YOUNG_LIMIT = 50_000


class StatementCollector:
    """Turns automatic collection off for a block and collects between statements instead."""

    __slots__ = ("_was_enabled",)

    def __enter__(self) -> StatementCollector:
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    @staticmethod
    def between_statements() -> None:
        if gc.get_count()[0] > YOUNG_LIMIT:
            gc.collect(0)

    def __exit__(self, *exc) -> None:
        if self._was_enabled:
            gc.enable()


def freeze_imports() -> None:
    """Exclude everything alive now (modules, sqlglot's tables, the rules) from later scans.

    For the command line only: a library caller's objects must stay collectable.
    """
    gc.freeze()
