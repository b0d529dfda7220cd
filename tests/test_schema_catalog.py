"""The live catalog loader against a real PostgreSQL: the migrations applied there read back the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlperf.schema import SchemaError, load_schema
from sqlperf.schema.catalog import describe_dsn, load_catalog

MIGRATIONS = Path(__file__).resolve().parent.parent / "fixtures" / "schema" / "migrations"

pytestmark = pytest.mark.postgres


def apply_migrations(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for path in sorted(MIGRATIONS.glob("*.sql")):
            conn.execute(path.read_text(encoding="utf-8"))


def shape(schema):
    """What both loaders must agree on, table by table."""
    out = {}
    for table in schema.unique_tables():
        out[table.name] = {
            "columns": [(c.name, c.type, c.nullable) for c in table.columns.values()],
            "primary_key": table.primary_key,
            "unique": sorted(table.unique),
            "indexes": sorted(
                (ix.name, tuple(ix.columns), ix.unique, ix.primary, ix.method, ix.where, tuple(ix.descending or [False] * len(ix.columns)))
                for ix in table.all_indexes()
            ),
            "foreign_keys": sorted((tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns), fk.name) for fk in table.foreign_keys),
        }
    return out


@pytest.fixture
def migrated_dsn(pg_dsn):
    apply_migrations(pg_dsn)
    return pg_dsn


def test_catalog_equals_the_ddl_view(migrated_dsn):
    from_ddl = load_schema([str(MIGRATIONS / "*.sql")])
    from_catalog = load_catalog(migrated_dsn)
    assert shape(from_catalog) == shape(from_ddl)


def test_catalog_keeps_schema_names_and_expression_indexes(migrated_dsn):
    schema = load_catalog(migrated_dsn)
    users = schema.table("users")
    assert users.schema == "public"
    assert schema.table("orders", "public") is schema.table("orders")
    assert users.has_expression_index("lower(email)")
    assert not users.has_expression_index("upper(email)")


def test_row_estimates_come_from_reltuples(migrated_dsn):
    import psycopg

    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO orgs (name, slug) SELECT 'o' || g, 's' || g FROM generate_series(1, 250) g")
        conn.execute("ANALYZE orgs")
    schema = load_catalog(migrated_dsn)
    assert schema.table("orgs").row_estimate == 250
    # Never analysed: unknown, which is not the same as empty.
    assert schema.table("orders").row_estimate is None


def test_catalog_reads_inside_a_read_only_transaction(migrated_dsn, monkeypatch):
    import psycopg

    seen = []
    real_connect = psycopg.connect

    def spy(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        seen.append(conn)
        return conn

    monkeypatch.setattr(psycopg, "connect", spy)
    load_catalog(migrated_dsn)
    assert seen and seen[0].read_only is True


def test_unreachable_dsn_is_one_line_without_the_password(tmp_path):
    dsn = f"postgresql://alice:s3cr3t-pw@/nodb?host={tmp_path}&port=1"
    with pytest.raises(SchemaError) as raised:
        load_schema(dsn=dsn)
    message = str(raised.value)
    assert "\n" not in message
    assert "s3cr3t-pw" not in message
    assert "cannot connect to PostgreSQL" in message
    assert "s3cr3t" not in describe_dsn(dsn)


def test_invalid_dsn_is_reported_without_echoing_it():
    with pytest.raises(SchemaError) as raised:
        load_schema(dsn="host=x password=hunter2 = broken")
    assert "hunter2" not in str(raised.value)


def test_a_bare_name_finds_the_public_table_and_materialized_views_count(migrated_dsn):
    import psycopg

    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA zeta; CREATE TABLE zeta.users (other int)")
        conn.execute("CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id")
        conn.execute("CREATE UNIQUE INDEX order_totals_user_id_key ON order_totals (user_id)")
        conn.execute("CREATE VIEW plain_view AS SELECT 1 AS one")
    schema = load_catalog(migrated_dsn)
    assert schema.table("users").schema == "public"
    assert schema.table("users", "zeta").column_names() == ["other"]
    assert [ix.name for ix in schema.table("order_totals").indexes_leading_with("user_id")] == ["order_totals_user_id_key"]
    assert schema.table("plain_view") is None
    assert load_catalog(migrated_dsn, schemas=["zeta"]).table("orders") is None
