"""The scratch database: DDL loaded, type-aware synthetic rows that keep keys and foreign keys,
a cache keyed by DDL and row settings, and verification against it."""

import psycopg
import pytest

from sqlperf.engine import lint_sql
from sqlperf.verify import verify_findings
from sqlperf.verify.scratch import ScratchDatabase, ScratchOptions

pytestmark = pytest.mark.postgres

DDL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN short_code AS varchar(8);
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email varchar(120) NOT NULL UNIQUE,
    code char(3) NOT NULL,
    handle short_code,
    balance numeric(7,2) NOT NULL CHECK (balance > 100),
    mood mood NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    born date,
    external_id uuid NOT NULL UNIQUE,
    profile jsonb,
    tags text[],
    score double precision,
    email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED
);
CREATE TABLE groups (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE memberships (
    account_id bigint NOT NULL REFERENCES accounts,
    group_id integer NOT NULL REFERENCES groups,
    joined_at timestamp NOT NULL,
    PRIMARY KEY (account_id, group_id)
);
CREATE TABLE events (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    parent_id bigint REFERENCES events (id),
    kind smallint NOT NULL,
    payload json
);
CREATE INDEX CONCURRENTLY events_account_idx ON events (account_id);
"""


@pytest.fixture(scope="module")
def ddl_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddl") / "schema.sql"
    path.write_text(DDL)
    return path


@pytest.fixture(scope="module")
def built(ddl_file, tmp_path_factory):
    options = ScratchOptions(rows=3000, table_rows={"groups": 40, "events": 6000}, cache_dir=tmp_path_factory.mktemp("cache"))
    messages = []
    scratch = ScratchDatabase.from_sources(ddl_paths=[str(ddl_file)], options=options, progress=messages.append)
    scratch.start()
    yield scratch, options, messages
    scratch.stop()


def test_every_table_is_filled_with_the_configured_rows(built):
    scratch, _, messages = built
    assert scratch.notes == []
    with psycopg.connect(scratch.dsn) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("accounts", "groups", "memberships", "events")}
        analysed = conn.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'accounts'").fetchone()[0]
    assert counts == {"accounts": 3000, "groups": 40, "memberships": 3000, "events": 6000}
    assert analysed > 0
    assert any("filling accounts" in m for m in messages)


def test_rows_respect_keys_foreign_keys_and_not_null(built):
    scratch, _, _ = built
    with psycopg.connect(scratch.dsn) as conn:
        orphans = conn.execute(
            "SELECT (SELECT count(*) FROM events e LEFT JOIN accounts a ON a.id = e.account_id WHERE a.id IS NULL)"
            " + (SELECT count(*) FROM memberships m LEFT JOIN groups g ON g.id = m.group_id WHERE g.id IS NULL)"
            " + (SELECT count(*) FROM events e WHERE e.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events p WHERE p.id = e.parent_id))"
        ).fetchone()[0]
        distinct_emails = conn.execute("SELECT count(DISTINCT email), count(DISTINCT external_id) FROM accounts").fetchone()
        moods = conn.execute("SELECT count(DISTINCT mood) FROM accounts").fetchone()[0]
        sample = conn.execute("SELECT email, email_domain FROM accounts LIMIT 1").fetchone()
        # the foreign keys still hold when checked by PostgreSQL itself
        conn.execute("ALTER TABLE memberships DROP CONSTRAINT memberships_account_id_fkey")
        conn.execute("ALTER TABLE memberships ADD FOREIGN KEY (account_id) REFERENCES accounts")
        conn.rollback()
    assert orphans == 0
    assert distinct_emails == (3000, 3000)
    assert moods == 3
    assert sample[0].endswith("@example.com") and sample[1] == "example.com"


def test_second_start_comes_from_the_cache(built, ddl_file):
    scratch, options, _ = built
    again = ScratchDatabase.from_sources(ddl_paths=[str(ddl_file)], options=options)
    assert again.key == scratch.key
    again.start()
    try:
        assert again.from_cache
        with psycopg.connect(again.dsn) as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 6000
    finally:
        again.stop()
    other = ScratchDatabase.from_sources(ddl_paths=[str(ddl_file)], options=ScratchOptions(rows=10, cache_dir=options.cache_dir))
    assert other.key != scratch.key


def test_verify_on_scratch_confirms_a_function_on_a_large_table(ddl_file, built):
    _, options, _ = built
    findings = lint_sql("SELECT id FROM accounts WHERE lower(email) = 'user42@example.com'")
    verify_findings(findings, scratch=True, ddl_paths=[str(ddl_file)],
                    options={"rows": 3000, "table_rows": {"groups": 40, "events": 6000}, "cache_dir": options.cache_dir})
    v = findings[0].verification
    assert v.status == "confirmed", v.reason


def test_scratch_without_ddl_is_a_clear_error():
    from sqlperf.verify.pg import DatabaseError

    with pytest.raises(DatabaseError, match="needs the project's DDL"):
        verify_findings(lint_sql("SELECT * FROM t WHERE lower(a) = 'x'"), scratch=True)

