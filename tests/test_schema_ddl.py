"""The DDL loader: migrations replayed statement by statement into one schema."""

from __future__ import annotations

import pytest

from sqlperf.schema import Schema, SchemaError, load_schema
from sqlperf.schema.ddl import apply_sql, expand_paths, load_ddl


def ddl(sql: str) -> Schema:
    return apply_sql(Schema(), sql)


def test_create_table_with_inline_and_table_constraints():
    schema = ddl(
        """
        CREATE TABLE public.orders (
            id bigserial PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            code varchar(20) UNIQUE,
            total numeric(10,2) DEFAULT 0,
            note text,
            CONSTRAINT orders_pair_key UNIQUE (user_id, code),
            CONSTRAINT orders_ship_fkey FOREIGN KEY (user_id, code) REFERENCES shipments (user_id, code)
        );
        """
    )
    orders = schema.table("orders")
    assert orders.schema == "public" and schema.table("orders", "public") is orders
    assert orders.column_names() == ["id", "user_id", "code", "total", "note"]
    assert [(c.type, c.nullable) for c in orders.columns.values()] == [
        ("bigint", False),
        ("bigint", False),
        ("varchar(20)", True),
        ("numeric(10,2)", True),
        ("text", True),
    ]
    assert orders.column("total").default == "0"
    assert orders.primary_key == ["id"]
    assert orders.unique == [["code"], ["user_id", "code"]]
    assert {ix.name for ix in orders.all_indexes()} == {"orders_pkey", "orders_code_key", "orders_pair_key"}
    assert [(fk.columns, fk.ref_table, fk.ref_columns, fk.name) for fk in orders.foreign_keys] == [
        (["user_id"], "users", ["id"], "orders_user_id_fkey"),
        (["user_id", "code"], "shipments", ["user_id", "code"], "orders_ship_fkey"),
    ]


def test_table_level_primary_key_makes_columns_not_null_and_references_default_to_it():
    schema = ddl(
        """
        CREATE TABLE items (order_id bigint, product_id int, PRIMARY KEY (order_id, product_id));
        CREATE TABLE notes (id int, item_order bigint, item_product int,
                            FOREIGN KEY (item_order, item_product) REFERENCES items);
        """
    )
    items = schema.table("items")
    assert items.primary_key == ["order_id", "product_id"]
    assert not items.column("order_id").nullable
    assert schema.table("notes").foreign_keys[0].ref_columns == ["order_id", "product_id"]


def test_create_index_variants():
    schema = ddl(
        """
        CREATE TABLE users (id int PRIMARY KEY, email text, created_at timestamptz, tags text[], deleted_at timestamptz);
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_uq ON users (email);
        CREATE INDEX users_lower_email_idx ON users (LOWER(Email));
        CREATE INDEX ON users USING gin (tags);
        CREATE INDEX users_recent_idx ON users (created_at DESC NULLS LAST, id) WHERE deleted_at IS NULL;
        CREATE INDEX users_email_pattern_idx ON users (email text_pattern_ops);
        """
    )
    users = schema.table("users")
    by_name = {ix.name: ix for ix in users.indexes}
    assert by_name["users_email_uq"].unique and by_name["users_email_uq"].columns == ["email"]
    lower = by_name["users_lower_email_idx"]
    assert lower.expressions == [True] and users.has_expression_index("lower(email)")
    assert by_name["users_tags_idx"].method == "gin"
    recent = by_name["users_recent_idx"]
    assert recent.columns == ["created_at", "id"] and recent.descending == [True, False]
    assert recent.where == "deleted_at IS NULL"
    assert by_name["users_email_pattern_idx"].columns == ["email"]
    assert [ix.name for ix in users.indexes_leading_with("email")] == ["users_email_uq", "users_email_pattern_idx"]


def test_if_not_exists_does_not_duplicate():
    schema = ddl(
        """
        CREATE TABLE t (a int);
        CREATE INDEX IF NOT EXISTS t_a_idx ON t (a);
        CREATE INDEX IF NOT EXISTS t_a_idx ON t (a);
        CREATE TABLE IF NOT EXISTS t (b int);
        """
    )
    assert [ix.name for ix in schema.table("t").indexes] == ["t_a_idx"]
    assert schema.table("t").column_names() == ["a"]


def test_alter_table_add_and_drop_columns_and_constraints():
    schema = ddl(
        """
        CREATE TABLE users (id int, email text, name text, org_id int);
        ALTER TABLE users ADD COLUMN last_login timestamptz NOT NULL, ADD CONSTRAINT users_pkey PRIMARY KEY (id);
        ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);
        ALTER TABLE users ADD UNIQUE (email);
        CREATE INDEX users_name_idx ON users (name);
        ALTER TABLE users DROP COLUMN name;
        ALTER TABLE users DROP CONSTRAINT users_org_fk;
        ALTER TABLE users ALTER COLUMN email TYPE varchar(320);
        ALTER TABLE users ALTER COLUMN email SET NOT NULL;
        """
    )
    users = schema.table("users")
    assert users.column_names() == ["id", "email", "org_id", "last_login"]
    assert users.primary_key == ["id"] and not users.column("last_login").nullable
    assert users.foreign_keys == []
    assert users.unique == [["email"]]
    assert users.column("email").type == "varchar(320)" and not users.column("email").nullable
    assert "users_name_idx" not in {ix.name for ix in users.all_indexes()}


def test_drop_constraint_removes_the_primary_key_and_its_index():
    schema = ddl("CREATE TABLE t (id int PRIMARY KEY, code text UNIQUE); ALTER TABLE t DROP CONSTRAINT t_pkey, DROP CONSTRAINT t_code_key;")
    t = schema.table("t")
    assert t.primary_key == [] and t.unique == [] and t.all_indexes() == []


def test_drop_index_and_drop_table():
    schema = ddl(
        """
        CREATE TABLE a (x int); CREATE TABLE b (y int); CREATE TABLE c (z int);
        CREATE INDEX a_x_idx ON a (x);
        DROP INDEX CONCURRENTLY IF EXISTS a_x_idx;
        DROP INDEX IF EXISTS missing_idx;
        DROP TABLE IF EXISTS b, c CASCADE;
        """
    )
    assert [t.name for t in schema.unique_tables()] == ["a"]
    assert schema.table("a").indexes == []


def test_renames_follow_through_indexes_and_foreign_keys():
    schema = ddl(
        """
        CREATE TABLE users (id int PRIMARY KEY, email text, name text);
        CREATE TABLE orders (id int, user_id int REFERENCES users (id));
        CREATE INDEX users_lower_email_idx ON users (lower(email));
        CREATE INDEX users_name_idx ON users (name);
        ALTER TABLE users RENAME COLUMN email TO mail;
        ALTER TABLE users RENAME COLUMN id TO user_id;
        ALTER TABLE users RENAME TO accounts;
        ALTER INDEX users_name_idx RENAME TO accounts_name_idx;
        """
    )
    assert schema.table("users") is None
    accounts = schema.table("accounts")
    assert accounts.column_names() == ["user_id", "mail", "name"]
    assert accounts.primary_key == ["user_id"]
    assert accounts.has_expression_index("lower(mail)")
    assert accounts.index("accounts_name_idx").table == "accounts"
    fk = schema.table("orders").foreign_keys[0]
    assert (fk.ref_table, fk.ref_columns) == ("accounts", ["user_id"])


def test_unknown_and_broken_statements_become_notes_not_errors():
    schema = ddl(
        """
        CREATE TABLE t (a int);
        CREAT TABLE oops (a int);
        ALTER TABLE t SET SCHEMA archive;
        CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE VIEW v AS SELECT a FROM t;
        CREATE INDEX t_a_idx ON t (a);
        ALTER TABLE missing ADD COLUMN b int;
        """
    )
    assert schema.table("t").index("t_a_idx") is not None
    assert len(schema.notes) == 3, schema.notes
    assert any("does not parse" in note for note in schema.notes)
    assert any("SET SCHEMA" in note for note in schema.notes)
    assert any("unknown table missing" in note for note in schema.notes)


def test_types_are_normalised_like_the_catalog():
    schema = ddl(
        "CREATE TABLE t (a INT4, b int8, c character varying(10), d timestamp with time zone, e DOUBLE PRECISION, "
        "f serial, g NUMERIC, h bool, i uuid, j jsonb, k integer[])"
    )
    types = [c.type for c in schema.table("t").columns.values()]
    assert types == ["integer", "bigint", "varchar(10)", "timestamptz", "double precision", "integer", "numeric", "boolean", "uuid", "jsonb", "integer[]"]


def test_migration_folder_applies_in_sorted_order(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "002_index.sql").write_text("CREATE INDEX t_a_idx ON t (a);")
    (folder / "001_table.sql").write_text("CREATE TABLE t (a int);")
    (folder / "010_drop.sql").write_text("DROP INDEX t_a_idx; CREATE INDEX t_a2_idx ON t (a);")
    for given in (["migrations"], ["migrations/*.sql"], [str(folder)]):
        schema = load_ddl(given, base=tmp_path)
        assert [ix.name for ix in schema.table("t").indexes] == ["t_a2_idx"], given
        assert schema.notes == []
    assert [p.name for p in expand_paths(["migrations"], tmp_path)] == ["001_table.sql", "002_index.sql", "010_drop.sql"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["nope.sql"], "schema file not found: nope.sql"),
        (["missing/*.sql"], "schema pattern matched no files: missing/*.sql"),
        (["empty"], "schema directory holds no .sql files: empty"),
    ],
)
def test_missing_files_are_one_clear_error(tmp_path, given, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaError, match="^" + message.replace("*", r"\*").replace(".", r"\.") + "$"):
        load_schema(given, base=tmp_path)


def test_non_utf8_file_is_a_schema_error(tmp_path):
    (tmp_path / "bad.sql").write_bytes(b"CREATE TABLE t (a int); -- \xff\xfe")
    with pytest.raises(SchemaError, match="not UTF-8"):
        load_schema(["bad.sql"], base=tmp_path)


def test_other_dialects_load_too():
    schema = apply_sql(
        Schema(),
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), KEY t_name (name), UNIQUE KEY t_u (id, name))",
        dialect="mysql",
    )
    t = schema.table("t")
    assert t.primary_key == ["id"] and t.column("name").type == "varchar(20)"
    assert [(ix.name, ix.columns, ix.unique) for ix in t.indexes[1:]] == [("t_name", ["name"], False), ("t_u", ["id", "name"], True)]
    assert schema.notes == []


_FRAGMENTS = [
    "CREATE TABLE t (a int PRIMARY KEY, b text REFERENCES u)",
    "CREATE INDEX ON t (a DESC, lower(b)) WHERE a > 0",
    "ALTER TABLE t ADD COLUMN c int, DROP COLUMN b",
    "ALTER TABLE t RENAME COLUMN a TO z",
    "ALTER TABLE t RENAME TO t2",
    "DROP TABLE t2",
    "DROP INDEX t_a_idx",
    "ALTER TABLE t DROP CONSTRAINT t_pkey",
    "CREATE UNIQUE INDEX x ON t USING hash (a)",
    "ALTER INDEX x RENAME TO y",
    "CREATE TABLE",
    "((((",
    "$$ unterminated",
    "'",
    "\x00",
]


def test_any_sequence_of_statements_loads_or_notes_never_raises():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None, database=None)
    @given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=30), max_size=8))
    def check(parts):
        schema = apply_sql(Schema(), ";\n".join(parts))
        for table in schema.unique_tables():
            assert all(ix.table == table.name for ix in table.indexes)

    check()
