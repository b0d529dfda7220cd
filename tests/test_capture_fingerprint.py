"""Fingerprints: values and placeholders abstracted, shapes and kinds kept."""

from __future__ import annotations

import pytest

from sqlperf.capture.fingerprint import DELETE, INSERT, OTHER, SELECT, UPDATE, fingerprint, shape_of


@pytest.mark.parametrize(
    "a, b",
    [
        ("SELECT * FROM t WHERE id = 1", "select * from t where id = 42"),
        ("SELECT * FROM t WHERE name = 'x'", "SELECT * FROM t WHERE name = 'it''s'"),
        ("SELECT * FROM t WHERE id = ?", "SELECT * FROM t WHERE id = %(id_1)s"),
        ("SELECT * FROM t WHERE id = %s", "SELECT * FROM t WHERE id = $1"),
        ("SELECT * FROM t WHERE id = :id", "SELECT * FROM t WHERE id = ?"),
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"),
        ("INSERT INTO t (a, b) VALUES (1, 2), (3, 4)", "INSERT INTO t (a, b) VALUES (?, ?)"),
        ("SELECT a -- why\nFROM t /* note */", "SELECT a FROM t"),
        ("SELECT  a\n\tFROM   t", "select a from t"),
        ("SELECT $$x$$, E'a\\'b', 1.5e3 FROM t", "SELECT ?, ?, ? FROM t"),
    ],
)
def test_same_shape(a, b):
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ('SELECT "Name" FROM t', 'SELECT "Other" FROM t'),  # double-quoted identifiers are never literals
        ("SELECT a FROM t", "SELECT b FROM t"),
        ("INSERT INTO t (a) VALUES (?)", "INSERT INTO t (a, b) VALUES (?, ?)"),
        ("SELECT * FROM t WHERE x::text = ?", "SELECT * FROM t WHERE x = ?"),
    ],
)
def test_different_shape(a, b):
    assert fingerprint(a) != fingerprint(b)


@pytest.mark.parametrize(
    "sql, kind",
    [
        ("SELECT 1 FROM t", SELECT),
        ("WITH a AS (SELECT 1) SELECT * FROM a", SELECT),
        ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", INSERT),
        ("UPDATE t SET a = 1", UPDATE),
        ("DELETE FROM t", DELETE),
        ("EXPLAIN SELECT 1", OTHER),
    ],
)
def test_kind(sql, kind):
    assert shape_of(sql).kind == kind


@pytest.mark.parametrize(
    "sql",
    [
        "SAVEPOINT sa_savepoint_1",
        "RELEASE SAVEPOINT sa_savepoint_1",
        "ROLLBACK TO SAVEPOINT sa_savepoint_1",
        "BEGIN",
        "COMMIT",
        "PRAGMA main.table_info(\"posts\")",
        "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname = %(name)s",
        "SELECT name FROM sqlite_master WHERE type='table'",
        "select version()",
        "CREATE TABLE t (id int)",
        "SET search_path TO public",
        # Alembic's bookkeeping, one row per migration step when a test runs the migrations:
        "UPDATE alembic_version SET version_num='b2' WHERE alembic_version.version_num = 'a1'",
        "INSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING alembic_version.version_num",
        "SELECT alembic_version.version_num FROM alembic_version",
    ],
)
def test_transaction_control_ddl_and_introspection_are_ignored(sql):
    assert shape_of(sql).ignored


@pytest.mark.parametrize(
    "sql", ["SELECT * FROM posts", "SELECT version FROM releases", "INSERT INTO t VALUES (1)", "UPDATE app_version SET v = 2"]
)
def test_ordinary_statements_are_not_ignored(sql):
    assert not shape_of(sql).ignored


def test_digest_is_stable_and_short():
    assert shape_of("SELECT 1 FROM t").digest == shape_of("select 2 from t").digest
    assert len(shape_of("SELECT 1 FROM t").digest) == 12
