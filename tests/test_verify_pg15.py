"""Against the machine's PostgreSQL 15 with HypoPG (started by .ci/pg15.sh): the pre-16
PREPARE + force_generic_plan path and HypoPG what-if indexes. Skipped without
SQLPERF_TEST_PG15_DSN."""

import os

import psycopg
import pytest

from sqlperf.engine import lint_sql
from sqlperf.verify import verify_findings
from sqlperf.verify.pg import Database, DatabaseError

DSN = os.environ.get("SQLPERF_TEST_PG15_DSN")
# One table per test process: pytest-xdist workers share the PG15 database.
TABLE = f"pg15_accounts_{os.getpid()}"
pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not DSN, reason="SQLPERF_TEST_PG15_DSN not set (see .ci/pg15.sh)")]


@pytest.fixture(scope="module")
def pg15():
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, email text NOT NULL, region int NOT NULL)")
        conn.execute(f"INSERT INTO {TABLE} SELECT g, 'user' || g || '@example.com', g % 7 FROM generate_series(1, 40000) g")
        conn.execute(f"ANALYZE {TABLE}")
    yield DSN
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


def test_server_is_before_16_and_has_hypopg(pg15):
    with Database(pg15).open() as db:
        assert db.server_version < 160000
        assert db.has_hypopg


@pytest.mark.parametrize("sql", ["SELECT id FROM {t} WHERE email = $1", "SELECT id FROM {t} WHERE email = :e"])
def test_generic_plan_through_prepare(pg15, sql):
    with Database(pg15).open() as db:
        plan = db.explain(sql.format(t=TABLE))
        with db.transaction() as conn:
            left = conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    assert "$1" in (plan.root.filter or "")
    assert left == 0


def test_hypopg_confirms_without_building_anything(pg15):
    with psycopg.connect(pg15) as conn:
        catalog_before = conn.execute("SELECT count(*) FROM pg_class").fetchone()[0]
    findings = lint_sql(f"SELECT id FROM {TABLE} WHERE lower(email) = 'user42@example.com'")
    verify_findings(findings, dsn=pg15)  # no --allow-index-build: HypoPG is the only way
    v = findings[0].verification
    assert v.status == "confirmed", v.reason
    assert v.cost_after < v.cost_before
    with psycopg.connect(pg15) as conn:
        assert conn.execute("SELECT count(*) FROM pg_class").fetchone()[0] == catalog_before
    with Database(pg15).open() as db:
        assert db.query("SELECT count(*) FROM hypopg()")[0][0] == 0


def test_hypopg_not_confirmed_for_a_few_valued_column(pg15):
    findings = lint_sql(f"SELECT id FROM {TABLE} WHERE abs(region) = 3")
    verify_findings(findings, dsn=pg15)
    assert findings[0].verification.status == "not-confirmed", findings[0].verification.reason


def test_wrong_password_is_one_line_without_the_password(pg15):
    bad = pg15.replace("sqlperf_ci_pw", "Wrong-Pa55word")
    with pytest.raises(DatabaseError) as caught:
        Database(bad).open()
    assert caught.value.kind == "auth"
    assert "Wrong-Pa55word" not in str(caught.value) and "sqlperf_ci_pw" not in str(caught.value)
    assert "authentication failed" in str(caught.value)
