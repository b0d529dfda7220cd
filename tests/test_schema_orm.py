"""The SQLAlchemy loader: models give the same schema as the migrations they mirror."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sqlperf.schema import SchemaError, load_schema
from sqlperf.schema.orm import load_metadata

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "fixtures" / "schema" / "migrations"


def shape(schema):
    return {
        t.name: (
            [(c.name, c.type, c.nullable) for c in t.columns.values()],
            t.primary_key,
            sorted(t.unique),
            sorted((ix.name, tuple(ix.columns), ix.unique, ix.method, ix.where, tuple(ix.descending or [False] * len(ix.columns))) for ix in t.all_indexes()),
            sorted((tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns)) for fk in t.foreign_keys),
        )
        for t in schema.unique_tables()
    }


def test_models_equal_the_migrations():
    from_models = load_schema(metadata="fixtures.schema.models:Base", base=ROOT)
    from_ddl = load_schema([str(MIGRATIONS)])
    assert from_models.notes == []
    assert shape(from_models) == shape(from_ddl)


def test_metadata_object_and_declarative_base_are_both_accepted():
    sys.path.insert(0, str(ROOT))
    try:
        from fixtures.schema import models
    finally:
        sys.path.remove(str(ROOT))
    assert shape(load_metadata(models.Base)) == shape(load_metadata(models.metadata))


def test_index_flags_unique_columns_and_expressions():
    import sqlalchemy as sa

    metadata = sa.MetaData()
    accounts = sa.Table(
        "accounts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
        sa.Column("team", sa.Text, index=True),
        sa.Column("parent_id", sa.ForeignKey("crm.accounts.id")),
        schema="crm",
    )
    sa.Index("accounts_lower_email_idx", sa.func.lower(accounts.c.email))
    schema = load_metadata(metadata)
    table = schema.table("accounts", "crm")
    assert table.qualified_name == "crm.accounts"
    assert table.unique == [["email"]]
    assert table.column("parent_id").type == "integer"  # the referenced column's type
    assert [ix.name for ix in table.indexes_leading_with("team")] == ["ix_crm_accounts_team"]
    assert table.has_expression_index("lower(email)")
    assert table.foreign_keys[0].ref_table == "accounts"


def test_bad_targets_are_one_clear_error(tmp_path):
    with pytest.raises(SchemaError, match="must look like 'package.module:attribute'"):
        load_schema(metadata="fixtures.schema.models")
    with pytest.raises(SchemaError, match="cannot import no_such_module_xyz"):
        load_schema(metadata="no_such_module_xyz:Base")
    with pytest.raises(SchemaError, match="has no attribute 'Nope'"):
        load_schema(metadata="fixtures.schema.models:Nope", base=ROOT)
    with pytest.raises(SchemaError, match="neither a SQLAlchemy MetaData"):
        load_schema(metadata=object())
    (tmp_path / "broken_models.py").write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(SchemaError, match="RuntimeError: boom at import"):
        load_schema(metadata="broken_models:Base", base=tmp_path)


def test_a_foreign_key_to_an_unknown_table_is_a_note():
    import sqlalchemy as sa

    metadata = sa.MetaData()
    sa.Table("a", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("b", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("x_id", sa.ForeignKey("elsewhere.id")))
    schema = load_metadata(metadata)
    assert schema.table("a") is not None
    assert any("model table b" in note for note in schema.notes)
