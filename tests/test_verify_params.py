import doctest

import pytest

import sqlperf.verify.params as params
import sqlperf.verify.dsn as dsn_module
import sqlperf.verify.pg as pg
from sqlperf.verify.params import to_numbered_params


@pytest.mark.parametrize(
    "sql, expected, count",
    [
        ("SELECT * FROM t WHERE a = $1 AND b = $2", "SELECT * FROM t WHERE a = $1 AND b = $2", 2),
        ("SELECT * FROM t WHERE a = %s AND b = %s", "SELECT * FROM t WHERE a = $1 AND b = $2", 2),
        ("SELECT * FROM t WHERE a = %(x)s OR b = %(x)s", "SELECT * FROM t WHERE a = $1 OR b = $1", 1),
        ("SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)", 3),
        ("SELECT * FROM t WHERE a = :a AND b = :b", "SELECT * FROM t WHERE a = $1 AND b = $2", 2),
        ("SELECT x::int, arr[1:n] FROM t", "SELECT x::int, arr[1:n] FROM t", 0),
        ("SELECT ':a', \"?\" FROM t -- :b ?\nWHERE j ? 'k'", "SELECT ':a', \"?\" FROM t -- :b ?\nWHERE j ? 'k'", 0),
        ("SELECT $$ :a ? $$ FROM t LIMIT ?", "SELECT $$ :a ? $$ FROM t LIMIT $1", 1),
        ("SELECT * FROM t WHERE a LIKE 'x%%' AND b = %s", "SELECT * FROM t WHERE a LIKE 'x%%' AND b = $1", 1),
    ],
)
def test_placeholders_become_numbered(sql, expected, count):
    assert to_numbered_params(sql) == (expected, count)


def test_doctests_of_params_and_pg_pass():
    for module in (params, dsn_module):
        failures, _ = doctest.testmod(module)
        assert failures == 0


@pytest.mark.parametrize(
    "dsn, shown",
    [
        ("postgresql://app:s3cr3t@db.example:5432/shop", "postgresql://app:***@db.example:5432/shop"),
        ("postgres://app:s3cr3t@db/shop?sslmode=require", "postgres://app:***@db/shop?sslmode=require"),
        ("host=db user=app password=s3cr3t dbname=shop", "host=db user=app password=*** dbname=shop"),
        ("host=db password='a b c' dbname=shop", "host=db password=*** dbname=shop"),
        ("postgresql://app@db/shop", "postgresql://app@db/shop"),
    ],
)
def test_redact_dsn_hides_passwords(dsn, shown):
    assert pg.redact_dsn(dsn) == shown


def test_scrub_removes_the_password_wherever_it_appears():
    text = pg.scrub("failed for user app with s3cr3t\n second line", "postgresql://app:s3cr3t@db/shop")
    assert "s3cr3t" not in text and "\n" not in text


def test_resolve_dsn_prefers_argument_then_env(monkeypatch):
    monkeypatch.delenv("SQLPERF_DSN", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql:///fromurl")
    assert pg.resolve_dsn(None) == "postgresql:///fromurl"
    monkeypatch.setenv("SQLPERF_DSN", "postgresql:///fromsqlperf")
    assert pg.resolve_dsn(None) == "postgresql:///fromsqlperf"
    assert pg.resolve_dsn("postgresql:///given") == "postgresql:///given"
