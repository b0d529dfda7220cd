"""The exact DDL each index rule suggests: equality, then range, then ORDER BY; never a duplicate."""

from __future__ import annotations

import pytest

from sqlperf.engine import lint_sql
from sqlperf.schema import Schema
from sqlperf.schema.ddl import apply_sql

SCHEMA = apply_sql(
    Schema(),
    """
    CREATE TABLE jobs (id bigint PRIMARY KEY, state text, queue text, run_at timestamptz, attempts int);
    CREATE TABLE accounts (id bigint PRIMARY KEY, email text);
    CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint, kind text, at timestamptz);
    CREATE INDEX events_kind_at_idx ON events (kind, at);
    """,
)


@pytest.mark.parametrize(
    ("sql", "code", "ddl"),
    [
        (
            "SELECT id FROM jobs WHERE state = 'queued' AND queue = 'mail' ORDER BY run_at LIMIT 1",
            "SP201",
            "CREATE INDEX CONCURRENTLY jobs_state_queue_run_at_idx ON jobs (state, queue, run_at);",
        ),
        (
            "SELECT id FROM jobs WHERE attempts > 3 AND state IN ('a', 'b')",
            "SP201",
            "CREATE INDEX CONCURRENTLY jobs_state_attempts_idx ON jobs (state, attempts);",
        ),
        (
            # No LIMIT: the sort is not worth a place in the index.
            "SELECT id FROM jobs WHERE state = 'queued' ORDER BY run_at",
            "SP201",
            "CREATE INDEX CONCURRENTLY jobs_state_idx ON jobs (state);",
        ),
        (
            "SELECT a.email FROM accounts a JOIN events e ON e.account_id = a.id WHERE a.id = 1",
            "SP202",
            "CREATE INDEX CONCURRENTLY events_account_id_idx ON events (account_id);",
        ),
        (
            "SELECT id FROM events WHERE at > now() - interval '1 day'",
            "SP205",
            "CREATE INDEX CONCURRENTLY events_at_idx ON events (at);",
        ),
        (
            "SELECT id FROM events WHERE kind = 'login' ORDER BY account_id DESC LIMIT 10",
            "SP204",
            "CREATE INDEX CONCURRENTLY events_kind_account_id_idx ON events (kind, account_id DESC);",
        ),
    ],
)
def test_suggested_ddl(sql, code, ddl):
    found = [f for f in lint_sql(sql, schema=SCHEMA) if f.code == code]
    assert [f.fix.replacement for f in found] == [ddl]
    assert found[0].data["ddl"] == ddl


def test_no_rule_suggests_an_index_that_exists():
    for sql in [
        "SELECT id FROM events WHERE kind = 'login' AND at > now()",
        "SELECT id FROM events WHERE kind = 'login' ORDER BY at LIMIT 5",
        "SELECT id FROM events WHERE kind = 'login' ORDER BY at DESC LIMIT 5",
        # The primary key walked backwards serves this sort (filtering kind as it goes).
        "SELECT id FROM events WHERE kind = 'login' ORDER BY id DESC LIMIT 5",
    ]:
        assert [f for f in lint_sql(sql, schema=SCHEMA) if f.code.startswith("SP2")] == [], sql
